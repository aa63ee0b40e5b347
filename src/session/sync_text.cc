#include <mithril/session.h>

#include "util/format.h"

namespace mithril {

std::string sync_summary(const char* verb, const std::string& url, const SyncReport& r) {
  std::string out = detail::str_format(
      "%s %s: %llu entries transferred (%llu objects, %s on the wire, %s), %llu already there, %.2f s", verb,
      url.c_str(), static_cast<unsigned long long>(r.entries_transferred),
      static_cast<unsigned long long>(r.objects_transferred), format_size(r.wire_bytes).c_str(),
      format_size(r.logical_bytes).c_str(), static_cast<unsigned long long>(r.entries_present), r.seconds);
  if (r.errors + r.timeouts + r.rejected + r.skipped > 0) {
    out += detail::str_format("; %llu errors, %llu timeouts, %llu rejected, %llu skipped",
                              static_cast<unsigned long long>(r.errors), static_cast<unsigned long long>(r.timeouts),
                              static_cast<unsigned long long>(r.rejected), static_cast<unsigned long long>(r.skipped));
  }
  return out;
}

}  // namespace mithril
