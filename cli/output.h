// Human and JSON renderings of CLI results.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mithril/cache.h>


namespace mithril::cli {

// `stats --json` is stats_json() of src/session/stats_json.h (shared with Python).
// `stats --prometheus`: text exposition format 0.0.4 (docs/cli.md lists the metrics).
std::string stats_prometheus(const Stats& s);
// `stats`: the framework cache first (hit rates, entries, size, time saved),
// then totals, per-kind and largest entries, and the keyed store's block
// only when the keyed store holds entries or objects.
std::string stats_text(const Stats& s, const std::optional<RunSummary>& last_run,
                       const std::vector<EntrySummary>& top);
// iso_time() ("2026-11-24T19:29:26Z") is in src/session/stats_json.h.

// One row of `mithril ls`: a framework entry or a keyed-store entry.
struct ListedEntry {
  std::string kind;  // "inductor-fxgraph", ..., or "blob" / "entry" (keyed store)
  std::string name;  // the framework entry's name, or the keyed entry's key digest
  std::uint64_t size = 0;
  std::int64_t hits = 0;
  std::int64_t last_access_ns = 0;
  std::int64_t compile_ms = 0;       // framework entries: recorded compile cost (0 = unknown)
  std::optional<EntryRecord> keyed;  // set for keyed-store entries
};
ListedEntry listed_entry(const EntrySummary& e);
ListedEntry listed_entry(const EntryRecord& e);
// `ls --json` element (docs/cli.md).
nlohmann::json listed_json(const ListedEntry& e);
// `ls`: KIND SIZE HITS LAST USE COMPILE NAME.
std::string listed_table(const std::vector<ListedEntry>& entries);

nlohmann::json verify_json(const VerifyReport& r);
std::string verify_text(const VerifyReport& r);
nlohmann::json gc_json(const GcReport& r);
std::string gc_text(const GcReport& r);

}  // namespace mithril::cli
