// Human and JSON renderings of CLI results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mithril/cache.h>

namespace mithril::cli {

// `stats --json`: schema documented in docs/cli.md (schema_version 1).
nlohmann::json stats_json(const Stats& s);
// `stats --prometheus`: text exposition format 0.0.4 (docs/cli.md lists the metrics).
std::string stats_prometheus(const Stats& s);
// `stats`: a ccache -s style table.
std::string stats_table(const Stats& s);
// "2026-11-24T19:29:26Z" from wall-clock ns.
std::string iso_time(std::int64_t ns);
// The largest framework entries, one line each (for `stats`).
std::string top_entries_table(const std::vector<EntrySummary>& top);
nlohmann::json entry_json(const EntryRecord& e);
std::string entries_table(const std::vector<EntryRecord>& entries);
nlohmann::json verify_json(const VerifyReport& r);
std::string verify_text(const VerifyReport& r);
nlohmann::json gc_json(const GcReport& r);
std::string gc_text(const GcReport& r);

}  // namespace mithril::cli
