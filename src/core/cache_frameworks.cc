// Framework caches inside a root: integrity check before a run, recording
// after it, and eviction of whole framework entries.
#include <climits>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include <mithril/hooks.h>
#include <mithril/log.h>

#include "cas/object_io.h"
#include "core/cache_impl.h"
#include "core/fw_files.h"
#include "util/format.h"

namespace mithril {
namespace {

constexpr std::string_view kFwPrefix = "fw/";

using detail::Found;

// Locks an Inductor code module the way torch does (locks/<key>.lock), so we
// never judge or delete a kernel while a torch process is compiling it.
// Returns the fd (>= 0), -1 when busy, or -2 when the entry has no lock.
Result<int> lock_entry(Env& env, const std::string& fw_dir, const std::string& entry_rel, const std::string& kind) {
  if (kind != "inductor-code") return -2;
  std::string key = entry_rel.substr(entry_rel.find('/') + 1);
  if (key.size() + 5 > NAME_MAX) key = "mithril-" + blake3(key).to_hex();  // torch cannot lock such a name either
  MITHRIL_TRY(make_dirs(env, fw_dir + "/locks"));
  return env.try_lock_file(fw_dir + "/locks/" + key + ".lock");
}

// Moves the files of a framework entry into quarantine (or deletes them)
// and forgets it. A file neither move nor delete removed is doomed: never
// recorded as a valid entry again, its unlink retried by every purge. TXN.
Result<std::uint64_t> quarantine_fw_entry_txn(Cache::Impl& impl, const std::string& name) {
  MITHRIL_ASSIGN(const std::string kind, impl.index->fw_kind_of(name));
  MITHRIL_ASSIGN(const auto files, impl.index->fw_remove_entry(name));
  std::uint64_t bytes = 0;
  for (const auto& f : files) bytes += f.size;
  MITHRIL_TRY(impl.index->eviction_log_add({impl.env.now_ns(), name, kind, bytes, "corrupt"}));
  MITHRIL_TRY(impl.index->fw_kind_add(kind, {.quarantined = 1}));
  std::uint64_t handled = 0;
  std::vector<FwFile> stuck;
  for (const auto& f : files) {
    auto r = detail::quarantine_or_delete(impl.env, impl.config.root, f.path);
    if (r) {
      handled += 1;
      continue;
    }
    MITHRIL_LOG(LogLevel::kWarn, "quarantine_failed", {{"file", f.path}, {"error", r.error().message}});
    stuck.push_back(f);
  }
  if (!stuck.empty()) {
    MITHRIL_TRY(impl.index->fw_doom(name, kind, stuck));
    impl.purge_needed = true;
  }
  return handled;
}

// Refuses files that are not regular (symlinks, FIFOs, devices) found in a
// framework directory: each is moved into quarantine (the link itself, never
// its target) or deleted, so a framework never loads through it.
std::uint64_t refuse_links(Cache::Impl& impl, const std::vector<std::string>& links) {
  std::uint64_t n = 0;
  for (const auto& rel : links) {
    MITHRIL_LOG(LogLevel::kWarn, "quarantine", {{"file", rel}, {"reason", "not a regular file (symlink, FIFO or device)"}});
    n += detail::quarantine_or_delete(impl.env, impl.config.root, rel) ? 1 : 0;
  }
  return n;
}
}  // namespace

namespace {

// The index name of entry `rel_name` of framework directory `dir`:
// "<partition>/<framework>/<rel_name>" (dir.path minus "<root>/fw/").
std::string fw_entry_name(const Cache::Impl& impl, const FrameworkDir& dir, const std::string& rel_name) {
  return dir.path.substr(impl.config.root.size() + 1 + kFwPrefix.size()) + "/" + rel_name;
}

// Files currently on disk that belong to entry `rel_name` of `dir`; those
// that are not regular files go to `links` (refused).
Result<std::vector<Found>> entry_files_on_disk(Env& env, const std::string& root, const FrameworkDir& dir,
                                               const std::string& rel_name, std::vector<std::string>* links) {
  detail::Walked walked;
  const std::string path = dir.path + "/" + rel_name;
  MITHRIL_ASSIGN(const auto st, env.lstat(path));
  const std::size_t cut = dir.path.size() + 1;
  if (st && st->is_dir()) {
    MITHRIL_TRY(detail::walk_fw_dir(env, root, path, &walked));
  } else {
    // A code module: siblings sharing the stem, e.g. ab/cabc.main.cpp + .main.so.
    const std::string parent = path.substr(0, path.find_last_of('/'));
    MITHRIL_ASSIGN(const auto parent_st, lstat_beneath(env, root, parent));
    if (!parent_st || !parent_st->is_dir()) return std::vector<Found>{};
    MITHRIL_ASSIGN(const auto children, env.list_dir(parent));
    for (const auto& c : children) {
      if (c.is_dir) continue;
      const std::string child = parent + "/" + c.name;
      MITHRIL_ASSIGN(const auto cst, env.lstat(child));
      if (cst && cst->is_regular()) walked.files.push_back(Found{child.substr(root.size() + 1), cst->size, cst->mtime_ns});
      if (cst && !cst->is_regular() && !cst->is_dir()) walked.links.push_back(child.substr(root.size() + 1));
    }
  }
  const auto mine = [&](const std::string& rel_to_root) {
    return framework_entry_of(dir.framework, (root + "/" + rel_to_root).substr(cut)).name == rel_name;
  };
  for (auto& l : walked.links) {
    if (mine(l)) links->push_back(std::move(l));
  }
  std::vector<Found> out;
  for (auto& f : walked.files) {
    if (mine(f.rel_to_root)) out.push_back(std::move(f));
  }
  return out;
}

// New entries of a run, with when their last file was written (0: unknown),
// for the compile-time estimate.
using FreshEntries = std::vector<std::pair<std::string, std::int64_t>>;

// A reused entry: marks it used and credits the compile time it saved.
Result<void> credit_hit_txn(Cache::Impl& impl, const std::string& name, std::int64_t now, FrameworkReport* report) {
  MITHRIL_TRY(impl.index->fw_touch(name, now));
  MITHRIL_ASSIGN(const std::int64_t saved, impl.index->fw_cost(name));
  report->compile_ns_saved += saved;
  if (saved == 0) return {};
  MITHRIL_ASSIGN(const std::string kind, impl.index->fw_kind_of(name));
  return impl.index->fw_kind_add(kind, {.saved_ns = saved});
}

// Brings the record of one entry up to date with `files` (what is on disk).
// TXN. `recorded` are the entry's files as last recorded.
Result<void> record_entry_txn(Cache::Impl& impl, const FrameworkDir& dir, const std::string& rel_name,
                              const std::string& kind, const std::vector<Found>& files,
                              const std::vector<FwFile>& recorded, bool used, std::int64_t now,
                              const FrameworkActivity& activity, FreshEntries* fresh, FrameworkReport* report) {
  const std::string name = fw_entry_name(impl, dir, rel_name);
  if (files.empty()) {
    if (!recorded.empty()) {
      MITHRIL_TRY(impl.index->fw_remove_entry(name));
      ++report->removed_entries;
    }
    return {};
  }
  std::map<std::string, const FwFile*> known;
  for (const auto& f : recorded) known.emplace(f.path, &f);
  bool changed = known.size() != files.size();
  for (const auto& f : files) {
    auto it = known.find(f.rel_to_root);
    changed = changed || it == known.end() || it->second->size != f.size || it->second->mtime_ns != f.mtime_ns;
  }
  if (!changed) {  // a hit when the run read it; an entry written in this run is not a hit
    if (used) {
      ++report->accessed_entries;
      MITHRIL_TRY(credit_hit_txn(impl, name, now, report));
    }
    return {};
  }
  if (recorded.empty()) {  // evicted, files not all unlinked yet: not an entry again
    MITHRIL_ASSIGN(const bool doomed, impl.index->fw_entry_doomed(name));
    if (doomed) return {};
  }
  MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, dir.path, rel_name, kind));
  if (fd == -1) {
    ++report->skipped_busy;  // torch is still writing it: record it next time
    return {};
  }
  std::vector<FwFile> out;
  for (const auto& f : files) {
    auto it = known.find(f.rel_to_root);
    FwFile rec{f.rel_to_root, f.size, f.mtime_ns, Digest(), name};
    if (it != known.end() && it->second->size == f.size && it->second->mtime_ns == f.mtime_ns) {
      rec.digest = it->second->digest;
    } else {
      auto d = detail::hash_file(impl.env, impl.config.root + "/" + f.rel_to_root);
      if (!d) continue;  // vanished meanwhile
      rec.digest = *d;
      ++report->files_hashed;
    }
    out.push_back(std::move(rec));
  }
  if (fd >= 0) (void)impl.env.close(fd);
  (recorded.empty() ? report->new_entries : report->updated_entries) += 1;
  if (recorded.empty()) {
    std::int64_t ready = 0;
    for (const auto& f : files) {
      auto it = activity.written_at_ns.find(impl.config.root + "/" + f.rel_to_root);
      if (it != activity.written_at_ns.end()) ready = std::max(ready, it->second);
    }
    fresh->emplace_back(name, ready);
    if (!activity.imported) MITHRIL_TRY(impl.index->fw_kind_add(kind, {.compiled = 1}));
  }
  return impl.index->fw_put_entry(name, kind, out, now, /*accessed=*/false);
}

