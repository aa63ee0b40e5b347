// The library version (semantic versioning).
#pragma once

#define MITHRIL_VERSION_STRING "0.1.0"

namespace mithril {
inline constexpr const char* kVersion = MITHRIL_VERSION_STRING;
}  // namespace mithril
