// The Cache facade: puts, lookups, and the buffered LRU/counter updates.
#include <mithril/cache.h>

#include <set>

#include <mithril/log.h>

#include "core/cache_impl.h"
#include "core/index_records.h"
#include "core/space_reserve.h"
#include "core/manifest.h"

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

}  // namespace

// ---- Impl helpers ---------------------------------------------------------

Result<ObjectInfo> Cache::Impl::publish_txn(StagedObject&& staged) {
  const Digest d = staged.info().digest;
  MITHRIL_ASSIGN(const auto known, index->find_object(d));
  if (known) {
    MITHRIL_ASSIGN(const auto on_disk, store->stat(d));
    if (on_disk) {
      ObjectInfo info = *known;
      info.existed = true;
      count(Counter::kDedupObjects);
      return info;  // `staged` deletes its temp file
    }
  }
  MITHRIL_ASSIGN(ObjectInfo info, store->publish(std::move(staged)));
  if (info.existed) count(Counter::kDedupObjects);
  if (!known) MITHRIL_TRY(index->upsert_object(info));
  return info;
}

Result<void> Cache::Impl::purge_doomed_locked() {
  purge_needed = false;
  in_purge = true;
  auto r = in_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(const auto doomed, index->doomed());
    for (const auto& d : doomed) {
      MITHRIL_ASSIGN(const auto revived, index->find_object(d));
      // A failed unlink leaves an orphan file (verify --repair removes it);
      // the index is consistent either way.
      if (!revived) (void)store->remove(d);
      MITHRIL_TRY(index->undoom(d));
    }
    return purge_fw_doomed_txn(*this);
  });
  in_purge = false;
  return r;
}

Result<void> Cache::Impl::drop_object_locked(const Digest& digest, bool corrupt) {
  if (corrupt) count(Counter::kCorruptions);
  MITHRIL_LOG(corrupt ? LogLevel::kWarn : LogLevel::kInfo, corrupt ? "quarantine" : "object_missing",
            {{"object", digest.to_hex()}});
  return in_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(const auto users, index->entries_using(digest));
    std::vector<Digest> dead;
    for (const auto& key : users) {
      MITHRIL_TRY(index->remove_entry(key, &dead));
      pending_touches.erase(key);
    }
    note_doomed(dead);
    return {};
  });
}

Result<std::optional<std::string>> Cache::Impl::read_object_locked(const Digest& digest) {
  auto data = store->get(digest);
  if (!data) {
    if (data.error().code != ErrorCode::kCorruption) return std::unexpected(data.error());
    MITHRIL_TRY(drop_object_locked(digest, /*corrupt=*/true));
    return std::optional<std::string>{};
  }
  if (!*data) {
    MITHRIL_TRY(drop_object_locked(digest, /*corrupt=*/false));
    return std::optional<std::string>{};
  }
  return data;
}

