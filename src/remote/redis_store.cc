// Redis through hiredis: one connection per store, opened lazily, dropped
// after any error (the next call reconnects). Keys are PREFIX + key; puts
// carry an optional TTL. Values are whole objects (Redis allows 512 MB).
#include <hiredis/hiredis.h>

#include <memory>

#include "remote/stores.h"

namespace mithril::remote {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(int ms) { return timeval{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)}; }

class RedisStore final : public RemoteStore {
 public:
  RedisStore(RemoteUrl url, RemoteOptions options, std::string prefix, long ttl, int db)
      : RemoteStore(std::move(url)), m_options(options), m_prefix(std::move(prefix)), m_ttl(ttl), m_db(db) {}
  ~RedisStore() override { disconnect(); }

  Result<std::optional<std::string>> get(const std::string& key) override {
    MITHRIL_ASSIGN(const Reply r, command({"GET", m_prefix + key}, "GET"));
    if (r->type == REDIS_REPLY_NIL) return std::optional<std::string>{};
    if (r->type != REDIS_REPLY_STRING) return unexpected_reply("GET");
    return std::optional<std::string>(std::string(r->str, r->len));
  }

  Result<void> put(const std::string& key, std::string_view data) override {
    std::vector<std::string> args{"SET", m_prefix + key, std::string(data)};
    if (m_ttl > 0) {
      args.push_back("EX");
      args.push_back(std::to_string(m_ttl));
    }
    MITHRIL_ASSIGN(const Reply r, command(args, "SET"));
    if (r->type != REDIS_REPLY_STATUS) return unexpected_reply("SET");
    return {};
  }

  Result<bool> exists(const std::string& key) override {
    MITHRIL_ASSIGN(const Reply r, command({"EXISTS", m_prefix + key}, "EXISTS"));
    if (r->type != REDIS_REPLY_INTEGER) return unexpected_reply("EXISTS");
    return r->integer > 0;
  }

  Result<bool> remove(const std::string& key) override {
    MITHRIL_ASSIGN(const Reply r, command({"DEL", m_prefix + key}, "DEL"));
    if (r->type != REDIS_REPLY_INTEGER) return unexpected_reply("DEL");
    return r->integer > 0;
  }

  Result<std::vector<std::string>> list(const std::string& prefix) override {
    std::vector<std::string> out;
    std::string cursor = "0";
    std::string pattern;
    for (const char c : m_prefix + prefix) {  // escape glob characters
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '*';
    do {
      MITHRIL_ASSIGN(const Reply r, command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}, "SCAN"));
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING) {
        return unexpected_reply("SCAN");
      }
      cursor.assign(r->element[0]->str, r->element[0]->len);
      const redisReply* keys = r->element[1];
      for (std::size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; ++i) {
        std::string k(keys->element[i]->str, keys->element[i]->len);
        if (k.starts_with(m_prefix)) out.push_back(k.substr(m_prefix.size()));
      }
    } while (cursor != "0");
    return out;
  }

 private:
  Error error(const std::string& what, const std::string& why, bool timeout) const {
    return Error{timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable, url().redacted + ": " + what + ": " + why, 0};
  }
  std::unexpected<Error> unexpected_reply(const std::string& what) {
    disconnect();
    return std::unexpected(error(what, "unexpected reply", false));
  }
  void disconnect() {
    if (m_ctx != nullptr) redisFree(m_ctx);
    m_ctx = nullptr;
  }

  Result<void> connect() {
    if (m_ctx != nullptr) return {};
    const int port = url().port > 0 ? url().port : 6379;
    m_ctx = redisConnectWithTimeout(url().host.c_str(), port, to_timeval(m_options.connect_timeout_ms));
    if (m_ctx == nullptr || m_ctx->err != 0) {
      const std::string why = m_ctx != nullptr ? m_ctx->errstr : "out of memory";
      const bool timeout = m_ctx != nullptr && m_ctx->err == REDIS_ERR_IO && why.find("timed out") != std::string::npos;
      disconnect();
      return std::unexpected(error("connect", why, timeout));
    }
    redisSetTimeout(m_ctx, to_timeval(m_options.io_timeout_ms));
    if (!url().password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!url().user.empty()) auth.push_back(url().user);
      auth.push_back(url().password);
      MITHRIL_ASSIGN(const Reply r, raw_command(auth, "AUTH"));
      if (r->type != REDIS_REPLY_STATUS) return unexpected_reply("AUTH");
    }
    if (m_db != 0) {
      MITHRIL_ASSIGN(const Reply r, raw_command({"SELECT", std::to_string(m_db)}, "SELECT"));
      if (r->type != REDIS_REPLY_STATUS) return unexpected_reply("SELECT");
    }
    return {};
  }

  Result<Reply> command(const std::vector<std::string>& args, const std::string& what) {
    MITHRIL_TRY(connect());
    return raw_command(args, what);
  }

  Result<Reply> raw_command(const std::vector<std::string>& args, const std::string& what) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(redisCommandArgv(m_ctx, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      const std::string why = m_ctx->errstr;
      const bool timeout = m_ctx->err == REDIS_ERR_IO && (why.find("temporarily unavailable") != std::string::npos ||
                                                          why.find("timed out") != std::string::npos);
      disconnect();
      return std::unexpected(error(what, timeout ? "timed out" : why, timeout));
    }
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string why(r->str, r->len);  // e.g. "WRONGPASS ...", "OOM ..."
      disconnect();
      return std::unexpected(error(what, why, false));
    }
    return r;
  }

  RemoteOptions m_options;
  std::string m_prefix;
  long m_ttl = 0;
  int m_db = 0;
  redisContext* m_ctx = nullptr;
};

}  // namespace

Result<std::unique_ptr<RemoteStore>> open_redis(const RemoteUrl& url, const RemoteOptions& options) {
  int db = 0;
  std::string path = url.path;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  if (!path.empty()) {
    try {
      std::size_t used = 0;
      db = std::stoi(path, &used);
      if (used != path.size() || db < 0) throw std::invalid_argument(path);
    } catch (const std::exception&) {
      return fail(ErrorCode::kInvalidArgument, "bad remote URL: redis database must be a number, not '" + path + "'");
    }
  }
  long ttl = 0;
  if (auto it = url.query.find("ttl"); it != url.query.end()) {
    try {
      ttl = std::stol(it->second);
    } catch (const std::exception&) {
      return fail(ErrorCode::kInvalidArgument, "bad remote URL: ttl must be seconds, not '" + it->second + "'");
    }
  }
  auto prefix_it = url.query.find("prefix");
  std::string prefix = prefix_it != url.query.end() ? prefix_it->second : "mithril:";
  return std::unique_ptr<RemoteStore>(new RedisStore(url, options, std::move(prefix), ttl, db));
}

}  // namespace mithril::remote
