#include "framework_commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <mithril/env.h>
#include <mithril/format.h>
#include <mithril/hooks.h>
#include <mithril/remote.h>

#include "output.h"
#include "remote_commands.h"
#include "report_command.h"
#include "run_command.h"
#include "serve_command.h"
#include "torch_explain.h"

namespace mithril::cli {
namespace {

int cmd_run(const Args& a) {
  std::vector<std::string> command = a.command;
  if (!command.empty() && command.front() == "--") command.erase(command.begin());
  if (command.empty()) throw CommandError{"run needs a command: mithril run -- CMD ARGS...", kExitUsage};
  CacheConfig run_config = load(a.g);
  if (!a.remote_url.empty()) check(set_config_value(run_config, "remote", a.remote_url));
  if (a.run_explain) (void)enable_torch_explain(std::filesystem::absolute(run_config.root).string());
  return run_with_hooks(run_config, command, a.quiet);
}

int cmd_sync(const Commands& c, const Args& a) {
  const CacheConfig sync_config = load(a.g);
  const std::string url = a.remote_url.empty() ? sync_config.remote : a.remote_url;
  if (url.empty()) throw CommandError{"no remote: pass --remote URL or set MITHRIL_REMOTE", kExitUsage};
  if (auto ok = parse_remote_url(url); !ok) throw CommandError{ok.error().message, kExitUsage};
  return *c.push ? cmd_push(sync_config, url, a.tag, a.json, a.strict)
                 : cmd_pull(sync_config, url, a.tag, a.json, a.strict);
}

int cmd_demo(const Args& a) {
  GlobalOptions demo_g = a.g;
  if (!demo_g.root) {
    char tmpl[] = "/tmp/mithril-demo-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw CommandError{"cannot create a temporary root"};
    demo_g.root = std::string(tmpl) + "/root";
  }
  return run_demo(load(demo_g), a.python);
}

}  // namespace

void add_framework_commands(CLI::App& app, Args& a, Commands& c) {
  c.run = app.add_subcommand("run", "run a command with torch/Triton caches in the root: checked before, bounded after");
  c.run->add_option("command", a.command, "the command and its arguments (after --)")->required();
  c.run->add_flag("-q,--quiet", a.quiet, "no summary line");
  c.run->add_option("--remote", a.remote_url, "pull from this remote before, push after (default: config key remote)");
  c.run->add_flag("--explain", a.run_explain, "record torch's FX graph cache keys for `mithril explain --torch`");
  c.run->prefix_command();
  c.env = app.add_subcommand("env", "print shell exports that point torch/Triton caches into the root");
  c.demo = app.add_subcommand("demo", "torch.compile a small model cold, then warm, and print the speed-up");
  c.demo->add_option("--python", a.python, "Python interpreter with torch installed (default python3)");
  c.pack = app.add_subcommand("pack", "write this machine's framework cache into one bundle file");
  c.pack->add_option("file", a.bundle, "bundle to write (zstd-compressed tar)")->required();
  c.unpack = app.add_subcommand("unpack", "check a bundle completely, then add its framework cache to the root");
  c.unpack->add_option("file", a.bundle, "bundle to read")->required();
  c.push = app.add_subcommand("push", "upload this machine's framework cache entries the remote lacks");
  c.pull = app.add_subcommand("pull", "download the remote's entries for this machine's device class");
  c.prefetch = app.add_subcommand("prefetch", "same as pull (for warming a machine ahead of a job)");
  for (auto* sub : {c.push, c.pull, c.prefetch}) {
    sub->add_option("--remote", a.remote_url, "s3://..., redis://..., file:///... (default: config key remote)");
    sub->add_option("--tag", a.tag, sub == c.push ? "also record the pushed entries under this name"
                                                  : "only the entries recorded under this tag");
    sub->add_flag("--json", a.json, "print a JSON report on stdout");
    sub->add_flag("--strict", a.strict, "exit 3 when any remote operation failed or was rejected");
  }
  c.report = app.add_subcommand("report", "write a self-contained HTML report (charts, largest entries, evictions)");
  c.report->add_option("-o,--output", a.report_out, "file to write (default mithril-report.html)");
  c.serve = app.add_subcommand("serve", "serve Prometheus metrics of the root over HTTP until SIGINT/SIGTERM");
  c.serve->add_option("--metrics", a.metrics_listen, "PORT or HOST:PORT to listen on (default host 127.0.0.1)")
      ->required();
}

// The framework-cache commands; nullopt when none of them was given.
std::optional<int> dispatch_frameworks(const Commands& c, const Args& a) {
  if (*c.run) return cmd_run(a);
  if (*c.env) return print_env(load(a.g));
  if (*c.serve) return serve_metrics(load(a.g), a.metrics_listen);
  if (*c.report) {
    const std::string html = check(render_report(*open_cache(a.g)));
    check(write_output_file(Env::posix(), a.report_out,
                            [&](int fd) { return write_all(Env::posix(), fd, html.data(), html.size()); }));
    detail::print_to(stderr, "mithril: wrote %s\n", a.report_out.c_str());
    return 0;
  }
  if (*c.push || *c.pull || *c.prefetch) return cmd_sync(c, a);
  if (*c.pack) {
    const auto r = check(open_cache(a.g)->pack_frameworks(detect_partition(), a.bundle));
    detail::print_to(stderr, "mithril: packed %llu files (%s) of %s into %s\n",
                     static_cast<unsigned long long>(r.files), format_size(r.bytes).c_str(), r.partition.c_str(),
                     a.bundle.c_str());
    return 0;
  }
  if (*c.unpack) {
    const auto r = check(open_cache(a.g)->unpack_frameworks(a.bundle));
    detail::print_to(stderr, "mithril: unpacked %llu files (%s) into %s, %llu already present\n",
                     static_cast<unsigned long long>(r.files), format_size(r.bytes).c_str(), r.partition.c_str(),
                     static_cast<unsigned long long>(r.skipped_existing));
    return 0;
  }
  if (*c.demo) return cmd_demo(a);
  return std::nullopt;
}

}  // namespace mithril::cli
