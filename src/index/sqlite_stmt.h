// Minimal RAII helpers over sqlite3 prepared statements. Private to src/index.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <mithril/digest.h>
#include <mithril/result.h>

namespace mithril::detail {

inline Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
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

// A borrowed, reset-on-destruction use of a cached prepared statement.
// Bound values are copied (SQLITE_TRANSIENT): callers may pass temporaries.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : m_db(db), m_s(s) {}
  ~Stmt() {
    sqlite3_reset(m_s);
    sqlite3_clear_bindings(m_s);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(m_s, i, v);
    return *this;
  }
  Stmt& bind(int i, const Digest& d) {
    sqlite3_bind_blob(m_s, i, d.bytes().data(), Digest::kSize, SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const std::string& s) {
    sqlite3_bind_text(m_s, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Returns true when a row is available, false when done.
  Result<bool> step() {
    const int rc = sqlite3_step(m_s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return std::unexpected(sqlite_error(m_db, rc, "query"));
  }
  Result<void> run() {
    MITHRIL_ASSIGN(const bool row, step());
    (void)row;
    return {};
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(m_s, col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(m_s, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(m_s, col)) : std::string();
  }
  Digest digest(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_s, col));
    const int n = sqlite3_column_bytes(m_s, col);
    if (p == nullptr || n != static_cast<int>(Digest::kSize)) return Digest();
    const auto d = Digest::from_bytes({p, Digest::kSize});
    return d ? *d : Digest();
  }

 private:
  sqlite3* m_db;
  sqlite3_stmt* m_s;
};

}  // namespace mithril::detail
