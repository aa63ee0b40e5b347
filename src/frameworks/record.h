// Recording framework entries in the index: after a framework ran, and after
// an import (bundle or pull) published files. Private to src/.
#pragma once

#include <cstdint>

#include <mithril/cache.h>
#include <mithril/key.h>

#include "frameworks/fw_root.h"

namespace mithril::frameworks {

// Brings the index's record of `partition`'s framework entries up to date
// with the disk: records new and changed entries (hashing their files under
// their EntryLock; a busy entry is skipped and counted), forgets vanished
// ones, credits the entries containing an opened file as hits, and (unless
// `activity.imported`) estimates the compile time of the new ones. With
// `activity.changes_known` only the entries holding a changed or opened file
// are read; otherwise every framework directory is rescanned (and symlinks
// and other non-files in it refused). Adds to `report`. TXN.
Result<void> record_txn(FwRoot& fw, const DeviceClass& partition, const FrameworkActivity& activity, std::int64_t now,
                        FrameworkReport* report);

}  // namespace mithril::frameworks
