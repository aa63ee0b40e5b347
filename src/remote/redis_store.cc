// Redis through hiredis: one connection per store, opened lazily, dropped
// after any error (the next call reconnects). Keys are PREFIX + key; puts
// carry an optional TTL. Values are whole objects (Redis allows 512 MB).
//
// Nothing the server says is believed before it is bounded: replies are
// read by our own loop (not redisCommand), which checks the deadline before
// every read, waits at most min(remote_timeout_ms, what the deadline leaves)
// per read, and stops a reply past the caller's byte bound (a bulk length
// of 4 GB is never waited for, nor allocated: hiredis buffers what arrives).
// Arrays of more than kMaxReplyElements are refused before hiredis
// allocates them. SCAN stops after kMaxListCalls pages or kMaxListedKeys
// keys. WRONGTYPE (a key of another type) is kCorruption: one bad key.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <memory>

#include "remote/stores.h"

namespace mithril::remote {
namespace {

constexpr int kMaxReplyElements = 1 << 20;
constexpr std::uint64_t kMaxSmallReply = 64 << 10;   // status, integer, error replies
constexpr std::uint64_t kMaxScanReply = 16ull << 20;  // one SCAN page
constexpr std::uint64_t kPiece = 1 << 20;             // one GETRANGE of get_to

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// hiredis' own reply functions, with arrays bounded before calloc.
const redisReplyObjectFunctions* g_default_fns = nullptr;
void* create_bounded_array(const redisReadTask* task, int elements) {
  if (elements > kMaxReplyElements) return nullptr;  // hiredis reports "Out of memory"
  return g_default_fns->createArray(task, elements);
}
redisReplyObjectFunctions* bounded_functions(const redisReplyObjectFunctions* defaults) {
  static redisReplyObjectFunctions fns = [&] {
    g_default_fns = defaults;
    redisReplyObjectFunctions f = *defaults;
    f.createArray = create_bounded_array;
    return f;
  }();
  return &fns;
}

class RedisStore final : public RemoteStore {
 public:
  RedisStore(RemoteUrl url, RemoteOptions options, std::string prefix, long ttl, int db)
      : RemoteStore(std::move(url)), m_options(options), m_prefix(std::move(prefix)), m_ttl(ttl), m_db(db) {}
  ~RedisStore() override { disconnect(); }

  Result<std::optional<std::string>> get(const std::string& key, std::uint64_t max_bytes) override {
    const std::uint64_t reply_max = std::max(max_bytes, max_bytes + 64);  // the bulk header too; saturating
    MITHRIL_ASSIGN(const Reply r, command({"GET", m_prefix + key}, "GET " + key, reply_max));
    if (r->type == REDIS_REPLY_NIL) return std::optional<std::string>{};
    if (r->type != REDIS_REPLY_STRING) return unexpected_reply("GET " + key, ErrorCode::kCorruption);
    if (r->len > max_bytes) return bad_key("GET " + key, "larger than " + std::to_string(max_bytes) + " bytes");
    return std::optional<std::string>(std::string(r->str, r->len));
  }

  // GETRANGE in 1 MiB pieces: hiredis holds a whole reply, so a piece is
  // what is held (objects are named by their content: never rewritten).
  Result<bool> get_to(const std::string& key, std::uint64_t max_bytes, const ByteSink& sink) override {
    const std::string what = "GETRANGE " + key;
    for (std::uint64_t off = 0;; off += kPiece) {
      const std::string last = std::to_string(off + kPiece - 1);
      MITHRIL_ASSIGN(const Reply r,
                     command({"GETRANGE", m_prefix + key, std::to_string(off), last}, what, kPiece + 64));
      if (r->type != REDIS_REPLY_STRING) return unexpected_reply(what, ErrorCode::kCorruption);
      if (r->len > kPiece) return bad_key(what, "a piece larger than asked for");
      if (off == 0 && r->len == 0) return false;  // missing (objects are never empty)
      if (off + r->len > max_bytes) return bad_key(what, "larger than " + std::to_string(max_bytes) + " bytes");
      MITHRIL_TRY(sink(std::string_view(r->str, r->len)));
      if (r->len < kPiece) return true;
    }
  }

