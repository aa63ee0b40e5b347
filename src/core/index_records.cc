#include "core/index_records.h"

namespace mithril {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

}  // namespace

HistoryRow to_history_row(const HistoryPoint& h) {
  return HistoryRow{h.t_ns,           h.event, h.hits,     h.misses,           h.framework_hits,
                    h.framework_new,  h.bytes, h.max_size, h.compile_ms_saved, h.evictions};
}

std::vector<HistoryPoint> to_history_points(const std::vector<HistoryRow>& rows) {
  std::vector<HistoryPoint> out;
  out.reserve(rows.size());
  for (const HistoryRow& r : rows) {
    out.push_back(HistoryPoint{r.t_ns, r.event, r.hits, r.misses, r.framework_hits, r.framework_new, r.bytes,
                               r.max_size, r.compile_ms_saved, r.evictions});
  }
  return out;
}

std::vector<EvictionRecord> to_eviction_records(const std::vector<EvictionRow>& rows) {
  std::vector<EvictionRecord> out;
  out.reserve(rows.size());
  for (const EvictionRow& r : rows) out.push_back(EvictionRecord{r.t_ns, r.name, r.kind, r.size, r.reason});
  return out;
}

std::vector<FrameworkKindStats> to_kind_stats(const std::vector<FwKindRow>& rows) {
  std::vector<FrameworkKindStats> out;
  out.reserve(rows.size());
  for (const FwKindRow& r : rows) {
    out.push_back(FrameworkKindStats{r.kind, r.entries, r.bytes, r.hits, r.saved_ns / kNsPerMs, r.evictions,
                                     r.evicted_bytes, r.quarantined, r.compiled});
  }
  return out;
}

EntrySummary to_entry_summary(const FwSummaryRow& row) {
  return EntrySummary{row.name, row.kind, row.size, row.hits, row.last_access_ns, row.compile_ns / kNsPerMs};
}

std::vector<EntrySummary> to_entry_summaries(const std::vector<FwSummaryRow>& rows) {
  std::vector<EntrySummary> out;
  out.reserve(rows.size());
  for (const FwSummaryRow& r : rows) out.push_back(to_entry_summary(r));
  return out;
}

}  // namespace mithril
