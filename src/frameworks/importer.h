// Importer: publishes framework files that come from outside a framework (a
// bundle's members on unpack, a remote's objects on pull) into a partition
// of a root, with every rule in one place:
//   - paths are relative to <root>/fw/<partition>/ and are written only
//     through real directories (no symlink is followed, nothing is created
//     through one);
//   - a file that is not ours is never replaced: a regular file already at a
//     destination is kept (the check before every run judges it), a
//     symlink, directory or other non-file there refuses the file;
//   - files are staged beside their destinations (".mithril-<kind>.<pid>.<n>",
//     debris a sync deletes) and published all or nothing per Batch (a batch
//     holds whole entries: one entry for a pull, a whole bundle for unpack);
//   - files a framework reads to find the others (Triton's __grp__ files,
//     FrameworkAdapter::publish_last) are published after them;
//   - record() records what was published in the index (not counted as
//     compilations) and appends one history point of the import's kind.
// It uses only Cache's public API.
//
// Thread safety: an Importer may be shared by threads, each with its own
// Batch (pull); a Batch has one owner. The Cache must outlive both.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mithril/cache.h>

#include "env/staged_files.h"

namespace mithril::frameworks {

class Importer {
 public:
  // Imports into `partition` of `cache`'s root; `kind` (kPull, kUnpack)
  // names the staging files and the history point.
  Importer(Cache& cache, const DeviceClass& partition, HistoryKind kind);

  // Files staged together and published all or nothing. Dropping a batch
  // before publish() removes its temp files and the directories it made.
  class Batch {
   public:
    // Stages the file `rel` (relative to fw/<partition>/, a validated entry
    // path). Returns:
    //   - nullopt: a regular file is already there, kept (not staged);
    //   - an fd of a new temp file beside the destination (0600): the caller
    //     writes the verified content and closes it before publish();
    //   - kInvalidArgument when a symlink, directory or other non-file is at
    //     or on the way to the destination; other errors as the OS gave them.
    Result<std::optional<int>> stage(const std::string& rel);
    // Renames every staged file into place (publish-last files last). On a
    // failure nothing of the batch stays. Returns the files published.
    Result<std::size_t> publish();

    // Discards what was not published (temp files, then the directories the
    // batch made, while empty), under the importer's directory lock.
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    friend class Importer;
    explicit Batch(Importer& owner);
    Importer& m_owner;
    detail::StagedFiles m_staged;
  };
  Batch batch() { return Batch(*this); }

  // Records the published files in the index (imported: not counted as
  // compilations) with Cache::sync_frameworks, the changed entries only or
  // with `rescan` every framework directory of the partition; then sets the
  // compile times `costs` (entry name relative to fw/<partition>/ -> ns)
  // brought with them. Appends the import's history point (also when
  // nothing was published). Call once, after every batch.
  Result<FrameworkReport> record(const std::map<std::string, std::int64_t>& costs = {}, bool rescan = false);

 private:
  Cache& m_cache;
  DeviceClass m_partition;
  HistoryKind m_kind;
  std::string m_dest;  // <root>/fw/<partition>
  std::mutex m_mu;
  std::vector<std::string> m_published;  // absolute, guarded by m_mu
  // Batches on several threads share parent directories: a batch holds this
  // from creating a file's missing parents until its temp file is in them,
  // and while removing the directories it made, so a failed batch never
  // removes a directory another batch is about to write into.
  std::mutex m_dirs_mu;
};

}  // namespace mithril::frameworks
