// Little-endian byte writer/reader for deterministic serialization.
// Private to src/.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mithril::detail {

class ByteWriter {
 public:
  ByteWriter() { m_out.reserve(256); }
  void u8(std::uint8_t v) { m_out.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void i64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(u >> (8 * i)));
  }
  void raw(std::string_view s) { m_out.append(s); }
  // tag byte + u32 length + bytes
  void tagged_string(char tag, std::string_view s) {
    u8(static_cast<std::uint8_t>(tag));
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s);
  }
  std::size_t size() const { return m_out.size(); }
  std::string take() { return std::move(m_out); }

 private:
  std::string m_out;
};

// Bounds-checked reader: every accessor returns nullopt past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : m_in(in) {}
  std::optional<std::uint8_t> u8() {
    if (m_pos >= m_in.size()) return std::nullopt;
    return static_cast<std::uint8_t>(m_in[m_pos++]);
  }
  std::optional<std::uint32_t> u32() {
    if (m_in.size() - m_pos < 4) return std::nullopt;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<std::uint8_t>(m_in[m_pos + i])} << (8 * i);
    m_pos += 4;
    return v;
  }
  std::optional<std::int64_t> i64() {
    if (m_in.size() - m_pos < 8) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(m_in[m_pos + i])} << (8 * i);
    m_pos += 8;
    return static_cast<std::int64_t>(v);
  }
  std::optional<std::string_view> raw(std::size_t n) {
    if (m_in.size() - m_pos < n) return std::nullopt;
    auto s = m_in.substr(m_pos, n);
    m_pos += n;
    return s;
  }
  bool expect_tag(char tag) {
    auto t = u8();
    return t && *t == static_cast<std::uint8_t>(tag);
  }
  std::optional<std::string_view> tagged_string(char tag) {
    if (!expect_tag(tag)) return std::nullopt;
    auto n = u32();
    if (!n) return std::nullopt;
    return raw(*n);
  }
  bool at_end() const { return m_pos == m_in.size(); }
  std::size_t pos() const { return m_pos; }

 private:
  std::string_view m_in;
  std::size_t m_pos = 0;
};

}  // namespace mithril::detail
