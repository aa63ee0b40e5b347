// Files of the framework directories as mithril sees them: walked without
// following symlinks, quarantined or deleted only through real directories.
// Private to src/ (the frameworks layer and its users). Thread safety: stateless (all state is on disk).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <mithril/env.h>
#include <mithril/result.h>

namespace mithril::frameworks {

struct Found {
  std::string rel_to_root;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// What a walk of a framework directory saw.
struct Walked {
  std::vector<Found> files;        // regular files (staging debris excluded)
  std::vector<std::string> links;  // symlinks, FIFOs, devices, sockets (relative to the root): refused
};

// A temp file of an unpack or pull that a SIGKILL left behind: never part
// of an entry.
bool is_staging_debris(const std::string& name);

// Walks `dir` (absolute, under `root`) with lstat: regular files go to
// out->files, anything else that is not a real directory to out->links (a
// symlinked directory is never descended into). Staging debris is skipped,
// and deleted when its mtime is before `stale_before_ns` (0: never).
Result<void> walk_fw_dir(Env& env, const std::string& root, const std::string& dir, Walked* out,
                         std::int64_t stale_before_ns = 0);

// The name a quarantined file gets in quarantine/fw: its path with '/' as
// '%', then ".<now_ns>"; a name too long for NAME_MAX keeps its start and
// ends with a hash of the whole path, so long names quarantine too.
std::string quarantine_name(const std::string& rel_to_root, std::int64_t now_ns);

// Moves `root`/`rel` (a file, or a link itself) into `root`/quarantine/fw;
// when the move fails (EXDEV, EACCES, ...) deletes it instead. A path that
// passes through a symlink is touched neither way (kCorruption). Returns
// true when moved, false when deleted or already gone; an error when it is
// still in place.
Result<bool> quarantine_or_delete(Env& env, const std::string& root, const std::string& rel);

// Unlinks `root`/`rel` only when it is a regular file reached through real
// directories (a symlink anywhere on the way: left alone). True when it is
// gone (or was never there), false when it was left alone.
Result<bool> unlink_regular_beneath(Env& env, const std::string& root, const std::string& rel);

}  // namespace mithril::frameworks
