#include "core/manifest.h"
#include "util/hex.h"
#include "util/json_util.h"

#include <nlohmann/json.hpp>

#include <mithril/key.h>

namespace mithril {

Result<void> validate_entry_path(const std::string& name) {
  const auto bad = [&](const char* why) {
    return fail(ErrorCode::kInvalidArgument, "unsafe entry file name '" + name + "': " + why);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 4096) return bad("longer than 4096 bytes");
  if (name.front() == '/') return bad("absolute path");
  if (name.find('\0') != std::string::npos) return bad("NUL byte");
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('/', start), name.size());
    const std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("empty, '.' or '..' component");
    start = end + 1;
  }
  return {};
}

std::optional<std::string> conflicting_path(const std::set<std::string>& paths) {
  for (const auto& p : paths) {
    for (auto slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      if (paths.count(p.substr(0, slash)) > 0) return p.substr(0, slash);
    }
  }
  return std::nullopt;
}

namespace detail {


std::string serialize_manifest(const Entry& entry) {
  nlohmann::ordered_json j;
  j["format"] = "mithril-manifest";
  j["version"] = 1;
  j["key"] = to_hex(entry.key_bytes);
  j["namespace"] = entry.name_space;
  j["device"] = entry.device;
  j["created_ns"] = entry.created_ns;
  auto files = nlohmann::ordered_json::array();
  for (const auto& f : entry.files) {
    files.push_back({{"name", f.name}, {"digest", f.digest.to_hex()}, {"size", f.size}});
  }
  j["files"] = std::move(files);
  return j.dump();
}

Result<Entry> parse_manifest(std::string_view text) {
  const auto bad = [](const std::string& why) { return fail(ErrorCode::kCorruption, "bad manifest: " + why); };
  if (!text.starts_with(kManifestPrefix)) return bad("missing header");
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  try {
    if (detail::json_i64(j.at("version")) != 1) return bad("unsupported version");
    Entry e;
    auto key = from_hex(j.at("key").get<std::string>());
    if (!key) return bad("key is not hex");
    auto parsed_key = CacheKey::deserialize(*key);
    if (!parsed_key) return bad(parsed_key.error().message);
    e.key_bytes = std::move(*key);
    e.key = parsed_key->digest();
    e.name_space = j.at("namespace").get<std::string>();
    e.device = j.at("device").get<std::string>();
    e.created_ns = detail::json_i64(j.at("created_ns"));
    for (const auto& f : j.at("files")) {
      FileRef ref;
      ref.name = f.at("name").get<std::string>();
      if (auto ok = validate_entry_path(ref.name); !ok) return bad(ok.error().message);
      auto d = Digest::from_hex(f.at("digest").get<std::string>());
      if (!d) return bad("file digest is not 64 hex characters");
      ref.digest = *d;
      ref.size = detail::json_u64(f.at("size"));
      e.files.push_back(std::move(ref));
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return bad(ex.what());
  }
}

}  // namespace detail
}  // namespace mithril