// The entries (by framework dir) that contain any of `paths`.
std::map<const FrameworkDir*, std::map<std::string, std::string>> entries_of(
    const std::vector<FrameworkDir>& dirs, const std::vector<std::string>& paths) {
  std::map<const FrameworkDir*, std::map<std::string, std::string>> out;  // dir -> name -> kind
  for (const auto& path : paths) {
    for (const auto& dir : dirs) {
      if (!path.starts_with(dir.path + "/")) continue;
      const auto e = framework_entry_of(dir.framework, path.substr(dir.path.size() + 1));
      if (!e.name.empty()) out[&dir][e.name] = e.kind;
    }
  }
  return out;
}

// Full rescan: every file of every framework directory.
Result<void> sync_all_txn(Cache::Impl& impl, const DeviceClass& partition, const FrameworkActivity& activity,
                          std::int64_t now, FreshEntries* fresh, FrameworkReport* report) {
  const auto dirs = framework_dirs(impl.config.root, partition);
  MITHRIL_ASSIGN(const auto recorded, impl.index->fw_files());
  std::map<std::string, std::vector<FwFile>> recorded_by_entry;
  const std::string prefix = std::string(kFwPrefix) + partition.to_string() + "/";
  for (const auto& f : recorded) {
    if (f.path.starts_with(prefix)) recorded_by_entry[f.entry].push_back(f);
  }
  const auto used = entries_of(dirs, activity.opened);
  std::set<std::string> seen;
  for (const auto& dir : dirs) {
    detail::Walked walked;
    MITHRIL_TRY(detail::walk_fw_dir(impl.env, impl.config.root, dir.path, &walked,
                                    now - impl.config.temp_max_age_s * 1'000'000'000));
    report->quarantined_files += refuse_links(impl, walked.links);
    const std::vector<Found>& found = walked.files;
    const std::size_t cut = dir.path.size() - impl.config.root.size();
    std::map<std::string, std::pair<std::string, std::vector<Found>>> groups;  // entry -> kind, files
    for (const auto& f : found) {
      const auto e = framework_entry_of(dir.framework, f.rel_to_root.substr(cut));
      if (e.name.empty()) continue;
      auto& g = groups[e.name];
      g.first = e.kind;
      g.second.push_back(f);
    }
    const auto used_here = used.count(&dir) ? used.at(&dir) : std::map<std::string, std::string>{};
    for (const auto& [rel_name, group] : groups) {
      const std::string name = fw_entry_name(impl, dir, rel_name);
      seen.insert(name);
      const auto rec = recorded_by_entry.find(name);
      MITHRIL_TRY(record_entry_txn(impl, dir, rel_name, group.first, group.second,
                                   rec == recorded_by_entry.end() ? std::vector<FwFile>{} : rec->second,
                                   used_here.count(rel_name) > 0, now, activity, fresh, report));
    }
  }
  for (const auto& [name, files] : recorded_by_entry) {
    if (seen.count(name)) continue;
    MITHRIL_TRY(impl.index->fw_remove_entry(name));
    ++report->removed_entries;
  }
  return {};
}

// Incremental: only the entries holding a changed or opened file.
Result<void> sync_changes_txn(Cache::Impl& impl, const DeviceClass& partition, const FrameworkActivity& activity,
                              std::int64_t now, FreshEntries* fresh, FrameworkReport* report) {
  const auto dirs = framework_dirs(impl.config.root, partition);
  const auto changed = entries_of(dirs, activity.changed);
  const auto used = entries_of(dirs, activity.opened);
  for (const auto& dir : dirs) {
    const auto changed_here = changed.count(&dir) ? changed.at(&dir) : std::map<std::string, std::string>{};
    const auto used_here = used.count(&dir) ? used.at(&dir) : std::map<std::string, std::string>{};
    for (const auto& [rel_name, kind] : changed_here) {
      const std::string name = fw_entry_name(impl, dir, rel_name);
      std::vector<std::string> links;
      MITHRIL_ASSIGN(const auto files, entry_files_on_disk(impl.env, impl.config.root, dir, rel_name, &links));
      report->quarantined_files += refuse_links(impl, links);
      MITHRIL_ASSIGN(const auto recorded, impl.index->fw_entry_files(name));
      MITHRIL_TRY(record_entry_txn(impl, dir, rel_name, kind, files, recorded, used_here.count(rel_name) > 0, now,
                                   activity, fresh, report));
    }
    for (const auto& [rel_name, kind] : used_here) {
      if (changed_here.count(rel_name)) continue;
      const std::string name = fw_entry_name(impl, dir, rel_name);
      ++report->accessed_entries;
      MITHRIL_TRY(credit_hit_txn(impl, name, now, report));
    }
  }
  return {};
}

// Estimates how long the framework took to produce each new entry of a run.
// A framework process compiles one graph or kernel after another, so an
// entry's cost is the time from the previous entry's last write (or from the
// run's first touch of the cache) to its own last write. Entries without
// timestamps (no watcher) get no estimate. TXN.
Result<void> record_compile_costs_txn(Cache::Impl& impl, const FrameworkActivity& activity, FreshEntries fresh,
                                      FrameworkReport* report) {
  if (activity.first_event_ns == 0) return {};
  std::sort(fresh.begin(), fresh.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  std::int64_t previous = activity.first_event_ns;
  for (const auto& [name, ready] : fresh) {
    if (ready <= 0) continue;
    const std::int64_t cost = std::max<std::int64_t>(0, ready - previous);
    previous = std::max(previous, ready);
    MITHRIL_TRY(impl.index->fw_set_cost(name, cost));
    report->compile_ns_new += cost;
  }
  return {};
}

// Files a check found wrong: entry -> corrupt (true) or incomplete (false).
using BadEntries = std::map<std::string, bool>;

// An unrecorded shared object that does not look like a complete ELF file.
// Or a symlink, FIFO or device where a framework looks for its files.
struct Suspect {
  std::string rel_to_root;
  const FrameworkDir* dir;
  EntryOfFile entry;
  bool not_regular = false;  // refused without judging (no lock needed)
};

// Check pass 1: every recorded file of the partition has its size and mtime,
// else the same digest. Only reads. Adds the recorded paths to `known`.
// With `full`, every file is hashed (verify), not only changed ones.
Result<void> check_recorded_files(Cache::Impl& impl, const std::string& prefix, BadEntries* bad,
                                  std::unordered_set<std::string>* known, FrameworkReport* report,
                                  bool full = false) {
  MITHRIL_ASSIGN(const auto recorded, impl.index->fw_files());
  known->reserve(recorded.size());
  std::string abs = impl.config.root + "/";
  const std::size_t base = abs.size();
  for (const auto& f : recorded) {
    if (!f.path.starts_with(prefix)) continue;
    known->insert(f.path);
    abs.resize(base);
    abs += f.path;
    MITHRIL_ASSIGN(const auto st, impl.env.lstat(abs));
    if (!st) {
      bad->emplace(f.entry, false);
      continue;
    }
    if (!st->is_regular()) {  // replaced by a symlink, FIFO or device: never followed
      (*bad)[f.entry] = true;
      continue;
    }
    if (!full && st->size == f.size && st->mtime_ns == f.mtime_ns) continue;
    const auto real = lstat_beneath(impl.env, impl.config.root, abs);  // only through real directories
    if (!real && real.error().code != ErrorCode::kCorruption) return std::unexpected(real.error());
    if (!real || !*real) {  // a directory above it is a symlink now (never read through), or it is gone
      if (!real) (*bad)[f.entry] = true;
      else bad->emplace(f.entry, false);
      continue;
    }
    auto d = detail::hash_file(impl.env, abs);
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

// Check pass 2: unrecorded shared objects. A linker killed mid-write leaves a
// partial .so at its final name, which torch would load and crash on. Shared
// objects live one level down (Inductor's <2ch>/, Triton's <key>/), so only
// those directories are listed, not every FX entry directory.
Result<std::vector<Suspect>> find_partial_shared_objects(Cache::Impl& impl, const std::vector<FrameworkDir>& dirs,
                                                         const std::unordered_set<std::string>& known) {
  const std::size_t base = impl.config.root.size() + 1;
  std::vector<Suspect> suspects;
  for (const auto& dir : dirs) {
    MITHRIL_ASSIGN(const auto top, impl.env.list_dir(dir.path));
    for (const auto& sub : top) {
      const std::string sub_path = detail::concat(dir.path, "/", sub.name);
      if (sub.is_symlink) suspects.push_back(Suspect{sub_path.substr(base), &dir, {}, true});
      if (!sub.is_dir || sub.name == "fxgraph" || sub.name == "aotautograd" || sub.name == "locks") continue;
      MITHRIL_ASSIGN(const auto files, impl.env.list_dir(sub_path));
      for (const auto& file : files) {
        if (file.is_dir) continue;
        const std::string path = detail::concat(sub_path, "/", file.name);
        const std::string rel_to_root = path.substr(base);
        if (file.is_symlink) suspects.push_back(Suspect{rel_to_root, &dir, {}, true});
        if (file.is_symlink || !file.name.ends_with(".so") || known.count(rel_to_root) > 0) continue;
        const auto entry = framework_entry_of(dir.framework, detail::concat(sub.name, "/", file.name));
        if (entry.name.empty()) continue;
        MITHRIL_ASSIGN(const auto st, impl.env.lstat(path));
        if (!st) continue;
        if (!st->is_regular()) {
          suspects.push_back(Suspect{rel_to_root, &dir, {}, true});
          continue;
        }
        MITHRIL_ASSIGN(const auto head, detail::read_prefix(impl.env, path, 64));
        if (head && elf_looks_complete(*head, st->size)) continue;
        suspects.push_back(Suspect{rel_to_root, &dir, entry});
      }
    }
  }
  return suspects;
}

// Quarantines what the two passes found; a shared object being linked right
// now (its entry lock is held) is skipped. TXN.
Result<void> quarantine_found_txn(Cache::Impl& impl, const BadEntries& bad, const std::vector<Suspect>& suspects,
                                  FrameworkReport* report) {
  for (const auto& [entry, corrupt] : bad) {
    MITHRIL_LOG(LogLevel::kWarn, "quarantine",
                {{"entry", entry}, {"reason", corrupt ? "digest mismatch" : "file missing"}});
    MITHRIL_ASSIGN(const std::uint64_t moved, quarantine_fw_entry_txn(impl, entry));
    report->quarantined_files += moved;
    ++report->quarantined_entries;
    if (corrupt) impl.count(Counter::kCorruptions);
  }
  for (const auto& s : suspects) {
    if (s.not_regular) {
      report->quarantined_files += refuse_links(impl, {s.rel_to_root});
      continue;
    }
    MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, s.dir->path, s.entry.name, s.entry.kind));
    if (fd == -1) {
      ++report->skipped_busy;  // being linked right now
      continue;
    }
    MITHRIL_LOG(LogLevel::kWarn, "quarantine", {{"file", s.rel_to_root}, {"reason", "incomplete ELF shared object"}});
    auto moved = detail::quarantine_or_delete(impl.env, impl.config.root, s.rel_to_root);
    if (fd >= 0) (void)impl.env.close(fd);
    MITHRIL_TRY(moved);
    ++report->quarantined_files;
    ++report->quarantined_entries;
    impl.count(Counter::kCorruptions);
  }
  return {};
}

}  // namespace

Result<FrameworkReport> Cache::check_frameworks(const DeviceClass& partition) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  FrameworkReport report;
  const std::string prefix = std::string(kFwPrefix) + partition.to_string() + "/";
  // The passes only read; the write lock is taken only if something is wrong.
  BadEntries bad;
  std::unordered_set<std::string> known;
  MITHRIL_TRY(check_recorded_files(impl, prefix, &bad, &known, &report));
  const auto dirs = framework_dirs(impl.config.root, partition);
  MITHRIL_ASSIGN(const auto suspects, find_partial_shared_objects(impl, dirs, known));
  if (bad.empty() && suspects.empty()) {
    MITHRIL_LOG(LogLevel::kDebug, "check", {{"partition", partition.to_string()},
                                          {"files_hashed", static_cast<std::int64_t>(report.files_hashed)}});
    return report;
  }
  MITHRIL_TRY(impl.in_write_txn([&] { return quarantine_found_txn(impl, bad, suspects, &report); }));
  MITHRIL_TRY(impl.flush_locked());
  return report;
}

Result<void> verify_framework_files_locked(Cache::Impl& impl, VerifyReport* report) {
  FrameworkReport fw;
  BadEntries bad;
  std::unordered_set<std::string> known;
  MITHRIL_TRY(check_recorded_files(impl, std::string(kFwPrefix), &bad, &known, &fw, /*full=*/true));
  report->framework_files_checked += known.size();
  for (const auto& [entry, corrupt] : bad) ++(corrupt ? report->framework_corrupt : report->framework_missing);
  if (bad.empty()) return {};
  MITHRIL_TRY(impl.in_write_txn([&] { return quarantine_found_txn(impl, bad, {}, &fw); }));
  report->framework_entries_quarantined += fw.quarantined_entries;
  return {};
}

Result<FrameworkReport> Cache::sync_frameworks(const DeviceClass& partition, const FrameworkActivity& activity) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  FrameworkReport report;
  const std::int64_t now = impl.env.now_ns();
  MITHRIL_TRY(impl.in_write_txn([&]() -> Result<void> {
    FreshEntries fresh;
    MITHRIL_TRY(activity.changes_known ? sync_changes_txn(impl, partition, activity, now, &fresh, &report)
                                       : sync_all_txn(impl, partition, activity, now, &fresh, &report));
    if (activity.imported) return {};
    return record_compile_costs_txn(impl, activity, std::move(fresh), &report);
  }));
  impl.count(Counter::kFrameworkHits, static_cast<std::int64_t>(report.accessed_entries));
  impl.count(Counter::kCompileMsSaved, report.compile_ns_saved / 1'000'000);
  impl.count(Counter::kCompileMsSpent, report.compile_ns_new / 1'000'000);
  if (!activity.imported) impl.count(Counter::kFrameworkNewEntries, static_cast<std::int64_t>(report.new_entries));
  MITHRIL_TRY(impl.maybe_gc_locked());
  MITHRIL_ASSIGN(report.entries, impl.index->fw_entry_count());
  MITHRIL_LOG(LogLevel::kInfo, "sync",
            {{"partition", partition.to_string()}, {"incremental", static_cast<std::int64_t>(activity.changes_known)},
             {"entries", static_cast<std::int64_t>(report.entries)},
             {"new_entries", static_cast<std::int64_t>(report.new_entries)},
             {"accessed_entries", static_cast<std::int64_t>(report.accessed_entries)},
             {"files_hashed", static_cast<std::int64_t>(report.files_hashed)}});
  MITHRIL_TRY(impl.record_history_locked("run"));
  return report;
}

