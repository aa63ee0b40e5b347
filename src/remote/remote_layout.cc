#include "remote/remote_layout.h"

#include <openssl/evp.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include <mithril/entry.h>
#include <mithril/version.h>

#include "remote/crypto.h"
#include "util/hex.h"
#include "util/json_util.h"

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

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > 4 * kInlineMax) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) --len;  // padding
  out.resize(len);
  return out;
}

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
  nlohmann::ordered_json j;
  j["format"] = "mithril-entry";
  j["version"] = 1;
  j["mithril"] = kVersion;
  j["partition"] = m.partition;
  j["name"] = m.entry.name;
  j["kind"] = m.entry.kind;
  if (m.entry.compile_ns > 0) j["compile_ns"] = m.entry.compile_ns;
  j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : m.entry.files) {
    nlohmann::ordered_json file{{"path", f.path}, {"size", f.size}, {"blake3", f.digest.to_hex()}};
    if (auto it = m.inline_frames.find(f.path); it != m.inline_frames.end()) file["zstd"] = base64(it->second);
    j["files"].push_back(std::move(file));
  }
  std::string text = j.dump();
  if (!hmac_key.empty()) {
    text += std::string(kHmacTrailer) + detail::to_hex(hmac_sha256(hmac_key, text)) + "\n";
  }
  return text;
}

Result<EntryManifest> decode_manifest(std::string_view text, const std::string& want_partition,
                                      const std::string& hmac_key, std::uint64_t max_bytes) {
  const auto bad = [](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, "remote manifest " + why);
  };
  std::string_view body = text;
  const auto trailer = text.rfind(kHmacTrailer);
  if (trailer != std::string_view::npos) body = text.substr(0, trailer);
  if (!hmac_key.empty()) {
    if (trailer == std::string_view::npos) return fail(ErrorCode::kCorruption, "remote manifest is not signed");
    std::string_view sig = text.substr(trailer + kHmacTrailer.size());
    while (!sig.empty() && sig.back() == '\n') sig.remove_suffix(1);
    if (!equal_constant_time(sig, detail::to_hex(hmac_sha256(hmac_key, body)))) {
      return fail(ErrorCode::kCorruption, "remote manifest has a wrong signature (other key, or altered)");
    }
  }
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("is not JSON");
  try {
    if (j.at("format").get<std::string>() != "mithril-entry" || detail::json_i64(j.at("version")) != 1) {
      return bad("has an unknown format or version");
    }
    EntryManifest m;
    m.partition = j.at("partition").get<std::string>();
    if (m.partition != want_partition) return bad("is for partition '" + m.partition + "', not " + want_partition);
    m.entry.name = j.at("name").get<std::string>();
    m.entry.kind = j.at("kind").get<std::string>();
    if (j.contains("compile_ns")) {
      m.entry.compile_ns = std::clamp<std::int64_t>(detail::json_i64(j.at("compile_ns")), 0, kMaxCompileNs);
    }
    if (auto ok = validate_entry_path(m.entry.name); !ok) return bad("names an unsafe entry: " + ok.error().message);
    std::set<std::string> seen;
    std::uint64_t total = 0;
    for (const auto& f : j.at("files")) {
      FrameworkEntryFiles::File file;
      file.path = f.at("path").get<std::string>();
      if (auto ok = validate_entry_path(file.path); !ok) return bad("has an unsafe path: " + ok.error().message);
      if (!seen.insert(file.path).second) return bad("lists " + file.path + " twice");
      auto d = Digest::from_hex(f.at("blake3").get<std::string>());
      if (!d) return bad("has a bad digest for " + file.path);
      file.digest = *d;
      file.size = detail::json_u64(f.at("size"));
      if (f.contains("zstd")) {
        auto frame = unbase64(f.at("zstd").get<std::string>());
        if (!frame) return bad("has a bad inline frame for " + file.path);
        m.inline_frames.emplace(file.path, std::move(*frame));
      }
      if (file.size > kMaxFileBytes) return bad("declares a file larger than the per-file limit: " + file.path);
      total += file.size;
      if (file.size > max_bytes || total > max_bytes) return bad("is larger than the cache budget");
      m.entry.files.push_back(std::move(file));
    }
    if (m.entry.files.empty()) return bad("lists no files");
    if (auto both = conflicting_path(seen)) return bad("lists " + *both + " both as a file and as a directory");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("is malformed: ") + e.what());
  }
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
