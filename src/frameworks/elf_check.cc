// The completeness check of shared objects (<mithril/hooks.h>).
#include <cstring>

#include <mithril/hooks.h>

namespace mithril {

bool elf_looks_complete(const std::string& head, std::uint64_t file_size) {
  // ELF64 little-endian header: e_phoff @32, e_shoff @40, e_phentsize @54,
  // e_phnum @56, e_shentsize @58, e_shnum @60.
  if (head.size() < 64 || file_size < 64 || std::memcmp(head.data(), "\x7f" "ELF", 4) != 0) return false;
  if (head[4] != 2 || head[5] != 1) return true;  // not ELF64-LE: cannot judge, do not quarantine
  const auto u16 = [&](std::size_t off) {
    return static_cast<std::uint64_t>(static_cast<unsigned char>(head[off])) |
           static_cast<std::uint64_t>(static_cast<unsigned char>(head[off + 1])) << 8;
  };
  const auto u64 = [&](std::size_t off) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(head[off + static_cast<std::size_t>(i)]);
    return v;
  };
  const std::uint64_t ph_end = u64(32) + u16(54) * u16(56);
  const std::uint64_t sh_end = u64(40) + u16(58) * u16(60);
  return ph_end <= file_size && sh_end <= file_size;
}

}  // namespace mithril
