// Manifest objects: the JSON document that describes a keyed entry.
// Private to src/. Format in docs/cas_layout.md.
#pragma once

#include <string>
#include <string_view>

#include <mithril/entry.h>
#include <mithril/result.h>

namespace mithril::detail {

// Every manifest starts with exactly these bytes (used by the recovery scan
// to recognise manifests without parsing every object).
inline constexpr std::string_view kManifestPrefix = "{\"format\":\"mithril-manifest\"";

std::string serialize_manifest(const Entry& entry);
// Strict parse: unknown format/version, bad digests or unsafe file names are
// ErrorCode::kCorruption.
Result<Entry> parse_manifest(std::string_view text);

}  // namespace mithril::detail
