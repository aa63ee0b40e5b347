// `mithril report [-o FILE]`: one self-contained HTML page (inline SVG and
// CSS, no script, no network) with the cache's summary, charts of hit rate,
// size and time saved over its recorded history, the largest entries and the
// eviction history.
#pragma once

#include <string>

#include <mithril/cache.h>

namespace mithril::cli {

Result<std::string> render_report(Cache& cache);

}  // namespace mithril::cli
