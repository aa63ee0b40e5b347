// Checks that an index database has the tables, columns and indexes this
// version's schema declares. `CREATE TABLE IF NOT EXISTS` accepts an
// existing table of the same name whatever its columns, so a database
// written by another program, or damaged into another valid database, would
// otherwise open and fail on its first query. Private to src/index.
#pragma once

#include <sqlite3.h>

#include <mithril/result.h>

namespace mithril::detail {

// Compares `db`'s schema with the one `schema_sql` creates in an empty
// in-memory database: every table of `schema_sql` must have exactly its
// columns (name, type, NOT NULL, primary key, default) and its indexes (name,
// unique, partial, columns), and `db` must hold no view or trigger. Tables
// `schema_sql` does not create are ignored.
// Returns kCorruption naming the first difference; kIoError when a query fails.
// Thread safety: uses only `db` and a private in-memory database.
Result<void> check_schema(sqlite3* db, const char* schema_sql);

}  // namespace mithril::detail
