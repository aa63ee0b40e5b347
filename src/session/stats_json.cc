#include "session/stats_json.h"

#include <mithril/cache.h>
#include <mithril/format.h>
#include <mithril/session.h>

namespace mithril {
using detail::iso_time;
namespace {

nlohmann::json run_json(const std::optional<RunSummary>& run) {
  if (!run) return nullptr;
  return {{"time", iso_time(run->t_ns)},
          {"framework_hits", run->framework_hits},
          {"framework_compiled", run->framework_new},
          {"framework_hit_rate", run->framework_hit_rate()},
          {"compile_ms_saved", run->compile_ms_saved}};
}

nlohmann::json kinds_json(const std::vector<FrameworkKindStats>& kinds) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : kinds) {
    out[k.kind] = {{"entries", k.entries},         {"bytes", k.bytes},
                   {"hits", k.hits},               {"compile_ms_saved", k.compile_ms_saved},
                   {"evictions", k.evictions},     {"evicted_bytes", k.evicted_bytes},
                   {"quarantined", k.quarantined}, {"compiled", k.compiled}};
  }
  return out;
}

nlohmann::json top_json(const std::vector<EntrySummary>& top) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : top) {
    out.push_back({{"name", e.name}, {"kind", e.kind}, {"size", e.size}, {"hits", e.hits},
                   {"compile_ms", e.compile_ms}});
  }
  return out;
}

}  // namespace

nlohmann::json stats_json(const Stats& s, const std::optional<RunSummary>& last_run,
                          const std::vector<EntrySummary>& top) {
  nlohmann::json counters = nlohmann::json::object();
  for (int i = 0; i < kCounterCount; ++i) counters[counter_name(static_cast<Counter>(i))] = s.counters[i];
  return {
      {"schema_version", 1},
      {"root", s.root},
      {"entries", s.entries},
      {"objects", s.objects},
      {"stored_bytes", s.stored_bytes},
      {"logical_bytes", s.logical_bytes},
      {"framework_entries", s.framework_entries},
      {"framework_bytes", s.framework_bytes},
      {"total_bytes", s.stored_bytes + s.framework_bytes},
      {"max_size", s.max_size},
      {"index_bytes", s.index_bytes},
      {"quarantined_files", s.quarantined},
      {"hit_rate", s.hit_rate()},
      {"framework_hit_rate", s.framework_hit_rate()},
      {"last_run", run_json(last_run)},
      {"counters", counters},
      {"frameworks", kinds_json(s.framework_kinds)},
      {"top_entries", top_json(top)},
  };
}

Result<std::string> stats_json_text(Cache& cache, int indent) {
  MITHRIL_ASSIGN(const Stats s, cache.stats());
  MITHRIL_ASSIGN(const auto history, cache.history());
  MITHRIL_ASSIGN(const auto top, cache.largest_framework_entries(5));
  return stats_json(s, last_framework_run(history), top).dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mithril
