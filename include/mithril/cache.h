// Cache: the facade over one cache root (content store + index + counters).
//
// Root layout:
//   <root>/objects/...      the ContentStore (see content_store.h)
//   <root>/quarantine/      objects that failed verification
//   <root>/index.db         the SQLite index (+ -wal, -shm)
//   <root>/mithril.toml     optional configuration file
//
// Size bound: after every put, and on gc(), least-recently-used entries are
// evicted whole until the stored bytes of all objects are <= max_size. An
// object shared by several entries is deleted with the last of them.
//
// Access times and hit/miss counters are buffered in memory and written to
// the index in batches (at most every second or 1,000 lookups, and on
// flush() / destruction), so a hit costs no database write. A crash loses at
// most that buffer: LRU order becomes slightly stale, no data is lost.
//
// Errors: a miss is std::nullopt, never an error. A stored object that fails
// verification is quarantined, counted as a corruption, its entries are
// dropped, and the lookup returns a miss.
//
// Thread and process safety: a Cache is thread-safe (one internal mutex).
// Any number of processes may open the same root; they coordinate through
// the index's write lock, under which objects are published and unlinked.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/config.h>
#include <mithril/content_store.h>
#include <mithril/entry.h>
#include <mithril/env.h>
#include <mithril/export.h>
#include <mithril/key.h>
#include <mithril/result.h>
#include <mithril/stats.h>

