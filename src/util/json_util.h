// Strict integer reads from untrusted JSON (manifests, bundles). nlohmann's
// get<int>() converts a float such as 1e300 with undefined behaviour and
// wraps a negative number into an unsigned one; these throw
// nlohmann::json::type_error instead, like every other malformed field, so
// callers' existing `catch (const nlohmann::json::exception&)` reports it.
// Private to src/. Header-only; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace mithril::detail {

// A JSON integer >= 0 (not a float, not negative).
inline std::uint64_t json_u64(const nlohmann::json& v) {
  if (!v.is_number_unsigned()) {
    throw nlohmann::json::type_error::create(302, "expected a non-negative integer", &v);
  }
  return v.get<std::uint64_t>();
}

// A JSON integer that fits an int64 (not a float).
inline std::int64_t json_i64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) {
      throw nlohmann::json::type_error::create(302, "integer out of range", &v);
    }
    return static_cast<std::int64_t>(u);
  }
  if (!v.is_number_integer()) throw nlohmann::json::type_error::create(302, "expected an integer", &v);
  return v.get<std::int64_t>();
}

}  // namespace mithril::detail
