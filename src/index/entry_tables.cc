// Index: the keyed store's entries (entries, entry_objects), the references
// they hold on objects, and their LRU order.
#include <sqlite3.h>

#include <algorithm>

#include "index/index.h"
#include "index/statements.h"

namespace mithril {
namespace {

#define MITHRIL_ENTRY_COLUMNS "key, kind, root, namespace, device, size, created, last_access, hits"

// A row of MITHRIL_ENTRY_COLUMNS.
EntryRecord read_entry(const detail::Stmt& s) {
  EntryRecord e;
  e.key = s.digest(0);
  e.kind = static_cast<EntryKind>(s.i64(1));
  e.root = s.digest(2);
  e.name_space = s.text(3);
  e.device = s.text(4);
  e.size = s.u64(5);
  e.created_ns = s.i64(6);
  e.last_access_ns = s.i64(7);
  e.hits = s.i64(8);
  return e;
}

}  // namespace

Result<std::optional<EntryRecord>> Index::find_entry(const Digest& key) {
  MITHRIL_STMT(s, "SELECT " MITHRIL_ENTRY_COLUMNS " FROM entries WHERE key = ?");
  s.bind(1, key);
  return s.first(read_entry);
}

Result<std::optional<EntryKind>> Index::find_entry_kind(const Digest& key) {
  MITHRIL_STMT(s, "SELECT kind FROM entries WHERE key = ?");
  s.bind(1, key);
  return s.first([](const detail::Stmt& r) { return static_cast<EntryKind>(r.i64(0)); });
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
  const std::int64_t id = sqlite3_last_insert_rowid(m_stmts->db());
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
    MITHRIL_ASSIGN(objects, s.rows(detail::digest_column));
  }
  for (const auto& d : objects) {
    MITHRIL_STMT(s, "UPDATE objects SET refs = refs - 1 WHERE digest = ? RETURNING refs, size, stored_size");
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

Result<std::optional<EntryRecord>> Index::oldest_entry() {
  MITHRIL_STMT(s, "SELECT " MITHRIL_ENTRY_COLUMNS " FROM entries ORDER BY last_access, id LIMIT 1");
  return s.first(read_entry);
}

Result<std::vector<Digest>> Index::entries_using(const Digest& digest) {
  MITHRIL_STMT(s, "SELECT e.key FROM entry_objects eo JOIN entries e ON e.id = eo.entry_id WHERE eo.digest = ?");
  s.bind(1, digest);
  return s.rows(detail::digest_column);
}

Result<void> Index::for_each_entry(const std::function<bool(const EntryRecord&)>& fn) {
  MITHRIL_STMT(s, "SELECT " MITHRIL_ENTRY_COLUMNS " FROM entries ORDER BY last_access DESC, id DESC");
  for (;;) {
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row || !fn(read_entry(s))) break;
  }
  return {};
}

Result<void> Index::touch(const Digest& key, std::int64_t t, std::int64_t hits) {
  MITHRIL_STMT(s, "UPDATE entries SET last_access = max(last_access, ?), hits = hits + ? WHERE key = ?");
  s.bind(1, t).bind(2, hits).bind(3, key);
  return s.run();
}

Result<std::uint64_t> Index::entry_count() { return meta_count("entries"); }

}  // namespace mithril
