// The few XML reads S3 responses need (ListObjectsV2 keys, error codes,
// UploadId). Not a general XML parser: S3 answers are flat and machine
// written. Private to src/remote. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mithril::remote {

// Replaces the five predefined entities; anything else is kept as is.
std::string xml_unescape(std::string_view s);
// Every <tag>value</tag> in `xml`, unescaped, in document order.
std::vector<std::string> xml_values(std::string_view xml, std::string_view tag);

}  // namespace mithril::remote
