// `unpack` of arbitrary bytes: never crashes, and never writes outside the
// root's fw/ directory (the root's parent holds only the root and the input).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <mithril/cache.h>

#include "fuzz_util.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = fuzz_temp_dir("bundle");
  static std::unique_ptr<mithril::Cache> cache = [] {
    mithril::CacheConfig c;
    c.root = dir + "/root";
    c.max_size = 64 << 20;
    return std::move(*mithril::Cache::open(c));
  }();
  const std::string input = dir + "/input.tar";
  std::ofstream(input, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  (void)cache->unpack_frameworks(input);
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    FUZZ_CHECK(name == "root" || name == "input.tar");
  }
  for (const auto& e : fs::directory_iterator(dir + "/root")) {
    const auto name = e.path().filename().string();
    FUZZ_CHECK(name == "fw" || name == "objects" || name == "quarantine" || name.starts_with("index.db") ||
               name == "mithril.toml" || name == "space-reserve");
  }
  return 0;
}
