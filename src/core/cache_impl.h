// Cache::Impl: the state behind the Cache facade. Private to src/core.
//
// Locking: `mu` guards everything here. Every method named *_locked
// REQUIRES `mu` held. Methods named *_txn REQUIRE an open index write
// transaction (which also serializes against other processes).
#pragma once

#include <array>
#include <mutex>
#include <unordered_map>

#include <mithril/cache.h>

#include "frameworks/evict.h"
#include "frameworks/fw_root.h"
#include "index/index.h"
#include "root/budget.h"
#include "store/keyed_source.h"
#include "store/store_root.h"

namespace mithril {

class Cache::Impl final : public root::WriteTxn {
 public:
  Impl(CacheConfig cfg, Env& os) : config(std::move(cfg)), env(os) {}

  Result<void> open_locked();
  Result<void> open_index_locked(bool discard_existing);
  Result<void> rebuild_txn();

  // Runs `f` inside BEGIN IMMEDIATE ... COMMIT; rolls back on error. After
  // a commit that doomed objects, unlinks their files (purge_doomed_locked).
  template <typename F>
  auto in_write_txn(F&& f) -> decltype(f()) {
    MITHRIL_TRY(index->begin_write());
    auto r = f();
    if (!r) {
      index->rollback();
      purge_needed = false;
      return r;
    }
    if (auto c = index->commit(); !c) {
      index->rollback();
      purge_needed = false;
      return std::unexpected(c.error());
    }
    if (purge_needed && !in_purge) (void)purge_doomed_locked();  // retried at the next open
    return r;
  }
  // root::WriteTxn, for the store and the Budget: in_write_txn.
  Result<void> run_write_txn(const std::function<Result<void>()>& body) override { return in_write_txn(body); }
  // Second phase of deletion (objects, then framework files): unlinks the
  // files doomed by committed transactions (unless revived meanwhile) and
  // forgets them. Each eviction source's purge_txn, in one write txn.
  Result<void> purge_doomed_locked();

  // A stored object failed verification (`corrupt`) or vanished: drop every
  // entry that holds it.
  Result<void> drop_object_locked(const Digest& digest, bool corrupt);
  // Evicts down to `budget` bytes and config.max_files through the Budget.
  Result<GcReport> gc_locked(std::uint64_t budget);
  // gc_locked(config.max_size) when the root is over it or over max_files.
  Result<void> maybe_gc_locked();

  // Appends a history point named `event` (history_kind_name()): flushes,
  // then one write txn.
  Result<void> record_history_locked(const char* event);

  void count(Counter c, std::int64_t n = 1) { pending_counters[static_cast<int>(c)] += n; }
  // This root as the frameworks layer sees it (borrowed: valid while `mu` is held).
  frameworks::FwRoot fw_root() {
    return {env, *index, config.root, config.temp_max_age_s, pending_counters, purge_needed};
  }
  // This root as the keyed store sees it (borrowed: valid while `mu` is held).
  mithril::store::StoreRoot store_root() { return {env, *index, *store, pending_counters, pending_touches, purge_needed, *this}; }
  Result<void> maybe_flush_locked();
  Result<void> flush_locked();

  CacheConfig config;
  Env& env;
  std::unique_ptr<ContentStore> store;
  std::unique_ptr<Index> index;
  std::mutex mu;
  mithril::store::PendingTouches pending_touches;  // buffered lookups (time, hits) per key
  std::array<std::int64_t, kCounterCount> pending_counters{};
  std::int64_t last_flush_ns = 0;
  bool purge_needed = false;
  bool in_purge = false;
};

// `mithril verify` over framework files: hashes every recorded file of every
// partition (whatever its size and mtime say) and quarantines the entries
// whose files are missing or differ, like the check before a run. Adds to
// the framework_* fields of `report`. LOCKED (takes the write lock itself
// only when something is wrong).
Result<void> verify_framework_files_locked(Cache::Impl& impl, VerifyReport* report);

}  // namespace mithril