void Cache::Impl::touch_locked(const Digest& key) {
  auto& [t, hits] = pending_touches[key];
  t = env.now_ns();
  hits += 1;
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

Result<bool> Cache::Impl::over_file_limit_locked() {
  if (config.max_files <= 0) return false;
  MITHRIL_ASSIGN(const std::uint64_t files, index->file_count());
  return files > static_cast<std::uint64_t>(config.max_files);
}

Result<void> Cache::Impl::maybe_gc_locked() {
  MITHRIL_ASSIGN(const std::uint64_t stored, index->stored_bytes());
  MITHRIL_ASSIGN(const std::uint64_t fw, index->fw_bytes());
  MITHRIL_ASSIGN(const bool too_many, over_file_limit_locked());
  if (stored + fw <= config.max_size && !too_many) return {};
  MITHRIL_ASSIGN(const auto report, gc_locked(config.max_size));
  (void)report;
  return {};
}

// Evicts the least recently used entry, of either kind (objects or
// framework files). Returns false when there is nothing left to evict.
Result<bool> Cache::Impl::evict_one_txn(std::vector<Digest>* dead, int* busy_skips) {
  MITHRIL_ASSIGN(const auto cas, index->oldest_entry());
  MITHRIL_ASSIGN(const auto fw, index->fw_oldest());
  const bool fw_allowed = *busy_skips < 64;  // every fw entry may be busy
  if (fw && fw_allowed && (!cas || fw->last_access_ns < cas->last_access_ns)) {
    MITHRIL_ASSIGN(const std::uint64_t freed, evict_oldest_fw_txn(*this, *fw));
    MITHRIL_LOG(LogLevel::kInfo, freed > 0 ? "evict" : "evict_skipped_busy",
              {{"entry", fw->name}, {"kind", fw->kind}, {"bytes", static_cast<std::int64_t>(fw->size)}});
    if (freed > 0) MITHRIL_TRY(index->eviction_log_add({env.now_ns(), fw->name, fw->kind, fw->size, "budget"}));
    if (freed == 0 && fw->size > 0) ++*busy_skips;
    return true;
  }
  if (!cas) return false;
  MITHRIL_LOG(LogLevel::kInfo, "evict",
            {{"entry", cas->key.to_hex()}, {"kind", "store"}, {"bytes", static_cast<std::int64_t>(cas->size)}});
  MITHRIL_TRY(index->remove_entry(cas->key, dead));
  MITHRIL_TRY(index->eviction_log_add({env.now_ns(), cas->key.to_hex(), "store", cas->size, "budget"}));
  pending_touches.erase(cas->key);
  return true;
}

Result<GcReport> Cache::Impl::gc_locked(std::uint64_t budget) {
  MITHRIL_TRY(flush_locked());  // so this process's recent hits count as recent
  GcReport report;
  MITHRIL_ASSIGN(const std::uint64_t stored0, index->stored_bytes());
  MITHRIL_ASSIGN(const std::uint64_t fw0, index->fw_bytes());
  report.stored_before = stored0 + fw0;
  MITHRIL_ASSIGN(report.temp_files_removed,
                 store->remove_stale_temp_files(config.temp_max_age_s * 1'000'000'000LL));
  constexpr int kBatch = 256;  // entries per transaction: bounds lock hold time
  int busy_skips = 0;
  for (;;) {
    bool more = false;
    MITHRIL_TRY(in_write_txn([&]() -> Result<void> {
      const auto total = [&]() -> Result<std::uint64_t> {
        MITHRIL_ASSIGN(const std::uint64_t s, index->stored_bytes());
        MITHRIL_ASSIGN(const std::uint64_t f, index->fw_bytes());
        return s + f;
      };
      MITHRIL_ASSIGN(const std::uint64_t start, total());
      MITHRIL_ASSIGN(const std::uint64_t files_start, index->file_count());
      MITHRIL_ASSIGN(const std::uint64_t keyed_start, index->entry_count());
      std::uint64_t now_total = start;
      std::int64_t evicted = 0;
      std::vector<Digest> dead;
      bool exhausted = false;
      MITHRIL_ASSIGN(bool too_many, over_file_limit_locked());
      while ((now_total > budget || too_many) && evicted < kBatch) {
        MITHRIL_ASSIGN(const bool any, evict_one_txn(&dead, &busy_skips));
        if (!any) {
          exhausted = true;
          break;
        }
        ++evicted;
        MITHRIL_ASSIGN(now_total, total());
        MITHRIL_ASSIGN(too_many, over_file_limit_locked());
      }
      note_doomed(dead);
      std::array<std::int64_t, kCounterCount> delta{};
      delta[static_cast<int>(Counter::kEvictions)] = evicted;
      delta[static_cast<int>(Counter::kEvictedBytes)] = static_cast<std::int64_t>(start - now_total);
      MITHRIL_TRY(index->add_counters(delta));
      report.evicted_entries += static_cast<std::uint64_t>(evicted);
      report.evicted_bytes += start - now_total;
      // Another batch only while this one freed something: busy framework
      // entries (skipped, not freed) never keep the loop going.
      MITHRIL_ASSIGN(const std::uint64_t files_now, index->file_count());
      MITHRIL_ASSIGN(const std::uint64_t keyed_now, index->entry_count());
      const bool progress = now_total < start || files_now < files_start || keyed_now < keyed_start;
      more = !exhausted && evicted == kBatch && progress && (now_total > budget || too_many);
      return {};
    }));
    if (!more) break;
  }
  MITHRIL_ASSIGN(const std::uint64_t stored1, index->stored_bytes());
  MITHRIL_ASSIGN(const std::uint64_t fw1, index->fw_bytes());
  report.stored_after = stored1 + fw1;
  MITHRIL_LOG(LogLevel::kInfo, "gc",
            {{"budget", static_cast<std::int64_t>(budget)},
             {"evicted_entries", static_cast<std::int64_t>(report.evicted_entries)},
             {"size_before", static_cast<std::int64_t>(report.stored_before)},
             {"size_after", static_cast<std::int64_t>(report.stored_after)}});
  return report;
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

Result<ObjectInfo> Cache::Impl::put_staged_blob_locked(Result<StagedObject> staged) {
  if (!staged) return std::unexpected(staged.error());
  const std::uint64_t size = staged->info().size;
  MITHRIL_ASSIGN(ObjectInfo info, in_write_txn([&]() -> Result<ObjectInfo> {
    MITHRIL_ASSIGN(ObjectInfo published, publish_txn(std::move(*staged)));
    EntryRecord rec;
    rec.key = published.digest;
    rec.root = published.digest;
    rec.created_ns = rec.last_access_ns = env.now_ns();
    std::vector<Digest> dead;
    MITHRIL_TRY(index->insert_entry(rec, {published.digest}, &dead));
    note_doomed(dead);
    return published;
  }));
  count(Counter::kPuts);
  count(Counter::kBytesIn, static_cast<std::int64_t>(size));
  MITHRIL_LOG(LogLevel::kDebug, "put", {{"object", info.digest.to_hex()}, {"size", static_cast<std::int64_t>(size)},
                                      {"dedup", static_cast<std::int64_t>(info.existed ? 1 : 0)}});
  MITHRIL_TRY(maybe_gc_locked());
  return info;
}

Result<ObjectInfo> Cache::put_blob(std::string_view data) {
  auto staged = m_impl->store->stage_bytes(data);
  std::lock_guard lock(m_impl->mu);
  return counted(*m_impl, m_impl->put_staged_blob_locked(std::move(staged)));
}

Result<ObjectInfo> Cache::put_blob_file(const std::string& path) {
  auto staged = m_impl->store->stage_file(path);
  std::lock_guard lock(m_impl->mu);
  return counted(*m_impl, m_impl->put_staged_blob_locked(std::move(staged)));
}

Result<std::optional<std::string>> Cache::get_blob(const Digest& digest) {
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<std::optional<std::string>> {
    MITHRIL_ASSIGN(const auto kind, m_impl->index->find_entry_kind(digest));
    std::optional<std::string> data;
    if (kind == EntryKind::kBlob) {
      MITHRIL_ASSIGN(data, m_impl->read_object_locked(digest));
    }
    MITHRIL_LOG(LogLevel::kDebug, data ? "hit" : "miss", {{"key", digest.to_hex()}});
    if (!data) {
      m_impl->count(Counter::kMisses);
    } else {
      m_impl->count(Counter::kHits);
      m_impl->count(Counter::kBytesOut, static_cast<std::int64_t>(data->size()));
      m_impl->touch_locked(digest);
    }
    MITHRIL_TRY(m_impl->maybe_flush_locked());
    return data;
  }();
  return counted(*m_impl, std::move(r));
}

Result<bool> Cache::get_blob_to_file(const Digest& digest, const std::string& dest) {
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<bool> {
    MITHRIL_ASSIGN(const auto rec, m_impl->index->find_entry(digest));
    bool hit = false;
    if (rec && rec->kind == EntryKind::kBlob) {
      auto got = m_impl->store->get_to_file(digest, dest);
      if (!got && got.error().code == ErrorCode::kCorruption) {
        MITHRIL_TRY(m_impl->drop_object_locked(digest, true));
      } else {
        MITHRIL_ASSIGN(hit, std::move(got));
        if (!hit) MITHRIL_TRY(m_impl->drop_object_locked(digest, false));
      }
    }
    if (hit) {
      m_impl->count(Counter::kHits);
      m_impl->count(Counter::kBytesOut, static_cast<std::int64_t>(rec->size));
      m_impl->touch_locked(digest);
    } else {
      m_impl->count(Counter::kMisses);
    }
    MITHRIL_TRY(m_impl->maybe_flush_locked());
    return hit;
  }();
  return counted(*m_impl, std::move(r));
}

Result<Digest> Cache::put_entry(const CacheKey& key, const std::vector<EntryFile>& files) {
  MITHRIL_TRY(key.validate());
  std::set<std::string> names;
  for (const auto& f : files) {
    MITHRIL_TRY(validate_entry_path(f.name));
    if (!names.insert(f.name).second) {
      return fail(ErrorCode::kInvalidArgument, "duplicate entry file name '" + f.name + "'");
    }
  }
  // Stage every file outside the lock: hashing and writing need no coordination.
  Entry entry;
  entry.key = key.digest();
  entry.key_bytes = key.serialize();
  entry.name_space = key.salt();
  entry.device = key.device().to_string();
  entry.created_ns = m_impl->env.now_ns();
  std::vector<StagedObject> staged;
  std::uint64_t bytes_in = 0;
  for (const auto& f : files) {
    MITHRIL_ASSIGN(auto s, m_impl->store->stage_bytes(f.data));
    entry.files.push_back(FileRef{f.name, s.info().digest, s.info().size});
    bytes_in += f.data.size();
    staged.push_back(std::move(s));
  }
  MITHRIL_ASSIGN(auto manifest, m_impl->store->stage_bytes(detail::serialize_manifest(entry), false));
  std::lock_guard lock(m_impl->mu);
  auto r = m_impl->in_write_txn([&]() -> Result<Digest> {
    std::vector<Digest> parts;
    MITHRIL_ASSIGN(const ObjectInfo root, m_impl->publish_txn(std::move(manifest)));
    parts.push_back(root.digest);
    for (auto& s : staged) {
      MITHRIL_ASSIGN(const ObjectInfo info, m_impl->publish_txn(std::move(s)));
      parts.push_back(info.digest);
    }
    EntryRecord rec;
    rec.key = entry.key;
    rec.kind = EntryKind::kManifest;
    rec.root = root.digest;
    rec.name_space = entry.name_space;
    rec.device = entry.device;
    rec.created_ns = rec.last_access_ns = entry.created_ns;
    std::vector<Digest> dead;
    MITHRIL_TRY(m_impl->index->insert_entry(rec, parts, &dead));
    m_impl->note_doomed(dead);
    return entry.key;
  });
  if (r) {
    m_impl->count(Counter::kPuts);
    m_impl->count(Counter::kBytesIn, static_cast<std::int64_t>(bytes_in));
    if (auto gc = m_impl->maybe_gc_locked(); !gc) return counted<Digest>(*m_impl, std::unexpected(gc.error()));
  }
  return counted(*m_impl, std::move(r));
}

Result<std::optional<Entry>> Cache::get_entry(const CacheKey& key) {
  std::vector<CacheKey> candidates{key};
  if (key.device().kind() == DeviceClass::Kind::kCudaCompute) {
    candidates.push_back(key.with_device(DeviceClass::cuda_any()));
  }
  std::lock_guard lock(m_impl->mu);
  auto r = [&]() -> Result<std::optional<Entry>> {
    std::optional<Entry> found;
    for (const auto& k : candidates) {
      MITHRIL_ASSIGN(const auto rec, m_impl->index->find_entry(k.digest()));
      if (!rec || rec->kind != EntryKind::kManifest) continue;
      MITHRIL_ASSIGN(const auto text, m_impl->read_object_locked(rec->root));
      if (!text) continue;
      auto parsed = detail::parse_manifest(*text);
      if (!parsed || parsed->key != rec->key) {
        (void)m_impl->store->quarantine(rec->root);
        MITHRIL_TRY(m_impl->drop_object_locked(rec->root, true));
        continue;
      }
      m_impl->touch_locked(rec->key);
      found = std::move(*parsed);
      break;
    }
    m_impl->count(found ? Counter::kHits : Counter::kMisses);
    MITHRIL_LOG(LogLevel::kDebug, found ? "hit" : "miss", {{"key", key.digest().to_hex()}});
    MITHRIL_TRY(m_impl->maybe_flush_locked());
    return found;
  }();
  return counted(*m_impl, std::move(r));
}

Result<std::optional<std::string>> Cache::read_entry_file(const Entry& entry, std::string_view name) {
  const FileRef* ref = nullptr;
  for (const auto& f : entry.files) {
    if (f.name == name) ref = &f;
  }
  if (ref == nullptr) return std::optional<std::string>{};
  std::lock_guard lock(m_impl->mu);
  auto r = m_impl->read_object_locked(ref->digest);
  if (r) {
    if (const auto& data = *r) m_impl->count(Counter::kBytesOut, static_cast<std::int64_t>(data->size()));
  }
  return counted(*m_impl, std::move(r));
}

Result<bool> Cache::remove(const Digest& key) {
  std::lock_guard lock(m_impl->mu);
  auto r = m_impl->in_write_txn([&]() -> Result<bool> {
    std::vector<Digest> dead;
    MITHRIL_ASSIGN(const bool removed, m_impl->index->remove_entry(key, &dead));
    m_impl->note_doomed(dead);
    m_impl->pending_touches.erase(key);
    return removed;
  });
  if (r && *r) restore_space_reserve(m_impl->env, m_impl->config.root);  // space came back (purged after commit)
  return counted(*m_impl, std::move(r));
}

Result<GcReport> Cache::gc(std::optional<std::uint64_t> max_size) {
  std::lock_guard lock(m_impl->mu);
  auto r = counted(*m_impl, m_impl->gc_locked(max_size.value_or(m_impl->config.max_size)));
  if (r) MITHRIL_TRY(m_impl->record_history_locked(history_kind_name(HistoryKind::kGc)));
  if (r && r->evicted_bytes > 0) restore_space_reserve(m_impl->env, m_impl->config.root);
  return r;
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
  std::vector<Digest> roots;
  MITHRIL_TRY(m_impl->index->for_each_entry([&](const EntryRecord& e) {
    if (e.kind == EntryKind::kManifest) roots.push_back(e.root);
    return true;
  }));
  std::vector<CacheKey> out;
  for (const auto& root : roots) {
    auto got = m_impl->store->get(root);
    if (!got) continue;
    const auto& text = *got;
    if (!text) continue;
    auto entry = detail::parse_manifest(*text);
    if (!entry) continue;
    auto key = CacheKey::deserialize(entry->key_bytes);
    if (key) out.push_back(std::move(*key));
  }
  return out;
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
