// Whether a file at the index's path is mithril's index, judged without
// modifying it (no SQLite write, no WAL checkpoint, no journal rollback).
// Private to src/index and src/core.
#pragma once

#include <cstdint>
#include <string>

#include <mithril/env.h>
#include <mithril/result.h>

namespace mithril::detail {

// PRAGMA application_id of every index this version creates ("MITH").
inline constexpr std::int32_t kIndexApplicationId = 0x4d495448;

// True when `path` is absent or empty (a new index), a SQLite database
// carrying kIndexApplicationId, one with application_id 0 (an index of an
// earlier version) whose tables are all ours, or not a SQLite file at all
// (damage: SQLite refuses to open it, without writing, and the caller sets
// it aside as damaged). False for another program's database (another
// application_id, or tables not ours) and for a symlink, FIFO or device
// (never followed or opened).
// Reads the header through `env`; the table check opens the file read-only
// and immutable (SQLite's own I/O, never a write).
Result<bool> index_file_is_ours(Env& env, const std::string& path);

}  // namespace mithril::detail