namespace mithril {

struct MITHRIL_API GcReport {
  std::uint64_t evicted_entries = 0;
  std::uint64_t evicted_bytes = 0;
  std::uint64_t stored_before = 0;
  std::uint64_t stored_after = 0;
  std::uint64_t temp_files_removed = 0;
};

struct MITHRIL_API VerifyReport {
  std::uint64_t objects_checked = 0;
  std::uint64_t corrupt = 0;          // quarantined
  std::uint64_t missing = 0;          // in the index, not on disk
  std::uint64_t entries_dropped = 0;  // entries that held a corrupt/missing object
  std::uint64_t orphans = 0;          // on disk, not in the index
  std::uint64_t orphans_removed = 0;  // with repair
  std::uint64_t temp_files_removed = 0;
  bool index_rebuilt = false;         // with repair, when SQLite reported damage
  // Framework files (torch's and Triton's caches in the root), every one hashed:
  std::uint64_t framework_files_checked = 0;
  std::uint64_t framework_corrupt = 0;              // entries with a file that differs from its record
  std::uint64_t framework_missing = 0;              // entries with a recorded file gone
  std::uint64_t framework_entries_quarantined = 0;  // moved aside: the framework recompiles them
};

// What a framework check or sync did (see Cache::check_frameworks).
struct MITHRIL_API FrameworkReport {
  std::uint64_t entries = 0;              // tracked framework entries afterwards
  std::uint64_t new_entries = 0;
  std::uint64_t updated_entries = 0;
  std::uint64_t removed_entries = 0;      // vanished from disk
  std::uint64_t accessed_entries = 0;     // opened during the run
  std::uint64_t files_hashed = 0;
  std::uint64_t quarantined_entries = 0;  // altered, truncated or incomplete
  std::uint64_t quarantined_files = 0;
  std::uint64_t skipped_busy = 0;         // a framework process held the entry's lock
  std::int64_t compile_ns_new = 0;        // estimated compile time of the new entries
  std::int64_t compile_ns_saved = 0;      // recorded compile time of the entries reused (hits)
};

// What pack_frameworks / unpack_frameworks did.
struct MITHRIL_API BundleReport {
  std::string partition;
  std::uint64_t files = 0;          // files written (pack) or extracted (unpack)
  std::uint64_t bytes = 0;          // their uncompressed bytes
  std::uint64_t skipped_existing = 0;  // (unpack) already present locally, kept
};

// One recorded framework entry of a partition and its files (for push).
struct MITHRIL_API FrameworkEntryFiles {
  struct File {
    std::string path;  // relative to <root>/fw/<partition>/
    std::uint64_t size = 0;
    Digest digest;
  };
  std::string name;  // relative to <root>/fw/<partition>/, e.g. "inductor/fxgraph/l2/fxyz..."
  std::string kind;  // e.g. "inductor-fxgraph"
  std::vector<File> files;
  std::int64_t compile_ns = 0;  // estimated time the framework took to produce it (0 = unknown)
};

// What a framework run did to its cache directories, as observed (inotify).
struct MITHRIL_API FrameworkActivity {
  std::vector<std::string> opened;   // absolute paths of files opened
  std::vector<std::string> changed;  // absolute paths created, written, renamed or deleted
  bool changes_known = false;        // false: unknown, so rescan every directory
  bool imported = false;             // the changes came from a bundle or a remote, not a compiler:
                                     // new entries are not counted as compilations
  // For the compile-time estimate (wall-clock ns, 0 = unknown): when the run
  // first touched the cache, and when each file was last written.
  std::int64_t first_event_ns = 0;
  std::map<std::string, std::int64_t> written_at_ns;
};

// Whether the root may be trusted (docs/guarantees.md, trust boundaries):
// the root directory (the path may be a symlink) and its managed directories
// (objects/, objects/tmp/, quarantine/, fw/, fw/<partition>/ and the
// framework directories in them) must be real directories (not symlinks)
// owned by env.effective_uid() and not writable by group or others. With
// `allow_shared` another owner and group write are accepted, others' write
// never. Missing directories are fine (mithril creates them 0700).
// Returns kInvalidArgument with one line naming the directory and the fix.
MITHRIL_API Result<void> check_root_trusted(Env& env, const std::string& root, bool allow_shared);

class MITHRIL_API Cache {
 public:
  // Opens (creating if needed) the root `config.root`; refuses a root that
  // check_root_trusted rejects. Rebuilds the index by scanning the objects
  // when it is missing or damaged or not ours (set aside, never modified).
  static Result<std::unique_ptr<Cache>> open(const CacheConfig& config, Env& env = Env::posix());
  ~Cache();  // flushes buffered access times and counters
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // ---- blob entries: the key is the content's digest ----
  Result<ObjectInfo> put_blob(std::string_view data);
  Result<ObjectInfo> put_blob_file(const std::string& path);
  Result<std::optional<std::string>> get_blob(const Digest& digest);
  // Writes the blob to `dest` atomically. false on a miss.
  Result<bool> get_blob_to_file(const Digest& digest, const std::string& dest);

  // ---- keyed entries ----
  // Stores `files` under `key` (replacing any entry with the same key).
  // Returns the key's digest.
  Result<Digest> put_entry(const CacheKey& key, const std::vector<EntryFile>& files);
  // Finds the entry for `key`, or for a key that differs only by a device
  // class that can serve key.device() (CudaAny for a CudaCompute target).
  Result<std::optional<Entry>> get_entry(const CacheKey& key);
  // Reads one file of an entry returned by get_entry(). nullopt when the
  // file is not part of the entry or its object has vanished (evicted).
  Result<std::optional<std::string>> read_entry_file(const Entry& entry, std::string_view name);

  // Removes an entry by key digest. false when absent.
  Result<bool> remove(const Digest& key);
  // Evicts LRU entries until stored bytes <= `max_size` (Default: the
  // configured budget) and deletes temp files older than temp_max_age_s.
  Result<GcReport> gc(std::optional<std::uint64_t> max_size = std::nullopt);
  // Hashes every object. Corrupt ones are quarantined and missing ones
  // dropped, with their entries. With `repair`, also checks the index
  // database (rebuilding it if damaged), deletes orphan objects and debris.
  Result<VerifyReport> verify(bool repair);
  // Deletes every entry and object; counters are kept.
  Result<void> clear();

