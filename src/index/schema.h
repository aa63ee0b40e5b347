// The index's schema: its DDL and version, creating and migrating it, and
// checking that an existing database has exactly its shape
// (docs/index_format.md). Private to src/index.
//
// `CREATE TABLE IF NOT EXISTS` accepts an existing table of the same name
// whatever its columns, so a database written by another program, or damaged
// into another valid database, would otherwise open and fail on its first
// query: check_schema catches that at open.
//
// Thread safety: each function uses only the `db` it is given (and a private
// in-memory database, built once per process under a static's guard).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <set>
#include <string>

#include <mithril/result.h>

namespace mithril::detail {

// meta('schema_version') of every index this version reads and writes.
inline constexpr std::int64_t kSchemaVersion = 1;

// Creates the tables and meta rows that are missing, runs the migrations
// (columns or rows added after release, counted once), writes
// schema_version if absent and marks the file as ours (application_id).
// REQUIRES: inside a write transaction on `db`.
Result<void> create_schema(sqlite3* db);

// Compares `db`'s schema with the one create_schema makes in an empty
// in-memory database: every table of the schema must have exactly its
// columns (name, type, NOT NULL, primary key, default) and its indexes (name,
// unique, partial, columns), and `db` must hold no view or trigger. Tables
// the schema does not create are ignored.
// Returns kCorruption naming the first difference; kIoError when a query fails.
Result<void> check_schema(sqlite3* db);

// The names of the tables the schema creates.
Result<std::set<std::string>> schema_tables();

}  // namespace mithril::detail
