// The framework registry: the adapters mithril manages, and the lookups
// every layer uses instead of knowing a framework itself (entry of a file,
// publish order, root paths of a partition).
//
// Thread safety: free functions over immutable data. Private to src/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <mithril/key.h>

#include "frameworks/adapter.h"

namespace mithril::frameworks {

// The managed adapters, in the order their directories are listed.
const std::vector<const FrameworkAdapter*>& adapters();
// The adapter of directory `framework`; generic_adapter() for any other name.
const FrameworkAdapter& adapter_for(std::string_view framework);

// "<root>/fw/<partition>": the directory holding a partition's framework dirs.
std::string partition_dir(const std::string& root, const std::string& partition);

// "<root>/fw/<partition>/<rel>": where file `rel` of a partition lives.
std::string file_path(const std::string& root, const std::string& partition, const std::string& rel);

// Entry of `rel` (relative to its framework directory `framework`), after
// refusing "", "." and ".." components (empty name).
EntryOfFile entry_of(std::string_view framework, const std::string& rel);

// Import order of two paths relative to fw/<partition>/ ("<framework>/..."):
// files the framework's adapter publishes last come after the others, then
// by path. A strict weak order.
bool publish_before(const std::string& a, const std::string& b);

}  // namespace mithril::frameworks
