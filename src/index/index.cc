// Index: opening (schema, version and shape checks), transactions and the
// meta rows. The tables' operations are in *_tables.cc.
#include "index/index.h"

#include <sqlite3.h>

#include "index/db.h"
#include "index/schema.h"
#include "index/statements.h"

namespace mithril {

Index::Index(std::unique_ptr<detail::Connection> conn) : m_conn(std::move(conn)), m_stmts(&m_conn->statements()) {}

Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::open(const std::string& path, IndexOptions options) {
  MITHRIL_ASSIGN(auto conn, detail::Connection::open(path, options));
  std::unique_ptr<Index> index(new Index(std::move(conn)));
  detail::Connection& c = *index->m_conn;
  // Reads the schema: fails here with SQLITE_NOTADB/CORRUPT on a damaged header.
  MITHRIL_TRY(c.retry_busy([&]() -> Result<void> {
    MITHRIL_TRY(c.begin_write());
    auto created = detail::create_schema(c.db());
    if (created) created = c.commit();
    if (!created) c.rollback();
    return created;
  }));
  MITHRIL_ASSIGN(const std::int64_t version, index->meta("schema_version"));
  if (version != detail::kSchemaVersion) {
    return fail(ErrorCode::kCorruption, "index " + path + " has schema version " + std::to_string(version) +
                                            ", expected " + std::to_string(detail::kSchemaVersion));
  }
  // Tables of the same names but other columns (another program's database,
  // or damage that left a valid one) would fail at the first query.
  auto shape = detail::check_schema(c.db());
  if (!shape) return fail(shape.error().code, "index " + path + ": " + shape.error().message);
  return index;
}

Result<void> Index::exec(const char* sql) { return m_conn->exec(sql); }
Result<void> Index::begin_write() { return m_conn->begin_write(); }
Result<void> Index::commit() { return m_conn->commit(); }
void Index::rollback() { m_conn->rollback(); }

Result<std::int64_t> Index::meta(const char* key) {
  MITHRIL_STMT(s, "SELECT v FROM meta WHERE k = ?");
  s.bind(1, std::string(key));
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? s.i64(0) : 0;
}

Result<std::uint64_t> Index::meta_count(const char* key) {
  MITHRIL_ASSIGN(const std::int64_t v, meta(key));
  return static_cast<std::uint64_t>(v);
}

Result<void> Index::add_meta(const char* key, std::int64_t delta) {
  MITHRIL_STMT(s, "UPDATE meta SET v = v + ? WHERE k = ?");
  s.bind(1, delta).bind(2, std::string(key));
  return s.run();
}

Result<bool> Index::initialized() {
  MITHRIL_ASSIGN(const std::int64_t v, meta("initialized"));
  return v != 0;
}

Result<void> Index::set_initialized() { return exec("UPDATE meta SET v = 1 WHERE k = 'initialized'"); }

Result<void> Index::clear_all() {
  return exec(
      "DELETE FROM entries; DELETE FROM entry_objects; DELETE FROM objects;"
      "UPDATE meta SET v = 0 WHERE k IN ('stored_bytes','logical_bytes','entries','objects');");
}

Result<bool> Index::integrity_ok() {
  MITHRIL_STMT(s, "PRAGMA integrity_check");
  auto row = s.step();
  if (!row) {
    if (row.error().code == ErrorCode::kCorruption) return false;
    return std::unexpected(row.error());
  }
  return *row && s.text(0) == "ok";
}

}  // namespace mithril
