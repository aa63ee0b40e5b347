#include "run_command.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include <mithril/cache.h>
#include <mithril/format.h>
#include <mithril/hooks.h>
#include <mithril/log.h>

#include "hooks/file_watch.h"
#include "remote_commands.h"

namespace mithril::cli {
namespace {

volatile sig_atomic_t g_child = 0;

void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

void warn(const std::string& msg) { detail::print_to(stderr, "mithril: warning: %s\n", msg.c_str()); }

// Runs one cache step; when it meets a damaged index (damage SQLite only
// sees when a query touches it), rebuilds the index from the objects once
// (verify --repair) and retries the step.
template <typename F>
auto self_healing(Cache& cache, F&& step) -> decltype(step()) {
  auto r = step();
  if (r || r.error().code != ErrorCode::kCorruption) return r;
  warn("the index is damaged (" + r.error().message + "); rebuilding it from the objects");
  if (!cache.verify(true)) return r;
  return step();
}

// Pull or push around a run: never fails the run, reports problems.
std::optional<SyncReport> sync_remote(Cache& cache, const CacheConfig& config, const DeviceClass& partition, bool push,
                                      bool quiet) {
  if (config.remote.empty()) return std::nullopt;
  SyncOptions o = sync_options(config, true);
  o.progress = o.progress && !quiet;
  auto r = push ? push_frameworks(cache, partition, config.remote, o) : pull_frameworks(cache, partition, config.remote, o);
  if (!r) {
    warn(std::string(push ? "push" : "pull") + " skipped: " + r.error().to_string());
    return std::nullopt;
  }
  if (r->errors + r->timeouts + r->rejected + r->skipped > 0) {
    const auto url = parse_remote_url(config.remote);
    print_sync_summary("mithril: warning: ", push ? "push" : "pull", url ? url->redacted : "remote", *r);
  }
  return *r;
}

// After the command exits, processes it started may still run: a compiler
// orphaned by a killed job still writing a kernel. mithril is their
// subreaper (set before the fork), so they are its children now; the run
// ends when they have all exited, or after kDescendantWaitS (a daemon the
// job left behind), with a warning. Recording earlier would record half a file.
constexpr int kDescendantWaitS = 60;

void wait_for_descendants() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kDescendantWaitS);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return;  // ECHILD: none left
    if (done > 0) continue;
    if (std::chrono::steady_clock::now() >= deadline) {
      detail::print_to(stderr, "mithril: warning: processes the command started still run after %d s; "
                               "recording the cache without waiting for them\n", kDescendantWaitS);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Runs argv as a child process with the current environment; forwards
// SIGINT/SIGTERM/SIGHUP to it. Returns its exit code (128+signal if killed)
// once every process it started has exited (see wait_for_descendants).
int spawn_and_wait(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  (void)std::fflush(nullptr);  // the child must not inherit our unwritten output
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);  // orphaned descendants become ours to wait for
  const pid_t pid = fork();
  if (pid < 0) {
    detail::print_to(stderr, "mithril: error: fork failed\n");
    return 127;
  }
  if (pid == 0) {
    execvp(argv[0], argv.data());
    // Only async-signal-safe calls between fork and exec/_exit: no allocation.
    char msg[512];
    const int n =
        std::snprintf(msg, sizeof msg, "mithril: error: cannot run '%s': %s\n", argv[0], std::strerror(errno));
    if (n > 0 && write(STDERR_FILENO, msg, std::min(static_cast<std::size_t>(n), sizeof msg - 1)) < 0) _exit(127);
    _exit(127);
  }
  g_child = pid;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  wait_for_descendants();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

// Points every framework cache directory the caller has not set into the
// root; returns the directories now managed (empty: run without the cache).
std::vector<std::string> point_frameworks_at_root(const CacheConfig& config, const DeviceClass& partition) {
  std::vector<std::string> watched;
  for (const auto& dir : framework_dirs(config.root, partition)) {
    const char* current = std::getenv(dir.env_var.c_str());
    if (current != nullptr && *current != '\0' && absolute(current) != dir.path) {
      warn(dir.env_var + " is set to " + current + " by the caller; leaving it alone (not managed by mithril)");
      continue;
    }
    if (auto made = make_dirs(Env::posix(), dir.path); !made) {
      warn("cannot create " + dir.path + ": " + made.error().message + "; running without the cache");
      continue;
    }
    // A read-only root (a read-only mount, a pre-warmed image): frameworks
    // also write beside their hits (locks, new kernels), so they would fail.
    if (::access(dir.path.c_str(), W_OK) != 0) {
      warn(dir.path + " is not writable (" + std::strerror(errno) + "); " + dir.env_var +
           " left unset, running without the cache");
      continue;
    }
    setenv(dir.env_var.c_str(), dir.path.c_str(), 1);
    watched.push_back(dir.path);
  }
  return watched;
}

// Before the run: checks the entries on disk, then pulls from the remote.
// Fails open: any cache error is a warning, the command still runs.
std::optional<SyncReport> prepare_root(const CacheConfig& config, const DeviceClass& partition, bool quiet) {
  auto cache = Cache::open(config);
  if (!cache) {
    warn("cache unavailable: " + cache.error().to_string());
    return std::nullopt;
  }
  if (auto checked = self_healing(**cache, [&] { return (*cache)->check_frameworks(partition); }); !checked) {
    warn("integrity check failed: " + checked.error().to_string());
  } else if (checked->quarantined_entries > 0) {
    warn("quarantined " + std::to_string(checked->quarantined_entries) +
         " damaged cache entries (they will be recompiled)");
  }
  return sync_remote(**cache, config, partition, false, quiet);
}

// Runs the command while watching `watched`; `activity` receives what the
// watcher saw (left as "changes unknown" without a watcher).
int run_watched(const std::vector<std::string>& command, const std::vector<std::string>& watched,
                const CacheConfig& config, const DeviceClass& partition, FrameworkActivity* activity) {
  FileWatcher watcher;
  const bool watching = !watched.empty() && watcher.start(watched);
  MITHRIL_LOG(LogLevel::kInfo, "run_start",
              {{"command", command.front()}, {"partition", partition.to_string()}, {"root", config.root}});
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = spawn_and_wait(command);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  MITHRIL_LOG(LogLevel::kInfo, "run_end",
              {{"command", command.front()},
               {"exit_code", static_cast<std::int64_t>(rc)},
               {"ms", static_cast<std::int64_t>(ms.count())}});
  if (watching) {
    auto seen = watcher.stop();
    activity->opened.assign(seen.opened.begin(), seen.opened.end());
    activity->changed.assign(seen.changed.begin(), seen.changed.end());
    activity->changes_known = seen.complete;
    activity->first_event_ns = seen.first_event_ns;
    activity->written_at_ns.insert(seen.written_at_ns.begin(), seen.written_at_ns.end());
  }
  return rc;
}

// The one-line summary on a terminal: hits, compiled, time saved, remote.
void print_run_summary(Cache& cache, const FrameworkReport& synced, const std::optional<SyncReport>& pulled,
                       const std::optional<SyncReport>& pushed) {
  auto s = cache.stats();
  if (!s) return;
  std::string remote;
  if (pulled || pushed) {
    remote = ", " + std::to_string(pulled ? pulled->entries_transferred : 0) + " pulled, " +
             std::to_string(pushed ? pushed->entries_transferred : 0) + " pushed";
  }
  const std::string saved =
      synced.compile_ns_saved > 0
          ? detail::str_format(", saved ~%.1f s", static_cast<double>(synced.compile_ns_saved) / 1e9)
          : std::string();
  detail::print_to(stderr, "mithril: %llu hits, %llu new entries (compiled)%s%s; cache %s / %s\n",
                   static_cast<unsigned long long>(synced.accessed_entries),
                   static_cast<unsigned long long>(synced.new_entries), saved.c_str(), remote.c_str(),
                   format_size(s->stored_bytes + s->framework_bytes).c_str(), format_size(s->max_size).c_str());
}

}  // namespace

int run_with_hooks(const CacheConfig& config_in, const std::vector<std::string>& command, bool quiet) {
  CacheConfig config = config_in;
  config.root = absolute(config.root);
  const DeviceClass partition = detect_partition();
  // A root someone else owns or can write is never handed to torch: the job
  // runs without the cache (torch's own default directories).
  const auto trusted = check_root_trusted(Env::posix(), config.root, config.allow_shared_root);
  if (!trusted) warn(trusted.error().message + "; running without the cache");
  const std::vector<std::string> watched =
      trusted ? point_frameworks_at_root(config, partition) : std::vector<std::string>{};
  const bool managed = !watched.empty();
  const std::optional<SyncReport> pulled = managed ? prepare_root(config, partition, quiet) : std::nullopt;
  FrameworkActivity activity;  // without a watcher: changes unknown, full rescan
  const int rc = run_watched(command, watched, config, partition, &activity);
  if (!managed) return rc;
  auto cache = Cache::open(config);
  if (!cache) {
    warn("cache unavailable after the run: " + cache.error().to_string());
    return rc;
  }
  auto synced = self_healing(**cache, [&] { return (*cache)->sync_frameworks(partition, activity); });
  if (!synced) {
    warn("recording the run failed: " + synced.error().to_string());
    return rc;
  }
  // Push whatever the remote lacks (also entries an earlier push missed),
  // unless the pull already found the remote dead: one bounded wait per run.
  const auto pushed = pulled && pulled->remote_gave_up ? std::nullopt
                                                       : sync_remote(**cache, config, partition, true, quiet);
  if (!quiet && isatty(STDERR_FILENO)) print_run_summary(**cache, *synced, pulled, pushed);
  return rc;
}

int print_env(const CacheConfig& config_in) {
  const std::string root = absolute(config_in.root);
  if (auto trusted = check_root_trusted(Env::posix(), root, config_in.allow_shared_root); !trusted) {
    detail::print_to(stderr, "mithril: error: %s\n", trusted.error().message.c_str());
    return 1;
  }
  for (const auto& dir : framework_dirs(root, detect_partition())) {
    if (auto made = make_dirs(Env::posix(), dir.path); !made) {
      detail::print_to(stderr, "mithril: error: %s\n", made.error().to_string().c_str());
      return 1;
    }
    std::printf("export %s='%s'\n", dir.env_var.c_str(), dir.path.c_str());
  }
  return 0;
}

}  // namespace mithril::cli

