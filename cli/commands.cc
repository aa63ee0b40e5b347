#include "commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <mithril/cache.h>
#include <mithril/version.h>

#include "output.h"
#include "remote_commands.h"
#include "run_command.h"
#include "report_command.h"
#include "serve_command.h"
#include "std_fds.h"
#include "table.h"
#include "torch_explain.h"
#include <mithril/hooks.h>
#include "env/output_file.h"
#include "util/format.h"

namespace mithril::cli {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Thrown inside command handlers only; caught in run_cli.
struct CommandError {
  std::string message;
  int code = kExitError;
};

template <typename T>
T check(Result<T> r) {
  if (!r) throw CommandError{r.error().to_string()};
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

struct GlobalOptions {
  std::optional<std::string> root;      // given but empty is an error, not "unset"
  std::optional<std::string> max_size;
  std::vector<std::string> sets;
};

CacheConfig load(const GlobalOptions& g) {
  std::map<std::string, std::string> overrides;
  for (const auto& kv : g.sets) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CommandError{"--set expects KEY=VALUE, got '" + kv + "'", kExitUsage};
    }
    overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (g.root) overrides["root"] = *g.root;
  if (g.max_size) overrides["max_size"] = *g.max_size;
  auto config = load_config(overrides);
  // Every configuration error (a flag, MITHRIL_* variable or mithril.toml,
  // each named in the message) exits with the usage code.
  if (!config) throw CommandError{config.error().to_string(), kExitUsage};
  return *config;
}

std::unique_ptr<Cache> open_cache(const GlobalOptions& g) { return check(Cache::open(load(g))); }

Digest parse_digest(const std::string& text) {
  auto d = Digest::from_hex(text);
  if (!d) throw CommandError{"'" + text + "' is not a digest (64 hex characters)", kExitUsage};
  return *d;
}

void print(const std::string& s) { detail::write_text(stdout, s); }
void print_json(const nlohmann::json& j) { print(j.dump(2) + "\n"); }

// `put -`: streams standard input into the store (bounded by the budget like
// any put). A closed stdin or a directory is refused, never stored as the
// empty blob.
ObjectInfo put_stdin(Cache& cache) {
  struct stat st {};
  if (stdin_was_closed() || ::fstat(STDIN_FILENO, &st) != 0) {
    throw CommandError{"standard input is closed; nothing to store"};
  }
  if (S_ISDIR(st.st_mode)) throw CommandError{"standard input is a directory; nothing to store"};
  return check(cache.put_blob_file("/dev/stdin"));
}

int cmd_put(const GlobalOptions& g, const std::vector<std::string>& files, bool json) {
  auto cache = open_cache(g);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : files) {
    ObjectInfo info;
    if (f == "-") {
      info = put_stdin(*cache);
    } else {
      info = check(cache->put_blob_file(f));
    }
    if (json) {
      out.push_back({{"file", f}, {"digest", info.digest.to_hex()}, {"size", info.size}, {"existed", info.existed}});
    } else {
      print(info.digest.to_hex() + "  " + f + "\n");
    }
  }
  if (json) print_json(out);
  return 0;
}

int cmd_get(const GlobalOptions& g, const std::string& hex, const std::string& output) {
  const Digest d = parse_digest(hex);
  auto cache = open_cache(g);
  bool hit = false;
  if (!output.empty() && output != "-") {
    hit = check(cache->get_blob_to_file(d, output));
  } else {
    auto data = check(cache->get_blob(d));
    hit = data.has_value();
    if (hit) print(*data);
  }
  if (!hit) throw CommandError{hex + " is not in the cache"};
  return 0;
}

int cmd_stats(const GlobalOptions& g, bool json, bool prometheus) {
  auto cache = open_cache(g);
  const Stats s = check(cache->stats());
  if (prometheus) {
    print(stats_prometheus(s));
    return 0;
  }
  const auto last_run = last_framework_run(check(cache->history()));
  const auto top = check(cache->largest_framework_entries(5));
  if (json) print_json(stats_json(s, last_run, top));
  else print(stats_text(s, last_run, top));
  return 0;
}

// What `ls` shows and in which order.
struct ListOptions {
  bool json = false;
  std::size_t limit = SIZE_MAX;
  std::string kind;               // empty: every kind
  std::string sort = "last-use";  // "last-use" (newest first), "size", "hits" (largest first)
};

// Orders by the chosen field, descending; ties by name.
void sort_listed(std::vector<ListedEntry>& rows, const std::string& by) {
  const auto field = [&](const ListedEntry& e) -> std::int64_t {
    if (by == "size") return static_cast<std::int64_t>(e.size);
    if (by == "hits") return e.hits;
    return e.last_access_ns;
  };
  std::sort(rows.begin(), rows.end(), [&](const ListedEntry& a, const ListedEntry& b) {
    const auto fa = field(a), fb = field(b);
    return fa != fb ? fa > fb : a.name < b.name;
  });
}

