// `mithril serve --metrics HOST:PORT`: a Prometheus scrape endpoint for one
// cache root, so a cluster can scrape every node (docs/cli.md).
#pragma once

#include <string>

#include <mithril/config.h>

namespace mithril::cli {

// Serves GET /metrics (the `stats --prometheus` text, read fresh on every
// scrape) and GET / (a short index) on `listen` ("PORT" or "HOST:PORT";
// default host 127.0.0.1). Runs until SIGINT or SIGTERM; returns 0 then, 1
// when the address cannot be bound or the cache cannot be opened.
int serve_metrics(const CacheConfig& config, const std::string& listen);

}  // namespace mithril::cli
