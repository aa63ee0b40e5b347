// Cache::verify: full integrity pass over objects, index and debris.
#include <set>

#include "core/cache_impl.h"

namespace mithril {
namespace {

// Whether the object `d`, absent on disk when listed, is still missing
// under the write lock (another process may have evicted it since the list
// was read: missing only if the index still has it, read fresh).
Result<bool> still_missing(Cache::Impl& impl, const Digest& d) {
  return impl.in_write_txn([&]() -> Result<bool> {
    MITHRIL_ASSIGN(const auto row, impl.index->find_object(d));
    MITHRIL_ASSIGN(const auto again, impl.store->stat(d));
    return row.has_value() && !again.has_value();
  });
}

// 1. Every object the index knows: present and matching its digest? A
//    missing or corrupt one is dropped with the entries that use it.
Result<void> verify_known_objects(Cache::Impl& impl, VerifyReport* report) {
  std::vector<ObjectInfo> known;
  MITHRIL_TRY(impl.index->for_each_object([&](const ObjectInfo& o, std::int64_t) {
    known.push_back(o);
    return true;
  }));
  for (const auto& o : known) {
    ++report->objects_checked;
    MITHRIL_ASSIGN(const auto on_disk, impl.store->stat(o.digest));
    bool corrupt = false;
    if (!on_disk) {
      MITHRIL_ASSIGN(const bool missing, still_missing(impl, o.digest));
      if (!missing) continue;
      ++report->missing;
    } else {
      MITHRIL_ASSIGN(const bool good, impl.store->verify(o.digest, /*quarantine=*/true));
      if (good) continue;
      ++report->corrupt;
      corrupt = true;
    }
    MITHRIL_ASSIGN(const auto users, impl.index->entries_using(o.digest));
    report->entries_dropped += users.size();
    MITHRIL_TRY(impl.drop_object_locked(o.digest, corrupt));
  }
  return {};
}

// 2. Files on disk the index does not know (a writer died between publish
//    and commit, or an unlink failed). Re-checked under the write lock,
//    under which every publish happens, so a live put is never mistaken.
Result<void> verify_orphans(Cache::Impl& impl, bool repair, VerifyReport* report) {
  std::vector<Digest> candidates;
  MITHRIL_TRY(impl.store->for_each([&](const ObjectInfo& o) {
    candidates.push_back(o.digest);
    return true;
  }));
  return impl.in_write_txn([&]() -> Result<void> {
    for (const auto& d : candidates) {
      MITHRIL_ASSIGN(const auto row, impl.index->find_object(d));
      if (row) continue;
      ++report->orphans;
      if (repair) {
        MITHRIL_ASSIGN(const bool gone, impl.store->remove(d));
        report->orphans_removed += gone ? 1 : 0;
      }
    }
    return {};
  });
}

}  // namespace

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
  MITHRIL_TRY(verify_known_objects(impl, &report));
  MITHRIL_TRY(verify_orphans(impl, repair, &report));
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
