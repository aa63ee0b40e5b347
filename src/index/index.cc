#include "index/index.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <sqlite3.h>

#include "index/env_vfs.h"
#include "index/index_file.h"
#include "index/schema_check.h"
#include "index/sqlite_stmt.h"

namespace mithril {

using detail::Stmt;
using detail::sqlite_error;

// Declares `var`, a Stmt over the cached prepared statement for `sql`.
#define MITHRIL_STMT(var, sql)                                   \
  MITHRIL_ASSIGN(sqlite3_stmt* var##_raw, m_stmts->get(sql));    \
  Stmt var(m_db, var##_raw)

namespace {

constexpr std::int64_t kSchemaVersion = 1;

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

// Rows of (name, kind, size, created, last_access, hits) as records.
Result<std::vector<FwEntryRecord>> fw_entry_rows(detail::Stmt& s) {
  std::vector<FwEntryRecord> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(
        FwEntryRecord{s.text(0), s.text(1), static_cast<std::uint64_t>(s.i64(2)), s.i64(3), s.i64(4), s.i64(5)});
  }
  return out;
}

#define MITHRIL_ENTRY_COLUMNS "key, kind, root, namespace, device, size, created, last_access, hits"

EntryRecord read_entry(const Stmt& s) {
  EntryRecord e;
  e.key = s.digest(0);
  e.kind = static_cast<EntryKind>(s.i64(1));
  e.root = s.digest(2);
  e.name_space = s.text(3);
  e.device = s.text(4);
  e.size = static_cast<std::uint64_t>(s.i64(5));
  e.created_ns = s.i64(6);
  e.last_access_ns = s.i64(7);
  e.hits = s.i64(8);
  return e;
}

}  // namespace

// Prepared statements, compiled once per connection, keyed by the address
// of their SQL literal (no string is built or hashed per query).
// The first column of every row, as digests.
static Result<std::vector<Digest>> collect_digests(Stmt& s) {
  std::vector<Digest> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(s.digest(0));
  }
  return out;
}

class Index::Statements {
 public:
  explicit Statements(sqlite3* db) : m_db(db) {}
  ~Statements() {
    for (auto& [sql, s] : m_cache) sqlite3_finalize(s);
  }
  // REQUIRES: `sql` is a string literal (statements are cached by its address).
  Result<sqlite3_stmt*> get(const char* sql) {
    auto it = m_cache.find(sql);
    if (it == m_cache.end()) {
      sqlite3_stmt* s = nullptr;
      const int rc = sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return std::unexpected(sqlite_error(m_db, rc, "prepare"));
      it = m_cache.emplace(sql, s).first;
    }
    return it->second;
  }

