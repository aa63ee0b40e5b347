#include <mithril/session.h>

#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include <mithril/hooks.h>
#include <mithril/log.h>

#include "hooks/file_watch.h"

namespace mithril {

class RunSession::Impl {
 public:
  Impl(CacheConfig config, WarningSink warn, SessionOptions options, GetEnv getenv)
      : m_config(std::move(config)),
        m_partition(detect_partition(getenv)),
        m_warn(std::move(warn)),
        m_options(options),
        m_getenv(std::move(getenv)) {
    m_config.root = absolute_path(m_config.root);
  }

  PrepareReport prepare();
  FinishReport finish();

  CacheConfig m_config;
  DeviceClass m_partition;
  PrepareReport m_prepared;

 private:
  void warn(const std::string& msg) {
    ++m_warnings;
    try {
      if (m_warn) m_warn(msg);
    } catch (...) {  // a sink that throws loses its warning to the log, never the job
      MITHRIL_LOG(LogLevel::kWarn, "session_warning", {{"message", msg}});
    }
  }
  void point_frameworks_at_root();
  void check_and_pull();
  std::optional<SyncReport> sync_remote(Cache& cache, bool push);
  template <typename F>
  auto self_healing(Cache& cache, F&& step) -> decltype(step());
  void take_activity(FrameworkActivity* activity);

