// The one place where the index's rows (src/index/records.h) become the
// report types of the public API (include/mithril/stats.h) and back. The
// index knows nothing of reports; core converts here. Private to src/core.
//
// Thread safety: pure functions of plain values.
#pragma once

#include <vector>

#include <mithril/stats.h>

#include "index/records.h"

namespace mithril {

// The index stores core's counters by id (mithril::Counter) in its slots.
static_assert(kCounterCount == kIndexCounterSlots, "index counter slots must match mithril::Counter");

HistoryRow to_history_row(const HistoryPoint& h);
std::vector<HistoryPoint> to_history_points(const std::vector<HistoryRow>& rows);
std::vector<EvictionRecord> to_eviction_records(const std::vector<EvictionRow>& rows);
// compile_ms_saved is the kind's saved_ns in whole milliseconds.
std::vector<FrameworkKindStats> to_kind_stats(const std::vector<FwKindRow>& rows);
// compile_ms is the row's compile_ns in whole milliseconds.
EntrySummary to_entry_summary(const FwSummaryRow& row);
std::vector<EntrySummary> to_entry_summaries(const std::vector<FwSummaryRow>& rows);

}  // namespace mithril