namespace mithril::cli {
namespace {

struct DemoRun {
  double wall_s = 0;
  nlohmann::json result;
  int rc = 0;
};

DemoRun demo_run(const CacheConfig& config, const std::string& python, const std::string& out_file) {
  DemoRun run;
  (void)std::remove(out_file.c_str());  // best effort: a temporary file
  setenv("MITHRIL_DEMO_OUT", out_file.c_str(), 1);
  const auto t0 = std::chrono::steady_clock::now();
  // From a source tree run the script (its package needs the built extension);
  // from an installed wheel run the module.
  const std::string script = std::string(MITHRIL_PYTHON_SRC_DIR) + "/mithril_cache/demo_model.py";
  const bool have_script = MITHRIL_PYTHON_SRC_DIR[0] != '\0' && std::filesystem::exists(script);
  run.rc = have_script ? run_with_hooks(config, {python, script}, true)
                       : run_with_hooks(config, {python, "-m", "mithril_cache.demo_model"}, true);
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (auto text = read_file(Env::posix(), out_file); text && *text) {
    run.result = nlohmann::json::parse(**text, nullptr, false);
  }
  return run;
}

long long counter(const nlohmann::json& r, const char* name) {
  if (!r.is_object() || !r.contains("counters") || !r["counters"].contains(name)) return 0;
  return r["counters"][name].get<long long>();
}

double first_call(const nlohmann::json& r, const char* model) {
  if (!r.is_object() || !r.contains("models") || !r["models"].contains(model)) return -1;
  return r["models"][model]["first_call_s"].get<double>();
}

}  // namespace

int run_demo(const CacheConfig& config_in, const std::string& python) {
  CacheConfig config = config_in;
  config.root = absolute(config.root);
  const std::string out_file = config.root + "/.demo-result.json";
  if (auto made = make_dirs(Env::posix(), config.root); !made) {
    detail::print_to(stderr, "mithril: error: %s\n", made.error().to_string().c_str());
    return 1;
  }
  std::printf("mithril demo: torch.compile (MLP + transformer block) on the CPU, root %s\n", config.root.c_str());
  std::printf("  run 1: a fresh process, empty cache (cold) ...\n");
  (void)std::fflush(stdout);  // before the child writes
  const DemoRun cold = demo_run(config, python, out_file);
  std::printf("  run 2: another fresh process, same cache (warm) ...\n\n");
  (void)std::fflush(stdout);  // before the child writes
  const DemoRun warm = demo_run(config, python, out_file);
  if (cold.rc != 0 || warm.rc != 0 || !cold.result.is_object() || !warm.result.is_object()) {
    detail::print_to(stderr, "mithril: error: the demo model failed (exit codes %d, %d); is torch installed for %s?\n",
                     cold.rc, warm.rc, python.c_str());
    return 1;
  }
  auto cache = Cache::open(config);
  Stats s;
  if (cache) s = (*cache)->stats().value_or(Stats{});
  std::printf("| run  | process wall s | mlp first call s | block first call s | fxgraph hits | fxgraph misses |\n");
  std::printf("|------|----------------|------------------|--------------------|--------------|----------------|\n");
  for (const auto* r : {&cold, &warm}) {
    std::printf("| %-4s | %14.2f | %16.2f | %18.2f | %12lld | %14lld |\n", r == &cold ? "cold" : "warm", r->wall_s,
                first_call(r->result, "mlp"), first_call(r->result, "tfm"),
                counter(r->result, "inductor.fxgraph_cache_hit"), counter(r->result, "inductor.fxgraph_cache_miss"));
  }
  std::printf("\nspeed-up (cold / warm wall time): %.1fx\n", cold.wall_s / warm.wall_s);
  std::printf("cache: %llu framework entries, %s on disk (budget %s)\n",
              static_cast<unsigned long long>(s.framework_entries), format_size(s.framework_bytes).c_str(),
              format_size(s.max_size).c_str());
  (void)std::remove(out_file.c_str());  // best effort: a temporary file
  return 0;
}

}  // namespace mithril::cli
