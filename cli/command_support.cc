#include "command_support.h"

#include <map>

#include <mithril/format.h>

namespace mithril::cli {

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

}  // namespace mithril::cli
