// Opening a root, and the recovery scan that rebuilds a missing or damaged index.
#include <fcntl.h>

#include <set>

#include <mithril/log.h>

#include "cas/object_io.h"
#include "core/cache_impl.h"
#include "manifest/entry_manifest.h"
#include "core/space_reserve.h"
#include "index/index_file.h"
#include "util/format.h"

namespace mithril {
namespace {

constexpr std::uint64_t kMaxManifestSize = 64ull << 20;

// Renames index.db and its -wal/-shm to <name>.<why>.<time> (a symlink is
// renamed itself; nothing is written into any of them).
Result<void> move_aside(Env& env, const std::string& path, const char* why = "damaged") {
  const std::string suffix = detail::concat(".", why, ".", std::to_string(env.now_ns()));
  for (const char* ext : {"", "-wal", "-shm"}) {
    auto r = env.rename(path + ext, detail::concat(path, ext, suffix));
    if (!r && r.error().sys_errno != ENOENT) return r;
  }
  return {};
}

// A file at index.db that is not ours (a symlink, another program's
// database, a FIFO) is set aside untouched, so a fresh index is built. Then
// a missing index.db is created 0600: SQLite gives its -wal and -shm the
// database file's mode, so all three are private whatever the umask.
Result<void> claim_index_file(Env& env, const std::string& path) {
  bool foreign = false;
  for (const char* ext : {"", "-wal", "-shm"}) {
    MITHRIL_ASSIGN(const auto st, env.lstat(path + ext));
    foreign = foreign || (st && !st->is_regular());
  }
  if (!foreign) {
    MITHRIL_ASSIGN(const bool ours, detail::index_file_is_ours(env, path));
    foreign = !ours;
  }
  if (foreign) {
    MITHRIL_LOG(LogLevel::kWarn, "index_foreign", {{"path", path}});
    MITHRIL_TRY(move_aside(env, path, "foreign"));
  }
  auto fd = env.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (fd) return env.close(*fd);
  return fd.error().sys_errno == EEXIST ? Result<void>{} : Result<void>(std::unexpected(fd.error()));
}

}  // namespace

Result<void> Cache::Impl::open_locked() {
  if (config.root.empty()) return fail(ErrorCode::kInvalidArgument, "cache root is empty");
  MITHRIL_TRY(config.fsync ? make_dirs_durable(env, config.root) : make_dirs(env, config.root));
  MITHRIL_TRY(check_root_trusted(env, config.root, config.allow_shared_root));
  StoreOptions so;
  so.fsync = config.fsync;
  so.compress = config.compression;
  so.compression_level = config.compression_level;
  so.verify_on_read = config.verify_on_read;
  so.max_object_size = config.max_size;
  MITHRIL_ASSIGN(const auto had_index, env.stat(config.root + "/index.db"));
  const auto open_rest = [&]() -> Result<void> {
    MITHRIL_ASSIGN(store, ContentStore::open(config.root + "/objects", so, env));
    last_flush_ns = env.now_ns();
    MITHRIL_TRY(open_index_locked(false));
    return purge_doomed_locked();  // finish deletions a killed process left half done
  };
  auto opened = open_rest();
  const bool space_error = !opened && (opened.error().code == ErrorCode::kNoSpace ||
                                       opened.error().code == ErrorCode::kIoError);
  if (space_error && release_space_reserve(env, config.root)) {
    // A full disk: the reserve's room lets the index open, so gc/rm/clear can free space.
    MITHRIL_LOG(LogLevel::kWarn, "space_reserve_released", {{"root", config.root}, {"error", opened.error().message}});
    opened = open_rest();
  }
  if (!opened && opened.error().code == ErrorCode::kCorruption) {
    // Damage SQLite found only past the open (a page of a deletion queue read
    // by the purge): set the index aside and rebuild it from the objects.
    MITHRIL_LOG(LogLevel::kWarn, "index_damaged", {{"root", config.root}, {"error", opened.error().message}});
    opened = open_index_locked(/*discard_existing=*/true);
    if (opened) opened = purge_doomed_locked();
  }
  MITHRIL_TRY(opened);
  if (!had_index) restore_space_reserve(env, config.root);  // a new root gets its reserve
  return {};
}

Result<void> Cache::Impl::open_index_locked(bool discard_existing) {
  const std::string path = config.root + "/index.db";
  IndexOptions io;
  io.durable = config.fsync;
  io.env = &env;
  index.reset();
  if (discard_existing) MITHRIL_TRY(move_aside(env, path));
  MITHRIL_TRY(claim_index_file(env, path));
  auto opened = Index::open(path, io);
  if (!opened && opened.error().code == ErrorCode::kCorruption && !discard_existing) {
    // Damaged beyond what SQLite can open: keep it for inspection, rebuild.
    MITHRIL_LOG(LogLevel::kWarn, "index_damaged", {{"path", path}, {"error", opened.error().message}});
    MITHRIL_TRY(move_aside(env, path));
    MITHRIL_TRY(claim_index_file(env, path));
    opened = Index::open(path, io);
  }
  if (!opened) return std::unexpected(opened.error());
  index = std::move(*opened);
  MITHRIL_ASSIGN(const bool ready, index->initialized());
  if (ready) return {};
  return in_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(const bool now_ready, index->initialized());  // another process won
    if (now_ready) return {};
    MITHRIL_LOG(LogLevel::kInfo, "index_scan", {{"root", config.root}});  // new or lost index
    MITHRIL_TRY(rebuild_txn());
    return index->set_initialized();
  });
}

