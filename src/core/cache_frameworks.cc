// Framework caches inside a root: integrity check before a run, recording
// after it, and eviction of whole framework entries.
#include <map>
#include <set>

#include <mithril/hooks.h>

#include "cas/object_io.h"
#include "core/cache_impl.h"

namespace mithril {
namespace {

constexpr std::string_view kFwPrefix = "fw/";

struct Found {
  std::string rel_to_root;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// Walks `dir` (absolute), collecting regular files with paths relative to `root`.
Result<void> walk(Env& env, const std::string& root, const std::string& dir, std::vector<Found>* out) {
  MITHRIL_ASSIGN(const auto children, env.list_dir(dir));
  for (const auto& c : children) {
    const std::string path = dir + "/" + c.name;
    if (c.is_dir) {
      MITHRIL_TRY(walk(env, root, path, out));
      continue;
    }
    MITHRIL_ASSIGN(const auto st, env.stat(path));
    if (!st || !st->is_regular()) continue;
    out->push_back(Found{path.substr(root.size() + 1), st->size, st->mtime_ns});
  }
  return {};
}

// Locks an Inductor code module the way torch does (locks/<key>.lock), so we
// never judge or delete a kernel while a torch process is compiling it.
// Returns the fd (>= 0), -1 when busy, or -2 when the entry has no lock.
Result<int> lock_entry(Env& env, const std::string& fw_dir, const std::string& entry_rel, const std::string& kind) {
  if (kind != "inductor-code") return -2;
  const std::string key = entry_rel.substr(entry_rel.find('/') + 1);
  MITHRIL_TRY(make_dirs(env, fw_dir + "/locks"));
  return env.try_lock_file(fw_dir + "/locks/" + key + ".lock");
}

std::string flatten(const std::string& rel) {
  std::string out = rel;
  for (auto& c : out) c = c == '/' ? '%' : c;
  return out;
}

// Moves one file into quarantine/fw (flattened name + timestamp).
Result<void> quarantine_fw_file(Cache::Impl& impl, const std::string& rel_to_root) {
  const std::string qdir = impl.config.root + "/quarantine/fw";
  MITHRIL_TRY(make_dirs(impl.env, qdir));
  return impl.env.rename(impl.config.root + "/" + rel_to_root,
                         qdir + "/" + flatten(rel_to_root) + "." + std::to_string(impl.env.now_ns()));
}

// Moves the files of a framework entry into quarantine and forgets it. TXN.
Result<std::uint64_t> quarantine_fw_entry_txn(Cache::Impl& impl, const std::string& name) {
  MITHRIL_ASSIGN(const auto files, impl.index->fw_remove_entry(name));
  std::uint64_t moved = 0;
  for (const auto& f : files) moved += quarantine_fw_file(impl, f.path) ? 1 : 0;
  return moved;
}
}  // namespace

Result<FrameworkReport> Cache::check_frameworks(const DeviceClass& partition) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  FrameworkReport report;
  const std::string prefix = std::string(kFwPrefix) + partition.to_string() + "/";
  MITHRIL_TRY(impl.in_write_txn([&]() -> Result<void> {
    // One walk gives size and mtime of every file on disk.
    std::map<std::string, Found> on_disk;
    std::vector<std::pair<const FrameworkDir*, Found>> unrecorded_so;
    const auto dirs = framework_dirs(impl.config.root, partition);
    for (const auto& dir : dirs) {
      std::vector<Found> found;
      MITHRIL_TRY(walk(impl.env, impl.config.root, dir.path, &found));
      for (auto& f : found) on_disk.emplace(f.rel_to_root, f);
    }
    MITHRIL_ASSIGN(const auto recorded, impl.index->fw_files());
    std::map<std::string, bool> bad;  // entry -> corrupt (true) or incomplete (false)
    std::set<std::string> known_paths;
    for (const auto& f : recorded) {
      if (!f.path.starts_with(prefix)) continue;
      known_paths.insert(f.path);
      auto it = on_disk.find(f.path);
      if (it == on_disk.end()) {
        bad.emplace(f.entry, false);
        continue;
      }
      if (it->second.size == f.size && it->second.mtime_ns == f.mtime_ns) continue;
      auto d = detail::hash_file(impl.env, impl.config.root + "/" + f.path);
      ++report.files_hashed;
      if (!d || *d != f.digest) bad[f.entry] = true;
    }
    for (const auto& [entry, corrupt] : bad) {
      MITHRIL_ASSIGN(const std::uint64_t moved, quarantine_fw_entry_txn(impl, entry));
      report.quarantined_files += moved;
      ++report.quarantined_entries;
      if (corrupt) impl.count(Counter::kCorruptions);
    }
    // Unrecorded shared objects: a linker killed mid-write leaves a partial
    // .so at its final name, which torch would load and crash on.
    for (const auto& dir : dirs) {
      const std::string dir_rel = dir.path.substr(impl.config.root.size() + 1) + "/";
      for (auto it = on_disk.lower_bound(dir_rel); it != on_disk.end() && it->first.starts_with(dir_rel); ++it) {
        const Found& f = it->second;
        if (known_paths.count(f.rel_to_root) || !f.rel_to_root.ends_with(".so")) continue;
        const auto entry = framework_entry_of(dir.framework, f.rel_to_root.substr(dir_rel.size()));
        if (entry.name.empty()) continue;
        MITHRIL_ASSIGN(const auto head, detail::read_prefix(impl.env, impl.config.root + "/" + f.rel_to_root, 64));
        if (head && elf_looks_complete(*head, f.size)) continue;
        MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, dir.path, entry.name, entry.kind));
        if (fd == -1) {
          ++report.skipped_busy;  // being linked right now
          continue;
        }
        auto moved = quarantine_fw_file(impl, f.rel_to_root);
        if (fd >= 0) (void)impl.env.close(fd);
        MITHRIL_TRY(moved);
        ++report.quarantined_files;
        ++report.quarantined_entries;
        impl.count(Counter::kCorruptions);
      }
    }
    return {};
  }));
  MITHRIL_TRY(impl.flush_locked());
  return report;
}

