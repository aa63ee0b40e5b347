// Index: framework entries and their files (fw_entries, fw_files), the
// doomed files of their two-phase delete (fw_doomed), their compile costs
// (fw_costs) and the framework totals in meta.
#include <sqlite3.h>

#include "index/index.h"
#include "index/statements.h"

namespace mithril {
namespace {

#define MITHRIL_FW_ENTRY_COLUMNS "name, kind, size, created, last_access, hits"

// A row of MITHRIL_FW_ENTRY_COLUMNS.
FwEntryRecord read_fw_entry(const detail::Stmt& s) {
  return FwEntryRecord{s.text(0), s.text(1), s.u64(2), s.i64(3), s.i64(4), s.i64(5)};
}

// A row of (path, size, mtime, digest) of a file of the entry `entry`.
FwFile read_fw_file(const detail::Stmt& s, std::string entry) {
  return FwFile{s.text(0), s.u64(1), s.i64(2), s.digest(3), std::move(entry)};
}

}  // namespace

Result<std::vector<FwFile>> Index::fw_files() {
  MITHRIL_STMT(s, "SELECT f.path, f.size, f.mtime, f.digest, e.name FROM fw_files f "
                  "JOIN fw_entries e ON e.id = f.entry_id");
  return s.rows([](const detail::Stmt& r) { return read_fw_file(r, r.text(4)); });
}

Result<std::vector<FwFile>> Index::fw_entry_files(const std::string& name) {
  MITHRIL_STMT(s, "SELECT f.path, f.size, f.mtime, f.digest FROM fw_files f "
                  "JOIN fw_entries e ON e.id = f.entry_id WHERE e.name = ?");
  s.bind(1, name);
  return s.rows([&](const detail::Stmt& r) { return read_fw_file(r, name); });
}

Result<std::uint64_t> Index::fw_entry_count() {
  MITHRIL_STMT(s, "SELECT COUNT(*) FROM fw_entries");
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? s.u64(0) : 0;
}

Result<std::string> Index::fw_kind_of(const std::string& name) {
  MITHRIL_STMT(s, "SELECT kind FROM fw_entries WHERE name = ?");
  s.bind(1, name);
  MITHRIL_ASSIGN(const bool row, s.step());
  return row ? s.text(0) : std::string("unknown");
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
  const std::int64_t id = sqlite3_last_insert_rowid(m_stmts->db());
  for (const auto& f : files) {
    MITHRIL_STMT(fs, "INSERT OR REPLACE INTO fw_files(path, entry_id, size, mtime, digest) VALUES (?, ?, ?, ?, ?)");
    fs.bind(1, f.path).bind(2, id).bind(3, static_cast<std::int64_t>(f.size)).bind(4, f.mtime_ns).bind(5, f.digest);
    MITHRIL_TRY(fs.run());
  }
  MITHRIL_TRY(add_meta("fw_files", static_cast<std::int64_t>(files.size())));
  return add_meta("fw_bytes", size);
}

Result<std::vector<FwFile>> Index::fw_remove_entry(const std::string& name) {
  MITHRIL_ASSIGN(auto files, fw_remove_rows(name));
  MITHRIL_STMT(s, "DELETE FROM fw_costs WHERE name = ?");
  s.bind(1, name);
  MITHRIL_TRY(s.run());
  return files;
}

Result<std::vector<FwFile>> Index::fw_remove_rows(const std::string& name) {
  std::int64_t id = 0;
  std::int64_t size = 0;
  {
    MITHRIL_STMT(s, "SELECT id, size FROM fw_entries WHERE name = ?");
    s.bind(1, name);
    MITHRIL_ASSIGN(const bool row, s.step());
    if (!row) return std::vector<FwFile>{};
    id = s.i64(0);
    size = s.i64(1);
  }
  std::vector<FwFile> files;
  {
    MITHRIL_STMT(s, "SELECT path, size, mtime, digest FROM fw_files WHERE entry_id = ?");
    s.bind(1, id);
    MITHRIL_ASSIGN(files, s.rows([&](const detail::Stmt& r) { return read_fw_file(r, name); }));
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
  return s.rows([](const detail::Stmt& r) { return FwDoomed{r.text(0), r.text(1), r.text(2)}; });
}

Result<void> Index::fw_undoom(const std::string& path) {
  MITHRIL_STMT(s, "DELETE FROM fw_doomed WHERE path = ?");
  s.bind(1, path);
  return s.run();
}

Result<bool> Index::fw_file_recorded(const std::string& path) {
  MITHRIL_STMT(s, "SELECT 1 FROM fw_files WHERE path = ?");
  s.bind(1, path);
  return s.step();
}

Result<bool> Index::fw_entry_doomed(const std::string& name) {
  MITHRIL_STMT(s, "SELECT 1 FROM fw_doomed WHERE entry = ? LIMIT 1");
  s.bind(1, name);
  return s.step();
}

Result<void> Index::fw_touch(const std::string& name, std::int64_t t) {
  MITHRIL_STMT(s, "UPDATE fw_entries SET last_access = max(last_access, ?), hits = hits + 1 WHERE name = ?");
  s.bind(1, t).bind(2, name);
  return s.run();
}

Result<std::optional<FwEntryRecord>> Index::fw_oldest() {
  MITHRIL_STMT(s, "SELECT " MITHRIL_FW_ENTRY_COLUMNS " FROM fw_entries ORDER BY last_access, id LIMIT 1");
  return s.first(read_fw_entry);
}

Result<std::vector<FwEntryRecord>> Index::fw_largest(std::size_t limit) {
  MITHRIL_STMT(s, "SELECT " MITHRIL_FW_ENTRY_COLUMNS " FROM fw_entries ORDER BY size DESC LIMIT ?");
  s.bind(1, static_cast<std::int64_t>(limit));
  return s.rows(read_fw_entry);
}

Result<std::vector<FwEntryRecord>> Index::fw_entries(const std::string& prefix) {
  MITHRIL_STMT(s, "SELECT " MITHRIL_FW_ENTRY_COLUMNS " FROM fw_entries "
                  "WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name");
  s.bind(1, prefix);
  return s.rows(read_fw_entry);
}

Result<std::uint64_t> Index::fw_bytes() { return meta_count("fw_bytes"); }

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

Result<std::vector<FwSummaryRow>> Index::fw_summaries() {
  MITHRIL_STMT(s, "SELECT e.name, e.kind, e.size, e.hits, e.last_access, coalesce(c.compile_ns, 0) "
                  "FROM fw_entries e LEFT JOIN fw_costs c ON c.name = e.name ORDER BY e.last_access DESC, e.id DESC");
  return s.rows([](const detail::Stmt& r) {
    return FwSummaryRow{r.text(0), r.text(1), r.u64(2), r.i64(3), r.i64(4), r.i64(5)};
  });
}

}  // namespace mithril
