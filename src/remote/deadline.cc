// RemoteDeadline, RemoteStore::check_deadline and the default
// RemoteStore::get_to (<mithril/remote.h>).
#include <algorithm>
#include <chrono>

#include <mithril/remote.h>

namespace mithril {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RemoteDeadline RemoteDeadline::in_ms(std::int64_t ms) {
  RemoteDeadline d;
  if (ms <= 0) return d;
  d.m_none = false;
  d.m_at_ns = steady_ns() + ms * 1'000'000;
  return d;
}

bool RemoteDeadline::expired() const { return !m_none && steady_ns() >= m_at_ns; }

std::int64_t RemoteDeadline::wait_ms(std::int64_t cap_ms) const {
  std::int64_t ms = cap_ms;
  if (!m_none) ms = std::min(ms, (m_at_ns - steady_ns() + 999'999) / 1'000'000);
  return std::max<std::int64_t>(1, ms);  // 0 would mean "no timeout" to the OS, hiredis and curl
}

Result<void> RemoteStore::check_deadline(const std::string& what) const {
  if (!m_deadline.expired()) return {};
  return fail(ErrorCode::kTimeout, m_url.redacted + ": " + what + ": the remote deadline passed");
}

Result<bool> RemoteStore::get_to(const std::string& key, std::uint64_t max_bytes, const ByteSink& sink) {
  MITHRIL_ASSIGN(const auto bytes, get(key, max_bytes));
  if (!bytes || bytes->empty()) return false;
  MITHRIL_TRY(sink(*bytes));
  return true;
}

}  // namespace mithril
