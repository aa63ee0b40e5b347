#include "index/statements.h"

namespace mithril::detail {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kIoError;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = ErrorCode::kCorruption;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kBusy;
  if (primary == SQLITE_FULL) code = ErrorCode::kNoSpace;
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = "index " + std::string(what) + ": " + msg;
  if (code == ErrorCode::kCorruption) text += " (run `mithril verify --repair` to rebuild the index from the objects)";
  return Error{code, std::move(text), 0};
}

Result<void> exec_sql(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  sqlite3_free(msg);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, "exec"));
  return {};
}

StatementCache::~StatementCache() {
  for (auto& [sql, s] : m_cache) sqlite3_finalize(s);
}

Result<sqlite3_stmt*> StatementCache::get(const char* sql) {
  auto it = m_cache.find(sql);
  if (it == m_cache.end()) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(sqlite_error(m_db, rc, "prepare"));
    it = m_cache.emplace(sql, s).first;
  }
  return it->second;
}

}  // namespace mithril::detail
