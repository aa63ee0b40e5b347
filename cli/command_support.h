// What every `mithril` command handler shares: the global options, the
// parsed arguments, and how a handler fails (CommandError, check). Private
// to cli/; presentation only.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <mithril/cache.h>
#include <mithril/config.h>
#include <mithril/result.h>

namespace mithril::cli {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Thrown inside command handlers only; caught in run_cli.
struct CommandError {
  std::string message;
  int code = kExitError;
};

// `*r`, or throws CommandError with the exit code of the error's row in kErrorTable.
template <typename T>
T check(Result<T> r) {
  if (!r) throw CommandError{r.error().to_string(), error_info(r.error().code).exit_code};
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

struct GlobalOptions {
  std::optional<std::string> root;      // given but empty is an error, not "unset"
  std::optional<std::string> max_size;
  std::vector<std::string> sets;
};

// The effective configuration for `g` (a bad value is a usage error).
CacheConfig load(const GlobalOptions& g);
std::unique_ptr<Cache> open_cache(const GlobalOptions& g);
Digest parse_digest(const std::string& text);  // a usage error when not 64 hex characters
void print(const std::string& s);               // to stdout
void print_json(const nlohmann::json& j);

// What `ls` shows and in which order.
struct ListOptions {
  bool json = false;
  std::size_t limit = SIZE_MAX;
  std::string kind;               // empty: every kind
  std::string sort = "last-use";  // "last-use" (newest first), "size", "hits" (largest first)
};

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

}  // namespace mithril::cli
