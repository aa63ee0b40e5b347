// PowerLossEnv: wraps the POSIX Env and models what a power cut keeps, for
// tests only. A file's content survives only if it was fsynced after its
// last write; a directory entry (a created, renamed-in or mkdir'ed name)
// survives only if its directory was fsynced after the entry appeared.
// would_survive(path) answers for one path: its content and every entry
// from the watched root down to it must be durable. Names that existed
// before start(root) count as durable.
//
// Thread safety: safe for concurrent use (one mutex).
#pragma once

#include <fcntl.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <mithril/env.h>

namespace mithril::testing {

class PowerLossEnv final : public Env {
 public:
  void start(const std::string& root) { m_root = std::filesystem::weakly_canonical(root).string(); }

  bool would_survive(const std::string& path) {
    std::lock_guard lock(m_mu);
    std::string p = norm(path);
    if (m_dirty.count(p)) return false;
    while (p.size() > m_root.size()) {
      if (m_pending.count(p)) return false;
      p = parent(p);
    }
    return true;
  }

  Result<int> open(const std::string& p, int f, unsigned m) override {
    const bool existed = std::filesystem::exists(p);
    MITHRIL_ASSIGN(const int fd, m_real.open(p, f, m));
    std::lock_guard lock(m_mu);
    m_fds[fd] = norm(p);
    if (!existed && (f & O_CREAT)) m_pending.insert(norm(p));
    if (f & O_TRUNC) m_dirty.insert(norm(p));
    return fd;
  }
  Result<std::size_t> write(int fd, const void* d, std::size_t n) override {
    {
      std::lock_guard lock(m_mu);
      m_dirty.insert(m_fds[fd]);
    }
    return m_real.write(fd, d, n);
  }
  Result<std::size_t> read(int fd, void* d, std::size_t n) override { return m_real.read(fd, d, n); }
  Result<void> fsync(int fd) override {
    MITHRIL_TRY(m_real.fsync(fd));
    std::lock_guard lock(m_mu);
    const std::string p = m_fds[fd];
    m_dirty.erase(p);
    if (std::filesystem::is_directory(p)) {  // its entries are now durable
      for (auto it = m_pending.begin(); it != m_pending.end();) {
        it = parent(*it) == p ? m_pending.erase(it) : std::next(it);
      }
    }
    return {};
  }
  Result<void> close(int fd) override {
    {
      std::lock_guard lock(m_mu);
      m_fds.erase(fd);
    }
    return m_real.close(fd);
  }
  Result<FileStat> fstat(int fd) override { return m_real.fstat(fd); }
  Result<void> rename(const std::string& a, const std::string& b) override {
    MITHRIL_TRY(m_real.rename(a, b));
    std::lock_guard lock(m_mu);
    const std::string na = norm(a), nb = norm(b);
    m_pending.insert(nb);
    if (m_dirty.erase(na)) m_dirty.insert(nb);
    else m_dirty.erase(nb);
    m_pending.erase(na);
    return {};
  }
  Result<bool> unlink(const std::string& p) override { return m_real.unlink(p); }
  Result<void> mkdir(const std::string& p, unsigned m) override {
    MITHRIL_TRY(m_real.mkdir(p, m));
    std::lock_guard lock(m_mu);
    m_pending.insert(norm(p));
    return {};
  }
  Result<void> rmdir(const std::string& p) override { return m_real.rmdir(p); }
  Result<std::optional<FileStat>> stat(const std::string& p) override { return m_real.stat(p); }
  Result<std::optional<FileStat>> lstat(const std::string& p) override { return m_real.lstat(p); }
  Result<std::vector<DirEntry>> list_dir(const std::string& p) override { return m_real.list_dir(p); }
  Result<int> try_lock_file(const std::string& p) override { return m_real.try_lock_file(p); }
  std::int64_t now_ns() override { return m_real.now_ns(); }

 private:
  static std::string parent(const std::string& p) { return p.substr(0, p.find_last_of('/')); }
  static std::string norm(const std::string& p) {
    return std::filesystem::weakly_canonical(p).string();
  }
  Env& m_real = Env::posix();
  std::mutex m_mu;
  std::string m_root;
  std::map<int, std::string> m_fds;
  std::set<std::string> m_pending;  // directory entries not yet made durable
  std::set<std::string> m_dirty;    // files written since their last fsync
};

}  // namespace mithril::testing