 private:
  sqlite3* m_db;
  std::unordered_map<const char*, sqlite3_stmt*> m_cache;
};

Index::Index(sqlite3* db, std::shared_ptr<detail::EnvVfs> vfs)
    : m_db(db), m_stmts(std::make_unique<Statements>(db)), m_vfs(std::move(vfs)) {}

Index::~Index() {
  m_stmts.reset();
  sqlite3_close_v2(m_db);
  m_vfs.reset();  // after the connection: it used the VFS to the end
}

Result<std::unique_ptr<Index>> Index::open(const std::string& path, IndexOptions options) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  auto vfs = detail::EnvVfs::acquire(options.env != nullptr ? *options.env : Env::posix());
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs ? vfs->name() : nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return std::unexpected(e);
  }
  std::unique_ptr<Index> index(new Index(db, std::move(vfs)));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  // SQLite answers SQLITE_BUSY without calling the busy handler in a few
  // WAL set-up cases (another connection switching the journal mode or
  // running recovery, as when several processes open a new root at once):
  // such steps are retried with a short sleep, up to the busy timeout.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  const auto retry_busy = [&](const auto& step) -> Result<void> {
    for (;;) {
      auto r = step();
      if (r || r.error().code != ErrorCode::kBusy || std::chrono::steady_clock::now() > deadline) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  MITHRIL_TRY(retry_busy([&] { return index->exec("PRAGMA journal_mode=WAL"); }));
  MITHRIL_TRY(index->exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  MITHRIL_TRY(index->exec("PRAGMA foreign_keys=OFF"));
  // Reads the schema: fails here with SQLITE_NOTADB/CORRUPT on a damaged header.
  MITHRIL_TRY(retry_busy([&]() -> Result<void> {
    MITHRIL_TRY(index->begin_write());
    auto created = index->exec(kSchema);
    if (created) created = index->exec("INSERT OR IGNORE INTO meta(k, v) VALUES ('schema_version', 1)");
    if (created) created = index->set_application_id();
    if (created) created = index->commit();
    if (!created) index->rollback();
    return created;
  }));
  MITHRIL_ASSIGN(const std::int64_t version, index->meta("schema_version"));
  if (version != kSchemaVersion) {
    return fail(ErrorCode::kCorruption, "index " + path + " has schema version " +
                                            std::to_string(version) + ", expected " +
                                            std::to_string(kSchemaVersion));
  }
  // Tables of the same names but other columns (another program's database,
  // or damage that left a valid one) would fail at the first query.
  auto shape = detail::check_schema(db, kSchema);
  if (!shape) return fail(shape.error().code, "index " + path + ": " + shape.error().message);
  return index;
}

Result<void> Index::exec(const char* sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &msg);
  sqlite3_free(msg);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(m_db, rc, "exec"));
  return {};
}

Result<void> Index::set_application_id() {
  static const std::string sql = "PRAGMA application_id=" + std::to_string(detail::kIndexApplicationId);
  return exec(sql.c_str());
}

Result<void> Index::begin_write() { return exec("BEGIN IMMEDIATE"); }
Result<void> Index::commit() { return exec("COMMIT"); }
void Index::rollback() {
  if (sqlite3_get_autocommit(m_db) == 0) (void)exec("ROLLBACK");
}

