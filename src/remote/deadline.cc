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
  if (m_none) return cap_ms;
  const std::int64_t left_ns = m_at_ns - steady_ns();
  if (left_ns <= 0) return 0;
  return std::min(cap_ms, std::max<std::int64_t>(1, (left_ns + 999'999) / 1'000'000));
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
