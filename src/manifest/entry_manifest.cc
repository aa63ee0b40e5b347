#include "manifest/entry_manifest.h"

#include <mithril/key.h>

#include "manifest/codec.h"
#include "util/hex.h"

namespace mithril::detail {

std::string serialize_manifest(const Entry& entry) {
  std::vector<manifest::FileRow> rows;
  rows.reserve(entry.files.size());
  for (const auto& f : entry.files) rows.push_back({f.name, f.digest, f.size, std::nullopt});
  return manifest::encode(manifest::kEntry,
                          {{"key", to_hex(entry.key_bytes)},
                           {"namespace", entry.name_space},
                           {"device", entry.device},
                           {"created_ns", entry.created_ns}},
                          rows);
}

Result<Entry> parse_manifest(std::string_view text) {
  const auto& format = manifest::kEntry;
  if (!text.starts_with(kManifestPrefix)) return manifest::reject(format, "missing header");
  MITHRIL_ASSIGN(const manifest::Decoded doc, manifest::decode(format, text, manifest::Limits{}));
  MITHRIL_ASSIGN(const std::string key_hex, doc.text(format, "key"));
  Entry e;
  auto key = from_hex(key_hex);
  if (!key) return manifest::reject(format, "key is not hex");
  auto parsed_key = CacheKey::deserialize(*key);
  if (!parsed_key) return manifest::reject(format, parsed_key.error().message);
  e.key_bytes = std::move(*key);
  e.key = parsed_key->digest();
  MITHRIL_ASSIGN(e.name_space, doc.text(format, "namespace"));
  MITHRIL_ASSIGN(e.device, doc.text(format, "device"));
  MITHRIL_ASSIGN(e.created_ns, doc.integer(format, "created_ns"));
  for (const auto& f : doc.files) e.files.push_back(FileRef{f.path, f.digest, f.size});
  return e;
}

}  // namespace mithril::detail