Result<std::int64_t> Index::meta(const char* key) {
  MITHRIL_STMT(s, "SELECT v FROM meta WHERE k = ?");
  s.bind(1, std::string(key));
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? s.i64(0) : 0;
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

Result<void> Index::set_initialized() {
  return exec("UPDATE meta SET v = 1 WHERE k = 'initialized'");
}

Result<void> Index::clear_all() {
  return exec(
      "DELETE FROM entries; DELETE FROM entry_objects; DELETE FROM objects;"
      "UPDATE meta SET v = 0 WHERE k IN ('stored_bytes','logical_bytes','entries','objects');");
}

Result<std::optional<ObjectInfo>> Index::find_object(const Digest& digest) {
  MITHRIL_STMT(s, "SELECT size, stored_size, compressed FROM objects WHERE digest = ?");
  s.bind(1, digest);
  MITHRIL_ASSIGN(const bool row, s.step());
  if (!row) return std::optional<ObjectInfo>{};
  ObjectInfo info;
  info.digest = digest;
  info.size = static_cast<std::uint64_t>(s.i64(0));
  info.stored_size = static_cast<std::uint64_t>(s.i64(1));
  info.compressed = s.i64(2) != 0;
  return std::optional<ObjectInfo>(info);
}

Result<void> Index::upsert_object(const ObjectInfo& info) {
  MITHRIL_ASSIGN(const auto existing, find_object(info.digest));
  if (existing) return {};
  MITHRIL_STMT(s,
               "INSERT INTO objects(digest, size, stored_size, compressed, refs) "
                             "VALUES (?, ?, ?, ?, 0)");
  s.bind(1, info.digest)
      .bind(2, static_cast<std::int64_t>(info.size))
      .bind(3, static_cast<std::int64_t>(info.stored_size))
      .bind(4, info.compressed ? 1 : 0);
  MITHRIL_TRY(s.run());
  MITHRIL_TRY(add_meta("stored_bytes", static_cast<std::int64_t>(info.stored_size)));
  MITHRIL_TRY(add_meta("logical_bytes", static_cast<std::int64_t>(info.size)));
  return add_meta("objects", 1);
}

Result<std::optional<EntryRecord>> Index::find_entry(const Digest& key) {
  MITHRIL_STMT(s, "SELECT " MITHRIL_ENTRY_COLUMNS " FROM entries WHERE key = ?");
  s.bind(1, key);
  MITHRIL_ASSIGN(const bool row, s.step());
  if (!row) return std::optional<EntryRecord>{};
  return std::optional<EntryRecord>(read_entry(s));
}

Result<std::optional<EntryKind>> Index::find_entry_kind(const Digest& key) {
  MITHRIL_STMT(s, "SELECT kind FROM entries WHERE key = ?");
  s.bind(1, key);
  MITHRIL_ASSIGN(const bool row, s.step());
  if (!row) return std::optional<EntryKind>{};
  return std::optional<EntryKind>(static_cast<EntryKind>(s.i64(0)));
}

Result<void> Index::insert_entry(const EntryRecord& entry, const std::vector<Digest>& objects,
                                 std::vector<Digest>* dead) {
  // Size of the entry = stored bytes of its distinct objects.
  std::vector<Digest> distinct = objects;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::uint64_t size = 0;
  for (const auto& d : distinct) {
    MITHRIL_ASSIGN(const auto obj, find_object(d));
    if (!obj) return fail(ErrorCode::kInternal, "entry references unknown object " + d.to_hex());
    size += obj->stored_size;
    // Take the new references first, so objects shared with a replaced
    // entry of the same key never drop to zero references.
    MITHRIL_STMT(ref, "UPDATE objects SET refs = refs + 1 WHERE digest = ?");
    ref.bind(1, d);
    MITHRIL_TRY(ref.run());
  }
  MITHRIL_TRY(remove_entry(entry.key, dead));
  {
    MITHRIL_STMT(s,
               "INSERT INTO entries(key, kind, root, namespace, device, size, created, "
                               "last_access, hits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, entry.key)
        .bind(2, static_cast<std::int64_t>(entry.kind))
        .bind(3, entry.root)
        .bind(4, entry.name_space)
        .bind(5, entry.device)
        .bind(6, static_cast<std::int64_t>(size))
        .bind(7, entry.created_ns)
        .bind(8, entry.last_access_ns)
        .bind(9, entry.hits);
    MITHRIL_TRY(s.run());
  }
  const std::int64_t id = sqlite3_last_insert_rowid(m_db);
  for (const auto& d : distinct) {
    MITHRIL_STMT(link, "INSERT INTO entry_objects(entry_id, digest) VALUES (?, ?)");
    link.bind(1, id).bind(2, d);
    MITHRIL_TRY(link.run());
  }
  return add_meta("entries", 1);
}

Result<bool> Index::remove_entry(const Digest& key, std::vector<Digest>* dead) {
  std::int64_t id = 0;
  {
    MITHRIL_STMT(s, "SELECT id FROM entries WHERE key = ?");
    s.bind(1, key);
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) return false;
    id = s.i64(0);
  }
  std::vector<Digest> objects;
  {
    MITHRIL_STMT(s, "SELECT digest FROM entry_objects WHERE entry_id = ?");
    s.bind(1, id);
    for (;;) {
      MITHRIL_ASSIGN(const bool row, s.step());
      if (!row) break;
      objects.push_back(s.digest(0));
    }
  }
  for (const auto& d : objects) {
    MITHRIL_STMT(s,
               "UPDATE objects SET refs = refs - 1 WHERE digest = ? "
                               "RETURNING refs, size, stored_size");
    s.bind(1, d);
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row || s.i64(0) > 0) continue;
    const std::int64_t size = s.i64(1);
    const std::int64_t stored = s.i64(2);
    MITHRIL_TRY(s.step());  // finish the RETURNING statement
    MITHRIL_STMT(del, "DELETE FROM objects WHERE digest = ?");
    del.bind(1, d);
    MITHRIL_TRY(del.run());
    MITHRIL_TRY(add_meta("stored_bytes", -stored));
    MITHRIL_TRY(add_meta("logical_bytes", -size));
    MITHRIL_TRY(add_meta("objects", -1));
    MITHRIL_STMT(doom, "INSERT OR IGNORE INTO doomed(digest) VALUES (?)");
    doom.bind(1, d);
    MITHRIL_TRY(doom.run());
    if (dead != nullptr) dead->push_back(d);
  }
  MITHRIL_STMT(links, "DELETE FROM entry_objects WHERE entry_id = ?");
  links.bind(1, id);
  MITHRIL_TRY(links.run());
  MITHRIL_STMT(del, "DELETE FROM entries WHERE id = ?");
  del.bind(1, id);
  MITHRIL_TRY(del.run());
  MITHRIL_TRY(add_meta("entries", -1));
  return true;
}

