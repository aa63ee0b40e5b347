// The Cache facade's framework functions: they take the lock and the write
// transaction and delegate the framework work to src/frameworks/.
#include <algorithm>

#include <mithril/log.h>

#include "core/cache_impl.h"
#include "frameworks/check.h"
#include "frameworks/record.h"

namespace mithril {

Result<FrameworkReport> Cache::check_frameworks(const DeviceClass& partition) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  FrameworkReport report;
  auto fw = impl.fw_root();
  // The passes only read; the write lock is taken only if something is wrong.
  MITHRIL_ASSIGN(const auto found, frameworks::find_problems(fw, partition, &report));
  if (found.empty()) {
    MITHRIL_LOG(LogLevel::kDebug, "check", {{"partition", partition.to_string()},
                                          {"files_hashed", static_cast<std::int64_t>(report.files_hashed)}});
    return report;
  }
  MITHRIL_TRY(impl.in_write_txn([&] { return frameworks::quarantine_txn(fw, found, &report); }));
  MITHRIL_TRY(impl.flush_locked());
  return report;
}

Result<void> verify_framework_files_locked(Cache::Impl& impl, VerifyReport* report) {
  FrameworkReport fw_report;
  auto fw = impl.fw_root();
  MITHRIL_ASSIGN(const auto found, frameworks::find_recorded_problems(fw, &fw_report));
  report->framework_files_checked += found.recorded_checked;
  for (const auto& [entry, corrupt] : found.bad) ++(corrupt ? report->framework_corrupt : report->framework_missing);
  if (found.empty()) return {};
  MITHRIL_TRY(impl.in_write_txn([&] { return frameworks::quarantine_txn(fw, found, &fw_report); }));
  report->framework_entries_quarantined += fw_report.quarantined_entries;
  return {};
}

Result<FrameworkReport> Cache::sync_frameworks(const DeviceClass& partition, const FrameworkActivity& activity,
                                               HistoryKind history) {
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  FrameworkReport report;
  const std::int64_t now = impl.env.now_ns();
  auto fw = impl.fw_root();
  MITHRIL_TRY(impl.in_write_txn([&] { return frameworks::record_txn(fw, partition, activity, now, &report); }));
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
  if (history != HistoryKind::kNone) MITHRIL_TRY(impl.record_history_locked(history_kind_name(history)));
  return report;
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
