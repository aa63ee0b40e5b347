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

double Stats::hit_rate() const {
  const double h = static_cast<double>(get(Counter::kHits));
  const double m = static_cast<double>(get(Counter::kMisses));
  return h + m > 0 ? h / (h + m) : 0.0;
}

}  // namespace mithril
