// StoreRoot: the parts of an open cache root the keyed store works on (blob
// and keyed entries over the content store and the index). It borrows them
// from their owner (Cache::Impl in src/core), which outlives it, as
// frameworks::FwRoot does for the framework side.
//
// Locking: REQUIRES the owner's lock held for the StoreRoot's whole life;
// functions named *_txn further REQUIRE an open index write transaction.
// Counter deltas, access times (`touches`) and `purge_needed` are handed back
// to the owner, which flushes them and purges doomed objects after a commit.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>

#include <mithril/content_store.h>
#include <mithril/env.h>
#include <mithril/stats.h>

#include "index/index.h"
#include "root/budget.h"

namespace mithril::store {

// Buffered lookups per entry key: last access time and hits.
using PendingTouches = std::unordered_map<Digest, std::pair<std::int64_t, std::int64_t>>;

struct StoreRoot {
  Env& env;
  Index& index;
  ContentStore& objects;
  std::array<std::int64_t, kCounterCount>& counters;  // pending deltas, flushed by the owner
  PendingTouches& touches;                            // flushed by the owner
  bool& purge_needed;                                 // set when objects were doomed
  root::WriteTxn& txn;                                // the owner's (for lookups that drop a bad object)

  void count(Counter c, std::int64_t n = 1) { counters[static_cast<int>(c)] += n; }
  // Notes that the open transaction doomed `dead` objects.
  void note_doomed(const std::vector<Digest>& dead) { purge_needed = purge_needed || !dead.empty(); }
  void touch(const Digest& key) {
    auto& [t, hits] = touches[key];
    t = env.now_ns();
    hits += 1;
  }
};

// Runs `f` (returning Result<T>) inside the owner's write transaction.
template <typename T, typename F>
Result<T> in_write_txn(StoreRoot& s, F&& f) {
  std::optional<T> out;
  MITHRIL_TRY(s.txn.run_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(T value, f());
    out = std::move(value);
    return {};
  }));
  if (!out) return fail(ErrorCode::kInternal, "write transaction committed without a result");
  return std::move(*out);
}

}  // namespace mithril::store
