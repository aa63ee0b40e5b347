// SHA-256 and HMAC-SHA256 (OpenSSL) for SigV4 and signed manifests.
// Private to src/remote. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

namespace mithril::remote {

std::string sha256_hex(std::string_view data);
// Raw 32-byte MAC.
std::string hmac_sha256(std::string_view key, std::string_view data);
// Constant-time comparison of two strings of equal length.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace mithril::remote
