// Budget: one LRU loop over the eviction sources of a root.
#include "root/budget.h"

namespace mithril::root {
namespace {

bool over_limits(const Footprint& now, const BudgetLimits& limits) {
  return now.bytes > limits.max_bytes || (limits.max_files > 0 && now.files > limits.max_files);
}

}  // namespace

Result<Footprint> Budget::footprint() {
  Footprint total;
  for (EvictionSource* s : m_sources) {
    MITHRIL_ASSIGN(const Footprint f, s->footprint());
    total.bytes += f.bytes;
    total.files += f.files;
  }
  return total;
}

Result<bool> Budget::over(const BudgetLimits& limits) {
  MITHRIL_ASSIGN(const Footprint now, footprint());
  return over_limits(now, limits);
}

Result<bool> Budget::evict_one_txn() {
  EvictionSource* pick = nullptr;
  std::size_t pick_index = 0;
  std::optional<EvictionCandidate> best;
  for (std::size_t i = 0; i < m_sources.size(); ++i) {
    if (m_busy_skips[i] >= kMaxBusySkips) continue;  // only busy entries left there, likely
    MITHRIL_ASSIGN(auto c, m_sources[i]->oldest_txn());
    if (c && (!best || c->last_access_ns < best->last_access_ns)) {  // a tie stays with the earlier source
      best = std::move(c);
      pick = m_sources[i];
      pick_index = i;
    }
  }
  if (pick == nullptr) return false;
  MITHRIL_ASSIGN(const bool evicted, pick->evict_txn(*best));
  if (!evicted && best->size > 0) ++m_busy_skips[pick_index];
  m_progress = m_progress || evicted;
  return true;
}

Result<Budget::BatchResult> Budget::batch_txn(const BudgetLimits& limits) {
  BatchResult out;
  MITHRIL_ASSIGN(const Footprint start, footprint());
  Footprint now = start;
  bool exhausted = false;
  m_progress = false;
  while (over_limits(now, limits) && out.steps < static_cast<std::uint64_t>(kBatch)) {
    MITHRIL_ASSIGN(const bool any, evict_one_txn());
    if (!any) {
      exhausted = true;
      break;
    }
    ++out.steps;
    MITHRIL_ASSIGN(now, footprint());
  }
  out.freed = start.bytes - now.bytes;
  // Another batch only while this one freed something: busy entries
  // (skipped, not freed) never keep the loop going.
  out.more = !exhausted && out.steps == static_cast<std::uint64_t>(kBatch) && m_progress && over_limits(now, limits);
  return out;
}

Result<BudgetOutcome> Budget::enforce(const BudgetLimits& limits, const BatchHook& on_batch_txn) {
  BudgetOutcome out;
  MITHRIL_ASSIGN(const Footprint before, footprint());
  out.bytes_before = before.bytes;
  m_busy_skips.assign(m_sources.size(), 0);
  for (bool more = true; more;) {
    MITHRIL_TRY(m_txn.run_write_txn([&]() -> Result<void> {
      MITHRIL_ASSIGN(const BatchResult batch, batch_txn(limits));
      MITHRIL_TRY(on_batch_txn(batch.steps, batch.freed));
      out.evicted_entries += batch.steps;
      out.evicted_bytes += batch.freed;
      more = batch.more;
      return {};
    }));
  }
  MITHRIL_ASSIGN(const Footprint after, footprint());
  out.bytes_after = after.bytes;
  return out;
}

Result<void> Budget::purge_txn() {
  for (EvictionSource* s : m_sources) MITHRIL_TRY(s->purge_txn());
  return {};
}

}  // namespace mithril::root