Result<std::vector<Digest>> Index::doomed() {
  MITHRIL_STMT(s, "SELECT digest FROM doomed");
  return collect_digests(s);
}

Result<void> Index::undoom(const Digest& digest) {
  MITHRIL_STMT(s, "DELETE FROM doomed WHERE digest = ?");
  s.bind(1, digest);
  return s.run();
}

Result<void> Index::doom_all_objects() {
  return exec("INSERT OR IGNORE INTO doomed(digest) SELECT digest FROM objects");
}

Result<std::optional<EntryRecord>> Index::oldest_entry() {
  MITHRIL_STMT(s, "SELECT " MITHRIL_ENTRY_COLUMNS " FROM entries ORDER BY last_access, id LIMIT 1");
  MITHRIL_ASSIGN(const bool row, s.step());
  if (!row) return std::optional<EntryRecord>{};
  return std::optional<EntryRecord>(read_entry(s));
}

Result<std::vector<Digest>> Index::entries_using(const Digest& digest) {
  MITHRIL_STMT(s, "SELECT e.key FROM entry_objects eo JOIN entries e ON e.id = eo.entry_id "
                  "WHERE eo.digest = ?");
  s.bind(1, digest);
  return collect_digests(s);
}

Result<void> Index::for_each_entry(const std::function<bool(const EntryRecord&)>& fn) {
  MITHRIL_STMT(s, "SELECT " MITHRIL_ENTRY_COLUMNS " FROM entries ORDER BY last_access DESC, id DESC");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row || !fn(read_entry(s))) break;
  }
  return {};
}

Result<void> Index::for_each_object(
    const std::function<bool(const ObjectInfo&, std::int64_t refs)>& fn) {
  MITHRIL_STMT(s, "SELECT digest, size, stored_size, compressed, refs FROM objects");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    ObjectInfo info;
    info.digest = s.digest(0);
    info.size = static_cast<std::uint64_t>(s.i64(1));
    info.stored_size = static_cast<std::uint64_t>(s.i64(2));
    info.compressed = s.i64(3) != 0;
    if (!fn(info, s.i64(4))) break;
  }
  return {};
}

Result<void> Index::touch(const Digest& key, std::int64_t t, std::int64_t hits) {
  MITHRIL_STMT(s,
               "UPDATE entries SET last_access = max(last_access, ?), hits = hits + ? "
                             "WHERE key = ?");
  s.bind(1, t).bind(2, hits).bind(3, key);
  return s.run();
}

