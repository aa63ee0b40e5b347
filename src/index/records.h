// The index's own row types: what its tables hold, as plain values.
//
// The index knows nothing of the reports core builds from these rows
// (include/mithril/stats.h); core converts rows into report types in one
// place (src/core/index_records.h). Times are nanoseconds since the epoch,
// sizes are bytes, as stored. Private to src/index and src/core.
//
// Thread safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <mithril/digest.h>

namespace mithril {

// Slots of the counters table (ids 0..kIndexCounterSlots-1). The ids and
// their meaning are core's (mithril::Counter); core checks at compile time
// that they fit.
inline constexpr int kIndexCounterSlots = 21;
using IndexCounters = std::array<std::int64_t, kIndexCounterSlots>;

// A file a framework wrote into a managed directory, as last recorded.
struct FwFile {
  std::string path;  // relative to the cache root
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  Digest digest;
  std::string entry;  // the framework entry it belongs to
};

// A row of fw_entries.
struct FwEntryRecord {
  std::string name;  // e.g. "cpu-AVX2/inductor/fxgraph/l2/fl2g..."
  std::string kind;  // adapter's kind, e.g. "inductor-fxgraph"
  std::uint64_t size = 0;
  std::int64_t created_ns = 0;
  std::int64_t last_access_ns = 0;
  std::int64_t hits = 0;
};

// A framework entry with its recorded compile cost (fw_entries + fw_costs).
struct FwSummaryRow {
  std::string name;
  std::string kind;
  std::uint64_t size = 0;
  std::int64_t hits = 0;
  std::int64_t last_access_ns = 0;
  std::int64_t compile_ns = 0;  // 0 = unknown
};

// The framework entries of one kind (fw_entries grouped by kind) with that
// kind's persistent counters (fw_kind_counters); zero where either is absent.
struct FwKindRow {
  std::string kind;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::int64_t hits = 0;
  std::int64_t evictions = 0;
  std::int64_t evicted_bytes = 0;
  std::int64_t quarantined = 0;
  std::int64_t saved_ns = 0;
  std::int64_t compiled = 0;
};

// A row of history (fields in the order of its columns).
struct HistoryRow {
  std::int64_t t_ns = 0;
  std::string event;
  std::int64_t hits = 0;
  std::int64_t misses = 0;
  std::int64_t framework_hits = 0;
  std::int64_t framework_new = 0;
  std::uint64_t bytes = 0;
  std::uint64_t max_size = 0;
  std::int64_t compile_ms_saved = 0;
  std::int64_t evictions = 0;
};

// A row of eviction_log.
struct EvictionRow {
  std::int64_t t_ns = 0;
  std::string name;
  std::string kind;
  std::uint64_t size = 0;
  std::string reason;
};

}  // namespace mithril
