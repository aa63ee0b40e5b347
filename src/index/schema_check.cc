#include "index/schema_check.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "index/sqlite_stmt.h"

namespace mithril::detail {
namespace {

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

// The shape `schema_sql` produces, built once per process.
Result<std::vector<Row>> expected_shape(const char* schema_sql) {
  sqlite3* mem = nullptr;
  int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(mem, schema_sql, nullptr, nullptr, nullptr);
  Result<std::vector<Row>> out = rc == SQLITE_OK ? shape_of(mem)
                                                 : std::unexpected(sqlite_error(mem, rc, "schema check"));
  sqlite3_close_v2(mem);
  return out;
}

}  // namespace

Result<void> check_schema(sqlite3* db, const char* schema_sql) {
  static const Result<std::vector<Row>> expected = expected_shape(schema_sql);
  if (!expected) return std::unexpected(expected.error());
  MITHRIL_ASSIGN(const std::vector<Row> actual, shape_of(db));
  std::set<std::string> tables;
  for (const Row& r : *expected) tables.insert(r.table);
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
