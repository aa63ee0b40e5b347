// A directory as a remote (a shared file system such as NFS): keys are
// relative paths under it; puts publish atomically (temp file + rename in
// the same directory), so readers on other machines see whole objects. A
// read-only remote only ever opens files for reading, so a read-only mount
// works (torch's own cache would crash there: it opens lock files for
// writing).
//
// Nothing in the directory is trusted: get() opens with O_NOFOLLOW |
// O_NONBLOCK and refuses (kCorruption) a symlink, FIFO, device, socket or
// directory without reading it, and a file it may not open (EACCES: one
// bad key, not a dead remote), and reads at most the caller's bound; list() walks at
// most kMaxListCalls directories, 16 levels deep, without following
// symlinks, and checks the deadline in every directory.
#include <fcntl.h>

#include <cerrno>

#include "remote/stores.h"

namespace mithril::remote {
namespace {

class FileStore final : public RemoteStore {
 public:
  FileStore(RemoteUrl url, Env& env) : RemoteStore(std::move(url)), m_env(env) {
    m_root = this->url().path;
    while (m_root.size() > 1 && m_root.back() == '/') m_root.pop_back();
  }

  Result<std::optional<std::string>> get(const std::string& key, std::uint64_t max_bytes) override {
    MITHRIL_ASSIGN(const auto fd, open_regular(key, max_bytes));
    if (!fd) return std::optional<std::string>{};
    std::string out;
    auto read = read_pieces(*fd, key, max_bytes, [&](std::string_view piece) -> Result<void> {
      out.append(piece);
      return {};
    });
    (void)m_env.close(*fd);
    if (!read) return std::unexpected(read.error());
    return std::optional<std::string>(std::move(out));
  }

  Result<bool> get_to(const std::string& key, std::uint64_t max_bytes, const ByteSink& sink) override {
    MITHRIL_ASSIGN(const auto fd, open_regular(key, max_bytes));
    if (!fd) return false;
    auto read = read_pieces(*fd, key, max_bytes, sink);
    (void)m_env.close(*fd);
    if (!read) return std::unexpected(read.error());
    return true;
  }

  Result<void> put(const std::string& key, std::string_view data) override {
    MITHRIL_TRY(check_deadline("write " + key));
    MITHRIL_ASSIGN(const std::string path, path_of(key));
    MITHRIL_TRY(annotate(make_dirs(m_env, path.substr(0, path.find_last_of('/')), 0755), "mkdir for " + key));
    return annotate(write_file_atomic(m_env, path, std::string(data), false), "write " + key);
  }

  Result<bool> exists(const std::string& key) override {
    MITHRIL_TRY(check_deadline("stat " + key));
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
    Walk w{prefix, {}, 0};
    MITHRIL_TRY(walk(dir, 0, w));
    return std::move(w.out);
  }

 private:
  struct Walk {
    const std::string& prefix;
    std::vector<std::string> out;
    std::uint64_t dirs = 0;
  };
  static constexpr int kMaxDepth = 16;

  std::unexpected<Error> refuse(const std::string& key, const std::string& why) const {
    const std::string message = url().redacted + ": " + key + " " + why + "; not read";
    return std::unexpected(Error{ErrorCode::kCorruption, message, 0});
  }

  // `key` opened for reading if it is a regular file of at most
  // `max_bytes`; nullopt when missing. Never blocks (O_NONBLOCK) nor follows
  // a symlink (O_NOFOLLOW); anything else is refused before any read.
  Result<std::optional<int>> open_regular(const std::string& key, std::uint64_t max_bytes) {
    MITHRIL_TRY(check_deadline("read " + key));
    MITHRIL_ASSIGN(const std::string path, path_of(key));
    auto fd = m_env.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
    if (!fd) {
      if (fd.error().sys_errno == ENOENT) return std::optional<int>{};
      const int err = fd.error().sys_errno;
      if (err == ELOOP) return refuse(key, "is a symbolic link");
      if (err == EACCES || err == EPERM || err == ENXIO || err == ENOTDIR) {  // this key only
        return refuse(key, "cannot be opened: " + fd.error().message);
      }
      return annotate(Result<std::optional<int>>(std::unexpected(fd.error())), "open " + key);
    }
    auto st = annotate(m_env.fstat(*fd), "fstat " + key);
    std::optional<Error> why;
    if (!st) {
      why = st.error();
    } else if (!st->is_regular()) {
      why = refuse(key, "is not a regular file (a FIFO, device or directory)").error();
    } else if (st->size > max_bytes) {
      why = refuse(key, "is larger than " + std::to_string(max_bytes) + " bytes").error();
    }
    if (!why) return std::optional<int>(*fd);
    (void)m_env.close(*fd);
    return std::unexpected(std::move(*why));
  }

  // Passes the content of `fd` to `sink` in 128 KiB pieces; more than
  // `max_bytes` (a file growing meanwhile) is refused.
  Result<void> read_pieces(int fd, const std::string& key, std::uint64_t max_bytes, const ByteSink& sink) {
    std::string piece(128 << 10, '\0');
    std::uint64_t total = 0;
    for (;;) {
      MITHRIL_ASSIGN(const std::size_t n, annotate(m_env.read(fd, piece.data(), piece.size()), "read " + key));
      if (n == 0) return {};
      total += n;
      if (total > max_bytes) return refuse(key, "grew past " + std::to_string(max_bytes) + " bytes");
      MITHRIL_TRY(sink(std::string_view(piece.data(), n)));
    }
  }

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

  Result<void> walk(const std::string& rel_dir, int depth, Walk& w) {
    MITHRIL_TRY(check_deadline("list " + rel_dir));
    if (depth > kMaxDepth || ++w.dirs > kMaxListCalls) {
      return fail(ErrorCode::kCorruption,
                  url().redacted + ": list " + w.prefix + ": too many or too deep directories");
    }
    const std::string& prefix = w.prefix;
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
          MITHRIL_TRY(walk(rel, depth + 1, w));
        }
      } else if (rel.starts_with(prefix)) {
        if (w.out.size() >= kMaxListedKeys) {
          return fail(ErrorCode::kCorruption, url().redacted + ": list " + prefix + ": more than " +
                                                  std::to_string(kMaxListedKeys) + " keys");
        }
        w.out.push_back(rel);
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
