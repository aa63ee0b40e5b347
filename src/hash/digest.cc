#include <blake3.h>

#include <cstring>

#include <mithril/digest.h>

extern "C" std::size_t blake3_simd_degree(void);  // from blake3_dispatch.c

namespace mithril {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2) return std::nullopt;
  std::array<std::uint8_t, kSize> out{};
  for (std::size_t i = 0; i < kSize; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kSize * 2, '0');
  for (std::size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHex[m_bytes[i] >> 4];
    out[2 * i + 1] = kHex[m_bytes[i] & 0xf];
  }
  return out;
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
