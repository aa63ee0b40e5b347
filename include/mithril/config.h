// CacheConfig: every setting of a cache root, and where it came from.
//
// Precedence, lowest to highest (later layers override earlier ones):
//   1. built-in defaults
//   2. the config file <root>/mithril.toml
//   3. environment variables MITHRIL_<KEY> (e.g. MITHRIL_MAX_SIZE=20G)
//   4. explicit overrides (CLI flags, Python keyword arguments)
// `root` itself comes only from layers 1, 3 and 4 (MITHRIL_ROOT, --root):
// the file lives inside the root. Default root: $XDG_CACHE_HOME/mithril, else
// $HOME/.cache/mithril. Sizes accept 123, 500K, 500M, 20G, 1.5T (powers of
// 1024; an optional "i"/"B"/"iB" suffix is accepted, e.g. 20GiB).
//
// Thread safety: plain values; load_config() only reads the environment.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/env.h>
#include <mithril/export.h>
#include <mithril/result.h>

namespace mithril {

enum class ConfigSource { kDefault, kFile, kEnvironment, kOverride };
MITHRIL_API const char* config_source_name(ConfigSource s);

struct MITHRIL_API CacheConfig {
  std::string root;
  std::uint64_t max_size = 10ull << 30;  // Default: 10 GiB
  bool compression = false;              // zstd-compress stored objects
  int compression_level = 1;             // 1..19
  bool fsync = false;                    // durable puts (fsync file, dir and index)
  bool verify_on_read = true;            // hash every object read
  bool allow_shared_root = false;        // accept a root another user owns or its group may write
  std::int64_t temp_max_age_s = 3600;    // temp files older than this are debris
  // Most files the root may hold (stored objects + framework files; 0 = no
  // limit): sizes count bytes, not the blocks and inodes each file takes, so
  // a flood of tiny files is bounded by count (like ccache's max_files).
  std::int64_t max_files = 1'000'000;
  // Remote tier (docs/remote.md): used by `mithril run`, push and pull.
  std::string remote;                       // URL, "" = none
  std::int64_t remote_connect_timeout_ms = 2000;
  std::int64_t remote_timeout_ms = 10000;   // a request without progress this long times out
  std::int64_t remote_deadline_s = 300;     // bound on one pull or push of `mithril run`
  std::int64_t remote_parallelism = 8;      // concurrent transfers
  std::string remote_hmac_key;              // sign / require signed manifests ("" = off)

  // Which layer set each key (filled by load_config()).
  std::map<std::string, ConfigSource> sources;
};

// Describes one configuration key (for `mithril config` and docs).
struct MITHRIL_API ConfigKeyInfo {
  std::string name;     // e.g. "max_size"
  std::string env_var;  // e.g. "MITHRIL_MAX_SIZE"
  std::string help;
};
MITHRIL_API const std::vector<ConfigKeyInfo>& config_keys();

// Sets `key` from its text form. Unknown keys and bad values are errors.
MITHRIL_API Result<void> set_config_value(CacheConfig& config, std::string_view key, std::string_view value);
// The text form of `key`'s current value.
MITHRIL_API std::string get_config_value(const CacheConfig& config, std::string_view key);

using GetEnv = std::function<std::optional<std::string>(const std::string&)>;
MITHRIL_API GetEnv process_getenv();

// Builds the effective configuration from all layers. `overrides` maps keys
// to text values (layer 4). Reads <root>/mithril.toml through `env`.
MITHRIL_API Result<CacheConfig> load_config(const std::map<std::string, std::string>& overrides,
                                            const GetEnv& getenv = process_getenv(),
                                            Env& env = Env::posix());

// Parses a size: "123", "500K", "500M", "20G", "1.5T", "2GiB". Errors are
// kInvalidArgument with a message naming the bad text.
MITHRIL_API Result<std::uint64_t> parse_size(std::string_view text);
// "1.5 GiB", "512 B", ...
MITHRIL_API std::string format_size(std::uint64_t bytes);

}  // namespace mithril
