// Index: the persistent entry/object database (SQLite in WAL mode).
//
// Tables: entries (key -> root object, size, LRU fields), entry_objects
// (which objects an entry holds), objects (size, refcount), counters, meta
// (schema version, total stored bytes). See docs/index_format.md.
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
#include <mithril/stats.h>

struct sqlite3;

namespace mithril {
namespace detail {
class EnvVfs;
}  // namespace detail

// A file a framework wrote into a managed directory, as last recorded.
struct FwFile {
  std::string path;  // relative to the cache root
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  Digest digest;
  std::string entry;  // the framework entry it belongs to
};

struct FwEntryRecord {
  std::string name;  // e.g. "cpu-AVX2/inductor/fxgraph/l2/fl2g..."
  std::string kind;  // adapter's kind, e.g. "inductor-fxgraph"
  std::uint64_t size = 0;
  std::int64_t created_ns = 0;
  std::int64_t last_access_ns = 0;
  std::int64_t hits = 0;
};

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
  // Opens or creates the database at `path`. Damage that SQLite detects on
  // open is reported as ErrorCode::kCorruption.
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

  // ---- objects (write txn required for mutations) ----
  Result<std::optional<ObjectInfo>> find_object(const Digest& digest);
  // Inserts with refs=0 if absent.
  Result<void> upsert_object(const ObjectInfo& info);

  // ---- entries ----
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
  Result<std::optional<EntryRecord>> oldest_entry();
  // Objects whose last entry is gone and whose files still need unlinking.
  // Two-phase delete: a crash between the commit that dooms an object and
  // the unlink leaves a doomed row (and maybe the file), never an entry whose
  // object file is missing.
  Result<std::vector<Digest>> doomed();
  Result<void> undoom(const Digest& digest);
  Result<void> doom_all_objects();
  // Entries whose object list contains `digest`.
  Result<std::vector<Digest>> entries_using(const Digest& digest);
  Result<void> for_each_entry(const std::function<bool(const EntryRecord&)>& fn);
  Result<void> for_each_object(const std::function<bool(const ObjectInfo&, std::int64_t refs)>& fn);

  // Batched LRU/hit updates: last_access = max(old, t), hits += n.
  Result<void> touch(const Digest& key, std::int64_t t, std::int64_t hits);

  // ---- accounting ----
  Result<std::uint64_t> stored_bytes();
  Result<std::uint64_t> logical_bytes();
  Result<std::uint64_t> entry_count();
  Result<std::uint64_t> object_count();
  Result<void> add_counters(const std::array<std::int64_t, kCounterCount>& delta);
  Result<std::array<std::int64_t, kCounterCount>> counters();
  // ---- framework entries (write txn required for mutations) ----
  Result<std::vector<FwFile>> fw_files();
  // The recorded files of one entry (empty when the entry is unknown).
  Result<std::vector<FwFile>> fw_entry_files(const std::string& name);
  Result<std::uint64_t> fw_entry_count();
  Result<std::vector<FrameworkKindStats>> fw_kinds();
  // Persistent per-kind counters (write txn required).
  struct KindDelta {
    std::int64_t evictions = 0, evicted_bytes = 0, quarantined = 0, saved_ns = 0, compiled = 0;
  };
  Result<void> fw_kind_add(const std::string& kind, const KindDelta& delta);
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
  Result<void> fw_touch(const std::string& name, std::int64_t t);
  Result<std::optional<FwEntryRecord>> fw_oldest();
  // ---- history for reports (pruned to the last 5,000 points / 2,000 evictions) ----
  Result<void> history_add(const HistoryPoint& h);
  Result<std::vector<HistoryPoint>> history();
  Result<void> eviction_log_add(const EvictionRecord& e);
  Result<std::vector<EvictionRecord>> eviction_log(std::size_t limit);  // newest first
  Result<std::vector<FwEntryRecord>> fw_largest(std::size_t limit);
  // Compile-time accounting (fw_costs, keyed by entry name): the recorded
  // cost of producing an entry (0 when unknown). Write txn required except
  // for fw_cost. What hits saved is counted per kind (fw_kind_add).
  Result<void> fw_set_cost(const std::string& name, std::int64_t compile_ns);
  Result<std::int64_t> fw_cost(const std::string& name);
  // Every entry with its recorded compile cost, most recently used first
  // (read-only; for `mithril ls`).
  Result<std::vector<EntrySummary>> fw_summaries();
  // Entries whose name starts with `prefix` (e.g. "cpu-AVX2/"), by name.
  Result<std::vector<FwEntryRecord>> fw_entries(const std::string& prefix);
  Result<std::uint64_t> fw_bytes();
  // Stored objects plus recorded framework files (running totals in meta).
  Result<std::uint64_t> file_count();

  // PRAGMA integrity_check; false when SQLite reports damage.
  Result<bool> integrity_ok();

 private:
  class Statements;
  Index(sqlite3* db, std::shared_ptr<detail::EnvVfs> vfs);
  Result<void> exec(const char* sql);
  // Marks the database as mithril's index (detail::kIndexApplicationId).
  Result<void> set_application_id();
  Result<void> add_meta(const char* key, std::int64_t delta);
  Result<std::int64_t> meta(const char* key);
  // fw_remove_entry without forgetting the cost (fw_put_entry replaces an
  // entry's rows; its cost stays).
  Result<std::vector<FwFile>> fw_remove_rows(const std::string& name);

  sqlite3* m_db;
  std::unique_ptr<Statements> m_stmts;
  std::shared_ptr<detail::EnvVfs> m_vfs;  // released after the connection closes
};

}  // namespace mithril