namespace {

// Where an entry named <partition>/<framework>/<entry rel> lives.
struct EntryPlace {
  std::string fw_dir;  // absolute
  std::string rel;     // relative to fw_dir
};
EntryPlace place_of(const Cache::Impl& impl, const std::string& name) {
  const auto first = name.find('/');
  const auto second = name.find('/', first + 1);
  return {detail::concat(impl.config.root, "/fw/", std::string_view(name).substr(0, second)), name.substr(second + 1)};
}

// Unlinks one doomed file and its parents left empty (e.g. fxgraph/<2ch>/<key>/),
// never the framework directory itself, and never through a symlink (such a
// file counts as gone: it is not ours). False when the unlink failed.
bool unlink_with_empty_parents(Env& env, const std::string& root, const std::string& abs, const std::string& fw_dir) {
  const auto unlinked = detail::unlink_regular_beneath(env, root, abs.substr(root.size() + 1));
  if (!unlinked) return false;
  if (!*unlinked) return true;  // a symlink on the way, or not a regular file: left alone, forgotten
  for (std::string dir = abs.substr(0, abs.find_last_of('/')); dir.size() > fw_dir.size();
       dir = dir.substr(0, dir.find_last_of('/'))) {
    if (!env.rmdir(dir)) break;
  }
  return true;
}

}  // namespace

