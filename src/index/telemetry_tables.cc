// Index: telemetry shared by every process on the root: the counters, the
// per-kind framework counters (fw_kind_counters), the history points and the
// eviction log (both pruned).
#include <map>

#include "index/index.h"
#include "index/statements.h"

namespace mithril {

Result<void> Index::add_counters(const IndexCounters& delta) {
  for (int i = 0; i < kIndexCounterSlots; ++i) {
    if (delta[i] == 0) continue;
    MITHRIL_STMT(s, "INSERT INTO counters(id, value) VALUES (?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET value = value + excluded.value");
    s.bind(1, i).bind(2, delta[i]);
    MITHRIL_TRY(s.run());
  }
  return {};
}

Result<IndexCounters> Index::counters() {
  IndexCounters out{};
  MITHRIL_STMT(s, "SELECT id, value FROM counters");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    const auto id = s.i64(0);
    if (id >= 0 && id < kIndexCounterSlots) out[static_cast<std::size_t>(id)] = s.i64(1);
  }
  return out;
}

Result<std::vector<FwKindRow>> Index::fw_kinds() {
  std::map<std::string, FwKindRow> kinds;
  {
    MITHRIL_STMT(s, "SELECT kind, COUNT(*), SUM(size), SUM(hits) FROM fw_entries GROUP BY kind");
    for (;;) {
      MITHRIL_ASSIGN(const bool row, s.step());
      if (!row) break;
      auto& k = kinds[s.text(0)];
      k.kind = s.text(0);
      k.entries = s.u64(1);
      k.bytes = s.u64(2);
      k.hits = s.i64(3);
    }
  }
  MITHRIL_STMT(c, "SELECT kind, evictions, evicted_bytes, quarantined, saved_ns, compiled FROM fw_kind_counters");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, c.step());
    if (!row) break;
    auto& k = kinds[c.text(0)];
    k.kind = c.text(0);
    k.evictions = c.i64(1);
    k.evicted_bytes = c.i64(2);
    k.quarantined = c.i64(3);
    k.saved_ns = c.i64(4);
    k.compiled = c.i64(5);
  }
  std::vector<FwKindRow> out;
  out.reserve(kinds.size());
  for (auto& [name, k] : kinds) out.push_back(std::move(k));
  return out;
}

Result<void> Index::fw_kind_add(const std::string& kind, const KindDelta& d) {
  MITHRIL_STMT(s, "INSERT INTO fw_kind_counters(kind, evictions, evicted_bytes, quarantined, saved_ns, compiled) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kind) DO UPDATE SET evictions = evictions + ?2, "
                  "evicted_bytes = evicted_bytes + ?3, quarantined = quarantined + ?4, saved_ns = saved_ns + ?5, "
                  "compiled = compiled + ?6");
  s.bind(1, kind).bind(2, d.evictions).bind(3, d.evicted_bytes).bind(4, d.quarantined).bind(5, d.saved_ns)
      .bind(6, d.compiled);
  return s.run();
}

Result<void> Index::history_add(const HistoryRow& h) {
  MITHRIL_STMT(s, "INSERT INTO history(t, event, hits, misses, fw_hits, fw_new, bytes, max_size, saved_ms, evictions) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, h.t_ns).bind(2, h.event).bind(3, h.hits).bind(4, h.misses).bind(5, h.framework_hits)
      .bind(6, h.framework_new).bind(7, static_cast<std::int64_t>(h.bytes)).bind(8, static_cast<std::int64_t>(h.max_size))
      .bind(9, h.compile_ms_saved).bind(10, h.evictions);
  MITHRIL_TRY(s.run());
  MITHRIL_STMT(prune, "DELETE FROM history WHERE rowid <= (SELECT MAX(rowid) FROM history) - 5000");
  return prune.run();
}

Result<std::vector<HistoryRow>> Index::history() {
  MITHRIL_STMT(s, "SELECT t, event, hits, misses, fw_hits, fw_new, bytes, max_size, saved_ms, evictions "
                  "FROM history ORDER BY rowid");
  return s.rows([](const detail::Stmt& r) {
    return HistoryRow{r.i64(0), r.text(1), r.i64(2), r.i64(3), r.i64(4), r.i64(5), r.u64(6), r.u64(7), r.i64(8),
                      r.i64(9)};
  });
}

Result<void> Index::eviction_log_add(const EvictionRow& e) {
  MITHRIL_STMT(s, "INSERT INTO eviction_log(t, name, kind, size, reason) VALUES (?, ?, ?, ?, ?)");
  s.bind(1, e.t_ns).bind(2, e.name).bind(3, e.kind).bind(4, static_cast<std::int64_t>(e.size)).bind(5, e.reason);
  MITHRIL_TRY(s.run());
  MITHRIL_STMT(prune, "DELETE FROM eviction_log WHERE rowid <= (SELECT MAX(rowid) FROM eviction_log) - 2000");
  return prune.run();
}

Result<std::vector<EvictionRow>> Index::eviction_log(std::size_t limit) {
  MITHRIL_STMT(s, "SELECT t, name, kind, size, reason FROM eviction_log ORDER BY rowid DESC LIMIT ?");
  s.bind(1, static_cast<std::int64_t>(limit));
  return s.rows([](const detail::Stmt& r) {
    return EvictionRow{r.i64(0), r.text(1), r.text(2), r.u64(3), r.text(4)};
  });
}

}  // namespace mithril
