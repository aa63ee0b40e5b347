#include <mithril/env.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "util/format.h"

namespace mithril {
namespace {

enum class Target { kAbsent, kRegular, kWriteThrough };

// What is at `path`, without following a final symlink and without opening
// the file itself (O_PATH: a FIFO does not block, a device is not touched).
Result<Target> classify(Env& env, const std::string& path) {
  auto fd = env.open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  if (!fd) {
    if (fd.error().sys_errno == ENOENT) return Target::kAbsent;
    return std::unexpected(fd.error());
  }
  auto st = env.fstat(*fd);
  (void)env.close(*fd);
  if (!st) return std::unexpected(st.error());
  const auto type = st->mode & S_IFMT;
  if (type == S_IFREG) return Target::kRegular;
  if (type == S_IFCHR || type == S_IFIFO) return Target::kWriteThrough;
  const char* what = type == S_IFLNK ? "a symbolic link (name its target instead)"
                     : type == S_IFDIR ? "a directory"
                     : type == S_IFBLK ? "a block device"
                                       : "a socket or another special file";
  return fail(ErrorCode::kInvalidArgument, detail::concat(path, " is ", what, "; not writing to it"));
}

Result<void> write_through(Env& env, const std::string& path, const std::function<Result<void>(int fd)>& fill) {
  MITHRIL_ASSIGN(const int fd, env.open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0));
  auto ok = fill(fd);
  auto closed = env.close(fd);
  if (!ok) return ok;
  return closed;
}

Result<void> write_replacing(Env& env, const std::string& path, const std::function<Result<void>(int fd)>& fill,
                             unsigned mode) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      detail::concat(path, ".mithril-tmp.", std::to_string(::getpid()), ".", std::to_string(counter.fetch_add(1)));
  MITHRIL_ASSIGN(const int fd, env.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  auto ok = fill(fd);
  auto closed = env.close(fd);
  if (ok && !closed) ok = closed;
  if (ok) ok = env.rename(tmp, path);
  if (!ok) (void)env.unlink(tmp);
  return ok;
}

}  // namespace

Result<void> write_output_file(Env& env, const std::string& path, const std::function<Result<void>(int fd)>& fill,
                               unsigned mode) {
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, "empty output file name");
  MITHRIL_ASSIGN(const Target target, classify(env, path));
  if (target == Target::kWriteThrough) return write_through(env, path, fill);
  return write_replacing(env, path, fill, mode);
}

}  // namespace mithril
