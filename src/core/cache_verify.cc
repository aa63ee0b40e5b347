// Cache::verify: full integrity pass over objects, index and debris.
#include <set>

#include "core/cache_impl.h"

namespace mithril {

Result<VerifyReport> Cache::verify(bool repair) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  MITHRIL_TRY(impl.flush_locked());
  VerifyReport report;
  if (repair) {
    MITHRIL_ASSIGN(const bool ok, impl.index->integrity_ok());
    if (!ok) {
      MITHRIL_TRY(impl.open_index_locked(/*discard_existing=*/true));
      report.index_rebuilt = true;
    }
  }
  // 1. Every object the index knows: present and matching its digest?
  std::vector<ObjectInfo> known;
  MITHRIL_TRY(impl.index->for_each_object([&](const ObjectInfo& o, std::int64_t) {
    known.push_back(o);
    return true;
  }));
  for (const auto& o : known) {
    ++report.objects_checked;
    MITHRIL_ASSIGN(const auto on_disk, impl.store->stat(o.digest));
    bool bad = false;
    bool corrupt = false;
    if (!on_disk) {
      // Another process may have evicted it since the list was read: missing
      // only if the index still has it (read fresh, under the write lock).
      MITHRIL_ASSIGN(const bool still_known, impl.in_write_txn([&]() -> Result<bool> {
        MITHRIL_ASSIGN(const auto row, impl.index->find_object(o.digest));
        MITHRIL_ASSIGN(const auto again, impl.store->stat(o.digest));
        return row.has_value() && !again.has_value();
      }));
      if (!still_known) continue;
      ++report.missing;
      bad = true;
    } else {
      MITHRIL_ASSIGN(const bool good, impl.store->verify(o.digest, /*quarantine=*/true));
      if (!good) {
        ++report.corrupt;
        bad = corrupt = true;
      }
    }
    if (!bad) continue;
    MITHRIL_ASSIGN(const auto users, impl.index->entries_using(o.digest));
    report.entries_dropped += users.size();
    MITHRIL_TRY(impl.drop_object_locked(o.digest, corrupt));
  }
  // 2. Files on disk the index does not know (a writer died between publish
  //    and commit, or an unlink failed). Re-checked under the write lock,
  //    under which every publish happens, so a live put is never mistaken.
  std::vector<Digest> candidates;
  MITHRIL_TRY(impl.store->for_each([&](const ObjectInfo& o) {
    candidates.push_back(o.digest);
    return true;
  }));
  MITHRIL_TRY(impl.in_write_txn([&]() -> Result<void> {
    for (const auto& d : candidates) {
      MITHRIL_ASSIGN(const auto row, impl.index->find_object(d));
      if (row) continue;
      ++report.orphans;
      if (repair) {
        MITHRIL_ASSIGN(const bool gone, impl.store->remove(d));
        report.orphans_removed += gone ? 1 : 0;
      }
    }
    return {};
  }));
  // 3. Framework files: every recorded file hashed in full.
  MITHRIL_TRY(verify_framework_files_locked(impl, &report));
  if (repair) {
    MITHRIL_ASSIGN(report.temp_files_removed,
                   impl.store->remove_stale_temp_files(impl.config.temp_max_age_s * 1'000'000'000LL));
  }
  MITHRIL_TRY(impl.flush_locked());
  return report;
}

}  // namespace mithril
