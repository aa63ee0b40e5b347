// A directory as a remote (a shared file system such as NFS): keys are
// relative paths under it; puts publish atomically (temp file + rename in
// the same directory), so readers on other machines see whole objects. A
// read-only remote only ever opens files for reading, so a read-only mount
// works (torch's own cache would crash there: it opens lock files for
// writing).
#include <fcntl.h>

#include "remote/stores.h"

namespace mithril::remote {
namespace {

class FileStore final : public RemoteStore {
 public:
  FileStore(RemoteUrl url, Env& env) : RemoteStore(std::move(url)), m_env(env) {
    m_root = this->url().path;
    while (m_root.size() > 1 && m_root.back() == '/') m_root.pop_back();
  }

  Result<std::optional<std::string>> get(const std::string& key) override {
    MITHRIL_ASSIGN(const std::string path, path_of(key));
    return annotate(read_file(m_env, path), "read " + key);
  }

  Result<void> put(const std::string& key, std::string_view data) override {
    MITHRIL_ASSIGN(const std::string path, path_of(key));
    MITHRIL_TRY(annotate(make_dirs(m_env, path.substr(0, path.find_last_of('/')), 0755), "mkdir for " + key));
    return annotate(write_file_atomic(m_env, path, std::string(data), false), "write " + key);
  }

  Result<bool> exists(const std::string& key) override {
    MITHRIL_ASSIGN(const std::string path, path_of(key));
    MITHRIL_ASSIGN(const auto st, annotate(m_env.stat(path), "stat " + key));
    return st.has_value();
  }

  Result<bool> remove(const std::string& key) override {
    MITHRIL_ASSIGN(const std::string path, path_of(key));
    return annotate(m_env.unlink(path), "unlink " + key);
  }

  Result<std::vector<std::string>> list(const std::string& prefix) override {
    // Walk the deepest directory the prefix names, then filter.
    const auto slash = prefix.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
    std::vector<std::string> out;
    MITHRIL_TRY(walk(dir, prefix, &out));
    return out;
  }

 private:
  template <typename T>
  Result<T> annotate(Result<T> r, const std::string& what) const {
    if (r) return r;
    Error e = r.error();
    e.message = url().redacted + ": " + what + ": " + e.message;
    if (e.code == ErrorCode::kIoError) e.code = ErrorCode::kUnavailable;
    return std::unexpected(std::move(e));
  }

  Result<std::string> path_of(const std::string& key) const {
    if (auto ok = validate_relative(key); !ok) return std::unexpected(ok.error());
    return m_root + "/" + key;
  }

  static Result<void> validate_relative(const std::string& key) {
    if (key.empty() || key.front() == '/' || key.find("//") != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "bad remote key '" + key + "'");
    }
    std::size_t start = 0;
    while (start <= key.size()) {
      const auto end = std::min(key.find('/', start), key.size());
      const std::string_view part(key.data() + start, end - start);
      if (part == ".." || part == ".") return fail(ErrorCode::kInvalidArgument, "bad remote key '" + key + "'");
      start = end + 1;
    }
    return {};
  }

  Result<void> walk(const std::string& rel_dir, const std::string& prefix, std::vector<std::string>* out) {
    const std::string dir = rel_dir.empty() ? m_root : m_root + "/" + rel_dir;
    auto entries = m_env.list_dir(dir);
    if (!entries) {
      if (entries.error().sys_errno == ENOENT) return {};
      return annotate(Result<void>(std::unexpected(entries.error())), "list " + rel_dir);
    }
    for (const auto& e : *entries) {
      if (e.name.find(".tmp") != std::string::npos) continue;  // unpublished temp files
      const std::string rel = rel_dir.empty() ? e.name : rel_dir + "/" + e.name;
      if (e.is_dir) {
        if (prefix.starts_with(rel + "/") || (rel + "/").starts_with(prefix) || rel.starts_with(prefix)) {
          MITHRIL_TRY(walk(rel, prefix, out));
        }
      } else if (rel.starts_with(prefix)) {
        out->push_back(rel);
      }
    }
    return {};
  }

  Env& m_env;
  std::string m_root;
};

}  // namespace

Result<std::unique_ptr<RemoteStore>> open_file(const RemoteUrl& url, Env& env) {
  return std::unique_ptr<RemoteStore>(new FileStore(url, env));
}

}  // namespace mithril::remote
