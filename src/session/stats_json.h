// The JSON rendering of a root's statistics, shared by `mithril stats --json`
// and Python's stats() (through stats_json_text in <mithril/session.h>).
// Private to src/ and cli/.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mithril/stats.h>

namespace mithril {

// `stats --json`: schema documented in docs/cli.md (schema_version 1).
// `last_run` is the latest run that read or compiled framework entries;
// `top` the largest framework entries.
nlohmann::json stats_json(const Stats& s, const std::optional<RunSummary>& last_run,
                          const std::vector<EntrySummary>& top);

}  // namespace mithril
