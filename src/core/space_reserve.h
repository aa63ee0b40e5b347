// A reserve of disk space in the root: <root>/space-reserve, 1 MiB of zeros.
// On a 100 % full disk SQLite cannot even open the index (its WAL and
// shared-memory files need room), so neither `gc`, `rm` and `clear`, which
// would free space, nor `stats` could run. Releasing the reserve gives them
// that room; it is put back once mithril has freed space. Not counted in
// the budget (it is not cached data). See docs/guarantees.md.
#pragma once

#include <cstdint>
#include <string>

#include <mithril/env.h>

namespace mithril {

inline constexpr std::uint64_t kSpaceReserveBytes = 1ull << 20;
inline constexpr const char* kSpaceReserveName = "space-reserve";

// Deletes the reserve. True when there was one (so retrying may now work).
bool release_space_reserve(Env& env, const std::string& root);
// Writes the reserve when it is missing or short; best effort (a disk still
// full leaves it missing, and nothing else changes).
void restore_space_reserve(Env& env, const std::string& root);

}  // namespace mithril