Result<std::uint64_t> evict_oldest_fw_txn(Cache::Impl& impl, const FwEntryRecord& oldest) {
  const EntryPlace where = place_of(impl, oldest.name);
  MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, where.fw_dir, where.rel, oldest.kind));
  if (fd == -1) {
    MITHRIL_TRY(impl.index->fw_touch(oldest.name, impl.env.now_ns()));
    return 0;
  }
  if (fd >= 0) (void)impl.env.close(fd);
  MITHRIL_ASSIGN(const auto files, impl.index->fw_remove_entry(oldest.name));
  MITHRIL_TRY(impl.index->fw_kind_add(oldest.kind, {.evictions = 1, .evicted_bytes = static_cast<std::int64_t>(oldest.size)}));
  MITHRIL_TRY(impl.index->fw_doom(oldest.name, oldest.kind, files));
  impl.purge_needed = true;  // the files go after the commit
  return oldest.size;
}

Result<void> purge_fw_doomed_txn(Cache::Impl& impl) {
  MITHRIL_ASSIGN(const auto doomed, impl.index->fw_doomed());
  std::size_t i = 0;
  while (i < doomed.size()) {  // one entry (a run of rows) at a time, under its lock
    const std::string& entry = doomed[i].entry;
    const EntryPlace where = place_of(impl, entry);
    MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, where.fw_dir, where.rel, doomed[i].kind));
    for (; i < doomed.size() && doomed[i].entry == entry; ++i) {
      if (fd == -1) continue;  // torch is writing it: next purge
      MITHRIL_ASSIGN(const bool revived, impl.index->fw_file_recorded(doomed[i].path));
      const std::string abs = detail::concat(impl.config.root, "/", doomed[i].path);
      if (!revived && !unlink_with_empty_parents(impl.env, impl.config.root, abs, where.fw_dir)) continue;  // stays doomed: retried
      MITHRIL_TRY(impl.index->fw_undoom(doomed[i].path));
    }
    if (fd >= 0) (void)impl.env.close(fd);
  }
  return {};
}

