// The Cache facade: puts and lookups (the work is src/store/'s), the
// buffered LRU/counter updates, history, listings, stats.
#include <mithril/cache.h>

#include <algorithm>

#include <mithril/log.h>

#include "core/cache_impl.h"
#include "core/index_records.h"
#include "core/space_reserve.h"
#include "store/blobs.h"
#include "store/entries.h"
#include "store/objects.h"

namespace mithril {
namespace {

constexpr std::size_t kMaxPendingTouches = 1000;
constexpr std::int64_t kFlushIntervalNs = 1'000'000'000;

// Counts an error result of a public operation, then passes it through.
template <typename T>
Result<T> counted(Cache::Impl& impl, Result<T> r) {
  if (!r) impl.count(Counter::kErrors);
  return r;
}

// Files (anything but a directory) under `dir`, recursively; symlinked
// directories are counted as files, never entered.
Result<std::uint64_t> count_files(Env& env, const std::string& dir) {
  MITHRIL_ASSIGN(const auto children, env.list_dir(dir));
  std::uint64_t n = 0;
  for (const auto& c : children) {
    if (!c.is_dir) {
      ++n;
      continue;
    }
    MITHRIL_ASSIGN(const std::uint64_t below, count_files(env, dir + "/" + c.name));
    n += below;
  }
  return n;
}

// Publishes a staged blob (or passes the staging error on), then keeps the
// budget.
Result<ObjectInfo> put_staged_blob_locked(Cache::Impl& impl, Result<StagedObject> staged) {
  if (!staged) return std::unexpected(staged.error());
  auto s = impl.store_root();
  MITHRIL_ASSIGN(ObjectInfo info, store::put_blob(s, std::move(*staged)));
  MITHRIL_TRY(impl.maybe_gc_locked());
  return info;
}

}  // namespace

// ---- Impl helpers ---------------------------------------------------------

Result<void> Cache::Impl::drop_object_locked(const Digest& digest, bool corrupt) {
  auto s = store_root();
  return mithril::store::drop_object(s, digest, corrupt);
}

Result<void> Cache::Impl::maybe_flush_locked() {
  if (pending_touches.size() >= kMaxPendingTouches || env.now_ns() - last_flush_ns >= kFlushIntervalNs) {
    return flush_locked();
  }
  return {};
}

Result<void> Cache::Impl::flush_locked() {
  last_flush_ns = env.now_ns();
  const bool any_counter =
      std::any_of(pending_counters.begin(), pending_counters.end(), [](std::int64_t v) { return v != 0; });
  if (pending_touches.empty() && !any_counter) return {};
  MITHRIL_TRY(in_write_txn([&]() -> Result<void> {
    for (const auto& [key, th] : pending_touches) MITHRIL_TRY(index->touch(key, th.first, th.second));
    return index->add_counters(pending_counters);
  }));
  pending_touches.clear();
  pending_counters.fill(0);
  return {};
}

// ---- Cache ----------------------------------------------------------------

Cache::Cache(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Cache::~Cache() {
  if (!m_impl || !m_impl->index) return;
  std::lock_guard lock(m_impl->mu);
  (void)m_impl->flush_locked();
}

Result<std::unique_ptr<Cache>> Cache::open(const CacheConfig& config, Env& env) {
  auto impl = std::make_unique<Impl>(config, env);
  {
    std::lock_guard lock(impl->mu);
    MITHRIL_TRY(impl->open_locked());
  }
  return std::unique_ptr<Cache>(new Cache(std::move(impl)));
}

const CacheConfig& Cache::config() const { return m_impl->config; }

Result<ObjectInfo> Cache::put_blob(std::string_view data) {
  auto staged = m_impl->store->stage_bytes(data);
  std::lock_guard lock(m_impl->mu);
  return counted(*m_impl, put_staged_blob_locked(*m_impl, std::move(staged)));
}

Result<ObjectInfo> Cache::put_blob_file(const std::string& path) {
  auto staged = m_impl->store->stage_file(path);
  std::lock_guard lock(m_impl->mu);
  return counted(*m_impl, put_staged_blob_locked(*m_impl, std::move(staged)));
}

Result<std::optional<std::string>> Cache::get_blob(const Digest& digest) {
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<std::optional<std::string>> {
    auto s = m_impl->store_root();
    MITHRIL_ASSIGN(auto data, store::get_blob(s, digest));
    MITHRIL_TRY(m_impl->maybe_flush_locked());
    return data;
  }();
  return counted(*m_impl, std::move(r));
}

Result<bool> Cache::get_blob_to_file(const Digest& digest, const std::string& dest) {
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<bool> {
    auto s = m_impl->store_root();
    MITHRIL_ASSIGN(const bool hit, store::get_blob_to_file(s, digest, dest));
    MITHRIL_TRY(m_impl->maybe_flush_locked());
    return hit;
  }();
  return counted(*m_impl, std::move(r));
}

Result<Digest> Cache::put_entry(const CacheKey& key, const std::vector<EntryFile>& files) {
  // Staged outside the lock: hashing and writing need no coordination.
  MITHRIL_ASSIGN(auto staged, store::stage_entry(m_impl->env, *m_impl->store, key, files));
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<Digest> {
    auto s = m_impl->store_root();
    MITHRIL_ASSIGN(const Digest put, store::put_entry(s, std::move(staged)));
    MITHRIL_TRY(m_impl->maybe_gc_locked());
    return put;
  }();
  return counted(*m_impl, std::move(r));
}

Result<std::optional<Entry>> Cache::get_entry(const CacheKey& key) {
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<std::optional<Entry>> {
    auto s = m_impl->store_root();
    MITHRIL_ASSIGN(auto found, store::get_entry(s, key));
    MITHRIL_TRY(m_impl->maybe_flush_locked());
    return found;
  }();
  return counted(*m_impl, std::move(r));
}

Result<std::optional<std::string>> Cache::read_entry_file(const Entry& entry, std::string_view name) {
  std::lock_guard lock(m_impl->mu);
  auto s = m_impl->store_root();
  return counted(*m_impl, store::read_entry_file(s, entry, name));
}

Result<bool> Cache::remove(const Digest& key) {
  std::lock_guard lock(m_impl->mu);
  auto s = m_impl->store_root();
  auto r = store::remove(s, key);
  if (r && *r) restore_space_reserve(m_impl->env, m_impl->config.root);  // space came back (purged after commit)
  return counted(*m_impl, std::move(r));
}

Result<void> Cache::Impl::record_history_locked(const char* event) {
  MITHRIL_TRY(flush_locked());
  MITHRIL_ASSIGN(const auto c, index->counters());
  HistoryPoint h;
  h.t_ns = env.now_ns();
  h.event = event;
  h.hits = c[static_cast<int>(Counter::kHits)];
  h.misses = c[static_cast<int>(Counter::kMisses)];
  h.framework_hits = c[static_cast<int>(Counter::kFrameworkHits)];
  h.framework_new = c[static_cast<int>(Counter::kFrameworkNewEntries)];
  h.compile_ms_saved = c[static_cast<int>(Counter::kCompileMsSaved)];
  h.evictions = c[static_cast<int>(Counter::kEvictions)];
  h.max_size = config.max_size;
  return in_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(const std::uint64_t stored, index->stored_bytes());
    MITHRIL_ASSIGN(const std::uint64_t fw, index->fw_bytes());
    h.bytes = stored + fw;
    return index->history_add(to_history_row(h));
  });
}

