#include "store_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <mithril/format.h>
#include <mithril/hooks.h>
#include <mithril/session.h>

#include "output.h"
#include "std_fds.h"
#include "table.h"
#include "torch_explain.h"

namespace mithril::cli {
namespace {

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
  if (json) {
    print(check(stats_json_text(*cache, 2)) + "\n");
    return 0;
  }
  const auto last_run = last_framework_run(check(cache->history()));
  const auto top = check(cache->largest_framework_entries(5));
  print(stats_text(s, last_run, top));
  return 0;
}

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
  const GcReport r = check(sync_and_gc(*cache, detect_partition(), budget));
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

}  // namespace

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

}  // namespace mithril::cli
