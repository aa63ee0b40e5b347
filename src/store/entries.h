// Keyed entries of the store: a manifest object (the entry's key and file
// list, manifest/entry_manifest.h) plus one object per file. Private to src/. See
// StoreRoot for locking; the owner flushes touches and counters and enforces
// the budget afterwards.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/entry.h>
#include <mithril/key.h>

#include "store/store_root.h"

namespace mithril::store {

// An entry whose manifest and files are staged, not yet published.
struct StagedEntry {
  Entry entry;
  StagedObject manifest;
  std::vector<StagedObject> files;
  std::uint64_t bytes_in = 0;
};

// Validates `key` and the file names and stages every file and the manifest.
// Needs no lock (hashing and writing need no coordination).
Result<StagedEntry> stage_entry(Env& env, ContentStore& objects, const CacheKey& key,
                                const std::vector<EntryFile>& files);
// Publishes a staged entry (replacing one under the same key) in one write
// transaction; counts the put.
Result<Digest> put_entry(StoreRoot& s, StagedEntry&& staged);
// The entry under `key`, or under the wider device class that can serve it;
// a manifest that does not parse or names another key is quarantined.
// Counts the hit or miss and notes the access.
Result<std::optional<Entry>> get_entry(StoreRoot& s, const CacheKey& key);
// One file of a looked-up entry; nullopt when it has no such file or the
// object vanished or was corrupt.
Result<std::optional<std::string>> read_entry_file(StoreRoot& s, const Entry& entry, std::string_view name);
// Removes the entry under `key` (blob or keyed) in one write transaction;
// false when there was none.
Result<bool> remove(StoreRoot& s, const Digest& key);
// The keys of every keyed entry whose manifest still reads and parses.
Result<std::vector<CacheKey>> keys(StoreRoot& s);

}  // namespace mithril::store