  Result<void> put(const std::string& key, std::string_view data) override {
    std::vector<std::string> args{"SET", m_prefix + key, std::string(data)};
    if (m_ttl > 0) {
      args.push_back("EX");
      args.push_back(std::to_string(m_ttl));
    }
    MITHRIL_ASSIGN(const Reply r, command(args, "SET " + key, kMaxSmallReply));
    if (r->type != REDIS_REPLY_STATUS) return unexpected_reply("SET " + key, ErrorCode::kUnavailable);
    return {};
  }

  Result<bool> exists(const std::string& key) override {
    MITHRIL_ASSIGN(const Reply r, command({"EXISTS", m_prefix + key}, "EXISTS " + key, kMaxSmallReply));
    if (r->type != REDIS_REPLY_INTEGER) return unexpected_reply("EXISTS " + key, ErrorCode::kUnavailable);
    return r->integer > 0;
  }

  Result<bool> remove(const std::string& key) override {
    MITHRIL_ASSIGN(const Reply r, command({"DEL", m_prefix + key}, "DEL " + key, kMaxSmallReply));
    if (r->type != REDIS_REPLY_INTEGER) return unexpected_reply("DEL " + key, ErrorCode::kUnavailable);
    return r->integer > 0;
  }

  Result<std::vector<std::string>> list(const std::string& prefix) override {
    std::vector<std::string> out;
    std::string cursor = "0";
    const std::string pattern = glob_escape(m_prefix + prefix) + "*";
    for (std::uint64_t page = 0;; ++page) {
      if (page >= kMaxListCalls || out.size() > kMaxListedKeys) {
        return bad_key("SCAN " + prefix, "did not end after " + std::to_string(page) + " pages");
      }
      MITHRIL_ASSIGN(const Reply r,
                     command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}, "SCAN", kMaxScanReply));
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING) {
        return unexpected_reply("SCAN", ErrorCode::kUnavailable);
      }
      cursor.assign(r->element[0]->str, r->element[0]->len);
      const redisReply* keys = r->element[1];
      for (std::size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; ++i) {
        if (keys->element[i]->type != REDIS_REPLY_STRING) continue;
        std::string k(keys->element[i]->str, keys->element[i]->len);
        if (k.starts_with(m_prefix)) out.push_back(k.substr(m_prefix.size()));
      }
      if (cursor == "0") return out;
    }
  }

 private:
  static std::string glob_escape(const std::string& s) {
    std::string pattern;
    for (const char c : s) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
      pattern += c;
    }
    return pattern;
  }
  Error error(const std::string& what, const std::string& why, ErrorCode code) const {
    return Error{code, url().redacted + ": " + what + ": " + why, 0};
  }
  // One key is bad; the connection is still in step.
  std::unexpected<Error> bad_key(const std::string& what, const std::string& why) const {
    return std::unexpected(error(what, why, ErrorCode::kCorruption));
  }
  // The connection is no longer in step with the server: dropped.
  std::unexpected<Error> broken(const std::string& what, const std::string& why, ErrorCode code) {
    disconnect();
    return std::unexpected(error(what, why, code));
  }
  std::unexpected<Error> unexpected_reply(const std::string& what, ErrorCode code) {
    return broken(what, "unexpected reply", code);
  }
  void disconnect() {
    if (m_ctx != nullptr) redisFree(m_ctx);
    m_ctx = nullptr;
  }
  // The per-read wait: the no-progress timeout, or what the deadline leaves.
  void set_read_timeout() {
    redisSetTimeout(m_ctx, to_timeval(deadline().wait_ms(m_options.io_timeout_ms)));
  }

  Result<void> connect() {
    if (m_ctx != nullptr) return {};
    MITHRIL_TRY(check_deadline("connect"));
    const int port = url().port > 0 ? url().port : 6379;
    const timeval wait = to_timeval(deadline().wait_ms(m_options.connect_timeout_ms));
    m_ctx = redisConnectWithTimeout(url().host.c_str(), port, wait);
    if (m_ctx == nullptr || m_ctx->err != 0) {
      const std::string why = m_ctx != nullptr ? m_ctx->errstr : "out of memory";
      const bool timeout = m_ctx != nullptr && m_ctx->err == REDIS_ERR_IO && why.find("timed out") != std::string::npos;
      return broken("connect", why, timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable);
    }
    m_ctx->reader->fn = bounded_functions(m_ctx->reader->fn);
    if (!url().password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!url().user.empty()) auth.push_back(url().user);
      auth.push_back(url().password);
      MITHRIL_ASSIGN(const Reply r, raw_command(auth, "AUTH", kMaxSmallReply));
      if (r->type != REDIS_REPLY_STATUS) return unexpected_reply("AUTH", ErrorCode::kUnavailable);
    }
    if (m_db != 0) {
      MITHRIL_ASSIGN(const Reply r, raw_command({"SELECT", std::to_string(m_db)}, "SELECT", kMaxSmallReply));
      if (r->type != REDIS_REPLY_STATUS) return unexpected_reply("SELECT", ErrorCode::kUnavailable);
    }
    return {};
  }

  Result<Reply> command(const std::vector<std::string>& args, const std::string& what, std::uint64_t max_reply) {
    MITHRIL_TRY(connect());
    return raw_command(args, what, max_reply);
  }

  std::unexpected<Error> io_failure(const std::string& what) {
    const std::string why = m_ctx->errstr;
    const bool timeout = m_ctx->err == REDIS_ERR_IO && (why.find("temporarily unavailable") != std::string::npos ||
                                                        why.find("timed out") != std::string::npos);
    if (m_ctx->err == REDIS_ERR_OOM || m_ctx->err == REDIS_ERR_PROTOCOL) {
      return broken(what, "malformed or oversized reply (" + why + ")", ErrorCode::kCorruption);
    }
    return broken(what, timeout ? "timed out" : why, timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable);
  }

  Result<Reply> raw_command(const std::vector<std::string>& args, const std::string& what,
                            std::uint64_t max_reply) {
    if (deadline().expired()) return broken(what, "the remote deadline passed", ErrorCode::kTimeout);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(m_ctx, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
      return io_failure(what);
    }
    for (int done = 0; done == 0;) {  // a server that reads slowly is bounded too
      if (deadline().expired()) return broken(what, "the remote deadline passed", ErrorCode::kTimeout);
      set_read_timeout();
      if (redisBufferWrite(m_ctx, &done) != REDIS_OK) return io_failure(what);
    }
    MITHRIL_ASSIGN(Reply r, read_reply(what, max_reply));
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string why(r->str, r->len);  // e.g. "WRONGTYPE ...", "WRONGPASS ...", "OOM ..."
      if (why.starts_with("WRONGTYPE")) return bad_key(what, why);
      return broken(what, why, ErrorCode::kUnavailable);
    }
    return r;
  }

  // One reply, read by hand so every read is bounded in time and the reply
  // in bytes (what arrived, whatever lengths it declares).
  Result<Reply> read_reply(const std::string& what, std::uint64_t max_reply) {
    std::uint64_t received = 0;
    for (;;) {
      void* reply = nullptr;
      if (redisGetReplyFromReader(m_ctx, &reply) != REDIS_OK) return io_failure(what);
      if (reply != nullptr) return Reply(static_cast<redisReply*>(reply));
      if (deadline().expired()) return broken(what, "the remote deadline passed", ErrorCode::kTimeout);
      if (received > max_reply) {
        return broken(what, "reply larger than " + std::to_string(max_reply) + " bytes", ErrorCode::kCorruption);
      }
      set_read_timeout();
      const std::size_t before = m_ctx->reader->len;
      if (redisBufferRead(m_ctx) != REDIS_OK) return io_failure(what);
      const std::size_t after = m_ctx->reader->len;
      received += after >= before ? after - before : after;
    }
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
