#include "index/db.h"

#include <thread>

#include "index/env_vfs.h"
#include "index/index.h"

namespace mithril::detail {

Connection::Connection(sqlite3* db, std::shared_ptr<EnvVfs> vfs, int busy_timeout_ms)
    : m_db(db),
      m_stmts(std::make_unique<StatementCache>(db)),
      m_vfs(std::move(vfs)),
      m_busy_deadline(std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms)) {}

Connection::~Connection() {
  m_stmts.reset();
  sqlite3_close_v2(m_db);
  m_vfs.reset();  // after the connection: it used the VFS to the end
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, const IndexOptions& options) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  auto vfs = EnvVfs::acquire(options.env != nullptr ? *options.env : Env::posix());
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs ? vfs->name() : nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return std::unexpected(e);
  }
  std::unique_ptr<Connection> conn(new Connection(db, std::move(vfs), options.busy_timeout_ms));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  MITHRIL_TRY(conn->retry_busy([&] { return conn->exec("PRAGMA journal_mode=WAL"); }));
  MITHRIL_TRY(conn->exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  MITHRIL_TRY(conn->exec("PRAGMA foreign_keys=OFF"));
  return conn;
}

void Connection::rollback() {
  if (sqlite3_get_autocommit(m_db) == 0) (void)exec("ROLLBACK");
}

Result<void> Connection::retry_busy(const std::function<Result<void>()>& step) const {
  for (;;) {
    auto r = step();
    if (r || r.error().code != ErrorCode::kBusy || std::chrono::steady_clock::now() > m_busy_deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace mithril::detail
