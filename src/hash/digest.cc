#include <blake3.h>

#include <cstring>

#include <mithril/digest.h>

#include "util/hex.h"

extern "C" std::size_t blake3_simd_degree(void);  // from blake3_dispatch.c

namespace mithril {

std::optional<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2) return std::nullopt;
  std::array<std::uint8_t, kSize> out{};
  for (std::size_t i = 0; i < kSize; ++i) {
    const int hi = detail::hex_digit(hex[2 * i]);
    const int lo = detail::hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return Digest(out);
}

std::optional<Digest> Digest::from_bytes(std::span<const std::uint8_t> raw) {
  if (raw.size() != kSize) return std::nullopt;
  std::array<std::uint8_t, kSize> out{};
  std::memcpy(out.data(), raw.data(), kSize);
  return Digest(out);
}

std::string Digest::to_hex() const {
  return detail::to_hex(std::string_view(reinterpret_cast<const char*>(m_bytes.data()), kSize));
}

struct Hasher::State {
  blake3_hasher h;
};

Hasher::Hasher() : m_state(std::make_unique<State>()) { blake3_hasher_init(&m_state->h); }
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::span<const std::uint8_t> data) {
  blake3_hasher_update(&m_state->h, data.data(), data.size());
}

void Hasher::update(std::string_view data) {
  blake3_hasher_update(&m_state->h, data.data(), data.size());
}

Digest Hasher::finalize() const {
  std::array<std::uint8_t, Digest::kSize> out{};
  blake3_hasher_finalize(&m_state->h, out.data(), out.size());
  return Digest(out);
}

Digest blake3(std::span<const std::uint8_t> data) {
  Hasher h;
  h.update(data);
  return h.finalize();
}

Digest blake3(std::string_view data) {
  Hasher h;
  h.update(data);
  return h.finalize();
}

const char* blake3_simd_path() {
  switch (blake3_simd_degree()) {
    case 16: return "avx512";
    case 8: return "avx2";
    case 4: return "sse4.1/sse2/neon";
    default: return "portable";
  }
}

}  // namespace mithril
