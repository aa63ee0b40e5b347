// Blob entries of the keyed store: one object named by its own digest.
// Private to src/. See StoreRoot for locking; the owner flushes touches and
// counters and enforces the budget afterwards.
#pragma once

#include <optional>
#include <string>

#include "store/store_root.h"

namespace mithril::store {

// Publishes a staged blob and records its blob entry in one write
// transaction; counts the put.
Result<ObjectInfo> put_blob(StoreRoot& s, StagedObject&& staged);
// The blob stored under `digest`, nullopt on a miss; counts the hit or miss
// and notes the access.
Result<std::optional<std::string>> get_blob(StoreRoot& s, const Digest& digest);
// Like get_blob, written to `dest` instead; false on a miss.
Result<bool> get_blob_to_file(StoreRoot& s, const Digest& digest, const std::string& dest);

}  // namespace mithril::store
