// A program built against the *installed* libmithril (tests/install/check_library.py):
// opens a cache in the directory it is given, puts a blob, gets it back by
// its digest, and checks the bytes and the library's version.
//
//     consumer DIR EXPECTED_VERSION   exit 0 and "consumer: ok <digest>" when all held
#include <cstdio>
#include <cstring>
#include <string>

#include <mithril/cache.h>
#include <mithril/version.h>

namespace {

int fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, detail.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage", "consumer DIR EXPECTED_VERSION");
  if (std::strcmp(mithril::kVersion, argv[2]) != 0) return fail("version", mithril::kVersion);

  mithril::CacheConfig config;
  config.root = std::string(argv[1]) + "/root";
  auto cache = mithril::Cache::open(config);
  if (!cache) return fail("open", cache.error().message);

  const std::string blob = "compiled kernel bytes from an installed libmithril";
  auto put = (*cache)->put_blob(blob);
  if (!put) return fail("put_blob", put.error().message);
  if (put->digest != mithril::blake3(blob)) return fail("digest", put->digest.to_hex());

  auto got = (*cache)->get_blob(put->digest);
  if (!got) return fail("get_blob", got.error().message);
  if (!*got || **got != blob) return fail("get_blob", "a miss or other bytes");

  std::printf("consumer: ok %s\n", put->digest.to_hex().c_str());
  return 0;
}