  // ---- framework caches (see <mithril/hooks.h>) ----
  // Before a framework runs: every recorded file of `partition` must still
  // have its size and mtime, else its content hash; entries that fail are
  // moved to quarantine whole, so the framework sees a clean miss. Unrecorded
  // shared objects that are not complete ELF files (a linker killed
  // mid-write) are quarantined too, unless the framework holds their lock.
  Result<FrameworkReport> check_frameworks(const DeviceClass& partition);
  // After a framework ran: records new and changed entries (hashing their
  // files), forgets vanished ones, and marks entries containing any opened
  // file as used now. With `activity.changes_known`, only entries holding a
  // changed file are re-read (cost O(changes)); otherwise every directory is
  // rescanned. Then enforces the size budget over objects and framework
  // entries together. Last, appends a history point of kind `history` (the
  // default kRun: "after a framework ran"; importers pass kPull / kUnpack,
  // pack kPack; kNone appends none).
  Result<FrameworkReport> sync_frameworks(const DeviceClass& partition, const FrameworkActivity& activity = {},
                                          HistoryKind history = HistoryKind::kRun);

  // ---- bundles (docs/bundles.md) ----
  // Writes every recorded framework file of `partition` into one
  // zstd-compressed tar at `path` (atomically: temp file + rename), with a
  // manifest of paths, sizes and BLAKE3 digests as its first member.
  Result<BundleReport> pack_frameworks(const DeviceClass& partition, const std::string& path);
  // Checks the whole bundle first (manifest, member names, types, sizes,
  // budget) and refuses it with ErrorCode::kInvalidArgument, writing nothing,
  // when anything is off: "..", absolute paths, links, devices, files not in
  // the manifest. Then extracts into the bundle's partition, verifying every
  // digest (kCorruption on a mismatch, nothing published), and records it.
  Result<BundleReport> unpack_frameworks(const std::string& path);

  // Every recorded framework entry of `partition`, by name, with its files
  // as last recorded (call sync_frameworks first to include new ones).
  Result<std::vector<FrameworkEntryFiles>> framework_entries(const DeviceClass& partition);

  // Records how long the framework took to produce entries of `partition`
  // (name relative to fw/<partition>/ -> ns), e.g. for entries pulled from a
  // remote whose manifest carried it. Unknown names are ignored.
  Result<void> set_framework_costs(const DeviceClass& partition, const std::map<std::string, std::int64_t>& costs);

  // Adds `n` to a persistent counter (buffered like lookups' counters).
  void add_counter(Counter c, std::int64_t n);
  // The OS layer this cache was opened with.
  Env& env();

  // The keys of every keyed entry (read from their manifests), for
  // `mithril explain`. Unreadable manifests are skipped.
  Result<std::vector<CacheKey>> keys();

  Result<Stats> stats();
  // Appends a history point of kind `kind` (flushing counters first), for
  // an operation that ran no sync (a push; a pull that brought nothing).
  // kNone: nothing.
  Result<void> record_history(HistoryKind kind);
  // For reports: the recorded history points (oldest first; one after every
  // framework run, gc, pull, push, pack and unpack, see HistoryKind), the
  // newest `limit` evictions, and the largest framework entries.
  Result<std::vector<HistoryPoint>> history();
  Result<std::vector<EvictionRecord>> evictions(std::size_t limit = 100);
  Result<std::vector<EntrySummary>> largest_framework_entries(std::size_t limit = 20);
  // Every framework entry (all partitions) with its recorded compile cost,
  // most recently used first.
  Result<std::vector<EntrySummary>> framework_entry_summaries();
  // Keyed and blob entries, most recently used first, at most `limit`.
  Result<std::vector<EntryRecord>> list(std::size_t limit = SIZE_MAX);
  // Writes buffered access times and counters to the index now.
  Result<void> flush();

  const CacheConfig& config() const;

  class Impl;  // opaque

 private:
  explicit Cache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace mithril
