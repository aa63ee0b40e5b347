#include <mithril/stats.h>

namespace mithril {

const char* counter_name(Counter c) {
  switch (c) {
    case Counter::kHits: return "hits";
    case Counter::kMisses: return "misses";
    case Counter::kPuts: return "puts";
    case Counter::kEvictions: return "evictions";
    case Counter::kBytesIn: return "bytes_in";
    case Counter::kBytesOut: return "bytes_out";
    case Counter::kCorruptions: return "corruptions";
    case Counter::kErrors: return "errors";
    case Counter::kEvictedBytes: return "evicted_bytes";
    case Counter::kDedupObjects: return "dedup_objects";
    case Counter::kFrameworkHits: return "framework_hits";
    case Counter::kFrameworkNewEntries: return "framework_new_entries";
    case Counter::kRemotePulled: return "remote_pulled";
    case Counter::kRemotePushed: return "remote_pushed";
    case Counter::kRemoteErrors: return "remote_errors";
    case Counter::kRemoteTimeouts: return "remote_timeouts";
    case Counter::kRemoteRejected: return "remote_rejected";
    case Counter::kRemoteBytesIn: return "remote_bytes_in";
    case Counter::kRemoteBytesOut: return "remote_bytes_out";
    case Counter::kCompileMsSaved: return "compile_ms_saved";
    case Counter::kCompileMsSpent: return "compile_ms_spent";
  }
  return "unknown";
}

const char* history_kind_name(HistoryKind k) {
  switch (k) {
    case HistoryKind::kNone: return "";
    case HistoryKind::kRun: return "run";
    case HistoryKind::kGc: return "gc";
    case HistoryKind::kPull: return "pull";
    case HistoryKind::kPush: return "push";
    case HistoryKind::kUnpack: return "unpack";
    case HistoryKind::kPack: return "pack";
  }
  return "";
}

namespace {

double ratio(std::int64_t hits, std::int64_t misses) {
  const double h = static_cast<double>(hits);
  const double m = static_cast<double>(misses);
  return h + m > 0 ? h / (h + m) : 0.0;
}

}  // namespace

double Stats::hit_rate() const { return ratio(get(Counter::kHits), get(Counter::kMisses)); }

double Stats::framework_hit_rate() const {
  return ratio(get(Counter::kFrameworkHits), get(Counter::kFrameworkNewEntries));
}

double RunSummary::framework_hit_rate() const { return ratio(framework_hits, framework_new); }

std::optional<RunSummary> last_framework_run(const std::vector<HistoryPoint>& history) {
  for (std::size_t i = history.size(); i-- > 0;) {
    const HistoryPoint& p = history[i];
    if (p.event != history_kind_name(HistoryKind::kRun)) continue;
    const HistoryPoint before = i > 0 ? history[i - 1] : HistoryPoint{};
    RunSummary r{p.t_ns, p.framework_hits - before.framework_hits, p.framework_new - before.framework_new,
                 p.compile_ms_saved - before.compile_ms_saved};
    if (r.framework_hits != 0 || r.framework_new != 0) return r;
  }
  return std::nullopt;
}

}  // namespace mithril
