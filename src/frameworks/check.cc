// The check of framework files before a run (and by verify): recorded files
// against their records, unrecorded files against their framework's
// completeness check; what fails is quarantined.
#include "frameworks/check.h"

#include <unordered_set>

#include <mithril/log.h>

#include "cas/object_io.h"
#include "frameworks/entry_lock.h"
#include "frameworks/fw_files.h"
#include "frameworks/quarantine.h"
#include "frameworks/registry.h"
#include "util/format.h"

namespace mithril::frameworks {
namespace {

using detail::concat;
using detail::hash_file;
using detail::read_prefix;

// Check pass 1: every recorded file of the partition has its size and mtime,
// else the same digest. Only reads. Adds the recorded paths to `known`.
// With `full`, every file is hashed (verify), not only changed ones.
Result<void> check_recorded_files(FwRoot& fw, const std::string& prefix, std::map<std::string, bool>* bad,
                                  std::unordered_set<std::string>* known, FrameworkReport* report,
                                  bool full = false) {
  MITHRIL_ASSIGN(const auto recorded, fw.index.fw_files());
  known->reserve(recorded.size());
  std::string abs = fw.root + "/";
  const std::size_t base = abs.size();
  for (const auto& f : recorded) {
    if (!f.path.starts_with(prefix)) continue;
    known->insert(f.path);
    abs.resize(base);
    abs += f.path;
    MITHRIL_ASSIGN(const auto st, fw.env.lstat(abs));
    if (!st) {
      bad->emplace(f.entry, false);
      continue;
    }
    if (!st->is_regular()) {  // replaced by a symlink, FIFO or device: never followed
      (*bad)[f.entry] = true;
      continue;
    }
    if (!full && st->size == f.size && st->mtime_ns == f.mtime_ns) continue;
    const auto real = lstat_beneath(fw.env, fw.root, abs);  // only through real directories
    if (!real && real.error().code != ErrorCode::kCorruption) return std::unexpected(real.error());
    if (!real || !*real) {  // a directory above it is a symlink now (never read through), or it is gone
      if (!real) (*bad)[f.entry] = true;
      else bad->emplace(f.entry, false);
      continue;
    }
    auto d = hash_file(fw.env, abs);
    ++report->files_hashed;
    if (!d && d.error().sys_errno == ENOENT) {
      bad->emplace(f.entry, false);  // gone since the stat
      continue;
    }
    // A read error says nothing about the bytes: fail the check, never
    // quarantine a file that may be fine.
    if (!d) return std::unexpected(d.error());
    if (*d != f.digest) (*bad)[f.entry] = true;
  }
  return {};
}

// Check pass 2: unrecorded files that must be complete (shared objects): a
// linker killed mid-write leaves a partial .so at its final name, which torch
// would load and crash on. They live one level down (Inductor's <2ch>/,
// Triton's <key>/), so only the subdirectories an adapter names are listed,
// not every FX entry directory.
Result<std::vector<CheckFindings::Suspect>> find_partial_shared_objects(FwRoot& fw,
                                                                         const std::vector<FrameworkDir>& dirs,
                                                                         const std::unordered_set<std::string>& known) {
  const std::size_t base = fw.root.size() + 1;
  std::vector<CheckFindings::Suspect> suspects;
  for (const auto& dir : dirs) {
    const FrameworkAdapter& adapter = adapter_for(dir.framework);
    MITHRIL_ASSIGN(const auto top, fw.env.list_dir(dir.path));
    for (const auto& sub : top) {
      const std::string sub_path = concat(dir.path, "/", sub.name);
      if (sub.is_symlink) suspects.push_back(CheckFindings::Suspect{sub_path.substr(base), dir.path, {}, true});
      if (!sub.is_dir || !adapter.lists_for_completeness(sub.name)) continue;
      MITHRIL_ASSIGN(const auto files, fw.env.list_dir(sub_path));
      for (const auto& file : files) {
        if (file.is_dir) continue;
        const std::string path = concat(sub_path, "/", file.name);
        const std::string rel_to_root = path.substr(base);
        if (file.is_symlink) suspects.push_back(CheckFindings::Suspect{rel_to_root, dir.path, {}, true});
        if (file.is_symlink || !adapter.needs_completeness_check(file.name) || known.count(rel_to_root) > 0) continue;
        const auto entry = entry_of(dir.framework, concat(sub.name, "/", file.name));
        if (entry.name.empty()) continue;
        MITHRIL_ASSIGN(const auto st, fw.env.lstat(path));
        if (!st) continue;
        if (!st->is_regular()) {
          suspects.push_back(CheckFindings::Suspect{rel_to_root, dir.path, {}, true});
          continue;
        }
        MITHRIL_ASSIGN(const auto head, read_prefix(fw.env, path, 64));
        if (head && adapter.complete(*head, st->size)) continue;
        suspects.push_back(CheckFindings::Suspect{rel_to_root, dir.path, entry});
      }
    }
  }
  return suspects;
}

}  // namespace

Result<CheckFindings> find_problems(FwRoot& fw, const DeviceClass& partition, FrameworkReport* report) {
  CheckFindings found;
  std::unordered_set<std::string> known;
  const std::string prefix = std::string(kFwPrefix) + partition.to_string() + "/";
  MITHRIL_TRY(check_recorded_files(fw, prefix, &found.bad, &known, report));
  const auto dirs = framework_dirs(fw.root, partition);
  MITHRIL_ASSIGN(found.suspects, find_partial_shared_objects(fw, dirs, known));
  return found;
}

Result<CheckFindings> find_recorded_problems(FwRoot& fw, FrameworkReport* report) {
  CheckFindings found;
  std::unordered_set<std::string> known;
  MITHRIL_TRY(check_recorded_files(fw, std::string(kFwPrefix), &found.bad, &known, report, /*full=*/true));
  found.recorded_checked = known.size();
  return found;
}

Result<void> quarantine_txn(FwRoot& fw, const CheckFindings& found, FrameworkReport* report) {
  for (const auto& [entry, corrupt] : found.bad) {
    MITHRIL_LOG(LogLevel::kWarn, "quarantine",
                {{"entry", entry}, {"reason", corrupt ? "digest mismatch" : "file missing"}});
    MITHRIL_ASSIGN(const std::uint64_t moved, quarantine_entry_txn(fw, entry));
    report->quarantined_files += moved;
    ++report->quarantined_entries;
    if (corrupt) fw.count(Counter::kCorruptions);
  }
  for (const auto& s : found.suspects) {
    if (s.not_regular) {
      report->quarantined_files += refuse_links(fw, {s.rel_to_root});
      continue;
    }
    MITHRIL_ASSIGN(const auto lock, EntryLock::acquire(fw.env, s.fw_dir, s.entry.name, s.entry.kind));
    if (!lock) {
      ++report->skipped_busy;  // being linked right now
      continue;
    }
    MITHRIL_LOG(LogLevel::kWarn, "quarantine", {{"file", s.rel_to_root}, {"reason", "incomplete ELF shared object"}});
    auto moved = quarantine_or_delete(fw.env, fw.root, s.rel_to_root);
    MITHRIL_TRY(moved);
    ++report->quarantined_files;
    ++report->quarantined_entries;
    fw.count(Counter::kCorruptions);
  }
  return {};
}

}  // namespace mithril::frameworks
