// StagedFiles: temp files written beside their destinations, published
// together, all or nothing. Until publish() succeeds, the destructor unlinks
// every temp file still staged and removes the directories make_parents()
// created, on every exit path (errors included), so a failed or refused
// import never leaves debris or a part of itself where a framework would
// look. Private to src/. Not thread-safe: one owner.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <mithril/env.h>

namespace mithril::detail {

class StagedFiles {
 public:
  explicit StagedFiles(Env& env) : m_env(env) {}
  ~StagedFiles() { discard(); }
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;

  // Creates the missing directories between `base` (which exists) and
  // `final_path`'s parent (0700), remembering them so that discard() removes
  // them again. A component that is a symlink or not a directory is
  // kCorruption: nothing is created through it.
  Result<void> make_parents(const std::string& base, const std::string& final_path) {
    const std::string parent = final_path.substr(0, final_path.find_last_of('/'));
    for (std::size_t at = base.size(); at != std::string::npos && at < parent.size();) {
      at = parent.find('/', at + 1);
      const std::string dir = parent.substr(0, at);
      MITHRIL_ASSIGN(const auto st, m_env.lstat(dir));
      if (st && !st->is_dir()) return fail(ErrorCode::kCorruption, dir + " is a symlink or not a directory");
      if (st) continue;
      MITHRIL_TRY(m_env.mkdir(dir, 0700));
      m_dirs.push_back(dir);
    }
    return {};
  }

  // Records that `tmp` (already created) will become `final_path`.
  void add(std::string tmp, std::string final_path) { m_files.emplace_back(std::move(tmp), std::move(final_path)); }
  bool empty() const { return m_files.empty(); }

  // Renames every temp file into place, in the order `before` gives (by
  // final path; default: as added). On a failed rename the files already
  // renamed are unlinked again (they were new), the rest discarded, and the
  // error returned: nothing of the import stays. Returns the paths published.
  Result<std::vector<std::string>> publish(
      const std::function<bool(const std::string&, const std::string&)>& before = nullptr) {
    if (before) {
      std::stable_sort(m_files.begin(), m_files.end(),
                       [&](const auto& a, const auto& b) { return before(a.second, b.second); });
    }
    std::vector<std::string> done;
    while (!m_files.empty()) {
      auto [tmp, final_path] = m_files.front();
      if (auto r = m_env.rename(tmp, final_path); !r) {
        for (const auto& published : done) (void)m_env.unlink(published);
        return std::unexpected(r.error());  // discard() removes the rest and the directories
      }
      m_files.erase(m_files.begin());
      done.push_back(std::move(final_path));
    }
    m_dirs.clear();  // published: the directories are the entry's now
    return done;
  }

  // Unlinks every temp file still staged, then removes the directories
  // make_parents() created (deepest first; only while empty).
  void discard() {
    for (const auto& [tmp, final_path] : m_files) (void)m_env.unlink(tmp);
    m_files.clear();
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) (void)m_env.rmdir(*it);
    m_dirs.clear();
  }

 private:
  Env& m_env;
  std::vector<std::pair<std::string, std::string>> m_files;  // temp, final
  std::vector<std::string> m_dirs;                           // created by make_parents, in order
};

// A temp name beside `final_path` containing `tag` (e.g. ".mithril-pull.<pid>.<n>"):
// "<name><tag>", or, when that would pass NAME_MAX, ".<hash of name><tag>".
inline std::string staging_path(const std::string& final_path, const std::string& tag) {
  const std::size_t slash = final_path.find_last_of('/');
  const std::string name = final_path.substr(slash + 1);
  if (name.size() + tag.size() <= NAME_MAX) return final_path + tag;
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: any stable short name will do
  for (const unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return final_path.substr(0, slash + 1) + "." + std::to_string(h) + tag;
}

}  // namespace mithril::detail
