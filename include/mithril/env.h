// The injectable operating-system layer.
//
// Every file-system and clock call mithril makes goes through an `Env`, so
// tests can inject ENOSPC, EIO, short writes, failed renames and crashes at
// any call site (see tests/testing/fault_env.h). Production code uses
// `Env::posix()`.
//
// Thread safety: implementations must be safe for concurrent use from many
// threads without external locking. `Env::posix()` is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mithril/export.h>
#include <mithril/result.h>

namespace mithril {

struct MITHRIL_API FileStat {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;  // st_mode, including the file-type bits
  std::uint32_t uid = 0;   // st_uid, the owner
  bool is_dir() const;
  bool is_regular() const;
  bool is_symlink() const;
};

struct MITHRIL_API DirEntry {
  std::string name;  // never "." or ".."
  bool is_dir = false;      // a real directory, never a symlink to one
  bool is_symlink = false;  // a symbolic link (whatever it points to)
};

// An I/O the index database (SQLite) is about to do on one of its files.
enum class DbIo { kOpen, kRead, kWrite, kTruncate, kSync, kDelete };

class MITHRIL_API Env {
 public:
  virtual ~Env() = default;

  // open(2). Returns the file descriptor. The caller owns it and must close().
  virtual Result<int> open(const std::string& path, int flags, unsigned mode) = 0;
  // write(2): may write fewer bytes than asked (a short write); callers loop.
  virtual Result<std::size_t> write(int fd, const void* data, std::size_t size) = 0;
  // read(2): 0 means end of file.
  virtual Result<std::size_t> read(int fd, void* data, std::size_t size) = 0;
  virtual Result<void> fsync(int fd) = 0;
  virtual Result<void> close(int fd) = 0;
  // fstat(2) of an open file.
  virtual Result<FileStat> fstat(int fd) = 0;
  // rename(2): atomically replaces `to`.
  virtual Result<void> rename(const std::string& from, const std::string& to) = 0;
  // unlink(2). A missing file is not an error: returns false.
  virtual Result<bool> unlink(const std::string& path) = 0;
  // mkdir(2) of one level. An existing directory is not an error.
  virtual Result<void> mkdir(const std::string& path, unsigned mode) = 0;
  // rmdir(2) of an empty directory. Missing is not an error.
  virtual Result<void> rmdir(const std::string& path) = 0;
  // stat(2), following symlinks. A missing path returns nullopt.
  virtual Result<std::optional<FileStat>> stat(const std::string& path) = 0;
  // lstat(2): like stat, but a symlink is described itself, never followed.
  virtual Result<std::optional<FileStat>> lstat(const std::string& path) = 0;
  // The names in a directory (unsorted). A missing directory returns {}.
  // `is_dir` and `is_symlink` never follow a symlink.
  virtual Result<std::vector<DirEntry>> list_dir(const std::string& path) = 0;
  // Takes an exclusive flock(2) on `path` (created 0600 if missing) without
  // waiting. Returns the descriptor holding the lock (close() releases it),
  // or -1 when another process holds it. Same lock PyTorch's filelock takes.
  virtual Result<int> try_lock_file(const std::string& path) = 0;
  // Nanoseconds since the Unix epoch (wall clock, for access times).
  virtual std::int64_t now_ns() = 0;
  // geteuid(2): the user whose files a root must be (see check_root_trusted).
  virtual std::uint32_t effective_uid();
  // access(2) W_OK: whether this process may create files in `path` (false
  // on a read-only mount or without permission; the error says why).
  virtual Result<void> check_writable(const std::string& path);
  // Called before each I/O SQLite does on the index database's files (the
  // database and its WAL: SQLite does its own I/O, this is how an Env reaches
  // it), with the file's path ("" for SQLite's temporary files). An error
  // skips the I/O and makes SQLite see it failed: ENOSPC as a full disk,
  // anything else as an I/O error of that kind. The default allows all; for
  // Env::posix() the database is opened without this indirection.
  virtual Result<void> before_db_io(DbIo op, const char* path);

  // The process-wide POSIX implementation. Never null; lives forever.
  static Env& posix();
};

// Helpers built on an Env (src/env/env_util.cc). All loop over short
// writes/reads and close what they open, also on error.

// Writes all of `size` bytes at the current offset of `fd`.
MITHRIL_API Result<void> write_all(Env& env, int fd, const void* data, std::size_t size);
// Reads the whole file at `path`. nullopt when it does not exist.
MITHRIL_API Result<std::optional<std::string>> read_file(Env& env, const std::string& path);
// Creates `path` and all missing parents (mode 0700 for new directories by default).
MITHRIL_API Result<void> make_dirs(Env& env, const std::string& path, unsigned mode = 0700);
// Like make_dirs, and fsyncs the parent of every directory it creates, so the
// new directories survive a power cut (for fsync mode).
MITHRIL_API Result<void> make_dirs_durable(Env& env, const std::string& path, unsigned mode = 0700);
// fsyncs the directory `dir` (its entries become durable).
MITHRIL_API Result<void> fsync_dir(Env& env, const std::string& dir);
// Opens `path` for reading only if it is a regular file: a symlink is not
// followed (O_NOFOLLOW) and a FIFO or device is not waited on (O_NONBLOCK),
// both are kCorruption ("not a regular file"). nullopt when it does not
// exist. The caller owns the descriptor.
MITHRIL_API Result<std::optional<int>> open_regular(Env& env, const std::string& path);
// Reads the whole regular file at `path` (open_regular, then to its end).
// nullopt when it does not exist.
MITHRIL_API Result<std::optional<std::string>> read_regular_file(Env& env, const std::string& path);
// lstat of `path`, which must lie under directory `base`, after checking that
// every directory between them is a real directory (lstat, not a symlink):
// nothing reached through it can lie outside `base`. nullopt when a component
// is missing; kCorruption when one is a symlink or not a directory.
MITHRIL_API Result<std::optional<FileStat>> lstat_beneath(Env& env, const std::string& base,
                                                       const std::string& path);
// Writes `data` to `path` atomically: a temp file in the same directory, then
// rename. With `sync`, fsyncs the file before the rename.
MITHRIL_API Result<void> write_file_atomic(Env& env, const std::string& path, const std::string& data, bool sync);

// Writes the output file `path`, a file the user named (`get -o`, `pack`,
// `report -o`; src/env/output_file.cc): what is at the path decides how, so
// mithril never replaces what is not its to replace. `fill` writes the
// content to the descriptor it is given (and may be called at most once).
//  - Nothing at `path`, or a regular file: the content goes to a temp file
//    beside it, which is renamed over `path` only when complete (a reader
//    never sees half a file; on error nothing is left behind). Mode `mode`
//    less the umask (0666: like any file a user's command creates).
//  - A character device (/dev/null, a terminal) or a FIFO: written through,
//    never replaced, like a shell's `>`.
//  - A symbolic link, a directory, a block device or a socket: refused with
//    kInvalidArgument before anything is written (mithril does not write
//    through links: name the target itself).
// Thread safety: as safe as `env`; temp names are unique per process + call.
MITHRIL_API Result<void> write_output_file(Env& env, const std::string& path,
                                          const std::function<Result<void>(int fd)>& fill, unsigned mode = 0666);

// `p` made absolute against the working directory and lexically normalized
// ("a/./b/../c" -> "<cwd>/a/c"); `p` unchanged when the working directory
// cannot be read. Touches no file (no symlink is resolved). Thread-safe.
MITHRIL_API std::string absolute_path(const std::string& p);

}  // namespace mithril
