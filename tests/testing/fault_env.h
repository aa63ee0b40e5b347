// FaultEnv: wraps the POSIX Env and injects failures, for tests only.
//
// A rule names an operation and fails its N-th call from now (1-based), or
// every call from then on. Writes can also be made short (at most
// `max_write` bytes per call) to exercise the retry loops.
//
// Thread safety: safe for concurrent use (one mutex around the rules).
#pragma once

#include <cerrno>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <mithril/env.h>

namespace mithril::testing {

enum class Op { kOpen, kWrite, kRead, kFsync, kClose, kRename, kUnlink, kMkdir, kStat, kListDir };

class FaultEnv final : public Env {
 public:
  // Fails the `nth` next call of `op` with `err` (and every later one if `sticky`).
  void fail(Op op, int err, int nth = 1, bool sticky = false) {
    std::lock_guard lock(m_mu);
    m_rules.push_back(Rule{op, err, nth, sticky});
  }
  // Fails the `nth` next call of any operation (open, write, read, fsync,
  // close, rename, unlink, mkdir, stat, list_dir, lock, and SQLite's I/O on
  // the index database) with `err`: walking
  // nth over 1..calls() reaches every call site an operation passes.
  void fail_call(int nth, int err) {
    std::lock_guard lock(m_mu);
    m_fail_at = m_calls + nth;
    m_fail_errno = err;
  }
  // Calls counted so far (every operation, failed or not).
  int calls() const { return m_calls; }
  // Of those, SQLite's I/O on the index database.
  int db_calls() const { return m_db_calls; }
  void short_writes(std::size_t max_write) { m_max_write = max_write; }
  void reset() {
    std::lock_guard lock(m_mu);
    m_rules.clear();
    m_max_write = 0;
    m_fail_at = 0;
  }
  int injected() const { return m_injected; }

  Result<int> open(const std::string& p, int f, unsigned m) override {
    MITHRIL_TRY(check(Op::kOpen, p));
    return m_real.open(p, f, m);
  }
  Result<std::size_t> write(int fd, const void* d, std::size_t n) override {
    MITHRIL_TRY(check(Op::kWrite, "write"));
    if (m_max_write > 0 && n > m_max_write) n = m_max_write;
    return m_real.write(fd, d, n);
  }
  Result<std::size_t> read(int fd, void* d, std::size_t n) override {
    MITHRIL_TRY(check(Op::kRead, "read"));
    return m_real.read(fd, d, n);
  }
  Result<void> fsync(int fd) override {
    MITHRIL_TRY(check(Op::kFsync, "fsync"));
    return m_real.fsync(fd);
  }
  Result<void> close(int fd) override {
    auto injected = check(Op::kClose, "close");
    auto r = m_real.close(fd);  // the fd is released even when close "fails"
    if (!injected) return injected;
    return r;
  }
  Result<FileStat> fstat(int fd) override {
    MITHRIL_TRY(check(Op::kStat, "fstat"));
    return m_real.fstat(fd);
  }
  Result<void> rename(const std::string& a, const std::string& b) override {
    MITHRIL_TRY(check(Op::kRename, a));
    MITHRIL_TRY(m_real.rename(a, b));
    std::lock_guard lock(m_mu);
    m_renamed_to.push_back(b);
    return {};
  }
  // The destinations of every successful rename so far, in order.
  std::vector<std::string> renamed_to() const {
    std::lock_guard lock(m_mu);
    return m_renamed_to;
  }
  Result<bool> unlink(const std::string& p) override {
    MITHRIL_TRY(check(Op::kUnlink, p));
    return m_real.unlink(p);
  }
  Result<void> mkdir(const std::string& p, unsigned m) override {
    MITHRIL_TRY(check(Op::kMkdir, p));
    if (before_mkdir) before_mkdir(p);
    return m_real.mkdir(p, m);
  }
  // Called (outside the rules' mutex) before every mkdir that was not failed:
  // a test's way to run something between a caller's checks and its mkdir.
  // Set it before the calls it should see, not while they run.
  std::function<void(const std::string&)> before_mkdir;
  Result<void> rmdir(const std::string& p) override { return m_real.rmdir(p); }
  Result<std::optional<FileStat>> stat(const std::string& p) override {
    MITHRIL_TRY(check(Op::kStat, p));
    return m_real.stat(p);
  }
  Result<std::optional<FileStat>> lstat(const std::string& p) override {
    MITHRIL_TRY(check(Op::kStat, p));
    return m_real.lstat(p);
  }
  Result<std::vector<DirEntry>> list_dir(const std::string& p) override {
    MITHRIL_TRY(check(Op::kListDir, p));
    return m_real.list_dir(p);
  }
  Result<int> try_lock_file(const std::string& p) override {
    MITHRIL_TRY(check(Op::kOpen, p));
    return m_real.try_lock_file(p);
  }
  // SQLite's I/O on the index database counts and fails like the calls above.
  Result<void> before_db_io(DbIo op, const char* path) override {
    static constexpr const char* kNames[] = {"open", "read", "write", "truncate", "sync", "delete"};
    static constexpr Op kOps[] = {Op::kOpen, Op::kRead, Op::kWrite, Op::kWrite, Op::kFsync, Op::kUnlink};
    const auto i = static_cast<std::size_t>(op);
    {
      std::lock_guard lock(m_mu);
      ++m_db_calls;
    }
    return check(kOps[i], std::string("sqlite ") + kNames[i] + " " + path);
  }
  std::int64_t now_ns() override {
    return (m_frozen_ns != 0 ? m_frozen_ns : m_real.now_ns()) + m_clock_offset_ns;
  }
  // The user this Env claims to run as (default: the real effective uid), to
  // test a root owned by someone else without a second account.
  std::uint32_t effective_uid() override { return m_uid_set ? m_uid : m_real.effective_uid(); }
  void pretend_uid(std::uint32_t uid) {
    m_uid = uid;
    m_uid_set = true;
  }
  // Stops the clock at `at_ns` (time-based batching then never fires
  // mid-operation, and timestamps written into manifests are the same every
  // run, so an operation makes the same calls every time).
  void freeze_clock(std::int64_t at_ns = 1'800'000'000'000'000'000) { m_frozen_ns = at_ns; }
  void advance_clock(std::int64_t ns) { m_clock_offset_ns += ns; }

 private:
  struct Rule {
    Op op;
    int err;
    int countdown;
    bool sticky;
  };
  Result<void> check(Op op, const std::string& what) {
    std::lock_guard lock(m_mu);
    if (++m_calls == m_fail_at) {
      ++m_injected;
      return std::unexpected(error_from_errno(m_fail_errno, "injected fault: " + what));
    }
    for (auto it = m_rules.begin(); it != m_rules.end(); ++it) {
      if (it->op != op) continue;
      if (it->countdown > 1) {
        --it->countdown;
        continue;
      }
      const int err = it->err;
      if (!it->sticky) m_rules.erase(it);
      ++m_injected;
      return std::unexpected(error_from_errno(err, "injected fault: " + what));
    }
    return {};
  }
  Env& m_real = Env::posix();
  mutable std::mutex m_mu;
  std::vector<Rule> m_rules;
  std::vector<std::string> m_renamed_to;  // guarded by m_mu
  std::size_t m_max_write = 0;
  std::int64_t m_clock_offset_ns = 0;
  std::int64_t m_frozen_ns = 0;
  int m_injected = 0;
  int m_calls = 0;
  int m_db_calls = 0;
  int m_fail_at = 0;
  int m_fail_errno = 0;
  std::uint32_t m_uid = 0;
  bool m_uid_set = false;
};

}  // namespace mithril::testing
