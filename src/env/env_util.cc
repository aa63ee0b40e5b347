#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <mithril/env.h>

namespace mithril {

Result<void> write_all(Env& env, int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    MITHRIL_ASSIGN(const std::size_t n, env.write(fd, p, size));
    if (n == 0) return fail(ErrorCode::kIoError, "write made no progress");
    p += n;
    size -= n;
  }
  return {};
}

namespace {

// Reads `fd` to its end and closes it (also on error).
Result<std::optional<std::string>> read_to_end_and_close(Env& env, int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = env.read(fd, buf, sizeof buf);
    if (!n) {
      (void)env.close(fd);
      return std::unexpected(n.error());
    }
    if (*n == 0) break;
    out.append(buf, *n);
  }
  MITHRIL_TRY(env.close(fd));
  return std::optional<std::string>{std::move(out)};
}

}  // namespace

Result<std::optional<std::string>> read_file(Env& env, const std::string& path) {
  auto fd = env.open(path, O_RDONLY, 0);
  if (!fd) {
    if (fd.error().sys_errno == ENOENT) return std::optional<std::string>{};
    return std::unexpected(fd.error());
  }
  return read_to_end_and_close(env, *fd);
}

Result<std::optional<int>> open_regular(Env& env, const std::string& path) {
  auto fd = env.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
  if (!fd) {
    const int err = fd.error().sys_errno;
    if (err == ENOENT) return std::optional<int>{};
    if (err != ELOOP && err != ENXIO) return std::unexpected(fd.error());  // ENXIO: a socket
    return fail(ErrorCode::kCorruption, "not a regular file (a symlink or socket): " + path);
  }
  auto st = env.fstat(*fd);
  if (!st || !st->is_regular()) {
    (void)env.close(*fd);
    if (!st) return std::unexpected(st.error());
    return fail(ErrorCode::kCorruption, "not a regular file (a FIFO, device or directory): " + path);
  }
  return std::optional<int>(*fd);
}

Result<std::optional<std::string>> read_regular_file(Env& env, const std::string& path) {
  MITHRIL_ASSIGN(const auto fd, open_regular(env, path));
  if (!fd) return std::optional<std::string>{};
  return read_to_end_and_close(env, *fd);
}

Result<std::optional<FileStat>> lstat_beneath(Env& env, const std::string& base, const std::string& path) {
  if (path.size() <= base.size() + 1 || !path.starts_with(base) || path[base.size()] != '/') {
    return fail(ErrorCode::kInvalidArgument, path + " is not under " + base);
  }
  for (std::size_t slash = path.find('/', base.size() + 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    MITHRIL_ASSIGN(const auto st, env.lstat(dir));
    if (!st) return std::optional<FileStat>{};
    if (!st->is_dir()) return fail(ErrorCode::kCorruption, dir + " is a symlink or not a directory; not followed");
  }
  return env.lstat(path);
}

Result<void> fsync_dir(Env& env, const std::string& dir) {
  MITHRIL_ASSIGN(const int fd, env.open(dir, O_RDONLY | O_DIRECTORY, 0));
  auto synced = env.fsync(fd);
  auto closed = env.close(fd);
  MITHRIL_TRY(synced);
  return closed;
}

namespace {

// Creates `path` and its missing parents; with `durable`, fsyncs each new
// directory's parent after creating it.
Result<void> make_dirs_impl(Env& env, const std::string& path, unsigned mode, bool durable) {
  if (path.empty()) return {};
  MITHRIL_ASSIGN(const auto st, env.stat(path));
  if (st) {
    if (st->is_dir()) return {};
    return fail(ErrorCode::kIoError, "not a directory: " + path);
  }
  const auto slash = path.find_last_of('/');
  const std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (slash != std::string::npos && slash > 0) MITHRIL_TRY(make_dirs_impl(env, parent, mode, durable));
  MITHRIL_TRY(env.mkdir(path, mode));  // an existing directory (a racing creator) is fine
  return durable ? fsync_dir(env, parent) : Result<void>{};
}

}  // namespace

Result<void> make_dirs(Env& env, const std::string& path, unsigned mode) {
  return make_dirs_impl(env, path, mode, false);
}

Result<void> make_dirs_durable(Env& env, const std::string& path, unsigned mode) {
  return make_dirs_impl(env, path, mode, true);
}

Result<void> write_file_atomic(Env& env, const std::string& path, const std::string& data,
                               bool sync) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  MITHRIL_ASSIGN(const int fd, env.open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600));
  auto ok = write_all(env, fd, data.data(), data.size());
  if (ok && sync) ok = env.fsync(fd);
  const auto closed = env.close(fd);
  if (ok && !closed) ok = closed;
  if (ok) ok = env.rename(tmp, path);
  if (!ok) (void)env.unlink(tmp);
  return ok;
}

std::string absolute_path(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

}  // namespace mithril
