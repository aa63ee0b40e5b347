// Table-driven configuration: one row per key, with its environment variable,
// parser and printer. See include/mithril/config.h for the precedence rules.
#include <toml++/toml.h>

#include <cstdlib>
#include <functional>
#include <sstream>

#include <mithril/config.h>
#include <mithril/remote.h>
#include "util/format.h"

namespace mithril {
namespace {

Result<bool> parse_bool(std::string_view key, std::string_view v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return fail(ErrorCode::kInvalidArgument,
              "invalid value '" + std::string(v) + "' for " + std::string(key) + ": expected true or false");
}

Result<std::int64_t> parse_int(std::string_view key, std::string_view v, std::int64_t lo, std::int64_t hi) {
  std::string s(v);
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
    return fail(ErrorCode::kInvalidArgument, "invalid value '" + s + "' for " + std::string(key) +
                                                 ": expected an integer in " + std::to_string(lo) + ".." +
                                                 std::to_string(hi));
  }
  return n;
}

struct KeyDef {
  ConfigKeyInfo info;
  std::function<Result<void>(CacheConfig&, std::string_view)> set;
  std::function<std::string(const CacheConfig&)> get;
};

KeyDef int_key(const char* name, const char* env, const char* help, std::int64_t lo, std::int64_t hi,
               std::int64_t CacheConfig::*field) {
  return {{name, env, help},
          [=](CacheConfig& c, std::string_view v) -> Result<void> {
            MITHRIL_ASSIGN(c.*field, parse_int(name, v, lo, hi));
            return {};
          },
          [=](const CacheConfig& c) { return std::to_string(c.*field); }};
}

KeyDef bool_key(const char* name, const char* env, const char* help, bool CacheConfig::*field) {
  return {{name, env, help},
          [=](CacheConfig& c, std::string_view v) -> Result<void> {
            MITHRIL_ASSIGN(c.*field, parse_bool(name, v));
            return {};
          },
          [=](const CacheConfig& c) { return std::string(c.*field ? "true" : "false"); }};
}

const std::vector<KeyDef>& key_table() {
  static const std::vector<KeyDef> table = {
      {{"root", "MITHRIL_ROOT", "cache root directory (not settable from the config file)"},
       [](CacheConfig& c, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(ErrorCode::kInvalidArgument, "root must not be empty");
         c.root = std::string(v);
         return {};
       },
       [](const CacheConfig& c) { return c.root; }},
      {{"max_size", "MITHRIL_MAX_SIZE", "size budget for stored objects, e.g. 20G"},
       [](CacheConfig& c, std::string_view v) -> Result<void> {
         MITHRIL_ASSIGN(c.max_size, parse_size(v));
         return {};
       },
       [](const CacheConfig& c) { return std::to_string(c.max_size); }},
      bool_key("compression", "MITHRIL_COMPRESSION", "zstd-compress stored objects (true/false)",
               &CacheConfig::compression),
      {{"compression_level", "MITHRIL_COMPRESSION_LEVEL", "zstd level 1..19"},
       [](CacheConfig& c, std::string_view v) -> Result<void> {
         MITHRIL_ASSIGN(const auto n, parse_int("compression_level", v, 1, 19));
         c.compression_level = static_cast<int>(n);
         return {};
       },
       [](const CacheConfig& c) { return std::to_string(c.compression_level); }},
      bool_key("fsync", "MITHRIL_FSYNC", "fsync objects and the index before a put returns (true/false)",
               &CacheConfig::fsync),
      bool_key("verify_on_read", "MITHRIL_VERIFY_ON_READ", "hash every object read (true/false)",
               &CacheConfig::verify_on_read),
      bool_key("allow_shared_root", "MITHRIL_ALLOW_SHARED_ROOT",
               "accept a root owned by another user or group-writable (a deliberately shared root)",
               &CacheConfig::allow_shared_root),
      {{"temp_max_age_s", "MITHRIL_TEMP_MAX_AGE_S", "seconds after which a temp file counts as debris"},
       [](CacheConfig& c, std::string_view v) -> Result<void> {
         MITHRIL_ASSIGN(c.temp_max_age_s, parse_int("temp_max_age_s", v, 1, 1LL << 40));
         return {};
       },
       [](const CacheConfig& c) { return std::to_string(c.temp_max_age_s); }},
      {{"remote", "MITHRIL_REMOTE", "remote tier URL: s3://bucket/prefix, redis://host:port/db, file:///dir"},
       [](CacheConfig& c, std::string_view v) -> Result<void> {
         if (!v.empty()) MITHRIL_TRY(parse_remote_url(v));
         c.remote = std::string(v);
         return {};
       },
       [](const CacheConfig& c) {
         auto url = parse_remote_url(c.remote);
         return url ? url->redacted : c.remote;  // never print a password
       }},
      int_key("remote_connect_timeout_ms", "MITHRIL_REMOTE_CONNECT_TIMEOUT_MS",
              "milliseconds to connect to the remote", 1, 600000, &CacheConfig::remote_connect_timeout_ms),
      int_key("remote_timeout_ms", "MITHRIL_REMOTE_TIMEOUT_MS",
              "milliseconds a remote request may go without progress", 1, 3600000, &CacheConfig::remote_timeout_ms),
      int_key("remote_deadline_s", "MITHRIL_REMOTE_DEADLINE_S",
              "seconds one pull or push of `mithril run` may take (then it stops, the run goes on)", 1, 86400,
              &CacheConfig::remote_deadline_s),
      int_key("remote_parallelism", "MITHRIL_REMOTE_PARALLELISM", "concurrent remote transfers", 1, 256,
              &CacheConfig::remote_parallelism),
      int_key("max_files", "MITHRIL_MAX_FILES", "most files (objects + framework files) in the root; 0 = no limit", 0,
              1LL << 40, &CacheConfig::max_files),
      {{"remote_hmac_key", "MITHRIL_REMOTE_HMAC_KEY", "shared key: sign pushed manifests, refuse unsigned pulls"},
       [](CacheConfig& c, std::string_view v) -> Result<void> {
         c.remote_hmac_key = std::string(v);
         return {};
       },
       [](const CacheConfig& c) { return std::string(c.remote_hmac_key.empty() ? "" : "(set)"); }},
  };
  return table;
}

const KeyDef* find_key(std::string_view name) {
  for (const auto& k : key_table()) {
    if (k.info.name == name) return &k;
  }
  return nullptr;
}

std::string default_root(const GetEnv& getenv) {
  if (auto xdg = getenv("XDG_CACHE_HOME"); xdg && !xdg->empty()) return *xdg + "/mithril";
  if (auto home = getenv("HOME"); home && !home->empty()) return *home + "/.cache/mithril";
  return "/tmp/mithril-cache";
}

// Applies <root>/mithril.toml. A missing file is fine; a malformed one is an error.
Result<void> apply_file(CacheConfig& config, Env& env) {
  const std::string path = config.root + "/mithril.toml";
  MITHRIL_ASSIGN(const auto text, read_file(env, path));
  if (!text) return {};
  toml::table parsed;
  try {
    parsed = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ": " << e.description();
    return fail(ErrorCode::kInvalidArgument, msg.str());
  }
  for (const auto& [k, node] : parsed) {
    const std::string key(k.str());
    if (key == "root") return fail(ErrorCode::kInvalidArgument, path + ": 'root' cannot be set in the file inside the root");
    std::string value;
    if (node.is_string()) value = node.value_or(std::string());
    else if (node.is_boolean()) value = node.value_or(false) ? "true" : "false";
    else if (node.is_integer()) value = std::to_string(node.value_or(std::int64_t{0}));
    else return fail(ErrorCode::kInvalidArgument, detail::concat(path, ": unsupported value type for '", key, "'"));
    auto set = set_config_value(config, key, value);
    if (!set) return fail(ErrorCode::kInvalidArgument, path + ": " + set.error().message);
    config.sources[key] = ConfigSource::kFile;
  }
  return {};
}

}  // namespace

