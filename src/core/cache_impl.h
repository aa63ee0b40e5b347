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

#include "frameworks/fw_root.h"
#include "index/index.h"

namespace mithril {

class Cache::Impl {
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
  // Second phase of object deletion: unlinks the files of doomed objects
  // (unless a put revived them meanwhile) and forgets them.
  Result<void> purge_doomed_locked();

  // Publishes a staged object, or drops it when the index already has it.
  Result<ObjectInfo> publish_txn(StagedObject&& staged);
  // Publishes a staged blob and records its blob entry; may run gc.
  Result<ObjectInfo> put_staged_blob_locked(Result<StagedObject> staged);
  // Notes that the open transaction doomed `dead` objects: their files are
  // unlinked after it commits.
  void note_doomed(const std::vector<Digest>& dead) { purge_needed = purge_needed || !dead.empty(); }
  // A stored object failed verification (`corrupt`) or vanished: drop every
  // entry that holds it.
  Result<void> drop_object_locked(const Digest& digest, bool corrupt);
  Result<GcReport> gc_locked(std::uint64_t budget);
  Result<bool> evict_one_txn(std::vector<Digest>* dead, int* busy_skips);
  Result<void> maybe_gc_locked();
  // True when the root holds more files than config.max_files (0: no limit).
  Result<bool> over_file_limit_locked();

  // Reads an object for a lookup: nullopt when it vanished or was corrupt
  // (both handled: entries dropped, corruption counted).
  Result<std::optional<std::string>> read_object_locked(const Digest& digest);

  // Appends a history point named `event` (history_kind_name()): flushes,
  // then one write txn.
  Result<void> record_history_locked(const char* event);

  void count(Counter c, std::int64_t n = 1) { pending_counters[static_cast<int>(c)] += n; }
  // This root as the frameworks layer sees it (borrowed: valid while `mu` is held).
  frameworks::FwRoot fw_root() {
    return {env, *index, config.root, config.temp_max_age_s, pending_counters, purge_needed};
  }
  void touch_locked(const Digest& key);
  Result<void> maybe_flush_locked();
  Result<void> flush_locked();

  CacheConfig config;
  Env& env;
  std::unique_ptr<ContentStore> store;
  std::unique_ptr<Index> index;
  std::mutex mu;
  std::unordered_map<Digest, std::pair<std::int64_t, std::int64_t>> pending_touches;  // t, hits
  std::array<std::int64_t, kCounterCount> pending_counters{};
  std::int64_t last_flush_ns = 0;
  bool purge_needed = false;
  bool in_purge = false;
};

// Removes framework entry `oldest` from the index and dooms its files
// (unlinked after the commit, see purge_fw_doomed_txn). REQUIRES an open
// write transaction. Returns the bytes freed; 0 when a framework process
// holds the entry's lock (the entry is then marked used).
Result<std::uint64_t> evict_oldest_fw_txn(Cache::Impl& impl, const FwEntryRecord& oldest);
// Second phase of framework eviction: unlinks the doomed files (unless a
// sync recorded them again) and forgets them; an entry whose lock torch
// holds is left for the next purge. TXN.
Result<void> purge_fw_doomed_txn(Cache::Impl& impl);
// `mithril verify` over framework files: hashes every recorded file of every
// partition (whatever its size and mtime say) and quarantines the entries
// whose files are missing or differ, like the check before a run. Adds to
// the framework_* fields of `report`. LOCKED (takes the write lock itself
// only when something is wrong).
Result<void> verify_framework_files_locked(Cache::Impl& impl, VerifyReport* report);

}  // namespace mithril
