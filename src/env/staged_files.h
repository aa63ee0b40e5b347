// StagedFiles: temp files written beside their destinations, published
// together. Until publish() succeeds, the destructor unlinks every temp file
// still staged, on every exit path (errors included), so a failed or refused
// import never leaves debris where a framework would look. Private to src/.
// Not thread-safe: one owner.
#pragma once

#include <algorithm>
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

  // Records that `tmp` (already created) will become `final_path`.
  void add(std::string tmp, std::string final_path) { m_files.emplace_back(std::move(tmp), std::move(final_path)); }
  bool empty() const { return m_files.empty(); }

  // Renames every temp file into place, in the order `before` gives (by
  // final path; default: as added). On a failed rename the files not yet
  // renamed are unlinked and the error returned; those renamed stay.
  // Returns the final paths published.
  Result<std::vector<std::string>> publish(
      const std::function<bool(const std::string&, const std::string&)>& before = nullptr) {
    if (before) {
      std::stable_sort(m_files.begin(), m_files.end(),
                       [&](const auto& a, const auto& b) { return before(a.second, b.second); });
    }
    std::vector<std::string> done;
    while (!m_files.empty()) {
      auto [tmp, final_path] = m_files.front();
      if (auto r = m_env.rename(tmp, final_path); !r) return std::unexpected(r.error());  // destructor cleans up
      m_files.erase(m_files.begin());
      done.push_back(std::move(final_path));
    }
    return done;
  }

  // Unlinks every temp file still staged.
  void discard() {
    for (const auto& [tmp, final_path] : m_files) (void)m_env.unlink(tmp);
    m_files.clear();
  }

 private:
  Env& m_env;
  std::vector<std::pair<std::string, std::string>> m_files;  // temp, final
};

}  // namespace mithril::detail