const char* config_source_name(ConfigSource s) {
  switch (s) {
    case ConfigSource::kDefault: return "default";
    case ConfigSource::kFile: return "file";
    case ConfigSource::kEnvironment: return "environment";
    case ConfigSource::kOverride: return "override";
  }
  return "?";
}

const std::vector<ConfigKeyInfo>& config_keys() {
  static const std::vector<ConfigKeyInfo> keys = [] {
    std::vector<ConfigKeyInfo> out;
    for (const auto& k : key_table()) out.push_back(k.info);
    return out;
  }();
  return keys;
}

Result<void> set_config_value(CacheConfig& config, std::string_view key, std::string_view value) {
  const KeyDef* def = find_key(key);
  if (def == nullptr) return fail(ErrorCode::kInvalidArgument, "unknown config key '" + std::string(key) + "'");
  return def->set(config, value);
}

std::string get_config_value(const CacheConfig& config, std::string_view key) {
  const KeyDef* def = find_key(key);
  return def == nullptr ? std::string() : def->get(config);
}

GetEnv process_getenv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<CacheConfig> load_config(const std::map<std::string, std::string>& overrides,
                                const GetEnv& getenv, Env& env) {
  CacheConfig config;
  for (const auto& k : key_table()) config.sources[k.info.name] = ConfigSource::kDefault;
  config.root = default_root(getenv);
  // The root first (it locates the file): override > environment > default.
  if (auto it = overrides.find("root"); it != overrides.end()) {
    MITHRIL_TRY(set_config_value(config, "root", it->second));
    config.sources["root"] = ConfigSource::kOverride;
  } else if (auto r = getenv("MITHRIL_ROOT"); r && !r->empty()) {
    config.root = *r;
    config.sources["root"] = ConfigSource::kEnvironment;
  }
  MITHRIL_TRY(apply_file(config, env));
  for (const auto& k : key_table()) {
    if (k.info.name == "root") continue;
    if (auto v = getenv(k.info.env_var); v && !v->empty()) {
      auto set = k.set(config, *v);
      if (!set) return fail(ErrorCode::kInvalidArgument, k.info.env_var + ": " + set.error().message);
      config.sources[k.info.name] = ConfigSource::kEnvironment;
    }
  }
  for (const auto& [key, value] : overrides) {
    if (key == "root") continue;
    MITHRIL_TRY(set_config_value(config, key, value));
    config.sources[key] = ConfigSource::kOverride;
  }
  return config;
}

}  // namespace mithril