int cmd_ls(const GlobalOptions& g, const ListOptions& o) {
  auto cache = open_cache(g);
  std::vector<ListedEntry> rows;
  for (const auto& e : check(cache->framework_entry_summaries())) rows.push_back(listed_entry(e));
  for (const auto& e : check(cache->list())) rows.push_back(listed_entry(e));
  if (!o.kind.empty()) std::erase_if(rows, [&](const ListedEntry& e) { return e.kind != o.kind; });
  sort_listed(rows, o.sort);
  if (rows.size() > o.limit) rows.resize(o.limit);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : rows) out.push_back(listed_json(e));
    print_json(out);
  } else {
    print(listed_table(rows));
  }
  return 0;
}

int cmd_gc(const GlobalOptions& g, const std::string& max_size, bool json) {
  std::optional<std::uint64_t> budget;
  if (!max_size.empty()) {
    auto parsed = parse_size(max_size);
    if (!parsed) throw CommandError{parsed.error().message, kExitUsage};
    budget = *parsed;
  }
  auto cache = open_cache(g);
  // Learn what frameworks wrote since; the history point is the gc's.
  check(cache->sync_frameworks(detect_partition(), {}, HistoryKind::kNone));
  const GcReport r = check(cache->gc(budget));
  if (json) print_json(gc_json(r));
  else print(gc_text(r));
  return 0;
}

int cmd_verify(const GlobalOptions& g, bool repair, bool json) {
  const VerifyReport r = check(open_cache(g)->verify(repair));
  if (json) print_json(verify_json(r));
  else print(verify_text(r));
  if (r.corrupt + r.missing > 0) {
    throw CommandError{"verify found " + std::to_string(r.corrupt) + " corrupt and " + std::to_string(r.missing) +
                       " missing objects (corrupt ones are in quarantine; their entries were dropped)"};
  }
  if (r.framework_corrupt + r.framework_missing > 0) {
    throw CommandError{detail::concat("verify found ", std::to_string(r.framework_corrupt), " corrupt and ",
                                      std::to_string(r.framework_missing),
                                      " incomplete framework entries (quarantined: the framework recompiles them)")};
  }
  return 0;
}

int cmd_config(const GlobalOptions& g) {
  const CacheConfig c = load(g);
  Table t({Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft}, 0, 1);
  for (const auto& k : config_keys()) {
    t.add_row({k.name, "=", get_config_value(c, k.name),
               detail::concat("(", config_source_name(c.sources.at(k.name)), "; env ", k.env_var, ")")});
  }
  print(t.render());
  return 0;
}

// Builds a CacheKey from `mithril key` / `mithril explain` arguments:
// --graph G --input 8x?x128:float32 ... --device cpu-AVX2 --salt S
CacheKey parse_key_args(const std::string& graph, const std::vector<std::string>& inputs, const std::string& device,
                        const std::string& salt) {
  std::vector<InputSpec> specs;
  for (const auto& in : inputs) {
    const auto colon = in.rfind(':');
    if (colon == std::string::npos) throw CommandError{"input '" + in + "': expected SHAPE:DTYPE", kExitUsage};
    InputSpec spec;
    auto dt = dtype_from_name(in.substr(colon + 1));
    if (!dt) throw CommandError{"input '" + in + "': unknown dtype", kExitUsage};
    spec.dtype = *dt;
    std::string shape = in.substr(0, colon);
    std::size_t pos = 0;
    while (!shape.empty() && pos <= shape.size()) {
      const auto x = std::min(shape.find('x', pos), shape.size());
      const std::string dim = shape.substr(pos, x - pos);
      if (dim == "?" || dim == "-1") spec.shape.push_back(InputSpec::kDynamic);
      else if (!dim.empty() && dim.find_first_not_of("0123456789") == std::string::npos && dim.size() < 19)
        spec.shape.push_back(std::stoll(dim));
      else throw CommandError{detail::concat("input '", in, "': bad dimension '", dim, "'"), kExitUsage};
      pos = x + 1;
    }
    specs.push_back(std::move(spec));
  }
  auto dev = DeviceClass::parse(device);
  if (!dev) throw CommandError{dev.error().message, kExitUsage};
  CacheKey key(graph, specs, *dev, salt);
  check(key.validate());
  return key;
}