Result<FrameworkReport> Cache::sync_frameworks(const DeviceClass& partition, const std::vector<std::string>& opened) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  FrameworkReport report;
  const std::string part = partition.to_string();
  const std::int64_t now = impl.env.now_ns();
  MITHRIL_TRY(impl.in_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(const auto recorded, impl.index->fw_files());
    std::map<std::string, FwFile> known;
    std::map<std::string, std::vector<std::string>> known_entries;
    for (const auto& f : recorded) {
      if (!f.path.starts_with(std::string(kFwPrefix) + part + "/")) continue;
      known.emplace(f.path, f);
      known_entries[f.entry].push_back(f.path);
    }
    std::set<std::string> seen_entries;
    for (const auto& dir : framework_dirs(impl.config.root, partition)) {
      std::vector<Found> found;
      MITHRIL_TRY(walk(impl.env, impl.config.root, dir.path, &found));
      const std::size_t cut = dir.path.size() - impl.config.root.size();
      std::map<std::string, std::pair<std::string, std::vector<Found>>> groups;  // entry -> kind, files
      for (const auto& f : found) {
        const auto e = framework_entry_of(dir.framework, f.rel_to_root.substr(cut));
        if (e.name.empty()) continue;
        auto& g = groups[e.name];
        g.first = e.kind;
        g.second.push_back(f);
      }
      std::set<std::string> accessed;
      for (const auto& path : opened) {
        if (!path.starts_with(dir.path + "/")) continue;
        const auto e = framework_entry_of(dir.framework, path.substr(dir.path.size() + 1));
        if (!e.name.empty()) accessed.insert(e.name);
      }
      for (const auto& [rel_name, group] : groups) {
        const std::string name = part + "/" + dir.framework + "/" + rel_name;
        seen_entries.insert(name);
        const bool was_used = accessed.count(rel_name) > 0;
        report.accessed_entries += was_used ? 1 : 0;
        bool changed = !known_entries.count(name) || known_entries[name].size() != group.second.size();
        for (const auto& f : group.second) {
          auto it = known.find(f.rel_to_root);
          changed = changed || it == known.end() || it->second.size != f.size || it->second.mtime_ns != f.mtime_ns;
        }
        if (!changed) {
          if (was_used) MITHRIL_TRY(impl.index->fw_touch(name, now));
          continue;
        }
        MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, dir.path, rel_name, group.first));
        if (fd == -1) {
          ++report.skipped_busy;
          continue;
        }
        std::vector<FwFile> files;
        for (const auto& f : group.second) {
          auto it = known.find(f.rel_to_root);
          FwFile rec{f.rel_to_root, f.size, f.mtime_ns, Digest(), name};
          if (it != known.end() && it->second.size == f.size && it->second.mtime_ns == f.mtime_ns) {
            rec.digest = it->second.digest;
          } else {
            auto d = detail::hash_file(impl.env, impl.config.root + "/" + f.rel_to_root);
            if (!d) continue;  // vanished meanwhile
            rec.digest = *d;
            ++report.files_hashed;
          }
          files.push_back(std::move(rec));
        }
        if (fd >= 0) (void)impl.env.close(fd);
        (known_entries.count(name) ? report.updated_entries : report.new_entries) += 1;
        MITHRIL_TRY(impl.index->fw_put_entry(name, group.first, files, now, was_used));
      }
    }
    for (const auto& [name, paths] : known_entries) {
      if (seen_entries.count(name)) continue;
      MITHRIL_TRY(impl.index->fw_remove_entry(name));
      ++report.removed_entries;
    }
    return {};
  }));
  MITHRIL_TRY(impl.maybe_gc_locked());
  MITHRIL_ASSIGN(const auto entries, impl.index->fw_entries());
  report.entries = entries.size();
  MITHRIL_TRY(impl.flush_locked());
  return report;
}

// Deletes the oldest framework entry's files (taking torch's lock for code
// modules; a busy entry is marked used and kept). TXN. Returns bytes freed.
Result<std::uint64_t> evict_oldest_fw_txn(Cache::Impl& impl, const FwEntryRecord& oldest) {
  // name = <partition>/<framework>/<entry rel>
  const auto first = oldest.name.find('/');
  const auto second = oldest.name.find('/', first + 1);
  const std::string fw_dir = impl.config.root + "/fw/" + oldest.name.substr(0, second);
  const std::string rel = oldest.name.substr(second + 1);
  MITHRIL_ASSIGN(const int fd, lock_entry(impl.env, fw_dir, rel, oldest.kind));
  if (fd == -1) {
    MITHRIL_TRY(impl.index->fw_touch(oldest.name, impl.env.now_ns()));
    return 0;
  }
  MITHRIL_ASSIGN(const auto files, impl.index->fw_remove_entry(oldest.name));
  for (const auto& f : files) {
    const std::string abs = impl.config.root + "/" + f.path;
    (void)impl.env.unlink(abs);
    // Remove now-empty parents (e.g. fxgraph/<2ch>/<key>/), never the framework dir.
    for (std::string dir = abs.substr(0, abs.find_last_of('/')); dir.size() > fw_dir.size();
         dir = dir.substr(0, dir.find_last_of('/'))) {
      if (!impl.env.rmdir(dir)) break;
    }
  }
  if (fd >= 0) (void)impl.env.close(fd);
  return oldest.size;
}

}  // namespace mithril
