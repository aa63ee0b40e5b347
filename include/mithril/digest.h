// BLAKE3 digests and streaming hashing.
//
// An object's name in mithril is the full 256-bit BLAKE3 hash of its
// uncompressed content, shown as 64 lowercase hex characters, so
// `b3sum FILE` and `mithril put FILE` print the same name.
//
// Thread safety: `Digest` is a value. A `Hasher` must not be used by two
// threads at once; distinct hashers are independent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <mithril/export.h>

namespace mithril {

class MITHRIL_API Digest {
 public:
  static constexpr std::size_t kSize = 32;

  Digest() = default;  // all zero
  explicit Digest(const std::array<std::uint8_t, kSize>& bytes) : m_bytes(bytes) {}

  // Parses exactly 64 hex characters (either case). Returns nullopt otherwise.
  static std::optional<Digest> from_hex(std::string_view hex);
  // Takes exactly 32 raw bytes. Returns nullopt for any other length.
  static std::optional<Digest> from_bytes(std::span<const std::uint8_t> raw);

  std::string to_hex() const;  // 64 lowercase hex characters
  const std::array<std::uint8_t, kSize>& bytes() const { return m_bytes; }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::array<std::uint8_t, kSize> m_bytes{};
};

// Streaming BLAKE3 (reference C implementation with runtime SIMD dispatch).
class MITHRIL_API Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  // Returns the digest of everything passed to update() so far. The hasher
  // may keep being updated afterwards (BLAKE3 finalize is non-destructive).
  Digest finalize() const;

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

// One-shot helpers.
MITHRIL_API Digest blake3(std::span<const std::uint8_t> data);
MITHRIL_API Digest blake3(std::string_view data);

// Name of the SIMD path BLAKE3 picked on this CPU ("avx512", "avx2", ...).
MITHRIL_API const char* blake3_simd_path();

}  // namespace mithril

template <>
struct std::hash<mithril::Digest> {
  std::size_t operator()(const mithril::Digest& d) const noexcept {
    std::size_t v = 0;
    for (std::size_t i = 0; i < sizeof(v); ++i) v = (v << 8) | d.bytes()[i];
    return v;
  }
};