// Why would this key miss? Compares it with every cached keyed entry and
// prints the nearest one's differing fields. Exit 0 on a hit, 1 on a miss.
// Reads manifests only: it does not count as a lookup in the statistics.
int cmd_explain(const GlobalOptions& g, const CacheKey& wanted) {
  const auto keys = check(open_cache(g)->keys());
  const std::string digest = wanted.digest().to_hex();
  const CacheKey* best = nullptr;
  std::vector<std::string> best_diff;
  for (const auto& k : keys) {
    const bool serves = k.with_device(wanted.device()) == wanted && k.device().can_serve(wanted.device());
    if (serves) {
      print("hit: " + digest + " is served by cached entry " + k.digest().to_hex() + " (" + k.device().to_string() +
            ")\n");
      return 0;
    }
    auto diff = diff_keys(wanted, k);
    if (best == nullptr || diff.size() < best_diff.size()) {
      best = &k;
      best_diff = std::move(diff);
    }
  }
  print("miss: " + digest + "\n");
  if (best == nullptr) {
    print("the cache holds no keyed entries\n");
  } else {
    print("nearest cached entry: " + best->digest().to_hex() + " (" + std::to_string(best_diff.size()) +
          " field(s) differ: wanted vs cached)\n");
    for (const auto& line : best_diff) print("  " + line + "\n");
  }
  return kExitError;
}

// Every option of every subcommand, as CLI11 fills them.
struct Args {
  GlobalOptions g;
  bool json = false;
  std::vector<std::string> files;
  std::string digest, output, gc_max, graph, device = "cpu-DEFAULT", salt;
  std::vector<std::string> inputs;
  bool repair = false, dump = false, prometheus = false, quiet = false, strict = false;
  bool run_explain = false, torch_explain = false;
  ListOptions ls;
  std::vector<std::string> command;
  std::string python = "python3", remote_url, tag, bundle, report_out = "mithril-report.html", metrics_listen;
};

// The subcommands; after parsing, the one given converts to true.
struct Commands {
  CLI::App *put, *get, *rm, *stats, *ls, *gc, *verify, *clear, *config;
  CLI::App *run, *env, *demo, *pack, *unpack, *push, *pull, *prefetch, *report, *serve;
  CLI::App *key, *explain;
};

void add_store_commands(CLI::App& app, Args& a, Commands& c) {
  c.put = app.add_subcommand("put", "store files (or - for stdin); prints DIGEST  FILE like b3sum");
  c.put->add_option("files", a.files, "files to store")->required();
  c.put->add_flag("--json", a.json, "print JSON");
  c.get = app.add_subcommand("get", "write a stored object to stdout or a file");
  c.get->add_option("digest", a.digest, "64 hex characters")->required();
  c.get->add_option("-o,--output", a.output, "write to this file (atomically) instead of stdout");
  c.rm = app.add_subcommand("rm", "remove an entry by its key digest");
  c.rm->add_option("digest", a.digest, "64 hex characters")->required();
  c.stats = app.add_subcommand("stats", "show counters and sizes");
  c.stats->add_flag("--json", a.json, "print JSON (schema in docs/cli.md)");
  c.stats->add_flag("--prometheus", a.prometheus, "print Prometheus text exposition (for a node-exporter textfile)");
  c.ls = app.add_subcommand("ls", "list framework and keyed entries, most recently used first");
  c.ls->add_flag("--json", a.ls.json, "print JSON (schema in docs/cli.md)");
  c.ls->add_option("--limit", a.ls.limit, "at most N entries");
  c.ls->add_option("--kind", a.ls.kind, "only entries of this kind (inductor-fxgraph, triton-kernel, blob, ...)");
  c.ls->add_option("--sort", a.ls.sort, "last-use (default, newest first), size or hits (largest first)")
      ->check(CLI::IsMember({"last-use", "size", "hits"}));
  c.gc = app.add_subcommand("gc", "evict least-recently-used entries down to the budget");
  c.gc->add_option("--max-size", a.gc_max, "budget for this run (default: the configured max_size)");
  c.gc->add_flag("--json", a.json, "print JSON");
  c.verify = app.add_subcommand("verify", "hash every object and framework file; quarantine corrupt ones");
  c.verify->add_flag("--repair", a.repair, "also check the index, remove orphans and stale temp files");
  c.verify->add_flag("--json", a.json, "print JSON");
  c.clear = app.add_subcommand("clear", "delete every entry (counters are kept)");
  c.config = app.add_subcommand("config", "show the effective configuration and where each value came from");
}

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

