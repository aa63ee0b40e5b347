// Eviction of framework entries: two-phase like objects (doomed in the
// transaction that forgets the entry, unlinked after it), under EntryLock.
#include "frameworks/evict.h"

#include <mithril/log.h>

#include "frameworks/entry_lock.h"
#include "frameworks/fw_files.h"
#include "util/format.h"

namespace mithril::frameworks {
namespace {

using detail::concat;

// Where an entry named <partition>/<framework>/<entry rel> lives.
struct EntryPlace {
  std::string fw_dir;  // absolute
  std::string rel;     // relative to fw_dir
};
EntryPlace place_of(const FwRoot& fw, const std::string& name) {
  const auto first = name.find('/');
  const auto second = name.find('/', first + 1);
  return {concat(fw.root, "/fw/", std::string_view(name).substr(0, second)), name.substr(second + 1)};
}

// Unlinks one doomed file and its parents left empty (e.g. fxgraph/<2ch>/<key>/),
// never the framework directory itself, and never through a symlink (such a
// file counts as gone: it is not ours). False when the unlink failed.
bool unlink_with_empty_parents(Env& env, const std::string& root, const std::string& abs, const std::string& fw_dir) {
  const auto unlinked = unlink_regular_beneath(env, root, abs.substr(root.size() + 1));
  if (!unlinked) return false;
  if (!*unlinked) return true;  // a symlink on the way, or not a regular file: left alone, forgotten
  for (std::string dir = abs.substr(0, abs.find_last_of('/')); dir.size() > fw_dir.size();
       dir = dir.substr(0, dir.find_last_of('/'))) {
    if (!env.rmdir(dir)) break;
  }
  return true;
}

}  // namespace

Result<bool> evict_entry_txn(FwRoot& fw, const FwEntryRecord& oldest) {
  const EntryPlace where = place_of(fw, oldest.name);
  {
    MITHRIL_ASSIGN(const auto lock, EntryLock::acquire(fw.env, where.fw_dir, where.rel, oldest.kind));
    if (!lock) {  // a framework process is writing it: it is in use
      MITHRIL_TRY(fw.index.fw_touch(oldest.name, fw.env.now_ns()));
      return false;
    }
  }
  MITHRIL_ASSIGN(const auto files, fw.index.fw_remove_entry(oldest.name));
  MITHRIL_TRY(fw.index.fw_kind_add(oldest.kind, {.evictions = 1, .evicted_bytes = static_cast<std::int64_t>(oldest.size)}));
  MITHRIL_TRY(fw.index.fw_doom(oldest.name, oldest.kind, files));
  fw.purge_needed = true;  // the files go after the commit
  return true;
}

Result<void> purge_doomed_txn(FwRoot& fw) {
  MITHRIL_ASSIGN(const auto doomed, fw.index.fw_doomed());
  std::size_t i = 0;
  while (i < doomed.size()) {  // one entry (a run of rows) at a time, under its lock
    const std::string& entry = doomed[i].entry;
    const EntryPlace where = place_of(fw, entry);
    MITHRIL_ASSIGN(const auto lock, EntryLock::acquire(fw.env, where.fw_dir, where.rel, doomed[i].kind));
    for (; i < doomed.size() && doomed[i].entry == entry; ++i) {
      if (!lock) continue;  // torch is writing it: next purge
      MITHRIL_ASSIGN(const bool revived, fw.index.fw_file_recorded(doomed[i].path));
      const std::string abs = concat(fw.root, "/", doomed[i].path);
      if (!revived && !unlink_with_empty_parents(fw.env, fw.root, abs, where.fw_dir)) continue;  // stays doomed: retried
      MITHRIL_TRY(fw.index.fw_undoom(doomed[i].path));
    }
  }
  return {};
}

Result<root::Footprint> FwSource::footprint() {
  root::Footprint f;
  MITHRIL_ASSIGN(f.bytes, m_fw.index.fw_bytes());
  MITHRIL_ASSIGN(const std::uint64_t all_files, m_fw.index.file_count());
  MITHRIL_ASSIGN(const std::uint64_t objects, m_fw.index.object_count());
  f.files = all_files - objects;  // file_count() is objects + framework files
  return f;
}

Result<std::optional<root::EvictionCandidate>> FwSource::oldest_txn() {
  MITHRIL_ASSIGN(m_oldest, m_fw.index.fw_oldest());
  if (!m_oldest) return std::optional<root::EvictionCandidate>{};
  return root::EvictionCandidate{m_oldest->name, m_oldest->kind, m_oldest->size, m_oldest->last_access_ns};
}

Result<bool> FwSource::evict_txn(const root::EvictionCandidate& c) {
  if (!m_oldest || m_oldest->name != c.name) {
    return fail(ErrorCode::kInvalidArgument, "evict_txn: '" + c.name + "' is not the last candidate");
  }
  const FwEntryRecord oldest = *m_oldest;
  m_oldest.reset();
  MITHRIL_ASSIGN(const bool evicted, evict_entry_txn(m_fw, oldest));
  const std::uint64_t freed = evicted ? oldest.size : 0;
  MITHRIL_LOG(LogLevel::kInfo, freed > 0 ? "evict" : "evict_skipped_busy",
              {{"entry", oldest.name}, {"kind", oldest.kind}, {"bytes", static_cast<std::int64_t>(oldest.size)}});
  if (freed > 0) {
    MITHRIL_TRY(m_fw.index.eviction_log_add({m_fw.env.now_ns(), oldest.name, oldest.kind, oldest.size, "budget"}));
  }
  return evicted;
}

}  // namespace mithril::frameworks
