// Index: the persistent entry/object database (SQLite in WAL mode).
//
// Tables: entries (key -> root object, size, LRU fields), entry_objects
// (which objects an entry holds), objects (size, refcount), doomed, meta
// (schema version, running totals); the framework tables fw_entries,
// fw_files, fw_doomed, fw_costs; the telemetry tables counters,
// fw_kind_counters, history, eviction_log. See docs/index_format.md.
//
// Why SQLite/WAL: transactions with a cross-process write lock (BEGIN
// IMMEDIATE) that we also use to order object publish vs. unlink; readers
// never block writers; crash-safe journal; B-tree indexes give O(log n)
// lookups and LRU-ordered eviction; opening a 1 M-entry database reads no
// more than the header. LMDB would read faster but needs a fixed map size
// and a single-writer lock file that breaks on NFS-style shared roots.
//
// Thread safety: an Index is NOT thread-safe; callers serialize access (the
// Cache holds a mutex). Many processes may open the same database.
//
// Layering: the index depends on nothing above it (no core or report types;
// its rows are in index/records.h). The build enforces it: src/index/ is the
// library mithril_index, whose include path reaches only the layers below it
// (src/index/CMakeLists.txt).
//
// The implementation is split by concern: index.cc (open, transactions,
// meta), db.cc (the connection), schema.cc (DDL, migration, shape check),
// statements.cc (prepared statements), object_tables.cc, entry_tables.cc,
// framework_tables.cc, telemetry_tables.cc (counters, per-kind counters,
// history, eviction log).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mithril/content_store.h>
#include <mithril/digest.h>
#include <mithril/entry.h>
#include <mithril/result.h>

#include "index/records.h"

namespace mithril {
namespace detail {
class Connection;
class StatementCache;
}  // namespace detail

struct IndexOptions {
  bool durable = false;     // synchronous=FULL (fsync each commit) instead of NORMAL
  int busy_timeout_ms = 60000;
  // SQLite's file I/O passes by this Env's before_db_io hook (src/index/
  // env_vfs.h); nullptr or Env::posix(): SQLite's default VFS, no hook.
  // REQUIRES: outlives the Index.
  Env* env = nullptr;
};

class Index {
 public:
  // ---- connection and transactions (index.cc, db.cc) ----

  // Opens or creates the database at `path`: WAL mode, the schema created or
  // migrated (docs/index_format.md), its version and shape checked. Damage
  // that SQLite detects on open, another schema version or another shape is
  // reported as ErrorCode::kCorruption.
  static Result<std::unique_ptr<Index>> open(const std::string& path, IndexOptions options);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // BEGIN IMMEDIATE: takes the database write lock (waits up to busy_timeout).
  Result<void> begin_write();
  Result<void> commit();
  void rollback();  // no-op outside a transaction

  // True once the schema exists and the initial/recovery scan completed.
  Result<bool> initialized();
  Result<void> set_initialized();
  // Deletes every entry and object row (counters are kept). In a write txn.
  Result<void> clear_all();
  // PRAGMA integrity_check; false when SQLite reports damage.
  Result<bool> integrity_ok();

  // ---- objects (object_tables.cc; write txn required for mutations) ----

  Result<std::optional<ObjectInfo>> find_object(const Digest& digest);
  // Inserts with refs=0 if absent.
  Result<void> upsert_object(const ObjectInfo& info);
  // Objects whose last entry is gone and whose files still need unlinking.
  // Two-phase delete: a crash between the commit that dooms an object and
  // the unlink leaves a doomed row (and maybe the file), never an entry whose
  // object file is missing.
  Result<std::vector<Digest>> doomed();
  Result<void> undoom(const Digest& digest);
  Result<void> doom_all_objects();
  // Every object row with its reference count, until `fn` returns false.
  Result<void> for_each_object(const std::function<bool(const ObjectInfo&, std::int64_t refs)>& fn);
  // Running totals (meta rows): bytes of the stored files, uncompressed bytes, rows.
  Result<std::uint64_t> stored_bytes();
  Result<std::uint64_t> logical_bytes();
  Result<std::uint64_t> object_count();
  // Stored objects plus recorded framework files (running totals in meta).
  Result<std::uint64_t> file_count();

  // ---- entries of the keyed store (entry_tables.cc; write txn required for mutations) ----

  Result<std::optional<EntryRecord>> find_entry(const Digest& key);
  // The hit path's lean lookup: only the entry's kind (nullopt when absent).
  Result<std::optional<EntryKind>> find_entry_kind(const Digest& key);
  // Inserts the entry and takes one reference on each of `objects` (which
  // must already be upserted). An existing entry with the same key is
  // replaced; digests of objects it leaves unreferenced are appended to `dead`.
  Result<void> insert_entry(const EntryRecord& entry, const std::vector<Digest>& objects,
                            std::vector<Digest>* dead);
  // Removes the entry; digests of objects left unreferenced are deleted from
  // the objects table, recorded in `doomed` (their files are unlinked later,
  // after the commit, by the caller's purge) and appended to `dead`.
  // Returns false if absent.
  Result<bool> remove_entry(const Digest& key, std::vector<Digest>* dead);
  // The least recently used entry (ties: the oldest row); nullopt when none.
  Result<std::optional<EntryRecord>> oldest_entry();
  // Entries whose object list contains `digest`.
  Result<std::vector<Digest>> entries_using(const Digest& digest);
  // Every entry, most recently used first, until `fn` returns false.
  Result<void> for_each_entry(const std::function<bool(const EntryRecord&)>& fn);
  // Batched LRU/hit updates: last_access = max(old, t), hits += n.
  Result<void> touch(const Digest& key, std::int64_t t, std::int64_t hits);
  Result<std::uint64_t> entry_count();

