#include "frameworks/fw_files.h"

#include <climits>

#include <mithril/digest.h>

#include "util/format.h"

namespace mithril::frameworks {

using detail::concat;

bool is_staging_debris(const std::string& name) {
  return name.find(".mithril-pull.") != std::string::npos || name.find(".mithril-unpack.") != std::string::npos;
}

Result<void> walk_fw_dir(Env& env, const std::string& root, const std::string& dir, Walked* out,
                         std::int64_t stale_before_ns) {
  MITHRIL_ASSIGN(const auto children, env.list_dir(dir));
  for (const auto& c : children) {
    const std::string path = concat(dir, "/", c.name);
    if (c.is_dir) {
      MITHRIL_TRY(walk_fw_dir(env, root, path, out, stale_before_ns));
      continue;
    }
    MITHRIL_ASSIGN(const auto st, env.lstat(path));
    if (!st) continue;  // removed meanwhile
    if (st->is_dir()) continue;  // became a directory meanwhile: next walk
    if (!st->is_regular()) {
      out->links.push_back(path.substr(root.size() + 1));
      continue;
    }
    if (is_staging_debris(c.name)) {
      if (st->mtime_ns < stale_before_ns) (void)env.unlink(path);
      continue;
    }
    out->files.push_back(Found{path.substr(root.size() + 1), st->size, st->mtime_ns});
  }
  return {};
}

std::string quarantine_name(const std::string& rel_to_root, std::int64_t now_ns) {
  std::string flat = rel_to_root;
  for (auto& c : flat) c = c == '/' ? '%' : c;
  const std::string stamp = concat(".", std::to_string(now_ns));
  if (flat.size() + stamp.size() <= NAME_MAX) return flat + stamp;
  const std::string tag = concat("~", blake3(rel_to_root).to_hex().substr(0, 16));
  return flat.substr(0, NAME_MAX - tag.size() - stamp.size()) + tag + stamp;
}

Result<bool> quarantine_or_delete(Env& env, const std::string& root, const std::string& rel) {
  const std::string abs = concat(root, "/", rel);
  MITHRIL_ASSIGN(const auto st, lstat_beneath(env, root, abs));
  if (!st) return false;
  if (st->is_dir()) return fail(ErrorCode::kCorruption, abs + " is a directory; not quarantined");
  const std::string qdir = root + "/quarantine/fw";
  auto moved = make_dirs(env, qdir);
  if (moved) moved = env.rename(abs, concat(qdir, "/", quarantine_name(rel, env.now_ns())));
  if (moved) return true;
  auto deleted = env.unlink(abs);  // the move failed: never leave it where a framework loads it
  if (deleted) return false;
  return fail(ErrorCode::kIoError, "cannot quarantine " + abs + " (" + moved.error().message +
                                       ") nor delete it (" + deleted.error().message + ")");
}

Result<bool> unlink_regular_beneath(Env& env, const std::string& root, const std::string& rel) {
  const std::string abs = concat(root, "/", rel);
  auto st = lstat_beneath(env, root, abs);
  if (!st && st.error().code == ErrorCode::kCorruption) return false;  // a symlink on the way
  if (!st) return std::unexpected(st.error());
  const std::optional<FileStat>& found = *st;
  if (!found) return true;
  if (!found->is_regular()) return false;
  MITHRIL_TRY(env.unlink(abs));
  return true;
}

}  // namespace mithril::frameworks
