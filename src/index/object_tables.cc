// Index: the objects table (sizes, reference counts), the doomed objects of
// the two-phase delete, and the object totals in meta.
#include <sqlite3.h>

#include <algorithm>

#include "index/index.h"
#include "index/statements.h"

namespace mithril {
namespace {

// The object `digest` from the columns size, stored_size, compressed at `col`...
ObjectInfo read_object(const Digest& digest, const detail::Stmt& r, int col) {
  ObjectInfo info;
  info.digest = digest;
  info.size = r.u64(col);
  info.stored_size = r.u64(col + 1);
  info.compressed = r.i64(col + 2) != 0;
  return info;
}

}  // namespace

Result<std::optional<ObjectInfo>> Index::find_object(const Digest& digest) {
  MITHRIL_STMT(s, "SELECT size, stored_size, compressed FROM objects WHERE digest = ?");
  s.bind(1, digest);
  return s.first([&](const detail::Stmt& r) { return read_object(digest, r, 0); });
}

Result<void> Index::upsert_object(const ObjectInfo& info) {
  MITHRIL_ASSIGN(const auto existing, find_object(info.digest));
  if (existing) return {};
  MITHRIL_STMT(s, "INSERT INTO objects(digest, size, stored_size, compressed, refs) VALUES (?, ?, ?, ?, 0)");
  s.bind(1, info.digest)
      .bind(2, static_cast<std::int64_t>(info.size))
      .bind(3, static_cast<std::int64_t>(info.stored_size))
      .bind(4, info.compressed ? 1 : 0);
  MITHRIL_TRY(s.run());
  MITHRIL_TRY(add_meta("stored_bytes", static_cast<std::int64_t>(info.stored_size)));
  MITHRIL_TRY(add_meta("logical_bytes", static_cast<std::int64_t>(info.size)));
  return add_meta("objects", 1);
}

Result<std::vector<Digest>> Index::doomed() {
  MITHRIL_STMT(s, "SELECT digest FROM doomed");
  return s.rows(detail::digest_column);
}

Result<void> Index::undoom(const Digest& digest) {
  MITHRIL_STMT(s, "DELETE FROM doomed WHERE digest = ?");
  s.bind(1, digest);
  return s.run();
}

Result<void> Index::doom_all_objects() {
  return exec("INSERT OR IGNORE INTO doomed(digest) SELECT digest FROM objects");
}

Result<void> Index::for_each_object(const std::function<bool(const ObjectInfo&, std::int64_t refs)>& fn) {
  MITHRIL_STMT(s, "SELECT digest, size, stored_size, compressed, refs FROM objects");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) break;
    if (!fn(read_object(s.digest(0), s, 1), s.i64(4))) break;
  }
  return {};
}

Result<std::uint64_t> Index::stored_bytes() { return meta_count("stored_bytes"); }
Result<std::uint64_t> Index::logical_bytes() { return meta_count("logical_bytes"); }
Result<std::uint64_t> Index::object_count() { return meta_count("objects"); }

Result<std::uint64_t> Index::file_count() {
  MITHRIL_ASSIGN(const std::uint64_t objects, object_count());
  MITHRIL_ASSIGN(const std::int64_t fw, meta("fw_files"));
  return objects + static_cast<std::uint64_t>(std::max<std::int64_t>(0, fw));
}

}  // namespace mithril
