#include "remote/remote_layout.h"

#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <nlohmann/json.hpp>

#include <mithril/entry.h>
#include <mithril/version.h>

#include "manifest/codec.h"
#include "remote/crypto.h"
#include "util/hex.h"

namespace mithril::remote {
namespace {

constexpr std::string_view kHmacTrailer = "\nhmac-sha256:";
constexpr std::int64_t kMaxCompileNs = 24LL * 3600 * 1'000'000'000;  // a credit over a day is a lie

bool is_hex_id(const std::string& s) {
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string safe_tag(const std::string& tag) {
  std::string out;
  for (const char c : tag) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  return out;
}

}  // namespace

std::string compress(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

std::optional<std::string> decompress_exact(std::string_view frame, std::uint64_t size) {
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared != size) return std::nullopt;
  std::string out(size, '\0');
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != size) return std::nullopt;
  return out;
}

Result<Placement> place_file(RemoteStore& store, const Digest& digest, std::uint64_t size,
                             const std::function<std::optional<std::string>()>& frame_of) {
  Placement p;
  std::optional<std::string> frame;
  if (size <= kInlineMax * 8) {  // may compress small enough to inline: load before asking the remote
    frame = frame_of();
    if (!frame) {
      p.skipped = true;
      return p;
    }
    if (frame->size() <= kInlineMax) {
      p.inline_frame = std::move(frame);
      return p;
    }
  }
  const std::string key = object_key(digest);
  MITHRIL_ASSIGN(const bool there, store.exists(key));
  if (there) return p;
  if (!frame) frame = frame_of();
  if (!frame) {
    p.skipped = true;
    return p;
  }
  MITHRIL_TRY(store.put(key, *frame));
  p.uploaded_bytes = frame->size();
  return p;
}

std::string object_key(const Digest& digest) {
  const std::string hex = digest.to_hex();
  return "v1/objects/" + hex.substr(0, 2) + "/" + hex;
}

std::string manifest_prefix(const std::string& partition) { return "v1/fw/" + partition + "/"; }

std::string entry_id(const std::string& name) { return blake3(name).to_hex().substr(0, 32); }

std::string manifest_key(const std::string& partition, const std::string& name) {
  return manifest_prefix(partition) + entry_id(name) + ".json";
}

std::string tag_key(const std::string& partition, const std::string& tag) {
  return "v1/tags/" + partition + "/" + safe_tag(tag) + ".json";
}

std::string encode_manifest(const EntryManifest& m, const std::string& hmac_key) {
  manifest::Header header{{"mithril", std::string(kVersion)}, {"partition", m.partition},
                          {"name", m.entry.name},         {"kind", m.entry.kind}};
  if (m.entry.compile_ns > 0) header.emplace_back("compile_ns", m.entry.compile_ns);
  std::vector<manifest::FileRow> rows;
  rows.reserve(m.entry.files.size());
  for (const auto& f : m.entry.files) {
    auto& row = rows.emplace_back(manifest::FileRow{f.path, f.digest, f.size, std::nullopt});
    if (auto it = m.inline_frames.find(f.path); it != m.inline_frames.end()) row.inline_frame = it->second;
  }
  std::string text = manifest::encode(manifest::kRemoteEntry, header, rows);
  if (!hmac_key.empty()) {
    text += std::string(kHmacTrailer) + detail::to_hex(hmac_sha256(hmac_key, text)) + "\n";
  }
  return text;
}

namespace {

// The body before a signature trailer, checked against `hmac_key` when one is set.
Result<std::string_view> signed_body(std::string_view text, const std::string& hmac_key) {
  std::string_view body = text;
  const auto trailer = text.rfind(kHmacTrailer);
  if (trailer != std::string_view::npos) body = text.substr(0, trailer);
  if (hmac_key.empty()) return body;
  if (trailer == std::string_view::npos) return fail(ErrorCode::kCorruption, "remote manifest is not signed");
  std::string_view sig = text.substr(trailer + kHmacTrailer.size());
  while (!sig.empty() && sig.back() == '\n') sig.remove_suffix(1);
  if (!equal_constant_time(sig, detail::to_hex(hmac_sha256(hmac_key, body)))) {
    return fail(ErrorCode::kCorruption, "remote manifest has a wrong signature (other key, or altered)");
  }
  return body;
}

}  // namespace

Result<EntryManifest> decode_manifest(std::string_view text, const std::string& want_partition,
                                      const std::string& hmac_key, std::uint64_t max_bytes) {
  const auto& format = manifest::kRemoteEntry;
  MITHRIL_ASSIGN(const std::string_view body, signed_body(text, hmac_key));
  const manifest::Limits limits{kMaxFileBytes, max_bytes, /*tree=*/true, 4 * kInlineMax};
  MITHRIL_ASSIGN(manifest::Decoded doc, manifest::decode(format, body, limits));
  EntryManifest m;
  MITHRIL_ASSIGN(m.partition, doc.text(format, "partition"));
  if (m.partition != want_partition) {
    return manifest::reject(format, "is for partition '" + m.partition + "', not " + want_partition);
  }
  MITHRIL_ASSIGN(m.entry.name, doc.text(format, "name"));
  MITHRIL_ASSIGN(m.entry.kind, doc.text(format, "kind"));
  if (doc.has("compile_ns")) {
    MITHRIL_ASSIGN(const std::int64_t ns, doc.integer(format, "compile_ns"));
    m.entry.compile_ns = std::clamp<std::int64_t>(ns, 0, kMaxCompileNs);
  }
  if (auto ok = validate_entry_path(m.entry.name); !ok) {
    return manifest::reject(format, "names an unsafe entry: " + ok.error().message);
  }
  if (doc.files.empty()) return manifest::reject(format, "lists no files");
  for (auto& f : doc.files) {
    if (f.inline_frame) m.inline_frames.emplace(f.path, std::move(*f.inline_frame));
    m.entry.files.push_back(FrameworkEntryFiles::File{std::move(f.path), f.size, f.digest});
  }
  return m;
}

std::string encode_tag(const std::vector<std::string>& ids) {
  nlohmann::ordered_json j;
  j["format"] = "mithril-tag";
  j["version"] = 1;
  j["entries"] = ids;
  return j.dump();
}

Result<std::vector<std::string>> decode_tag(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kInvalidArgument, "remote tag is not JSON");
  try {
    std::vector<std::string> ids;
    for (const auto& id : j.at("entries")) {
      ids.push_back(id.get<std::string>());
      if (!is_hex_id(ids.back())) return fail(ErrorCode::kInvalidArgument, "remote tag has a bad entry id");
    }
    return ids;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kInvalidArgument, std::string("remote tag is malformed: ") + e.what());
  }
}

}  // namespace mithril::remote
