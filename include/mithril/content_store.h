// ContentStore: a content-addressed object store on the local file system.
//
// Layout under the store directory `dir`:
//   dir/ab/cd/<64 hex>        an object (its exact content), or
//   dir/ab/cd/<64 hex>.zst    the same object as one zstd frame
//   dir/tmp/                  staging area for writers (same file system)
// where "ab" and "cd" are the first two bytes of the digest (256 x 256 shards,
// created lazily). The digest is always BLAKE3 of the *uncompressed* content.
//
// Publishing is atomic: a writer fills a temp file in dir/tmp, optionally
// fsyncs it, and rename(2)s it into its shard; readers see either no object
// or the whole object, never a torn one. Every read is verified against the
// digest (unless disabled); a mismatch quarantines the object into
// `quarantine_dir` and returns ErrorCode::kCorruption, never the bad bytes.
//
// Trust: only real directories and regular files are objects. A shard that
// is a symlink (dir/ab -> elsewhere) is never descended into, read, renamed
// or deleted through: its objects count as absent. A symlink, FIFO or device
// in an object's place is never followed or waited on: reads and verify
// quarantine it (the link itself is moved). Temp cleanup deletes only regular
// files in a real dir/tmp.
//
// Thread and process safety: any number of threads and processes may use
// stores on the same directory at once. Two writers of the same content both
// succeed; one wins the rename, the content is identical. Removing an object
// while another process publishes the same digest is the caller's race to
// order (the Cache orders both under its index write lock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <mithril/digest.h>
#include <mithril/env.h>
#include <mithril/export.h>
#include <mithril/result.h>

namespace mithril {

struct MITHRIL_API StoreOptions {
  bool fsync = false;             // fsync each object (and its shard dir) before it is visible
  bool compress = false;          // store objects as zstd frames
  int compression_level = 1;      // zstd level, 1..19
  bool verify_on_read = true;     // hash every object read; a mismatch is corruption
  // A staged object larger than this (uncompressed) is refused with kNoSpace
  // as soon as that many bytes were read: a stream (/dev/zero) stops there
  // instead of filling the disk. The Cache sets it to its budget.
  std::uint64_t max_object_size = UINT64_MAX;
};

struct MITHRIL_API ObjectInfo {
  Digest digest;
  std::uint64_t size = 0;         // uncompressed bytes
  std::uint64_t stored_size = 0;  // bytes on disk
  bool compressed = false;
  bool existed = false;           // (put only) the object was already stored
  std::int64_t mtime_ns = 0;      // (stat/for_each only) file modification time
};

// A written but not yet visible object. Move-only; publish() or discard() it.
// Destroying it unpublished deletes the temp file.
class MITHRIL_API StagedObject {
 public:
  StagedObject() = default;
  StagedObject(StagedObject&& other) noexcept;
  StagedObject& operator=(StagedObject&& other) noexcept;
  ~StagedObject();
  const ObjectInfo& info() const { return m_info; }

 private:
  friend class ContentStore;
  Env* m_env = nullptr;
  std::string m_temp_path;  // empty once published or discarded
  ObjectInfo m_info;
};

class MITHRIL_API ContentStore {
 public:
  // Opens (creating if needed, mode 0700) the store in `dir`.
  // REQUIRES: `env` outlives the store.
  static Result<std::unique_ptr<ContentStore>> open(std::string dir, StoreOptions options,
                                                    Env& env = Env::posix());

  // Hashes `data` and writes it to a temp file. Nothing is visible yet.
  // `allow_compression` = false stores raw bytes even when compression is on
  // (used for small manifests, which the recovery scan must read cheaply).
  Result<StagedObject> stage_bytes(std::string_view data, bool allow_compression = true);
  // Streams the file at `path` through the hasher (and compressor) into a temp file.
  Result<StagedObject> stage_file(const std::string& path);
  // Makes a staged object visible under its digest (atomic rename). If the
  // object already exists the temp file is dropped and `existed` is set.
  Result<ObjectInfo> publish(StagedObject&& staged);

  // stage + publish in one call.
  Result<ObjectInfo> put_bytes(std::string_view data);
  Result<ObjectInfo> put_file(const std::string& path);

  // The verified content, or nullopt when the object is absent.
  Result<std::optional<std::string>> get(const Digest& digest);
  // Writes the verified content to `dest` atomically (temp + rename next to
  // `dest`). Returns false when the object is absent; `dest` is untouched then.
  Result<bool> get_to_file(const Digest& digest, const std::string& dest);

  // Size and form of a stored object, without reading it; nullopt when absent.
  Result<std::optional<ObjectInfo>> stat(const Digest& digest);
  // Deletes both forms of the object. Returns whether anything was deleted.
  Result<bool> remove(const Digest& digest);
  // Reads and hashes the object. Returns false (after quarantining it when
  // `quarantine`) if it does not match its name; absent objects are true.
  Result<bool> verify(const Digest& digest, bool quarantine);
  // Moves the object's file(s) into quarantine_dir().
  Result<void> quarantine(const Digest& digest);

  // Calls `fn` for every stored object (unordered) until it returns false.
  // Files that are not objects (wrong names) are reported to `on_stray` if given.
  Result<void> for_each(const std::function<bool(const ObjectInfo&)>& fn,
                        const std::function<void(const std::string&)>& on_stray = {});
  // Deletes temp files older than `min_age_ns` (writers killed mid-put).
  // Files a live writer is still filling are younger and are kept.
  Result<std::size_t> remove_stale_temp_files(std::int64_t min_age_ns);

  std::string path_of(const Digest& digest, bool compressed) const;
  const std::string& dir() const { return m_dir; }
  std::string quarantine_dir() const { return m_dir + "/../quarantine"; }
  const StoreOptions& options() const { return m_options; }

 private:
  ContentStore(std::string dir, StoreOptions options, Env& env)
      : m_dir(std::move(dir)), m_options(options), m_env(&env) {}
  struct Opened {
    int fd = -1;               // -1: absent (or not_regular)
    bool compressed = false;
    bool not_regular = false;  // a symlink, FIFO or device sits in its place
  };
  Result<int> open_temp(std::string* path);
  Result<Opened> open_object(const Digest& digest);
  Result<void> refuse_not_regular(const Digest& digest);
  // lstat of one form of the object; nullopt when absent or its shard is a symlink.
  Result<std::optional<FileStat>> lstat_object(const Digest& digest, bool compressed);
  Result<StagedObject> stage_stream(int in_fd, std::string_view data, bool compress,
                                    std::optional<std::uint64_t> size);

  std::string m_dir;
  StoreOptions m_options;
  Env* m_env;
};

}  // namespace mithril
