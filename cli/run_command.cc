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
#include <mithril/session.h>


namespace mithril::cli {
namespace {

volatile sig_atomic_t g_child = 0;

void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

void warn(const std::string& msg) { detail::print_to(stderr, "mithril: warning: %s\n", msg.c_str()); }

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


// Runs the command, logging its start and end.
int run_logged(const std::vector<std::string>& command, const RunSession& session) {
  MITHRIL_LOG(LogLevel::kInfo, "run_start",
              {{"command", command.front()},
               {"partition", session.partition().to_string()},
               {"root", session.config().root}});
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = spawn_and_wait(command);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  MITHRIL_LOG(LogLevel::kInfo, "run_end",
              {{"command", command.front()},
               {"exit_code", static_cast<std::int64_t>(rc)},
               {"ms", static_cast<std::int64_t>(ms.count())}});
  return rc;
}

// The one-line summary on a terminal: hits, compiled, time saved, remote.
void print_run_summary(const FinishReport& finished, const std::optional<SyncReport>& pulled) {
  if (!finished.synced || !finished.stats) return;
  const FrameworkReport& synced = *finished.synced;
  const Stats& s = *finished.stats;
  const std::optional<SyncReport>& pushed = finished.pushed;
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
                   format_size(s.stored_bytes + s.framework_bytes).c_str(), format_size(s.max_size).c_str());
}

}  // namespace

int run_with_hooks(const CacheConfig& config, const std::vector<std::string>& command, bool quiet) {
  SessionOptions options;
  const bool terminal = !quiet && isatty(STDERR_FILENO) != 0;
  options.progress = terminal;
  options.final_stats = terminal;
  RunSession session(config, warn, options);
  const PrepareReport prepared = session.prepare();
  for (const auto& [var, dir] : prepared.env) setenv(var.c_str(), dir.c_str(), 1);
  const int rc = run_logged(command, session);
  if (prepared.env.empty()) return rc;
  const FinishReport finished = session.finish();
  if (terminal) print_run_summary(finished, prepared.pulled);
  return rc;
}

int print_env(const CacheConfig& config_in) {
  const std::string root = absolute_path(config_in.root);
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
  config.root = absolute_path(config.root);
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