Result<std::uint64_t> Index::stored_bytes() {
  MITHRIL_ASSIGN(const std::int64_t v, meta("stored_bytes"));
  return static_cast<std::uint64_t>(v);
}
Result<std::uint64_t> Index::logical_bytes() {
  MITHRIL_ASSIGN(const std::int64_t v, meta("logical_bytes"));
  return static_cast<std::uint64_t>(v);
}
Result<std::uint64_t> Index::entry_count() {
  MITHRIL_ASSIGN(const std::int64_t v, meta("entries"));
  return static_cast<std::uint64_t>(v);
}
Result<std::uint64_t> Index::object_count() {
  MITHRIL_ASSIGN(const std::int64_t v, meta("objects"));
  return static_cast<std::uint64_t>(v);
}

Result<void> Index::add_counters(const std::array<std::int64_t, kCounterCount>& delta) {
  for (int i = 0; i < kCounterCount; ++i) {
    if (delta[i] == 0) continue;
    MITHRIL_STMT(s,
               "INSERT INTO counters(id, value) VALUES (?, ?) "
                               "ON CONFLICT(id) DO UPDATE SET value = value + excluded.value");
    s.bind(1, i).bind(2, delta[i]);
    MITHRIL_TRY(s.run());
  }
  return {};
}

Result<std::array<std::int64_t, kCounterCount>> Index::counters() {
  std::array<std::int64_t, kCounterCount> out{};
  MITHRIL_STMT(s, "SELECT id, value FROM counters");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    const auto id = s.i64(0);
    if (id >= 0 && id < kCounterCount) out[static_cast<std::size_t>(id)] = s.i64(1);
  }
  return out;
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

namespace mithril {

// ---- framework entries ------------------------------------------------------

Result<std::vector<FwFile>> Index::fw_files() {
  MITHRIL_STMT(s, "SELECT f.path, f.size, f.mtime, f.digest, e.name FROM fw_files f "
                  "JOIN fw_entries e ON e.id = f.entry_id");
  std::vector<FwFile> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(FwFile{s.text(0), static_cast<std::uint64_t>(s.i64(1)), s.i64(2), s.digest(3), s.text(4)});
  }
  return out;
}

Result<std::vector<FwFile>> Index::fw_entry_files(const std::string& name) {
  MITHRIL_STMT(s, "SELECT f.path, f.size, f.mtime, f.digest FROM fw_files f "
                  "JOIN fw_entries e ON e.id = f.entry_id WHERE e.name = ?");
  s.bind(1, name);
  std::vector<FwFile> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(FwFile{s.text(0), static_cast<std::uint64_t>(s.i64(1)), s.i64(2), s.digest(3), name});
  }
  return out;
}

Result<std::vector<FrameworkKindStats>> Index::fw_kinds() {
  std::map<std::string, FrameworkKindStats> kinds;
  {
    MITHRIL_STMT(s, "SELECT kind, COUNT(*), SUM(size), SUM(hits) FROM fw_entries GROUP BY kind");
    for (;;) {
      MITHRIL_ASSIGN(const bool row, s.step());
      if (!row) break;
      auto& k = kinds[s.text(0)];
      k.kind = s.text(0);
      k.entries = static_cast<std::uint64_t>(s.i64(1));
      k.bytes = static_cast<std::uint64_t>(s.i64(2));
      k.hits = s.i64(3);
    }
  }
  MITHRIL_STMT(c, "SELECT kind, evictions, evicted_bytes, quarantined, saved_ns, compiled FROM fw_kind_counters");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, c.step());
    if (!row) break;
    auto& k = kinds[c.text(0)];
    k.kind = c.text(0);
    k.evictions = c.i64(1);
    k.evicted_bytes = c.i64(2);
    k.quarantined = c.i64(3);
    k.compile_ms_saved = c.i64(4) / 1'000'000;
    k.compiled = c.i64(5);
  }
  std::vector<FrameworkKindStats> out;
  out.reserve(kinds.size());
  for (auto& [name, k] : kinds) out.push_back(std::move(k));
  return out;
}

