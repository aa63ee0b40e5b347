// The check of framework files before a framework runs (and by `verify`).
// Private to src/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <mithril/cache.h>
#include <mithril/hooks.h>
#include <mithril/key.h>

#include "frameworks/fw_root.h"

namespace mithril::frameworks {

// What a check found wrong.
struct CheckFindings {
  // An unrecorded file that failed its framework's completeness check (a
  // shared object a killed linker left truncated), or a symlink, FIFO or
  // device where a framework looks for its files.
  struct Suspect {
    std::string rel_to_root;
    std::string fw_dir;        // absolute framework directory holding it
    EntryOfFile entry;
    bool not_regular = false;  // refused without judging (no lock needed)
  };
  std::map<std::string, bool> bad;  // recorded entry -> corrupt (true) or incomplete (false)
  std::vector<Suspect> suspects;
  std::uint64_t recorded_checked = 0;  // (find_recorded_problems) recorded files looked at
  bool empty() const { return bad.empty() && suspects.empty(); }
};

// Before a run, only reads: every recorded file of `partition` must have its
// size and mtime, else its digest (a read error fails the check: a file that
// may be fine is never quarantined); every unrecorded file an adapter wants
// checked must pass its completeness check. Adds to report->files_hashed.
Result<CheckFindings> find_problems(FwRoot& fw, const DeviceClass& partition, FrameworkReport* report);
// For verify, only reads: every recorded file of every partition, hashed
// whatever its size and mtime say.
Result<CheckFindings> find_recorded_problems(FwRoot& fw, FrameworkReport* report);

// Quarantines what a check found: bad entries whole, suspects one file each
// unless the framework holds the entry's lock (counted as skipped_busy).
// Counts corruptions. TXN.
Result<void> quarantine_txn(FwRoot& fw, const CheckFindings& found, FrameworkReport* report);

}  // namespace mithril::frameworks
