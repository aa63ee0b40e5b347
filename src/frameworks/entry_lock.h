// EntryLock: the lock a framework holds on one of its entries while it
// writes it (Inductor: locks/<key>.lock), taken the same way so mithril
// never judges, records or deletes an entry a framework process is writing.
//
// acquire() returns, as one value:
//   - an error: the lock file could not be created or opened;
//   - nullopt:  busy, a framework process holds the lock right now;
//   - a lock:   acquired (or the entry's framework takes no lock: nothing to
//               share, held() is false). Released when the EntryLock dies.
// Ownership: the EntryLock owns the lock's fd (move-only). Thread/process
// safety: an advisory lock between processes (Env::try_lock_file); one owner.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <mithril/env.h>
#include <mithril/result.h>

namespace mithril::frameworks {

class EntryLock {
 public:
  // Locks entry `entry_rel` (relative to the framework directory `fw_dir`,
  // absolute, whose last component names the framework) of kind `kind`.
  static Result<std::optional<EntryLock>> acquire(Env& env, const std::string& fw_dir, const std::string& entry_rel,
                                                  std::string_view kind);
  ~EntryLock() { release(); }
  EntryLock(EntryLock&& other) noexcept : m_env(other.m_env), m_fd(other.m_fd) { other.m_fd = -1; }
  EntryLock& operator=(EntryLock&& other) noexcept;
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;

  // True when a lock file is held (false: the framework takes no lock).
  bool held() const { return m_fd >= 0; }

 private:
  EntryLock(Env& env, int fd) : m_env(&env), m_fd(fd) {}
  void release();

  Env* m_env;
  int m_fd;
};

}  // namespace mithril::frameworks