Result<void> Index::fw_kind_add(const std::string& kind, const KindDelta& d) {
  MITHRIL_STMT(s, "INSERT INTO fw_kind_counters(kind, evictions, evicted_bytes, quarantined, saved_ns, compiled) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kind) DO UPDATE SET evictions = evictions + ?2, "
                  "evicted_bytes = evicted_bytes + ?3, quarantined = quarantined + ?4, saved_ns = saved_ns + ?5, "
                  "compiled = compiled + ?6");
  s.bind(1, kind).bind(2, d.evictions).bind(3, d.evicted_bytes).bind(4, d.quarantined).bind(5, d.saved_ns)
      .bind(6, d.compiled);
  return s.run();
}

Result<std::string> Index::fw_kind_of(const std::string& name) {
  MITHRIL_STMT(s, "SELECT kind FROM fw_entries WHERE name = ?");
  s.bind(1, name);
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? s.text(0) : std::string("unknown");
}

Result<std::uint64_t> Index::fw_entry_count() {
  MITHRIL_STMT(s, "SELECT COUNT(*) FROM fw_entries");
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? static_cast<std::uint64_t>(s.i64(0)) : 0;
}

Result<void> Index::fw_doom(const std::string& entry, const std::string& kind, const std::vector<FwFile>& files) {
  for (const auto& f : files) {
    MITHRIL_STMT(s, "INSERT OR REPLACE INTO fw_doomed(path, entry, kind) VALUES (?, ?, ?)");
    s.bind(1, f.path).bind(2, entry).bind(3, kind);
    MITHRIL_TRY(s.run());
  }
  return {};
}

Result<std::vector<Index::FwDoomed>> Index::fw_doomed() {
  MITHRIL_STMT(s, "SELECT path, entry, kind FROM fw_doomed ORDER BY entry, path");
  std::vector<FwDoomed> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(FwDoomed{s.text(0), s.text(1), s.text(2)});
  }
  return out;
}

Result<void> Index::fw_undoom(const std::string& path) {
  MITHRIL_STMT(s, "DELETE FROM fw_doomed WHERE path = ?");
  s.bind(1, path);
  return s.run();
}

Result<bool> Index::fw_entry_doomed(const std::string& name) {
  MITHRIL_STMT(s, "SELECT 1 FROM fw_doomed WHERE entry = ? LIMIT 1");
  s.bind(1, name);
  return s.step();
}

Result<bool> Index::fw_file_recorded(const std::string& path) {
  MITHRIL_STMT(s, "SELECT 1 FROM fw_files WHERE path = ?");
  s.bind(1, path);
  return s.step();
}

Result<std::vector<FwFile>> Index::fw_remove_entry(const std::string& name) {
  MITHRIL_ASSIGN(auto files, fw_remove_rows(name));
  MITHRIL_STMT(s, "DELETE FROM fw_costs WHERE name = ?");
  s.bind(1, name);
  MITHRIL_TRY(s.run());
  return files;
}

Result<std::vector<FwFile>> Index::fw_remove_rows(const std::string& name) {
  std::vector<FwFile> files;
  std::int64_t id = 0;
  std::int64_t size = 0;
  {
    MITHRIL_STMT(s, "SELECT id, size FROM fw_entries WHERE name = ?");
    s.bind(1, name);
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) return files;
    id = s.i64(0);
    size = s.i64(1);
  }
  {
    MITHRIL_STMT(s, "SELECT path, size, mtime, digest FROM fw_files WHERE entry_id = ?");
    s.bind(1, id);
    for (;;) {
      MITHRIL_ASSIGN(const bool row, s.step());
      if (!row) break;
      files.push_back(FwFile{s.text(0), static_cast<std::uint64_t>(s.i64(1)), s.i64(2), s.digest(3), name});
    }
  }
  MITHRIL_STMT(del_files, "DELETE FROM fw_files WHERE entry_id = ?");
  del_files.bind(1, id);
  MITHRIL_TRY(del_files.run());
  MITHRIL_STMT(del, "DELETE FROM fw_entries WHERE id = ?");
  del.bind(1, id);
  MITHRIL_TRY(del.run());
  MITHRIL_TRY(add_meta("fw_bytes", -size));
  MITHRIL_TRY(add_meta("fw_files", -static_cast<std::int64_t>(files.size())));
  return files;
}

