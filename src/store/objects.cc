// Objects of the keyed store: publish, read, drop, purge.
#include "store/objects.h"

#include <mithril/log.h>

namespace mithril::store {

Result<ObjectInfo> publish_txn(StoreRoot& s, StagedObject&& staged) {
  const Digest d = staged.info().digest;
  MITHRIL_ASSIGN(const auto known, s.index.find_object(d));
  if (known) {
    MITHRIL_ASSIGN(const auto on_disk, s.objects.stat(d));
    if (on_disk) {
      ObjectInfo info = *known;
      info.existed = true;
      s.count(Counter::kDedupObjects);
      return info;  // `staged` deletes its temp file
    }
  }
  MITHRIL_ASSIGN(ObjectInfo info, s.objects.publish(std::move(staged)));
  if (info.existed) s.count(Counter::kDedupObjects);
  if (!known) MITHRIL_TRY(s.index.upsert_object(info));
  return info;
}

Result<void> purge_doomed_txn(StoreRoot& s) {
  MITHRIL_ASSIGN(const auto doomed, s.index.doomed());
  for (const auto& d : doomed) {
    MITHRIL_ASSIGN(const auto revived, s.index.find_object(d));
    // A failed unlink leaves an orphan file (verify --repair removes it);
    // the index is consistent either way.
    if (!revived) (void)s.objects.remove(d);
    MITHRIL_TRY(s.index.undoom(d));
  }
  return {};
}

Result<void> drop_object(StoreRoot& s, const Digest& digest, bool corrupt) {
  if (corrupt) s.count(Counter::kCorruptions);
  MITHRIL_LOG(corrupt ? LogLevel::kWarn : LogLevel::kInfo, corrupt ? "quarantine" : "object_missing",
              {{"object", digest.to_hex()}});
  return s.txn.run_write_txn([&]() -> Result<void> {
    MITHRIL_ASSIGN(const auto users, s.index.entries_using(digest));
    std::vector<Digest> dead;
    for (const auto& key : users) {
      MITHRIL_TRY(s.index.remove_entry(key, &dead));
      s.touches.erase(key);
    }
    s.note_doomed(dead);
    return {};
  });
}

Result<std::optional<std::string>> read_object(StoreRoot& s, const Digest& digest) {
  auto data = s.objects.get(digest);
  if (!data) {
    if (data.error().code != ErrorCode::kCorruption) return std::unexpected(data.error());
    MITHRIL_TRY(drop_object(s, digest, /*corrupt=*/true));
    return std::optional<std::string>{};
  }
  if (!*data) {
    MITHRIL_TRY(drop_object(s, digest, /*corrupt=*/false));
    return std::optional<std::string>{};
  }
  return data;
}

}  // namespace mithril::store
