// Keyed entries of the store.
#include "store/entries.h"

#include <set>

#include <mithril/log.h>

#include "manifest/entry_manifest.h"
#include "store/objects.h"

namespace mithril::store {

Result<StagedEntry> stage_entry(Env& env, ContentStore& objects, const CacheKey& key,
                                const std::vector<EntryFile>& files) {
  MITHRIL_TRY(key.validate());
  std::set<std::string> names;
  for (const auto& f : files) {
    MITHRIL_TRY(validate_entry_path(f.name));
    if (!names.insert(f.name).second) {
      return fail(ErrorCode::kInvalidArgument, "duplicate entry file name '" + f.name + "'");
    }
  }
  StagedEntry out;
  Entry& entry = out.entry;
  entry.key = key.digest();
  entry.key_bytes = key.serialize();
  entry.name_space = key.salt();
  entry.device = key.device().to_string();
  entry.created_ns = env.now_ns();
  for (const auto& f : files) {
    MITHRIL_ASSIGN(auto s, objects.stage_bytes(f.data));
    entry.files.push_back(FileRef{f.name, s.info().digest, s.info().size});
    out.bytes_in += f.data.size();
    out.files.push_back(std::move(s));
  }
  MITHRIL_ASSIGN(out.manifest, objects.stage_bytes(detail::serialize_manifest(entry), false));
  return out;
}

Result<Digest> put_entry(StoreRoot& s, StagedEntry&& staged) {
  const Entry& entry = staged.entry;
  MITHRIL_ASSIGN(const Digest key, in_write_txn<Digest>(s, [&]() -> Result<Digest> {
    std::vector<Digest> parts;
    MITHRIL_ASSIGN(const ObjectInfo root, publish_txn(s, std::move(staged.manifest)));
    parts.push_back(root.digest);
    for (auto& f : staged.files) {
      MITHRIL_ASSIGN(const ObjectInfo info, publish_txn(s, std::move(f)));
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
    MITHRIL_TRY(s.index.insert_entry(rec, parts, &dead));
    s.note_doomed(dead);
    return entry.key;
  }));
  s.count(Counter::kPuts);
  s.count(Counter::kBytesIn, static_cast<std::int64_t>(staged.bytes_in));
  return key;
}

Result<std::optional<Entry>> get_entry(StoreRoot& s, const CacheKey& key) {
  std::vector<CacheKey> candidates{key};
  if (key.device().kind() == DeviceClass::Kind::kCudaCompute) {
    candidates.push_back(key.with_device(DeviceClass::cuda_any()));
  }
  std::optional<Entry> found;
  for (const auto& k : candidates) {
    MITHRIL_ASSIGN(const auto rec, s.index.find_entry(k.digest()));
    if (!rec || rec->kind != EntryKind::kManifest) continue;
    MITHRIL_ASSIGN(const auto text, read_object(s, rec->root));
    if (!text) continue;
    auto parsed = detail::parse_manifest(*text);
    if (!parsed || parsed->key != rec->key) {
      (void)s.objects.quarantine(rec->root);
      MITHRIL_TRY(drop_object(s, rec->root, true));
      continue;
    }
    s.touch(rec->key);
    found = std::move(*parsed);
    break;
  }
  s.count(found ? Counter::kHits : Counter::kMisses);
  MITHRIL_LOG(LogLevel::kDebug, found ? "hit" : "miss", {{"key", key.digest().to_hex()}});
  return found;
}

Result<std::optional<std::string>> read_entry_file(StoreRoot& s, const Entry& entry, std::string_view name) {
  const FileRef* ref = nullptr;
  for (const auto& f : entry.files) {
    if (f.name == name) ref = &f;
  }
  if (ref == nullptr) return std::optional<std::string>{};
  MITHRIL_ASSIGN(auto data, read_object(s, ref->digest));
  if (data) s.count(Counter::kBytesOut, static_cast<std::int64_t>(data->size()));
  return data;
}

Result<bool> remove(StoreRoot& s, const Digest& key) {
  return in_write_txn<bool>(s, [&]() -> Result<bool> {
    std::vector<Digest> dead;
    MITHRIL_ASSIGN(const bool removed, s.index.remove_entry(key, &dead));
    s.note_doomed(dead);
    s.touches.erase(key);
    return removed;
  });
}

Result<std::vector<CacheKey>> keys(StoreRoot& s) {
  std::vector<Digest> roots;
  MITHRIL_TRY(s.index.for_each_entry([&](const EntryRecord& e) {
    if (e.kind == EntryKind::kManifest) roots.push_back(e.root);
    return true;
  }));
  std::vector<CacheKey> out;
  for (const auto& root : roots) {
    auto got = s.objects.get(root);
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

}  // namespace mithril::store