Result<void> Index::fw_put_entry(const std::string& name, const std::string& kind,
                                 const std::vector<FwFile>& files, std::int64_t now, bool accessed) {
  std::int64_t created = now;
  std::int64_t last_access = now;
  std::int64_t hits = 0;
  {
    MITHRIL_STMT(s, "SELECT created, last_access, hits FROM fw_entries WHERE name = ?");
    s.bind(1, name);
    MITHRIL_ASSIGN(const bool row, s.step());
    if (row) {
      created = s.i64(0);
      last_access = accessed ? now : s.i64(1);
      hits = s.i64(2) + (accessed ? 1 : 0);
    }
  }
  MITHRIL_TRY(fw_remove_rows(name));
  std::int64_t size = 0;
  for (const auto& f : files) size += static_cast<std::int64_t>(f.size);
  MITHRIL_STMT(ins, "INSERT INTO fw_entries(name, kind, size, created, last_access, hits) VALUES (?, ?, ?, ?, ?, ?)");
  ins.bind(1, name).bind(2, kind).bind(3, size).bind(4, created).bind(5, last_access).bind(6, hits);
  MITHRIL_TRY(ins.run());
  const std::int64_t id = sqlite3_last_insert_rowid(m_db);
  for (const auto& f : files) {
    MITHRIL_STMT(fs, "INSERT OR REPLACE INTO fw_files(path, entry_id, size, mtime, digest) VALUES (?, ?, ?, ?, ?)");
    fs.bind(1, f.path).bind(2, id).bind(3, static_cast<std::int64_t>(f.size)).bind(4, f.mtime_ns).bind(5, f.digest);
    MITHRIL_TRY(fs.run());
  }
  MITHRIL_TRY(add_meta("fw_files", static_cast<std::int64_t>(files.size())));
  return add_meta("fw_bytes", size);
}

Result<void> Index::fw_touch(const std::string& name, std::int64_t t) {
  MITHRIL_STMT(s, "UPDATE fw_entries SET last_access = max(last_access, ?), hits = hits + 1 WHERE name = ?");
  s.bind(1, t).bind(2, name);
  return s.run();
}

Result<void> Index::fw_set_cost(const std::string& name, std::int64_t compile_ns) {
  MITHRIL_STMT(s, "INSERT INTO fw_costs(name, compile_ns) VALUES (?, ?) "
                  "ON CONFLICT(name) DO UPDATE SET compile_ns = excluded.compile_ns");
  s.bind(1, name).bind(2, compile_ns);
  return s.run();
}

Result<std::int64_t> Index::fw_cost(const std::string& name) {
  MITHRIL_STMT(s, "SELECT compile_ns FROM fw_costs WHERE name = ?");
  s.bind(1, name);
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? s.i64(0) : 0;
}

Result<void> Index::history_add(const HistoryPoint& h) {
  MITHRIL_STMT(s, "INSERT INTO history(t, event, hits, misses, fw_hits, fw_new, bytes, max_size, saved_ms, evictions) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, h.t_ns).bind(2, h.event).bind(3, h.hits).bind(4, h.misses).bind(5, h.framework_hits)
      .bind(6, h.framework_new).bind(7, static_cast<std::int64_t>(h.bytes)).bind(8, static_cast<std::int64_t>(h.max_size))
      .bind(9, h.compile_ms_saved).bind(10, h.evictions);
  MITHRIL_TRY(s.run());
  MITHRIL_STMT(prune, "DELETE FROM history WHERE rowid <= (SELECT MAX(rowid) FROM history) - 5000");
  return prune.run();
}

Result<std::vector<HistoryPoint>> Index::history() {
  MITHRIL_STMT(s, "SELECT t, event, hits, misses, fw_hits, fw_new, bytes, max_size, saved_ms, evictions "
                  "FROM history ORDER BY rowid");
  std::vector<HistoryPoint> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(HistoryPoint{s.i64(0), s.text(1), s.i64(2), s.i64(3), s.i64(4), s.i64(5),
                               static_cast<std::uint64_t>(s.i64(6)), static_cast<std::uint64_t>(s.i64(7)), s.i64(8),
                               s.i64(9)});
  }
  return out;
}

