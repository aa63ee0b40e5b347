// Eviction of framework entries (whole entries, LRU order chosen by the
// caller). Private to src/.
#pragma once

#include <cstdint>

#include "frameworks/fw_root.h"

namespace mithril::frameworks {

// Removes framework entry `oldest` from the index and dooms its files
// (unlinked after the commit, see purge_doomed_txn). Returns the bytes freed;
// 0 when a framework process holds the entry's lock (the entry is then
// marked used). TXN.
Result<std::uint64_t> evict_entry_txn(FwRoot& fw, const FwEntryRecord& oldest);
// Second phase: unlinks the doomed files (unless a sync recorded them again)
// and their parents left empty, never through a symlink, and forgets them;
// an entry whose lock a framework holds is left for the next purge. TXN.
Result<void> purge_doomed_txn(FwRoot& fw);

}  // namespace mithril::frameworks