  WarningSink m_warn;
  SessionOptions m_options;
  GetEnv m_getenv;
  FileWatcher m_watcher;
  bool m_watching = false;
  bool m_finished = false;
  std::vector<std::string> m_watched;  // the managed directories
  int m_warnings = 0;
};

// Runs one cache step; when it meets a damaged index (damage SQLite only
// sees when a query touches it), rebuilds the index from the objects once
// (verify --repair) and retries the step.
template <typename F>
auto RunSession::Impl::self_healing(Cache& cache, F&& step) -> decltype(step()) {
  auto r = step();
  if (r || r.error().code != ErrorCode::kCorruption) return r;
  warn("the index is damaged (" + r.error().message + "); rebuilding it from the objects");
  if (!cache.verify(true)) return r;
  return step();
}

// Pull or push: never fails the run, reports problems.
std::optional<SyncReport> RunSession::Impl::sync_remote(Cache& cache, bool push) {
  if (m_config.remote.empty()) return std::nullopt;
  SyncOptions o = sync_options_from(m_config, true);
  o.progress = m_options.progress;
  auto r = push ? push_frameworks(cache, m_partition, m_config.remote, o)
                : pull_frameworks(cache, m_partition, m_config.remote, o);
  const char* verb = push ? "push" : "pull";
  if (!r) {
    warn(std::string(verb) + " skipped: " + r.error().to_string());
    return std::nullopt;
  }
  if (r->errors + r->timeouts + r->rejected + r->skipped > 0) {
    const auto url = parse_remote_url(m_config.remote);
    warn(sync_summary(verb, url ? url->redacted : "remote", *r));
    if (!r->first_problem.empty()) warn("first problem: " + r->first_problem);
  }
  return *r;
}

// Points every framework cache directory the caller has not set into the
// root; m_watched holds the directories now managed (empty: run without the
// cache).
void RunSession::Impl::point_frameworks_at_root() {
  Env& env = Env::posix();
  for (const auto& dir : framework_dirs(m_config.root, m_partition)) {
    const auto current = m_getenv(dir.env_var);
    if (current && !current->empty() && absolute_path(*current) != dir.path) {
      warn(dir.env_var + " is set to " + *current + " by the caller; leaving it alone (not managed by mithril)");
      continue;
    }
    if (auto made = make_dirs(env, dir.path); !made) {
      warn("cannot create " + dir.path + ": " + made.error().message + "; running without the cache");
      continue;
    }
    // A read-only root (a read-only mount, a pre-warmed image): frameworks
    // also write beside their hits (locks, new kernels), so they would fail.
    if (auto writable = env.check_writable(dir.path); !writable) {
      warn(dir.path + " is not writable (" + std::strerror(writable.error().sys_errno) + "); " + dir.env_var +
           " left unset, running without the cache");
      continue;
    }
    m_prepared.env[dir.env_var] = dir.path;
    m_watched.push_back(dir.path);
  }
}

// Before the run: checks the entries on disk, then pulls from the remote.
void RunSession::Impl::check_and_pull() {
  auto cache = Cache::open(m_config);
  if (!cache) {
    warn("cache unavailable: " + cache.error().to_string());
    return;
  }
  auto checked = self_healing(**cache, [&] { return (*cache)->check_frameworks(m_partition); });
  if (!checked) {
    warn("integrity check failed: " + checked.error().to_string());
  } else {
    if (checked->quarantined_entries > 0) {
      warn("quarantined " + std::to_string(checked->quarantined_entries) +
           " damaged cache entries (they will be recompiled)");
    }
    m_prepared.checked = *checked;
  }
  m_prepared.pulled = sync_remote(**cache, false);
}

PrepareReport RunSession::Impl::prepare() {
  // A root someone else owns or can write is never handed to torch: the job
  // runs without the cache (torch's own default directories).
  const auto trusted = check_root_trusted(Env::posix(), m_config.root, m_config.allow_shared_root);
  if (!trusted) warn(trusted.error().message + "; running without the cache");
  if (trusted) point_frameworks_at_root();
  if (!m_watched.empty()) {
    check_and_pull();
    m_watching = m_watcher.start(m_watched);
  }
  m_prepared.warnings = std::exchange(m_warnings, 0);
  return m_prepared;
}

// What the watcher saw (left as "changes unknown", a full rescan, without one).
void RunSession::Impl::take_activity(FrameworkActivity* activity) {
  if (!m_watching) return;
  m_watching = false;
  auto seen = m_watcher.stop();
  activity->opened.assign(seen.opened.begin(), seen.opened.end());
  activity->changed.assign(seen.changed.begin(), seen.changed.end());
  activity->changes_known = seen.complete;
  activity->first_event_ns = seen.first_event_ns;
  activity->written_at_ns.insert(seen.written_at_ns.begin(), seen.written_at_ns.end());
}

FinishReport RunSession::Impl::finish() {
  FinishReport report;
  if (m_finished || m_watched.empty()) return report;
  m_finished = true;
  FrameworkActivity activity;
  take_activity(&activity);
  auto cache = Cache::open(m_config);
  if (!cache) {
    warn("cache unavailable after the run: " + cache.error().to_string());
  } else if (auto synced = self_healing(**cache, [&] { return (*cache)->sync_frameworks(m_partition, activity); });
             !synced) {
    warn("recording the run failed: " + synced.error().to_string());
  } else {
    report.synced = *synced;
    // Push whatever the remote lacks (also entries an earlier push missed),
    // unless the pull already found the remote dead: one bounded wait per run.
    const bool remote_dead = m_prepared.pulled && m_prepared.pulled->remote_gave_up;
    if (!remote_dead) report.pushed = sync_remote(**cache, true);
    if (m_options.final_stats) {
      if (auto stats = (*cache)->stats()) report.stats = std::move(*stats);
    }
  }
  report.warnings = std::exchange(m_warnings, 0);
  return report;
}

RunSession::RunSession(CacheConfig config, WarningSink warn, SessionOptions options, GetEnv getenv)
    : m_impl(std::make_unique<Impl>(std::move(config), std::move(warn), options, std::move(getenv))) {}

RunSession::~RunSession() = default;

PrepareReport RunSession::prepare() { return m_impl->prepare(); }
FinishReport RunSession::finish() { return m_impl->finish(); }
const CacheConfig& RunSession::config() const { return m_impl->m_config; }
const DeviceClass& RunSession::partition() const { return m_impl->m_partition; }
const PrepareReport& RunSession::prepared() const { return m_impl->m_prepared; }

Result<GcReport> sync_and_gc(Cache& cache, const DeviceClass& partition, std::optional<std::uint64_t> max_size) {
  MITHRIL_TRY(cache.sync_frameworks(partition, {}, HistoryKind::kNone));  // learn what frameworks wrote since; the point is the gc's
  return cache.gc(max_size);
}

}  // namespace mithril
