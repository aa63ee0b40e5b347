// Entries: what the cache stores under a key.
//
// A *blob entry* is one object whose key is its own digest (`mithril put`).
// A *keyed entry* maps a CacheKey to a set of named files; it is stored as a
// manifest object (JSON, see docs/cas_layout.md) that lists each file's name,
// digest and size, plus the file objects themselves. Objects are shared
// between entries (deduplicated) and reference-counted in the index.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <mithril/digest.h>
#include <mithril/export.h>
#include <mithril/result.h>

namespace mithril {

enum class EntryKind : int {
  kBlob = 1,      // key == root == the single object
  kManifest = 2,  // root is a manifest object listing the entry's files
};

// One row of the index, as `mithril ls` shows it.
struct MITHRIL_API EntryRecord {
  Digest key;
  EntryKind kind = EntryKind::kBlob;
  Digest root;
  std::string name_space;  // "namespace" is a C++ keyword
  std::string device;      // DeviceClass::to_string(), empty for blobs
  std::uint64_t size = 0;  // stored bytes of all its objects
  std::int64_t created_ns = 0;
  std::int64_t last_access_ns = 0;
  std::int64_t hits = 0;
};

// A file to store in a keyed entry. `name` is a relative path inside the
// entry: non-empty, no leading '/', no "." or ".." components, no NUL.
struct MITHRIL_API EntryFile {
  std::string name;
  std::string data;
};

struct MITHRIL_API FileRef {
  std::string name;
  Digest digest;
  std::uint64_t size = 0;
};

// A keyed entry as read back from its manifest.
struct MITHRIL_API Entry {
  Digest key;               // CacheKey::digest() it is stored under
  std::string key_bytes;    // CacheKey::serialize() of the stored key
  std::string name_space;
  std::string device;
  std::int64_t created_ns = 0;
  std::vector<FileRef> files;
};

// Checks the relative-path rules of EntryFile::name.
MITHRIL_API Result<void> validate_entry_path(const std::string& name);
// Among the relative paths of one import, the first that is also a directory
// on the way to another ("a" with "a/b"), which no file system can hold both
// of; nullopt when they can coexist.
MITHRIL_API std::optional<std::string> conflicting_path(const std::set<std::string>& paths);

}  // namespace mithril
