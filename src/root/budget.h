// Budget: the one LRU loop that evicts a cache root down to its size budget
// (and its file-count bound) over the root's EvictionSources: the keyed
// store (src/store/keyed_source.h) and the framework caches
// (src/frameworks/evict.h). gc, and the enforcement after a put and after a
// framework sync, all run through Budget::enforce. Private to src/.
//
// Order: global LRU across the sources, whole entries. Every step evicts the
// candidate with the smallest last access of all sources' oldest ones; a tie
// goes to the source listed first. A source whose entries were found busy
// (skipped, not freed) kMaxBusySkips times is left out for the rest of the
// call, so busy framework entries never keep the loop going.
//
// Transactions: at most kBatch evictions per write transaction (bounds lock
// hold time), run by the owner's WriteTxn, which also runs the second phase
// (EvictionSource::purge_txn via Budget::purge_txn) after each commit.
//
// Thread/process safety: none of its own; the owner's lock must be held for a
// Budget's whole life (it borrows the sources and the WriteTxn).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <mithril/result.h>

namespace mithril::root {

// What a source holds now: bytes count toward the size budget, files toward
// the file-count bound.
struct Footprint {
  std::uint64_t bytes = 0;
  std::uint64_t files = 0;
};

// A source's least recently used entry.
struct EvictionCandidate {
  std::string name;  // the source's name for the entry (it is handed back to evict_txn)
  std::string kind;
  std::uint64_t size = 0;
  std::int64_t last_access_ns = 0;
};

// One kind of evictable entries (implemented by the store and the frameworks
// layer). Every function REQUIRES an open index write transaction (TXN) but
// footprint(), which also works outside one.
class EvictionSource {
 public:
  EvictionSource() = default;
  EvictionSource(const EvictionSource&) = delete;
  EvictionSource& operator=(const EvictionSource&) = delete;
  virtual ~EvictionSource() = default;

  virtual Result<Footprint> footprint() = 0;
  // The least recently used entry; nullopt when the source is empty. TXN.
  virtual Result<std::optional<EvictionCandidate>> oldest_txn() = 0;
  // Evicts `c` (returned by the last oldest_txn()): forgets it and dooms what
  // only it held, logs it. False when it is busy: skipped and marked used
  // instead (so it is no longer the oldest). TXN.
  virtual Result<bool> evict_txn(const EvictionCandidate& c) = 0;
  // Second phase, after the commit that doomed: unlinks what is doomed. TXN.
  virtual Result<void> purge_txn() = 0;
};

// The owner's write transaction: runs `body` inside one (rolled back when it
// fails); after a commit that doomed something, runs the purge.
class WriteTxn {
 public:
  virtual Result<void> run_write_txn(const std::function<Result<void>()>& body) = 0;

 protected:
  WriteTxn() = default;
  WriteTxn(const WriteTxn&) = default;
  WriteTxn& operator=(const WriteTxn&) = default;
  ~WriteTxn() = default;
};

struct BudgetLimits {
  std::uint64_t max_bytes = 0;
  std::uint64_t max_files = 0;  // 0: no bound
};

struct BudgetOutcome {
  std::uint64_t bytes_before = 0;
  std::uint64_t bytes_after = 0;
  std::uint64_t evicted_entries = 0;  // eviction steps, busy skips included (as the counters always did)
  std::uint64_t evicted_bytes = 0;
};

class Budget {
 public:
  static constexpr int kBatch = 256;        // evictions per write transaction
  static constexpr int kMaxBusySkips = 64;  // per source and call
  // Called inside each batch's transaction with the batch's steps and freed
  // bytes (the owner adds them to its counters). TXN.
  using BatchHook = std::function<Result<void>(std::uint64_t steps, std::uint64_t freed_bytes)>;

  // `sources` in tie-break order; all borrowed, they outlive the Budget.
  Budget(std::vector<EvictionSource*> sources, WriteTxn& txn) : m_sources(std::move(sources)), m_txn(txn) {}

  // The sources' total.
  Result<Footprint> footprint();
  // True when the root is over `limits` (enforce would evict).
  Result<bool> over(const BudgetLimits& limits);
  // Evicts in LRU order until the root is within `limits`, nothing is left,
  // or only busy entries are.
  Result<BudgetOutcome> enforce(const BudgetLimits& limits, const BatchHook& on_batch_txn);
  // The second phase of every source, in order. TXN.
  Result<void> purge_txn();

 private:
  struct BatchResult {
    std::uint64_t steps = 0;
    std::uint64_t freed = 0;
    bool more = false;  // another batch is needed and may help
  };
  Result<BatchResult> batch_txn(const BudgetLimits& limits);
  // Evicts the globally oldest candidate; false when no source has one.
  Result<bool> evict_one_txn();

  std::vector<EvictionSource*> m_sources;
  std::vector<int> m_busy_skips;  // per source, over one enforce()
  bool m_progress = false;        // the current batch evicted (not only skipped)
  WriteTxn& m_txn;
};

}  // namespace mithril::root
