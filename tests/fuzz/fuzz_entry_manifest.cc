// The keyed-entry manifest parser: never crashes; every file name it accepts
// is a safe relative path, and accepted manifests re-serialize and re-parse.
#include <mithril/entry.h>

#include "manifest/entry_manifest.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto entry = mithril::detail::parse_manifest(as_text(data, size));
  if (entry) {
    for (const auto& f : entry->files) FUZZ_CHECK(mithril::validate_entry_path(f.name).has_value());
    auto again = mithril::detail::parse_manifest(mithril::detail::serialize_manifest(*entry));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->files.size() == entry->files.size());
  }
  return 0;
}