Result<void> Index::eviction_log_add(const EvictionRecord& e) {
  MITHRIL_STMT(s, "INSERT INTO eviction_log(t, name, kind, size, reason) VALUES (?, ?, ?, ?, ?)");
  s.bind(1, e.t_ns).bind(2, e.name).bind(3, e.kind).bind(4, static_cast<std::int64_t>(e.size)).bind(5, e.reason);
  MITHRIL_TRY(s.run());
  MITHRIL_STMT(prune, "DELETE FROM eviction_log WHERE rowid <= (SELECT MAX(rowid) FROM eviction_log) - 2000");
  return prune.run();
}

Result<std::vector<EvictionRecord>> Index::eviction_log(std::size_t limit) {
  MITHRIL_STMT(s, "SELECT t, name, kind, size, reason FROM eviction_log ORDER BY rowid DESC LIMIT ?");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<EvictionRecord> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(EvictionRecord{s.i64(0), s.text(1), s.text(2), static_cast<std::uint64_t>(s.i64(3)), s.text(4)});
  }
  return out;
}

Result<std::vector<FwEntryRecord>> Index::fw_largest(std::size_t limit) {
  MITHRIL_STMT(s, "SELECT name, kind, size, created, last_access, hits FROM fw_entries ORDER BY size DESC LIMIT ?");
  s.bind(1, static_cast<std::int64_t>(limit));
  return fw_entry_rows(s);
}

Result<std::vector<EntrySummary>> Index::fw_summaries() {
  MITHRIL_STMT(s, "SELECT e.name, e.kind, e.size, e.hits, e.last_access, coalesce(c.compile_ns, 0) "
                  "FROM fw_entries e LEFT JOIN fw_costs c ON c.name = e.name ORDER BY e.last_access DESC, e.id DESC");
  std::vector<EntrySummary> out;
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    out.push_back(EntrySummary{s.text(0), s.text(1), static_cast<std::uint64_t>(s.i64(2)), s.i64(3), s.i64(4),
                               s.i64(5) / 1'000'000});
  }
  return out;
}

Result<std::vector<FwEntryRecord>> Index::fw_entries(const std::string& prefix) {
  MITHRIL_STMT(s, "SELECT name, kind, size, created, last_access, hits FROM fw_entries "
                  "WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name");
  s.bind(1, prefix);
  return fw_entry_rows(s);
}

Result<std::optional<FwEntryRecord>> Index::fw_oldest() {
  MITHRIL_STMT(s, "SELECT name, kind, size, created, last_access, hits FROM fw_entries "
                  "ORDER BY last_access, id LIMIT 1");
  MITHRIL_ASSIGN(const bool row, s.step());
  if (!row) return std::optional<FwEntryRecord>{};
  return std::optional<FwEntryRecord>(
      FwEntryRecord{s.text(0), s.text(1), static_cast<std::uint64_t>(s.i64(2)), s.i64(3), s.i64(4), s.i64(5)});
}

Result<std::uint64_t> Index::file_count() {
  MITHRIL_ASSIGN(const std::uint64_t objects, object_count());
  MITHRIL_ASSIGN(const std::int64_t fw, meta("fw_files"));
  return objects + static_cast<std::uint64_t>(std::max<std::int64_t>(0, fw));
}

Result<std::uint64_t> Index::fw_bytes() {
  MITHRIL_ASSIGN(const std::int64_t v, meta("fw_bytes"));
  return static_cast<std::uint64_t>(v);
}

}  // namespace mithril
