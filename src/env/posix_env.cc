// POSIX implementation of mithril::Env: thin wrappers that retry EINTR and
// turn errno into Error values.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <mithril/env.h>
#include "util/format.h"

namespace mithril {
namespace {

template <typename F>
auto retry_eintr(F f) {
  for (;;) {
    auto r = f();
    if (r != -1 || errno != EINTR) return r;
  }
}

FileStat to_file_stat(const struct stat& st) {
  FileStat fs;
  fs.size = static_cast<std::uint64_t>(st.st_size);
  fs.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  fs.mode = st.st_mode;
  fs.uid = st.st_uid;
  return fs;
}

class PosixEnv final : public Env {
  // stat(2) (`follow`) or lstat(2); a missing path is nullopt.
  static Result<std::optional<FileStat>> stat_of(const std::string& path, bool follow) {
    struct stat st {};
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<FileStat>{};
      return std::unexpected(error_from_errno(errno, (follow ? "stat " : "lstat ") + path));
    }
    return std::optional<FileStat>{to_file_stat(st)};
  }

 public:
  Result<int> open(const std::string& path, int flags, unsigned mode) override {
    const int fd = retry_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
    if (fd < 0) return std::unexpected(error_from_errno(errno, "open " + path));
    return fd;
  }
  Result<std::size_t> write(int fd, const void* data, std::size_t size) override {
    const ssize_t n = retry_eintr([&] { return ::write(fd, data, size); });
    if (n < 0) return std::unexpected(error_from_errno(errno, "write"));
    return static_cast<std::size_t>(n);
  }
  Result<std::size_t> read(int fd, void* data, std::size_t size) override {
    const ssize_t n = retry_eintr([&] { return ::read(fd, data, size); });
    if (n < 0) return std::unexpected(error_from_errno(errno, "read"));
    return static_cast<std::size_t>(n);
  }
  Result<void> fsync(int fd) override {
    if (retry_eintr([&] { return ::fsync(fd); }) != 0) {
      return std::unexpected(error_from_errno(errno, "fsync"));
    }
    return {};
  }
  Result<void> close(int fd) override {
    // close() must not be retried on EINTR on Linux: the fd is gone.
    if (::close(fd) != 0 && errno != EINTR) return std::unexpected(error_from_errno(errno, "close"));
    return {};
  }
  Result<FileStat> fstat(int fd) override {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::unexpected(error_from_errno(errno, "fstat"));
    return to_file_stat(st);
  }
  Result<void> rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return std::unexpected(error_from_errno(errno, "rename " + from + " -> " + to));
    }
    return {};
  }
  Result<bool> unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return false;
      return std::unexpected(error_from_errno(errno, "unlink " + path));
    }
    return true;
  }
  Result<void> mkdir(const std::string& path, unsigned mode) override {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
      return std::unexpected(error_from_errno(errno, "mkdir " + path));
    }
    return {};
  }
  Result<void> rmdir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
      return std::unexpected(error_from_errno(errno, "rmdir " + path));
    }
    return {};
  }
  Result<std::optional<FileStat>> stat(const std::string& path) override { return stat_of(path, true); }
  Result<std::optional<FileStat>> lstat(const std::string& path) override { return stat_of(path, false); }
  Result<std::vector<DirEntry>> list_dir(const std::string& path) override {
    std::vector<DirEntry> out;
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT) return out;
      return std::unexpected(error_from_errno(errno, "opendir " + path));
    }
    while (const dirent* e = ::readdir(dir)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      bool is_dir = e->d_type == DT_DIR;
      bool is_link = e->d_type == DT_LNK;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st {};
        const bool ok = ::lstat(detail::concat(path, "/", name).c_str(), &st) == 0;
        is_dir = ok && S_ISDIR(st.st_mode);
        is_link = ok && S_ISLNK(st.st_mode);
      }
      out.push_back(DirEntry{name, is_dir, is_link});
    }
    ::closedir(dir);
    return out;
  }
  Result<int> try_lock_file(const std::string& path) override {
    MITHRIL_ASSIGN(const int fd, open(path, O_RDWR | O_CREAT, 0600));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return -1;
      return std::unexpected(error_from_errno(err, "flock " + path));
    }
    return fd;
  }
  std::int64_t now_ns() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

bool FileStat::is_dir() const { return S_ISDIR(mode); }
bool FileStat::is_regular() const { return S_ISREG(mode); }
bool FileStat::is_symlink() const { return S_ISLNK(mode); }

std::uint32_t Env::effective_uid() { return ::geteuid(); }

Result<void> Env::check_writable(const std::string& path) {
  if (::access(path.c_str(), W_OK) == 0) return {};
  return std::unexpected(error_from_errno(errno, "access " + path));
}

Result<void> Env::before_db_io(DbIo /*op*/, const char* /*path*/) { return {}; }

Env& Env::posix() {
  static PosixEnv env;
  return env;
}

}  // namespace mithril
