// Objects of the keyed store: publishing a staged object, reading one for a
// lookup, dropping the entries of a bad one, and the second phase of object
// deletion. Private to src/.
//
// The refcount/doom protocol: an object's refcount is its number of entries
// (the index keeps it); the transaction that removes its last entry dooms it
// (StoreRoot::note_doomed), and purge_doomed_txn unlinks its file after that
// commit, unless a put revived it meanwhile. See StoreRoot for locking.
#pragma once

#include <optional>
#include <string>

#include "store/store_root.h"

namespace mithril::store {

// Publishes a staged object, or drops it when the index already has it (and
// its file is there). Counts dedup. TXN.
Result<ObjectInfo> publish_txn(StoreRoot& s, StagedObject&& staged);
// Second phase of object deletion: unlinks the files of doomed objects
// (unless a put revived them) and forgets them. A failed unlink leaves an
// orphan file (verify --repair removes it). TXN.
Result<void> purge_doomed_txn(StoreRoot& s);
// A stored object failed verification (`corrupt`: counted) or vanished:
// drops every entry that holds it, in its own write transaction.
Result<void> drop_object(StoreRoot& s, const Digest& digest, bool corrupt);
// Reads an object for a lookup: nullopt when it vanished or was corrupt
// (both handled by drop_object).
Result<std::optional<std::string>> read_object(StoreRoot& s, const Digest& digest);

}  // namespace mithril::store