Result<void> Cache::record_history(HistoryKind kind) {
  if (kind == HistoryKind::kNone) return {};
  std::lock_guard lock(m_impl->mu);
  return m_impl->record_history_locked(history_kind_name(kind));
}

Result<std::vector<HistoryPoint>> Cache::history() {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_ASSIGN(const auto rows, m_impl->index->history());
  return to_history_points(rows);
}

Result<std::vector<EvictionRecord>> Cache::evictions(std::size_t limit) {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_ASSIGN(const auto rows, m_impl->index->eviction_log(limit));
  return to_eviction_records(rows);
}

Result<std::vector<EntrySummary>> Cache::largest_framework_entries(std::size_t limit) {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_ASSIGN(const auto records, m_impl->index->fw_largest(limit));
  std::vector<EntrySummary> out;
  for (const auto& r : records) {
    MITHRIL_ASSIGN(const std::int64_t cost, m_impl->index->fw_cost(r.name));
    out.push_back(to_entry_summary(FwSummaryRow{r.name, r.kind, r.size, r.hits, r.last_access_ns, cost}));
  }
  return out;
}

Result<std::vector<EntrySummary>> Cache::framework_entry_summaries() {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_ASSIGN(const auto rows, m_impl->index->fw_summaries());
  return to_entry_summaries(rows);
}

