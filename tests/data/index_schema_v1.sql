-- The index's tables as released in schema version 1 (docs/index_format.md),
-- kept verbatim: tests/unit/test_index.cc opens a database made from this
-- file, so a change of the on-disk format shows as a failing test.
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
