// A root whose index database holds arbitrary bytes: nothing crashes; the
// cache opens (rebuilding the index when SQLite sees the damage at once) or
// reports an error value; damage found later by a query is a kCorruption
// error, and verify(repair) always restores a working cache.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <mithril/cache.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = fuzz_temp_dir("index");
  const std::string root = dir + "/root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::ofstream(root + "/index.db", std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  mithril::CacheConfig c;
  c.root = root;
  auto cache = mithril::Cache::open(c);
  if (!cache) return 0;
  // An operation may meet damage SQLite only sees now: it must be an error
  // value, and after verify(repair) the same operation must succeed.
  const auto repair_then = [&](auto op) {
    auto r = op();
    if (r) return;
    FUZZ_CHECK(r.error().code == mithril::ErrorCode::kCorruption || r.error().code == mithril::ErrorCode::kIoError);
    if (!(*cache)->verify(true)) {  // the damage stopped verify itself: reopen (rebuilds) and repair again
      cache->reset();
      cache = mithril::Cache::open(c);
      FUZZ_CHECK(cache.has_value());
      (void)(*cache)->verify(true);
    }
    FUZZ_CHECK(op().has_value());
  };
  repair_then([&] { return (*cache)->stats(); });
  repair_then([&] { return (*cache)->put_blob("after"); });
  repair_then([&] { return (*cache)->list(); });
  return 0;
}
