// The index's SQLite connection: opening it through the Env's VFS
// (src/index/env_vfs.h), its pragmas (WAL, synchronous, busy timeout),
// statements and transactions. Private to src/index.
//
// Thread safety: NOT thread-safe (opened SQLITE_OPEN_NOMUTEX); one thread at
// a time, as the Index that owns it. Many processes may open the same file.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <mithril/result.h>

#include "index/statements.h"

namespace mithril {
struct IndexOptions;  // index/index.h
}  // namespace mithril

namespace mithril::detail {

class EnvVfs;

class Connection {
 public:
  // Opens or creates the database at `path` and sets its pragmas (WAL,
  // synchronous, busy timeout) as `options` say; its I/O passes by
  // options.env's VFS (REQUIRES: the Env outlives the Connection). Errors as
  // sqlite_error (damage SQLite detects is kCorruption).
  static Result<std::unique_ptr<Connection>> open(const std::string& path, const IndexOptions& options);
  ~Connection();  // finalizes the statements, closes, then releases the VFS
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return m_db; }
  StatementCache& statements() { return *m_stmts; }
  Result<void> exec(const char* sql) { return exec_sql(m_db, sql); }

  // BEGIN IMMEDIATE: takes the database write lock (waits up to busy_timeout).
  Result<void> begin_write() { return exec("BEGIN IMMEDIATE"); }
  Result<void> commit() { return exec("COMMIT"); }
  void rollback();  // no-op outside a transaction

  // Runs `step` again while it fails with kBusy, with a short sleep, until
  // the busy timeout (counted from open) has passed. SQLite answers
  // SQLITE_BUSY without calling the busy handler in a few WAL set-up cases
  // (another connection switching the journal mode or running recovery, as
  // when several processes open a new root at once).
  Result<void> retry_busy(const std::function<Result<void>()>& step) const;

 private:
  Connection(sqlite3* db, std::shared_ptr<EnvVfs> vfs, int busy_timeout_ms);

  sqlite3* m_db;
  std::unique_ptr<StatementCache> m_stmts;
  std::shared_ptr<EnvVfs> m_vfs;  // released after the connection closes
  std::chrono::steady_clock::time_point m_busy_deadline;
};

}  // namespace mithril::detail