void add_key_commands(CLI::App& app, Args& a, Commands& c) {
  c.key = app.add_subcommand("key", "compute a CacheKey digest, or --dump the exact bytes hashed");
  c.key->add_option("--graph", a.graph, "graph hash")->required();
  c.key->add_option("--input", a.inputs, "input spec SHAPE:DTYPE, e.g. 8x?x128:float32 (? = dynamic)");
  c.key->add_option("--device", a.device, "cpu-<ISA>, cuda, cuda-sm90 (default cpu-DEFAULT)");
  c.key->add_option("--salt", a.salt, "namespace/version salt");
  c.key->add_flag("--dump", a.dump, "print the field-by-field dump of the key bytes");
  c.explain = app.add_subcommand("explain", "say why a key misses: the nearest cached key's differing fields");
  c.explain->add_flag("--torch", a.torch_explain, "explain the latest `run --explain` job's FX graph cache misses");
  c.explain->add_option("--graph", a.graph, "graph hash (mithril keys)");
  c.explain->add_option("--input", a.inputs, "input spec SHAPE:DTYPE, e.g. 8x?x128:float32");
  c.explain->add_option("--device", a.device, "cpu-<ISA>, cuda, cuda-sm90 (default cpu-DEFAULT)");
  c.explain->add_option("--salt", a.salt, "namespace/version salt");
}

// The store and key commands; nullopt when none of them was given.
std::optional<int> dispatch_store(const Commands& c, const Args& a) {
  const GlobalOptions& g = a.g;
  if (*c.put) return cmd_put(g, a.files, a.json);
  if (*c.get) return cmd_get(g, a.digest, a.output);
  if (*c.rm) {
    const bool removed = check(open_cache(g)->remove(parse_digest(a.digest)));
    if (!removed) throw CommandError{a.digest + " is not in the cache"};
    return 0;
  }
  if (*c.stats) return cmd_stats(g, a.json, a.prometheus);
  if (*c.ls) return cmd_ls(g, a.ls);
  if (*c.gc) return cmd_gc(g, a.gc_max, a.json);
  if (*c.verify) return cmd_verify(g, a.repair, a.json);
  if (*c.clear) {
    check(open_cache(g)->clear());
    return 0;
  }
  if (*c.config) return cmd_config(g);
  if (*c.key) {
    const CacheKey k = parse_key_args(a.graph, a.inputs, a.device, a.salt);
    print(a.dump ? k.debug_dump() : k.digest().to_hex() + "\n");
    return 0;
  }
  if (*c.explain) {
    if (a.torch_explain) return explain_torch(load(g));
    if (a.graph.empty()) throw CommandError{"explain needs --graph (a mithril key) or --torch", kExitUsage};
    return cmd_explain(g, parse_key_args(a.graph, a.inputs, a.device, a.salt));
  }
  return std::nullopt;
}

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

// One line for a CLI11 parse error: "unknown command 'x'", "unknown option
// '--x'", or CLI11's own text (missing argument, bad value) flattened.
std::string usage_message(const CLI::App& app, const CLI::ParseError& e) {
  std::string text = e.what();
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && text.find(": ") != std::string::npos) {
    // "The following argument(s) was/were not expected: WORD ...": name the first.
    std::string word = text.substr(text.find(": ") + 2);
    word = word.substr(0, word.find(' '));
    const char* what = word.starts_with("-")            ? "unknown option '"
                       : app.get_subcommands().empty() ? "unknown command '"
                                                       : "unexpected argument '";
    return detail::concat(what, word, "'; see mithril --help");
  }
  if (!text.empty()) text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  return text;
}

// Parses argv into `a` and `c`. nullopt to go on; an exit code when parsing
// ended the run: 0 after --help or --version (printed to stdout), 2 after a
// usage error (one line on stderr).
std::optional<int> parse_args(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    detail::print_to(stderr, "mithril: error: %s\n", usage_message(app, e).c_str());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace

int run_cli(int argc, char** argv) {
  // Named here so help texts say `mithril`, not argv[0]'s full path.
  CLI::App app{"mithril: a bounded, verified, portable cache for compiled ML artifacts", "mithril"};
  app.require_subcommand(0, 1);  // 0 so an unknown word is reported by name
  app.fallthrough();
  app.set_version_flag("--version", std::string("mithril ") + kVersion);
  Args a;
  app.add_option("--root", a.g.root, "cache root (default: $MITHRIL_ROOT or ~/.cache/mithril)");
  app.add_option("--max-size", a.g.max_size, "size budget, e.g. 500M, 20G, 1.5T");
  app.add_option("--set", a.g.sets, "override a config key: --set compression=true");
  Commands c{};
  add_store_commands(app, a, c);
  add_framework_commands(app, a, c);
  add_key_commands(app, a, c);
  if (auto rc = parse_args(app, argc, argv)) return *rc;
  try {
    if (auto rc = dispatch_store(c, a)) return *rc;
    if (auto rc = dispatch_frameworks(c, a)) return *rc;
    throw CommandError{"no command given; run `mithril --help` for the list", kExitUsage};
  } catch (const CommandError& e) {
    (void)std::fflush(stdout);  // before the error, in order
    detail::print_to(stderr, "mithril: error: %s\n", e.message.c_str());
    return e.code;
  } catch (const std::exception& e) {
    detail::print_to(stderr, "mithril: error: %s\n", e.what());
    return kExitError;
  }
}

}  // namespace mithril::cli
