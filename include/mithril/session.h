// RunSession: one run of a framework job under a mithril root, the cycle
// `mithril run` and Python's mithril_cache.init() share.
//
//   prepare(): point the framework cache variables into the root (creating
//     the directories), root trust check, framework check (quarantine damaged
//     entries), pull within remote_deadline_s when a remote is configured,
//     start watching the framework directories. Returns the variables the
//     caller must set before the job starts.
//   (the caller runs the job: a child process, or Python code in-process)
//   finish(): stop watching, record what the job wrote and read (which also
//     enforces the size budget and appends a history point), push what the
//     remote lacks.
//
// It never fails the job: every problem (a root that cannot be created or
// written, a root someone else owns, an unopenable index, a dead remote) is
// passed to the WarningSink, counted in the reports' `warnings`, and the
// session goes on with less; the worst case is that no variable is set and
// the job runs with the frameworks' own defaults. No function here throws.
//
// Ownership: the session owns its Cache handles (opened in prepare() and
// finish(), closed in between so the job's own processes open the root
// alone) and its file watcher (an inotify thread, from prepare() to finish()).
// Thread/process safety: one thread drives a session; any number of
// processes may run sessions on one root at once (the Cache's guarantees).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <mithril/cache.h>
#include <mithril/export.h>
#include <mithril/config.h>
#include <mithril/key.h>
#include <mithril/remote.h>

namespace mithril {

// Receives one warning line, without a prefix ("pull skipped: ..."). Called
// on the thread that called prepare()/finish(), in order.
using WarningSink = std::function<void(const std::string&)>;

struct SessionOptions {
  bool progress = false;  // draw the remote progress line on stderr
  bool final_stats = false;  // finish() also reads the root's Stats (for a summary line)
};

struct PrepareReport {
  // Variable -> directory to set in the job's environment (empty: run
  // without the cache). A variable the caller already set elsewhere is left
  // out, with a warning.
  std::map<std::string, std::string> env;
  std::optional<FrameworkReport> checked;  // the framework check, when it ran
  std::optional<SyncReport> pulled;        // the pull, when a remote is configured and it ran
  int warnings = 0;                        // warnings passed to the sink
};

struct FinishReport {
  std::optional<FrameworkReport> synced;  // the recording, when it ran
  std::optional<SyncReport> pushed;       // the push, when it ran
  std::optional<Stats> stats;             // with SessionOptions::final_stats, after the push
  int warnings = 0;
};

class MITHRIL_API RunSession {
 public:
  // `config.root` is made absolute here. The partition is detected once
  // (detect_partition()). `getenv` reads the caller's current variables.
  RunSession(CacheConfig config, WarningSink warn, SessionOptions options = {},
             GetEnv getenv = process_getenv());
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  // REQUIRES: called once, before finish().
  PrepareReport prepare();
  // Does nothing (an empty report) unless prepare() managed a directory;
  // a second call does nothing too.
  FinishReport finish();

  const CacheConfig& config() const;
  const DeviceClass& partition() const;
  // The report prepare() returned (empty before it ran).
  const PrepareReport& prepared() const;

  class Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

// `mithril stats --json` of `cache` (docs/cli.md, schema_version 1) as JSON
// text: sizes, counters, per-kind figures, the last run, the 5 largest
// entries. The one rendering the CLI and Python share. `indent` < 0: one
// line; otherwise pretty-printed with that many spaces per level.
MITHRIL_API Result<std::string> stats_json_text(Cache& cache, int indent = -1);

// `mithril gc`: records what the frameworks wrote since the last run
// (sync_frameworks of `partition`, a full rescan), then evicts down to
// `max_size` (default: the configured budget).
MITHRIL_API Result<GcReport> sync_and_gc(Cache& cache, const DeviceClass& partition,
                             std::optional<std::uint64_t> max_size = std::nullopt);

// One line describing a push or pull ("push URL: 3 entries transferred
// ..."), no prefix, no newline.
MITHRIL_API std::string sync_summary(const char* verb, const std::string& url, const SyncReport& r);

}  // namespace mithril
