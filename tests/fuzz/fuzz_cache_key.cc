// CacheKey::deserialize on arbitrary bytes: never crashes; whatever it
// accepts serializes back to exactly the same bytes (one encoding per key).
#include <mithril/key.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = as_text(data, size);
  auto key = mithril::CacheKey::deserialize(bytes);
  if (key) {
    FUZZ_CHECK(key->serialize() == bytes);
    (void)key->debug_dump();
  }
  return 0;
}
