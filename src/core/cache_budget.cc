// The Cache facade's eviction: the lock, the write transactions and the
// counters are the facade's; the LRU loop is root::Budget's, over the keyed
// store and the framework entries as its two EvictionSources.
#include <mithril/cache.h>

#include <mithril/log.h>

#include "core/cache_impl.h"
#include "core/space_reserve.h"

namespace mithril {
namespace {

// The eviction sources of an open root, in tie-break order (keyed store
// first), and the Budget over them. Borrowed from `impl`: REQUIRES its lock.
struct RootBudget {
  explicit RootBudget(Cache::Impl& impl)
      : keyed(impl.store_root()), fw(impl.fw_root()), budget({&keyed, &fw}, impl) {}

  store::KeyedSource keyed;
  frameworks::FwSource fw;
  root::Budget budget;
};

root::BudgetLimits limits_of(const CacheConfig& config, std::uint64_t max_bytes) {
  return {max_bytes, config.max_files > 0 ? static_cast<std::uint64_t>(config.max_files) : 0};
}

}  // namespace

Result<void> Cache::Impl::purge_doomed_locked() {
  purge_needed = false;
  in_purge = true;
  RootBudget b(*this);
  auto r = in_write_txn([&] { return b.budget.purge_txn(); });
  in_purge = false;
  return r;
}

Result<void> Cache::Impl::maybe_gc_locked() {
  RootBudget b(*this);
  MITHRIL_ASSIGN(const bool over, b.budget.over(limits_of(config, config.max_size)));
  if (!over) return {};
  MITHRIL_ASSIGN(const auto report, gc_locked(config.max_size));
  (void)report;
  return {};
}

Result<GcReport> Cache::Impl::gc_locked(std::uint64_t budget) {
  MITHRIL_TRY(flush_locked());  // so this process's recent hits count as recent
  GcReport report;
  MITHRIL_ASSIGN(report.temp_files_removed,
                 store->remove_stale_temp_files(config.temp_max_age_s * 1'000'000'000LL));
  RootBudget b(*this);
  const auto on_batch_txn = [&](std::uint64_t steps, std::uint64_t freed) -> Result<void> {
    std::array<std::int64_t, kCounterCount> delta{};
    delta[static_cast<int>(Counter::kEvictions)] = static_cast<std::int64_t>(steps);
    delta[static_cast<int>(Counter::kEvictedBytes)] = static_cast<std::int64_t>(freed);
    return index->add_counters(delta);
  };
  MITHRIL_ASSIGN(const root::BudgetOutcome out, b.budget.enforce(limits_of(config, budget), on_batch_txn));
  report.stored_before = out.bytes_before;
  report.stored_after = out.bytes_after;
  report.evicted_entries = out.evicted_entries;
  report.evicted_bytes = out.evicted_bytes;
  MITHRIL_LOG(LogLevel::kInfo, "gc",
              {{"budget", static_cast<std::int64_t>(budget)},
               {"evicted_entries", static_cast<std::int64_t>(report.evicted_entries)},
               {"size_before", static_cast<std::int64_t>(report.stored_before)},
               {"size_after", static_cast<std::int64_t>(report.stored_after)}});
  return report;
}

Result<GcReport> Cache::gc(std::optional<std::uint64_t> max_size) {
  std::lock_guard lock(m_impl->mu);
  auto r = m_impl->gc_locked(max_size.value_or(m_impl->config.max_size));
  if (!r) m_impl->count(Counter::kErrors);
  if (r) MITHRIL_TRY(m_impl->record_history_locked(history_kind_name(HistoryKind::kGc)));
  if (r && r->evicted_bytes > 0) restore_space_reserve(m_impl->env, m_impl->config.root);
  return r;
}

}  // namespace mithril