Result<void> Cache::clear() {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_TRY(m_impl->flush_locked());
  MITHRIL_TRY(m_impl->in_write_txn([&]() -> Result<void> {
    MITHRIL_TRY(m_impl->index->doom_all_objects());
    m_impl->pending_touches.clear();
    m_impl->purge_needed = true;
    return m_impl->index->clear_all();
  }));
  // Files no row knows of (a writer killed between publish and commit).
  std::vector<Digest> files;
  MITHRIL_TRY(m_impl->store->for_each([&](const ObjectInfo& o) {
    files.push_back(o.digest);
    return true;
  }));
  MITHRIL_TRY(m_impl->in_write_txn([&]() -> Result<void> {
    for (const auto& d : files) {
      MITHRIL_ASSIGN(const auto row, m_impl->index->find_object(d));
      if (!row) (void)m_impl->store->remove(d);
    }
    return {};
  }));
  restore_space_reserve(m_impl->env, m_impl->config.root);
  return {};
}

Result<void> Cache::flush() {
  std::lock_guard lock(m_impl->mu);
  return m_impl->flush_locked();
}

Result<std::vector<EntryRecord>> Cache::list(std::size_t limit) {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_TRY(m_impl->flush_locked());
  std::vector<EntryRecord> out;
  MITHRIL_TRY(m_impl->index->for_each_entry([&](const EntryRecord& e) {
    if (out.size() >= limit) return false;
    out.push_back(e);
    return true;
  }));
  return out;
}

Result<std::vector<CacheKey>> Cache::keys() {
  std::lock_guard lock(m_impl->mu);
  auto s = m_impl->store_root();
  return store::keys(s);
}

Result<Stats> Cache::stats() {
  std::lock_guard lock(m_impl->mu);
  MITHRIL_TRY(m_impl->flush_locked());
  Stats s;
  s.root = m_impl->config.root;
  s.max_size = m_impl->config.max_size;
  MITHRIL_ASSIGN(s.counters, m_impl->index->counters());
  MITHRIL_ASSIGN(s.entries, m_impl->index->entry_count());
  MITHRIL_ASSIGN(s.objects, m_impl->index->object_count());
  MITHRIL_ASSIGN(s.stored_bytes, m_impl->index->stored_bytes());
  MITHRIL_ASSIGN(s.logical_bytes, m_impl->index->logical_bytes());
  MITHRIL_ASSIGN(s.framework_bytes, m_impl->index->fw_bytes());
  MITHRIL_ASSIGN(s.framework_entries, m_impl->index->fw_entry_count());
  MITHRIL_ASSIGN(const auto kinds, m_impl->index->fw_kinds());
  s.framework_kinds = to_kind_stats(kinds);
  for (const char* ext : {"", "-wal"}) {
    MITHRIL_ASSIGN(const auto st, m_impl->env.stat(m_impl->config.root + "/index.db" + ext));
    if (st) s.index_bytes += st->size;
  }
  MITHRIL_ASSIGN(s.quarantined, count_files(m_impl->env, m_impl->store->quarantine_dir()));
  return s;
}

}  // namespace mithril
