#include "index/index_file.h"

#include <sqlite3.h>

#include <set>
#include <string_view>

#include "cas/object_io.h"
#include "index/schema.h"
#include "index/statements.h"

namespace mithril::detail {
namespace {

constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};
constexpr std::size_t kHeaderSize = 100;
constexpr std::size_t kApplicationIdOffset = 68;

// `path` as a file: URI (%, ? and # escaped).
std::string file_uri(const std::string& path) {
  std::string out = "file:";
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

// The tables of a database with application_id 0 must all be ours.
Result<bool> only_our_tables(const std::string& path) {
  MITHRIL_ASSIGN(const std::set<std::string> our_tables, schema_tables());
  sqlite3* db = nullptr;
  const std::string uri = file_uri(path) + "?immutable=1";
  int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  sqlite3_stmt* raw = nullptr;
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                            -1, &raw, nullptr);
  }
  bool ours = rc == SQLITE_OK;
  while (ours && (rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
    ours = name != nullptr && our_tables.count(name) > 0;
  }
  if (ours && rc != SQLITE_DONE) ours = false;  // unreadable: not ours to keep
  sqlite3_finalize(raw);
  sqlite3_close_v2(db);
  return ours;
}

}  // namespace

Result<bool> index_file_is_ours(Env& env, const std::string& path) {
  MITHRIL_ASSIGN(const auto st, env.lstat(path));
  if (!st) return true;
  if (!st->is_regular()) return false;
  auto head = read_prefix(env, path, kHeaderSize);
  if (!head && head.error().code == ErrorCode::kCorruption) return false;  // swapped for a link meanwhile
  if (!head) return std::unexpected(head.error());
  const std::optional<std::string>& prefix = *head;
  if (!prefix || prefix->empty()) return true;
  const std::string& h = *prefix;
  // Not SQLite at all: damage (SQLite refuses it without writing; the
  // caller sets it aside as damaged).
  if (h.size() < kHeaderSize || !std::string_view(h).starts_with(kSqliteMagic)) return true;
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < 4; ++i) id = (id << 8) | static_cast<unsigned char>(h[kApplicationIdOffset + i]);
  if (id == static_cast<std::uint32_t>(kIndexApplicationId)) return true;
  if (id != 0) return false;
  return only_our_tables(path);
}

}  // namespace mithril::detail