  // ---- framework entries and files (framework_tables.cc; write txn required for mutations) ----

  Result<std::vector<FwFile>> fw_files();
  // The recorded files of one entry (empty when the entry is unknown).
  Result<std::vector<FwFile>> fw_entry_files(const std::string& name);
  Result<std::uint64_t> fw_entry_count();
  // The kind of a recorded entry ("unknown" when it is not recorded).
  Result<std::string> fw_kind_of(const std::string& name);
  // Replaces the entry `name` and its file list. Keeps created/last_access/
  // hits of a previous version; `accessed` sets last_access = now, hits += 1.
  Result<void> fw_put_entry(const std::string& name, const std::string& kind, const std::vector<FwFile>& files,
                            std::int64_t now, bool accessed);
  // Forgets the entry and its compile cost; returns the files it had (for
  // the caller to delete).
  Result<std::vector<FwFile>> fw_remove_entry(const std::string& name);
  // Two-phase delete of an evicted framework entry's files, as for objects:
  // the transaction that removes the entry records its paths here; they are
  // unlinked after the commit. A failed commit thus leaves the entry whole,
  // and a crash after it leaves doomed rows (finished at the next open),
  // never an entry whose files are gone.
  struct FwDoomed {
    std::string path;   // relative to the cache root
    std::string entry;  // the entry it belonged to
    std::string kind;
  };
  Result<void> fw_doom(const std::string& entry, const std::string& kind, const std::vector<FwFile>& files);
  Result<std::vector<FwDoomed>> fw_doomed();
  Result<void> fw_undoom(const std::string& path);
  // Whether `path` was recorded again since it was doomed (by a pull).
  Result<bool> fw_file_recorded(const std::string& path);
  // Whether files of the entry `name` are still doomed (a sync must not
  // record what is left of it as a new entry).
  Result<bool> fw_entry_doomed(const std::string& name);
  // last_access = max(old, t), hits += 1.
  Result<void> fw_touch(const std::string& name, std::int64_t t);
  // The least recently used entry (ties: the oldest row); nullopt when none.
  Result<std::optional<FwEntryRecord>> fw_oldest();
  // The `limit` largest entries, largest first.
  Result<std::vector<FwEntryRecord>> fw_largest(std::size_t limit);
  // Entries whose name starts with `prefix` (e.g. "cpu-AVX2/"), by name.
  Result<std::vector<FwEntryRecord>> fw_entries(const std::string& prefix);
  // Bytes of the recorded files (running total in meta).
  Result<std::uint64_t> fw_bytes();
  // Compile-time accounting (fw_costs, keyed by entry name): the recorded
  // cost of producing an entry (0 when unknown). Write txn required except
  // for fw_cost. What hits saved is counted per kind (fw_kind_add).
  Result<void> fw_set_cost(const std::string& name, std::int64_t compile_ns);
  Result<std::int64_t> fw_cost(const std::string& name);
  // Every entry with its recorded compile cost, most recently used first
  // (read-only; for `mithril ls`).
  Result<std::vector<FwSummaryRow>> fw_summaries();

  // ---- telemetry (telemetry_tables.cc; write txn required for mutations) ----

  // Counters by id (core's mithril::Counter): adds `delta` to each nonzero slot.
  Result<void> add_counters(const IndexCounters& delta);
  Result<IndexCounters> counters();
  // Per framework kind: its current entries and its persistent counters.
  Result<std::vector<FwKindRow>> fw_kinds();
  // Adds to the persistent per-kind counters.
  struct KindDelta {
    std::int64_t evictions = 0, evicted_bytes = 0, quarantined = 0, saved_ns = 0, compiled = 0;
  };
  Result<void> fw_kind_add(const std::string& kind, const KindDelta& delta);
  // History for reports, pruned to the last 5,000 points, oldest first.
  Result<void> history_add(const HistoryRow& h);
  Result<std::vector<HistoryRow>> history();
  // The eviction log, pruned to the last 2,000 rows.
  Result<void> eviction_log_add(const EvictionRow& e);
  Result<std::vector<EvictionRow>> eviction_log(std::size_t limit);  // newest first

 private:
  explicit Index(std::unique_ptr<detail::Connection> conn);
  Result<void> exec(const char* sql);
  Result<void> add_meta(const char* key, std::int64_t delta);
  Result<std::int64_t> meta(const char* key);
  // meta(key) as an unsigned count.
  Result<std::uint64_t> meta_count(const char* key);
  // fw_remove_entry without forgetting the cost (fw_put_entry replaces an
  // entry's rows; its cost stays).
  Result<std::vector<FwFile>> fw_remove_rows(const std::string& name);

  std::unique_ptr<detail::Connection> m_conn;
  detail::StatementCache* m_stmts;  // m_conn's (for MITHRIL_STMT)
};

}  // namespace mithril
