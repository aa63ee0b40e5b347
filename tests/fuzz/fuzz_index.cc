// Opening a root whose index database holds arbitrary bytes: never crashes;
// the cache either opens (rebuilding the index from the objects) or reports
// an error value.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <mithril/cache.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/mithril-fuzz-index-XXXXXX";
    return std::string(::mkdtemp(tmpl));
  }();
  const std::string root = dir + "/root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::ofstream(root + "/index.db", std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  mithril::CacheConfig c;
  c.root = root;
  auto cache = mithril::Cache::open(c);
  if (cache) {
    auto s = (*cache)->stats();
    FUZZ_CHECK(s.has_value());
    auto blob = (*cache)->put_blob("after");
    FUZZ_CHECK(blob.has_value());
  }
  return 0;
}
