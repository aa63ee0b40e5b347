// Framework adapters: how each framework's cache directory splits into
// entries. One function per framework; a new framework is one new function.
#include <cstring>

#include <mithril/hooks.h>

namespace mithril {
namespace {

std::vector<std::string> split(const std::string& rel) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= rel.size()) {
    const auto end = std::min(rel.find('/', start), rel.size());
    parts.push_back(rel.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

bool is_temp_name(const std::string& name) {
  return name.starts_with("tmp") || name.ends_with(".tmp") || name.find(".tmp.") != std::string::npos ||
         name.starts_with(".");
}

// PyTorch Inductor (torch 2.x): fxgraph/<2ch>/<key>/<entry>, aotautograd/<key>/<entry>,
// <2ch>/<key>.* code modules (.py wrapper, .cpp/.so kernels, .main.cpp/.main.so,
// .so.load_ok markers), locks/ (left alone), tmp* (debris).
EntryOfFile inductor_entry(const std::vector<std::string>& p) {
  if (p.empty() || p[0] == "locks" || p[0].starts_with("tmp") || is_temp_name(p.back())) return {};
  if (p[0] == "fxgraph" && p.size() >= 4) return {join(p, 3), "inductor-fxgraph"};
  if (p[0] == "aotautograd" && p.size() >= 3) return {join(p, 2), "inductor-aotautograd"};
  if (p[0].size() == 2 && p.size() == 2) {
    const std::string& file = p[1];
    const auto dot = file.find('.');
    return {p[0] + "/" + file.substr(0, dot), "inductor-code"};
  }
  if (p.size() >= 2) return {join(p, 2), "inductor-other"};
  return {p[0], "inductor-other"};
}

// Triton: <hash>/<files> with a __grp__<name>.json group file per kernel.
EntryOfFile triton_entry(const std::vector<std::string>& p) {
  if (p.empty() || is_temp_name(p.back())) return {};
  for (const auto& part : p) {
    if (part.starts_with("tmp.")) return {};  // FileCacheManager's tmp.pid_<pid>_<uuid>/ staging dirs
  }
  return {p[0], "triton-kernel"};
}

// Any other directory cache: one entry per top-level child.
EntryOfFile generic_entry(const std::vector<std::string>& p) {
  if (p.empty() || is_temp_name(p.back()) || p[0] == "locks") return {};
  return {p[0], "generic"};
}

}  // namespace

EntryOfFile framework_entry_of(const std::string& framework, const std::string& rel) {
  const auto parts = split(rel);
  for (const auto& part : parts) {
    if (part.empty() || part == "." || part == "..") return {};
  }
  if (framework == "inductor") return inductor_entry(parts);
  if (framework == "triton") return triton_entry(parts);
  return generic_entry(parts);
}

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