Result<std::vector<FrameworkEntryFiles>> Cache::framework_entries(const DeviceClass& partition) {
  std::lock_guard lock(m_impl->mu);
  const std::string part = partition.to_string() + "/";
  const std::string base = "fw/" + part;
  MITHRIL_ASSIGN(const auto entries, m_impl->index->fw_entries(part));
  std::vector<FrameworkEntryFiles> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    FrameworkEntryFiles f;
    f.name = e.name.substr(part.size());
    f.kind = e.kind;
    MITHRIL_ASSIGN(const auto files, m_impl->index->fw_entry_files(e.name));
    for (const auto& file : files) {
      if (!file.path.starts_with(base)) continue;
      f.files.push_back({file.path.substr(base.size()), file.size, file.digest});
    }
    std::sort(f.files.begin(), f.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    MITHRIL_ASSIGN(f.compile_ns, m_impl->index->fw_cost(e.name));
    out.push_back(std::move(f));
  }
  return out;
}

Result<void> Cache::set_framework_costs(const DeviceClass& partition,
                                        const std::map<std::string, std::int64_t>& costs) {
  std::lock_guard lock(m_impl->mu);
  const std::string part = partition.to_string() + "/";
  return m_impl->in_write_txn([&]() -> Result<void> {
    for (const auto& [name, ns] : costs) {
      MITHRIL_ASSIGN(const auto files, m_impl->index->fw_entry_files(part + name));
      if (!files.empty() && ns > 0) MITHRIL_TRY(m_impl->index->fw_set_cost(part + name, ns));
    }
    return {};
  });
}

void Cache::add_counter(Counter c, std::int64_t n) {
  std::lock_guard lock(m_impl->mu);
  m_impl->count(c, n);
}

Env& Cache::env() { return m_impl->env; }

}  // namespace mithril
