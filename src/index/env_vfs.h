// A SQLite VFS that passes the index database's file I/O by an Env's
// before_db_io hook, so an Env that injects faults (tests/testing/
// fault_env.h) reaches SQLite's opens, reads, writes, truncates, syncs and
// deletes too. It wraps SQLite's default VFS: the I/O itself, the locking
// and the WAL shared memory stay SQLite's own. Private to src/index.
#pragma once

#include <memory>

#include <mithril/env.h>

namespace mithril::detail {

// A VFS registered with SQLite for one Env, unregistered when the last
// handle to it is released. Thread safety: acquire and release may be called
// from any thread; SQLite calls the VFS from the threads using the database.
class EnvVfs {
 public:
  // The VFS for `env`: nullptr for Env::posix() (SQLite's default VFS is
  // used directly), else one shared by every database opened with `env`.
  // REQUIRES: `env` outlives the handle and every connection opened with it.
  static std::shared_ptr<EnvVfs> acquire(Env& env);
  // The name to pass to sqlite3_open_v2.
  const char* name() const;

  struct Box;  // the registered sqlite3_vfs and what it wraps (env_vfs.cc)
  explicit EnvVfs(std::unique_ptr<Box> box);
  ~EnvVfs();
  EnvVfs(const EnvVfs&) = delete;
  EnvVfs& operator=(const EnvVfs&) = delete;

 private:
  std::unique_ptr<Box> m_box;
};

}  // namespace mithril::detail
