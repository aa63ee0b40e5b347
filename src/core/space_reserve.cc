#include "core/space_reserve.h"

#include "util/format.h"

namespace mithril {

bool release_space_reserve(Env& env, const std::string& root) {
  const auto gone = env.unlink(detail::concat(root, "/", kSpaceReserveName));
  return gone && *gone;
}

void restore_space_reserve(Env& env, const std::string& root) {
  const std::string path = detail::concat(root, "/", kSpaceReserveName);
  const auto st = env.stat(path);
  const std::optional<FileStat> found = st ? *st : std::nullopt;
  if (found && found->is_regular() && found->size == kSpaceReserveBytes) return;
  // Atomic: a half-written reserve never stands in for a whole one.
  (void)write_file_atomic(env, path, std::string(kSpaceReserveBytes, '\0'), false);
}

}  // namespace mithril
