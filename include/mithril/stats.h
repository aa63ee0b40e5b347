// Persistent counters and the statistics snapshot.
//
// Counter IDs are stored in the index database: append new ones, never
// renumber or reuse. Counters survive restarts and are shared by every
// process using the same root (each process adds its deltas in a transaction).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <mithril/export.h>

namespace mithril {

enum class Counter : int {
  kHits = 0,          // lookups that returned a verified entry
  kMisses = 1,        // lookups that found nothing usable
  kPuts = 2,          // entries stored
  kEvictions = 3,     // entries evicted by the size budget (gc)
  kBytesIn = 4,       // uncompressed bytes offered to put
  kBytesOut = 5,      // uncompressed bytes returned by hits
  kCorruptions = 6,   // objects that failed verification and were quarantined
  kErrors = 7,        // operations that failed with an error (not misses)
  kEvictedBytes = 8,  // stored bytes freed by eviction
  kDedupObjects = 9,  // objects a put did not write because they were already stored
  kFrameworkHits = 10,        // framework entries a run read (torch/Triton cache hits)
  kFrameworkNewEntries = 11,  // framework entries a run created (compiled: misses)
  kRemotePulled = 12,    // framework entries downloaded from a remote (remote hits)
  kRemotePushed = 13,    // framework entries uploaded to a remote
  kRemoteErrors = 14,    // remote operations that failed (unreachable, refused, bad reply)
  kRemoteTimeouts = 15,  // remote operations that ran out of time
  kRemoteRejected = 16,  // remote entries refused: digest, size, path or signature wrong
  kRemoteBytesIn = 17,   // wire bytes received from remotes
  kRemoteBytesOut = 18,  // wire bytes sent to remotes
  kCompileMsSaved = 19,  // estimated compile time the framework hits saved (ms)
  kCompileMsSpent = 20,  // estimated compile time spent producing new framework entries (ms)
};
inline constexpr int kCounterCount = 21;

// "hits", "misses", ... (stable names used in JSON and the CLI).
MITHRIL_API const char* counter_name(Counter c);

// Framework entries of one kind ("inductor-fxgraph", "triton-kernel", ...).
struct MITHRIL_API FrameworkKindStats {
  std::string kind;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::int64_t hits = 0;               // hits of the current entries
  std::int64_t compile_ms_saved = 0;   // estimated compile time its hits saved (ever)
  std::int64_t evictions = 0;          // entries of this kind evicted by the budget (ever)
  std::int64_t evicted_bytes = 0;
  std::int64_t quarantined = 0;        // entries of this kind quarantined as damaged (ever)
  std::int64_t compiled = 0;           // entries of this kind a framework created: its misses (ever)
};

// What a history point follows (docs/frameworks.md, "History"):
//   kRun    a framework ran (sync after a job: `mithril run`, init());
//   kGc     a gc;  kPull / kPush  a pull / push of framework entries;
//   kUnpack an unpacked bundle;  kPack  a packed bundle (its sync of what is
//           on disk; the bundle itself changes no counter);
//   kNone   record no point.
enum class HistoryKind { kNone, kRun, kGc, kPull, kPush, kUnpack, kPack };
// The event name a point of kind `k` carries: "run", "gc", "pull", "push",
// "unpack", "pack"; "" for kNone.
MITHRIL_API const char* history_kind_name(HistoryKind k);

// One point of a root's history, recorded after every framework run, gc,
// pull, push, pack and unpack (counters are cumulative; `bytes` = store +
// framework bytes).
struct MITHRIL_API HistoryPoint {
  std::int64_t t_ns = 0;
  std::string event;  // history_kind_name(): "run", "gc", "pull", "push", "unpack", "pack"
  std::int64_t hits = 0;
  std::int64_t misses = 0;
  std::int64_t framework_hits = 0;
  std::int64_t framework_new = 0;
  std::uint64_t bytes = 0;
  std::uint64_t max_size = 0;
  std::int64_t compile_ms_saved = 0;
  std::int64_t evictions = 0;
};

// What the framework cache did in one run: the difference between a "run"
// history point and the point before it (counters are cumulative).
struct MITHRIL_API RunSummary {
  std::int64_t t_ns = 0;             // when the run's point was recorded
  std::int64_t framework_hits = 0;   // framework entries the run read
  std::int64_t framework_new = 0;    // framework entries the run compiled (misses)
  std::int64_t compile_ms_saved = 0;
  // framework_hits / (framework_hits + framework_new).
  double framework_hit_rate() const;
};

// The latest run that read or compiled framework entries: the newest "run"
// point whose framework counters differ from the point before it (the first
// point is compared with zero counters). Runs that touched no framework
// entry are skipped; nullopt when there is none. Points of other kinds
// (gc, pull, push, pack, unpack) are never runs, but serve as "the point
// before" (counters are cumulative).
// Counters other processes flushed between the two points are included.
MITHRIL_API std::optional<RunSummary> last_framework_run(const std::vector<HistoryPoint>& history);

// One entry removed by the budget or because it was damaged.
struct MITHRIL_API EvictionRecord {
  std::int64_t t_ns = 0;
  std::string name;    // framework entry name, or a store entry's key digest
  std::string kind;    // "inductor-fxgraph", ..., or "store"
  std::uint64_t size = 0;
  std::string reason;  // "budget", "corrupt"
};

// A framework entry, for reports (largest entries) and `mithril ls`.
struct MITHRIL_API EntrySummary {
  std::string name;  // "<partition>/<framework>/<entry>"
  std::string kind;
  std::uint64_t size = 0;
  std::int64_t hits = 0;
  std::int64_t last_access_ns = 0;
  std::int64_t compile_ms = 0;  // recorded compile time (0 = unknown)
};

struct MITHRIL_API Stats {
  std::array<std::int64_t, kCounterCount> counters{};
  std::uint64_t entries = 0;
  std::uint64_t objects = 0;
  std::uint64_t stored_bytes = 0;   // bytes of all objects on disk (what the budget bounds)
  std::uint64_t logical_bytes = 0;  // uncompressed bytes of all objects
  std::uint64_t framework_entries = 0;
  std::uint64_t framework_bytes = 0;  // bytes of tracked framework files
  std::vector<FrameworkKindStats> framework_kinds;
  std::uint64_t max_size = 0;       // the budget (bounds stored_bytes + framework_bytes)
  std::uint64_t index_bytes = 0;    // size of the index database files
  std::uint64_t quarantined = 0;    // files in quarantine/
  std::string root;

  std::int64_t get(Counter c) const { return counters[static_cast<int>(c)]; }
  // The keyed store's hits / (hits + misses), or 0 when there were no lookups.
  double hit_rate() const;
  // Framework entries read / (read + compiled), lifetime; 0 when neither.
  double framework_hit_rate() const;
};

}  // namespace mithril
