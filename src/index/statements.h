// Prepared statements of one SQLite connection: the per-connection cache,
// a RAII use of one cached statement (bind, step, read columns, read rows),
// and SQLite result codes as Errors. Private to src/index.
//
// Thread safety: as the connection they belong to (one thread at a time).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <mithril/digest.h>
#include <mithril/result.h>

namespace mithril::detail {

// The Error for SQLite result code `rc` (SQLITE_CORRUPT/NOTADB ->
// kCorruption with the repair hint, BUSY/LOCKED -> kBusy, FULL -> kNoSpace,
// else kIoError), with `db`'s message when `db` is not null.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// Runs the statements of `sql` (sqlite3_exec) on `db`.
Result<void> exec_sql(sqlite3* db, const char* sql);

// Statements compiled once per connection, keyed by the address of their SQL
// literal (no string is built or hashed per query). Finalizes them on
// destruction, which must come before the connection closes.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : m_db(db) {}
  ~StatementCache();
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // REQUIRES: `sql` is a string literal (statements are cached by its address).
  Result<sqlite3_stmt*> get(const char* sql);
  sqlite3* db() const { return m_db; }

 private:
  sqlite3* m_db;
  std::unordered_map<const char*, sqlite3_stmt*> m_cache;
};

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
  // Every remaining row, each read by `read(const Stmt&)`.
  template <class Read>
  auto rows(const Read& read) -> Result<std::vector<std::invoke_result_t<const Read&, const Stmt&>>> {
    std::vector<std::invoke_result_t<const Read&, const Stmt&>> out;
    for (;;) {
      MITHRIL_ASSIGN(const bool row, step());
      if (!row) break;
      out.push_back(read(*this));
    }
    return out;
  }
  // The next row read by `read(const Stmt&)`; nullopt when there is none.
  template <class Read>
  auto first(const Read& read) -> Result<std::optional<std::invoke_result_t<const Read&, const Stmt&>>> {
    using Row = std::invoke_result_t<const Read&, const Stmt&>;
    MITHRIL_ASSIGN(const bool row, step());
    if (!row) return std::optional<Row>{};
    return std::optional<Row>(read(*this));
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(m_s, col); }
  std::uint64_t u64(int col) const { return static_cast<std::uint64_t>(i64(col)); }
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

// Column 0 as a digest (a row reader for Stmt::rows).
inline Digest digest_column(const Stmt& s) { return s.digest(0); }

}  // namespace mithril::detail

// Inside an Index member: declares `var`, a Stmt over the cached prepared
// statement for the literal `sql` (returns the prepare error).
#define MITHRIL_STMT(var, sql)                                \
  MITHRIL_ASSIGN(sqlite3_stmt* var##_raw, m_stmts->get(sql)); \
  ::mithril::detail::Stmt var(m_stmts->db(), var##_raw)
