#include "frameworks/importer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "frameworks/registry.h"
#include "util/format.h"

namespace mithril::frameworks {

Importer::Importer(Cache& cache, const DeviceClass& partition, HistoryKind kind)
    : m_cache(cache), m_partition(partition), m_kind(kind),
      m_dest(partition_dir(cache.config().root, partition.to_string())) {}

Importer::Batch::Batch(Importer& owner) : m_owner(owner), m_staged(owner.m_cache.env()) {}

Result<std::optional<int>> Importer::Batch::stage(const std::string& rel) {
  static std::atomic<std::uint64_t> counter{0};
  Env& env = m_owner.m_cache.env();
  const std::string& root = m_owner.m_cache.config().root;
  const std::string final_path = m_owner.m_dest + "/" + rel;
  const auto not_ours = [&] {
    return fail(ErrorCode::kInvalidArgument,
                final_path + " would be written through or over a symlink, directory or other non-file");
  };
  const auto existing = lstat_beneath(env, root, final_path);  // never through a symlink
  if (!existing && existing.error().code == ErrorCode::kCorruption) return not_ours();
  if (!existing) return std::unexpected(existing.error());
  const std::optional<FileStat>& found = *existing;
  if (found && !found->is_regular()) return not_ours();
  if (found) return std::optional<int>();  // keep what is here
  std::lock_guard dirs(m_owner.m_dirs_mu);  // until the temp file is in them
  MITHRIL_TRY(m_staged.make_parents(root, final_path));
  // Short enough for any file name; a sync deletes it as debris once stale.
  const std::string tag = detail::concat(".mithril-", history_kind_name(m_owner.m_kind), ".",
                                         std::to_string(::getpid()), ".", std::to_string(counter.fetch_add(1)));
  const std::string tmp = detail::staging_path(final_path, tag);
  MITHRIL_ASSIGN(const int fd, env.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));
  m_staged.add(tmp, final_path);
  return std::optional<int>(fd);
}

Importer::Batch::~Batch() {
  std::lock_guard dirs(m_owner.m_dirs_mu);
  m_staged.discard();
}

Result<std::size_t> Importer::Batch::publish() {
  const std::size_t cut = m_owner.m_dest.size() + 1;
  MITHRIL_ASSIGN(auto finals, m_staged.publish([cut](const std::string& a, const std::string& b) {
    return publish_before(a.substr(cut), b.substr(cut));
  }));
  std::lock_guard lock(m_owner.m_mu);
  m_owner.m_published.insert(m_owner.m_published.end(), finals.begin(), finals.end());
  return finals.size();
}

Result<FrameworkReport> Importer::record(const std::map<std::string, std::int64_t>& costs, bool rescan) {
  std::vector<std::string> published;
  {
    std::lock_guard lock(m_mu);
    published.swap(m_published);
  }
  if (!rescan && published.empty()) {
    MITHRIL_TRY(m_cache.record_history(m_kind));
    return FrameworkReport{};
  }
  FrameworkActivity activity;
  activity.changed = std::move(published);
  activity.changes_known = !rescan;
  activity.imported = true;  // not counted as compilations
  MITHRIL_ASSIGN(auto report, m_cache.sync_frameworks(m_partition, activity, m_kind));
  if (!costs.empty()) MITHRIL_TRY(m_cache.set_framework_costs(m_partition, costs));
  return report;
}

}  // namespace mithril::frameworks
