// FwRoot: the parts of an open cache root the frameworks layer works on
// (check, record, quarantine, eviction of framework entries). It borrows
// them from their owner (Cache::Impl in src/core), which outlives it.
//
// Locking: REQUIRES the owner's lock held for the FwRoot's whole life;
// functions named *_txn further REQUIRE an open index write transaction.
// Counter deltas and `purge_needed` are handed back to the owner, which
// flushes the counters and purges doomed files after the commit.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <mithril/env.h>
#include <mithril/stats.h>

#include "index/index.h"

namespace mithril::frameworks {

struct FwRoot {
  Env& env;
  Index& index;
  const std::string& root;                               // absolute
  std::int64_t temp_max_age_s;                           // staging debris older than this is deleted
  std::array<std::int64_t, kCounterCount>& counters;     // pending deltas, flushed by the owner
  bool& purge_needed;                                    // set when files were doomed

  void count(Counter c, std::int64_t n = 1) { counters[static_cast<int>(c)] += n; }
};

// "fw/": the prefix of every framework file's path relative to the root.
inline constexpr std::string_view kFwPrefix = "fw/";

}  // namespace mithril::frameworks
