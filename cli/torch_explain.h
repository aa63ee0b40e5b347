// `mithril explain --torch` and `mithril run --explain`: why PyTorch's FX
// graph cache missed. `run --explain` makes the job record torch's cache-key
// components (python/mithril_cache/explain.py, installed through a
// sitecustomize that chains to any existing one); `explain --torch` compares
// each miss of the latest recorded run with the nearest key recorded before
// and prints the components that differ.
#pragma once

#include <string>

#include <mithril/config.h>

namespace mithril::cli {

// Prepares the hook directory under the root and sets PYTHONPATH and
// MITHRIL_EXPLAIN_ROOT for the child. Returns false (with a warning printed)
// when it cannot.
bool enable_torch_explain(const std::string& root);

// Prints the explanation. Exit code: 0 when the latest run had no miss, 1
// when it explained misses, 2 when nothing was recorded.
int explain_torch(const CacheConfig& config);

}  // namespace mithril::cli
