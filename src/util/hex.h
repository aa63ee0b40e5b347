// Hex encoding of byte strings, shared by digests, manifests, URLs and
// signatures. Private to src/. Header-only; thread-safe (pure functions).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mithril::detail {

// 0..15 for a hex digit of either case, -1 otherwise.
inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Two lowercase hex characters per byte.
inline std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// The bytes of lowercase hex text (what to_hex writes); nullopt for odd
// lengths or any other character.
inline std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const char a = hex[i], b = hex[i + 1];
    if ((a >= 'A' && a <= 'F') || (b >= 'A' && b <= 'F')) return std::nullopt;
    const int hi = hex_digit(a), lo = hex_digit(b);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace mithril::detail
