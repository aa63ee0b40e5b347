#include "index/schema.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "index/index_file.h"
#include "index/statements.h"

namespace mithril::detail {
namespace {

// The DDL of docs/index_format.md. Never change a table here without a new
// schema version and a migration: an existing root must open unchanged.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects(
  digest BLOB PRIMARY KEY, size INTEGER NOT NULL, stored_size INTEGER NOT NULL,
  compressed INTEGER NOT NULL, refs INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries(
  id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, kind INTEGER NOT NULL, root BLOB NOT NULL,
  namespace TEXT NOT NULL, device TEXT NOT NULL, size INTEGER NOT NULL,
  created INTEGER NOT NULL, last_access INTEGER NOT NULL, hits INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_access, id);
CREATE TABLE IF NOT EXISTS entry_objects(
  entry_id INTEGER NOT NULL, digest BLOB NOT NULL, PRIMARY KEY(entry_id, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entry_objects_by_digest ON entry_objects(digest);
CREATE TABLE IF NOT EXISTS counters(id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS doomed(digest BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fw_doomed(path TEXT PRIMARY KEY, entry TEXT NOT NULL, kind TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fw_entries(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, size INTEGER NOT NULL,
  created INTEGER NOT NULL, last_access INTEGER NOT NULL, hits INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS fw_lru ON fw_entries(last_access, id);
CREATE TABLE IF NOT EXISTS fw_files(
  path TEXT PRIMARY KEY, entry_id INTEGER NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
  digest BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fw_files_by_entry ON fw_files(entry_id);
CREATE TABLE IF NOT EXISTS history(
  t INTEGER NOT NULL, event TEXT NOT NULL, hits INTEGER NOT NULL, misses INTEGER NOT NULL,
  fw_hits INTEGER NOT NULL, fw_new INTEGER NOT NULL, bytes INTEGER NOT NULL, max_size INTEGER NOT NULL,
  saved_ms INTEGER NOT NULL, evictions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS eviction_log(
  t INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fw_kind_counters(
  kind TEXT PRIMARY KEY, evictions INTEGER NOT NULL, evicted_bytes INTEGER NOT NULL, quarantined INTEGER NOT NULL,
  saved_ns INTEGER NOT NULL, compiled INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fw_costs(
  name TEXT PRIMARY KEY, compile_ns INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(k, v) VALUES ('stored_bytes', 0), ('logical_bytes', 0),
  ('entries', 0), ('objects', 0), ('initialized', 0), ('fw_bytes', 0);
-- Added after release: counted once for an index that predates it (CASE
-- evaluates the count only then; every later open skips the scan).
INSERT OR IGNORE INTO meta(k, v) VALUES ('fw_files', CASE WHEN EXISTS (SELECT 1 FROM meta WHERE k = 'fw_files')
  THEN 0 ELSE (SELECT COUNT(*) FROM fw_files) END);
)sql";

// One row per column, per indexed column and per view or trigger: the first
// field names the table (or the view/trigger), the rest describe the row.
constexpr const char* kShapeSql = R"sql(
SELECT m.name, 'column ' || p.name || ' ' || p.type || ' notnull=' || p."notnull" || ' pk=' || p.pk ||
       ' default=' || coalesce(p.dflt_value, '')
  FROM sqlite_schema m JOIN pragma_table_info(m.name) p
  WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
UNION ALL
SELECT m.name, 'index ' || il.name || ' unique=' || il."unique" || ' partial=' || il.partial ||
       ' #' || ii.seqno || ' ' || coalesce(ii.name, '<expr>')
  FROM sqlite_schema m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii
  WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
UNION ALL
SELECT name, type FROM sqlite_schema WHERE type IN ('view', 'trigger')
)sql";

struct Row {
  std::string table;
  std::string what;
  bool operator<(const Row& o) const { return table != o.table ? table < o.table : what < o.what; }
  bool operator==(const Row& o) const { return table == o.table && what == o.what; }
};

Result<std::vector<Row>> shape_of(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, kShapeSql, -1, &raw, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, "schema check"));
  std::vector<Row> rows;
  {
    Stmt s(db, raw);
    for (;;) {
      auto row = s.step();
      if (!row) {
        sqlite3_finalize(raw);
        return std::unexpected(row.error());
      }
      if (!*row) break;
      rows.push_back(Row{s.text(0), s.text(1)});
    }
  }
  sqlite3_finalize(raw);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The shape kSchema produces in an empty database.
Result<std::vector<Row>> build_expected_shape() {
  sqlite3* mem = nullptr;
  int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(mem, kSchema, nullptr, nullptr, nullptr);
  Result<std::vector<Row>> out = rc == SQLITE_OK ? shape_of(mem)
                                                 : std::unexpected(sqlite_error(mem, rc, "schema check"));
  sqlite3_close_v2(mem);
  return out;
}

// build_expected_shape(), once per process.
const Result<std::vector<Row>>& expected_shape() {
  static const Result<std::vector<Row>> expected = build_expected_shape();
  return expected;
}

}  // namespace

Result<void> create_schema(sqlite3* db) {
  static const std::string application_id = "PRAGMA application_id=" + std::to_string(kIndexApplicationId);
  static const std::string version =
      "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema_version', " + std::to_string(kSchemaVersion) + ")";
  MITHRIL_TRY(exec_sql(db, kSchema));
  MITHRIL_TRY(exec_sql(db, version.c_str()));
  return exec_sql(db, application_id.c_str());
}

Result<std::set<std::string>> schema_tables() {
  const auto& expected = expected_shape();
  if (!expected) return std::unexpected(expected.error());
  std::set<std::string> tables;
  for (const Row& r : *expected) tables.insert(r.table);
  return tables;
}

Result<void> check_schema(sqlite3* db) {
  const auto& expected = expected_shape();
  if (!expected) return std::unexpected(expected.error());
  MITHRIL_ASSIGN(const std::vector<Row> actual, shape_of(db));
  MITHRIL_ASSIGN(const std::set<std::string> tables, schema_tables());
  std::vector<Row> relevant;
  for (const Row& r : actual) {
    if (tables.count(r.table) > 0 || r.what == "view" || r.what == "trigger") relevant.push_back(r);
  }
  if (relevant == *expected) return {};
  std::vector<Row> missing;
  std::vector<Row> extra;
  std::set_difference(expected->begin(), expected->end(), relevant.begin(), relevant.end(),
                      std::back_inserter(missing));
  std::set_difference(relevant.begin(), relevant.end(), expected->begin(), expected->end(),
                      std::back_inserter(extra));
  const Row& first = !missing.empty() ? missing.front() : extra.front();
  std::string text = "index schema differs from this version's: ";
  text.append(first.table).append(": ").append(first.what).append(!missing.empty() ? " is missing" : " is unexpected");
  return fail(ErrorCode::kCorruption, text);
}

}  // namespace mithril::detail
