// Recording framework entries after a framework ran (or an import): which
// entries are new, changed, gone or reused, and what they cost to compile.
#include "frameworks/record.h"

#include <algorithm>
#include <map>
#include <set>

#include "cas/object_io.h"
#include "frameworks/entry_lock.h"
#include "frameworks/fw_files.h"
#include "frameworks/quarantine.h"
#include "frameworks/registry.h"

namespace mithril::frameworks {
namespace {

using detail::hash_file;

// The index name of entry `rel_name` of framework directory `dir`:
// "<partition>/<framework>/<rel_name>" (dir.path minus "<root>/fw/").
std::string fw_entry_name(const FwRoot& fw, const FrameworkDir& dir, const std::string& rel_name) {
  return dir.path.substr(fw.root.size() + 1 + kFwPrefix.size()) + "/" + rel_name;
}

// Files currently on disk that belong to entry `rel_name` of `dir`; those
// that are not regular files go to `links` (refused).
Result<std::vector<Found>> entry_files_on_disk(Env& env, const std::string& root, const FrameworkDir& dir,
                                               const std::string& rel_name, std::vector<std::string>* links) {
  Walked walked;
  const std::string path = dir.path + "/" + rel_name;
  MITHRIL_ASSIGN(const auto st, env.lstat(path));
  const std::size_t cut = dir.path.size() + 1;
  if (st && st->is_dir()) {
    MITHRIL_TRY(walk_fw_dir(env, root, path, &walked));
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
    return entry_of(dir.framework, (root + "/" + rel_to_root).substr(cut)).name == rel_name;
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
Result<void> credit_hit_txn(FwRoot& fw, const std::string& name, std::int64_t now, FrameworkReport* report) {
  MITHRIL_TRY(fw.index.fw_touch(name, now));
  MITHRIL_ASSIGN(const std::int64_t saved, fw.index.fw_cost(name));
  report->compile_ns_saved += saved;
  if (saved == 0) return {};
  MITHRIL_ASSIGN(const std::string kind, fw.index.fw_kind_of(name));
  return fw.index.fw_kind_add(kind, {.saved_ns = saved});
}

// Brings the record of one entry up to date with `files` (what is on disk).
// TXN. `recorded` are the entry's files as last recorded.
Result<void> record_entry_txn(FwRoot& fw, const FrameworkDir& dir, const std::string& rel_name,
                              const std::string& kind, const std::vector<Found>& files,
                              const std::vector<FwFile>& recorded, bool used, std::int64_t now,
                              const FrameworkActivity& activity, FreshEntries* fresh, FrameworkReport* report) {
  const std::string name = fw_entry_name(fw, dir, rel_name);
  if (files.empty()) {
    if (!recorded.empty()) {
      MITHRIL_TRY(fw.index.fw_remove_entry(name));
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
      MITHRIL_TRY(credit_hit_txn(fw, name, now, report));
    }
    return {};
  }
  if (recorded.empty()) {  // evicted, files not all unlinked yet: not an entry again
    MITHRIL_ASSIGN(const bool doomed, fw.index.fw_entry_doomed(name));
    if (doomed) return {};
  }
  MITHRIL_ASSIGN(const auto lock, EntryLock::acquire(fw.env, dir.path, rel_name, kind));
  if (!lock) {
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
      auto d = hash_file(fw.env, fw.root + "/" + f.rel_to_root);
      if (!d) continue;  // vanished meanwhile
      rec.digest = *d;
      ++report->files_hashed;
    }
    out.push_back(std::move(rec));
  }
  (recorded.empty() ? report->new_entries : report->updated_entries) += 1;
  if (recorded.empty()) {
    std::int64_t ready = 0;
    for (const auto& f : files) {
      auto it = activity.written_at_ns.find(fw.root + "/" + f.rel_to_root);
      if (it != activity.written_at_ns.end()) ready = std::max(ready, it->second);
    }
    fresh->emplace_back(name, ready);
    if (!activity.imported) MITHRIL_TRY(fw.index.fw_kind_add(kind, {.compiled = 1}));
  }
  return fw.index.fw_put_entry(name, kind, out, now, /*accessed=*/false);
}

// The entries (by framework dir) that contain any of `paths`.
std::map<const FrameworkDir*, std::map<std::string, std::string>> entries_of(
    const std::vector<FrameworkDir>& dirs, const std::vector<std::string>& paths) {
  std::map<const FrameworkDir*, std::map<std::string, std::string>> out;  // dir -> name -> kind
  for (const auto& path : paths) {
    for (const auto& dir : dirs) {
      if (!path.starts_with(dir.path + "/")) continue;
      const auto e = entry_of(dir.framework, path.substr(dir.path.size() + 1));
      if (!e.name.empty()) out[&dir][e.name] = e.kind;
    }
  }
  return out;
}

// Full rescan: every file of every framework directory.
Result<void> sync_all_txn(FwRoot& fw, const DeviceClass& partition, const FrameworkActivity& activity,
                          std::int64_t now, FreshEntries* fresh, FrameworkReport* report) {
  const auto dirs = framework_dirs(fw.root, partition);
  MITHRIL_ASSIGN(const auto recorded, fw.index.fw_files());
  std::map<std::string, std::vector<FwFile>> recorded_by_entry;
  const std::string prefix = std::string(kFwPrefix) + partition.to_string() + "/";
  for (const auto& f : recorded) {
    if (f.path.starts_with(prefix)) recorded_by_entry[f.entry].push_back(f);
  }
  const auto used = entries_of(dirs, activity.opened);
  std::set<std::string> seen;
  for (const auto& dir : dirs) {
    Walked walked;
    MITHRIL_TRY(walk_fw_dir(fw.env, fw.root, dir.path, &walked,
                                    now - fw.temp_max_age_s * 1'000'000'000));
    report->quarantined_files += refuse_links(fw, walked.links);
    const std::vector<Found>& found = walked.files;
    const std::size_t cut = dir.path.size() - fw.root.size();
    std::map<std::string, std::pair<std::string, std::vector<Found>>> groups;  // entry -> kind, files
    for (const auto& f : found) {
      const auto e = entry_of(dir.framework, f.rel_to_root.substr(cut));
      if (e.name.empty()) continue;
      auto& g = groups[e.name];
      g.first = e.kind;
      g.second.push_back(f);
    }
    const auto used_here = used.count(&dir) ? used.at(&dir) : std::map<std::string, std::string>{};
    for (const auto& [rel_name, group] : groups) {
      const std::string name = fw_entry_name(fw, dir, rel_name);
      seen.insert(name);
      const auto rec = recorded_by_entry.find(name);
      MITHRIL_TRY(record_entry_txn(fw, dir, rel_name, group.first, group.second,
                                   rec == recorded_by_entry.end() ? std::vector<FwFile>{} : rec->second,
                                   used_here.count(rel_name) > 0, now, activity, fresh, report));
    }
  }
  for (const auto& [name, files] : recorded_by_entry) {
    if (seen.count(name)) continue;
    MITHRIL_TRY(fw.index.fw_remove_entry(name));
    ++report->removed_entries;
  }
  return {};
}

// Incremental: only the entries holding a changed or opened file.
Result<void> sync_changes_txn(FwRoot& fw, const DeviceClass& partition, const FrameworkActivity& activity,
                              std::int64_t now, FreshEntries* fresh, FrameworkReport* report) {
  const auto dirs = framework_dirs(fw.root, partition);
  const auto changed = entries_of(dirs, activity.changed);
  const auto used = entries_of(dirs, activity.opened);
  for (const auto& dir : dirs) {
    const auto changed_here = changed.count(&dir) ? changed.at(&dir) : std::map<std::string, std::string>{};
    const auto used_here = used.count(&dir) ? used.at(&dir) : std::map<std::string, std::string>{};
    for (const auto& [rel_name, kind] : changed_here) {
      const std::string name = fw_entry_name(fw, dir, rel_name);
      std::vector<std::string> links;
      MITHRIL_ASSIGN(const auto files, entry_files_on_disk(fw.env, fw.root, dir, rel_name, &links));
      report->quarantined_files += refuse_links(fw, links);
      MITHRIL_ASSIGN(const auto recorded, fw.index.fw_entry_files(name));
      MITHRIL_TRY(record_entry_txn(fw, dir, rel_name, kind, files, recorded, used_here.count(rel_name) > 0, now,
                                   activity, fresh, report));
    }
    for (const auto& [rel_name, kind] : used_here) {
      if (changed_here.count(rel_name)) continue;
      const std::string name = fw_entry_name(fw, dir, rel_name);
      ++report->accessed_entries;
      MITHRIL_TRY(credit_hit_txn(fw, name, now, report));
    }
  }
  return {};
}

// Estimates how long the framework took to produce each new entry of a run.
// A framework process compiles one graph or kernel after another, so an
// entry's cost is the time from the previous entry's last write (or from the
// run's first touch of the cache) to its own last write. Entries without
// timestamps (no watcher) get no estimate. TXN.
Result<void> record_compile_costs_txn(FwRoot& fw, const FrameworkActivity& activity, FreshEntries fresh,
                                      FrameworkReport* report) {
  if (activity.first_event_ns == 0) return {};
  std::sort(fresh.begin(), fresh.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  std::int64_t previous = activity.first_event_ns;
  for (const auto& [name, ready] : fresh) {
    if (ready <= 0) continue;
    const std::int64_t cost = std::max<std::int64_t>(0, ready - previous);
    previous = std::max(previous, ready);
    MITHRIL_TRY(fw.index.fw_set_cost(name, cost));
    report->compile_ns_new += cost;
  }
  return {};
}

}  // namespace

Result<void> record_txn(FwRoot& fw, const DeviceClass& partition, const FrameworkActivity& activity, std::int64_t now,
                        FrameworkReport* report) {
  FreshEntries fresh;
  MITHRIL_TRY(activity.changes_known ? sync_changes_txn(fw, partition, activity, now, &fresh, report)
                                     : sync_all_txn(fw, partition, activity, now, &fresh, report));
  if (activity.imported) return {};
  return record_compile_costs_txn(fw, activity, std::move(fresh), report);
}

}  // namespace mithril::frameworks