// Rebuilds every row from the objects on disk: manifests become keyed
// entries (when all their files are present), every other object a blob
// entry. Last access = the object file's mtime.
Result<void> Cache::Impl::rebuild_txn() {
  MITHRIL_TRY(index->clear_all());
  std::vector<ObjectInfo> objects;
  MITHRIL_TRY(store->for_each([&](const ObjectInfo& o) {
    objects.push_back(o);
    return true;
  }));
  std::set<Digest> present;
  for (auto& o : objects) {
    if (o.compressed) {
      MITHRIL_ASSIGN(const auto size, detail::zstd_content_size(env, store->path_of(o.digest, true)));
      o.size = size.value_or(0);
    }
    MITHRIL_TRY(index->upsert_object(o));
    present.insert(o.digest);
  }
  std::set<Digest> referenced;
  std::vector<Digest> dead;
  for (const auto& o : objects) {
    if (o.compressed || o.stored_size > kMaxManifestSize) continue;
    const std::string path = store->path_of(o.digest, false);
    MITHRIL_ASSIGN(const auto head, detail::read_prefix(env, path, detail::kManifestPrefix.size()));
    if (!head || *head != detail::kManifestPrefix) continue;
    MITHRIL_ASSIGN(const auto text, read_regular_file(env, path));
    if (!text || blake3(*text) != o.digest) continue;
    auto entry = detail::parse_manifest(*text);
    if (!entry) continue;
    std::vector<Digest> parts{o.digest};
    bool complete = true;
    for (const auto& f : entry->files) {
      complete = complete && present.count(f.digest) > 0;
      parts.push_back(f.digest);
    }
    if (!complete) continue;
    EntryRecord rec;
    rec.key = entry->key;
    rec.kind = EntryKind::kManifest;
    rec.root = o.digest;
    rec.name_space = entry->name_space;
    rec.device = entry->device;
    rec.created_ns = entry->created_ns;
    rec.last_access_ns = o.mtime_ns;
    MITHRIL_TRY(index->insert_entry(rec, parts, &dead));
    referenced.insert(parts.begin(), parts.end());
  }
  for (const auto& o : objects) {
    if (referenced.count(o.digest) > 0) continue;
    EntryRecord rec;
    rec.key = o.digest;
    rec.root = o.digest;
    rec.created_ns = o.mtime_ns;
    rec.last_access_ns = o.mtime_ns;
    MITHRIL_TRY(index->upsert_object(o));  // a replaced manifest may have released it
    MITHRIL_TRY(index->insert_entry(rec, {o.digest}, &dead));
  }
  return {};
}

}  // namespace mithril
