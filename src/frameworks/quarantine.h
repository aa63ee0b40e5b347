// Quarantine of framework entries and of files a framework must never load
// through (symlinks, FIFOs, devices). Private to src/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frameworks/fw_root.h"

namespace mithril::frameworks {

// Moves the files of framework entry `name` (an index name) into quarantine
// (or deletes them) and forgets it. A file neither move nor delete removed is
// doomed: never recorded as a valid entry again, its unlink retried by every
// purge. Returns the files handled. TXN.
Result<std::uint64_t> quarantine_entry_txn(FwRoot& fw, const std::string& name);

// Refuses files that are not regular (symlinks, FIFOs, devices) found in a
// framework directory (paths relative to the root): each is moved into
// quarantine (the link itself, never its target) or deleted, so a framework
// never loads through it. Returns how many were moved.
std::uint64_t refuse_links(FwRoot& fw, const std::vector<std::string>& links);

}  // namespace mithril::frameworks
