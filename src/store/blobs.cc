// Blob entries of the keyed store.
#include "store/blobs.h"

#include <mithril/log.h>

#include "store/objects.h"

namespace mithril::store {

Result<ObjectInfo> put_blob(StoreRoot& s, StagedObject&& staged) {
  const std::uint64_t size = staged.info().size;
  MITHRIL_ASSIGN(ObjectInfo info, in_write_txn<ObjectInfo>(s, [&]() -> Result<ObjectInfo> {
    MITHRIL_ASSIGN(ObjectInfo published, publish_txn(s, std::move(staged)));
    EntryRecord rec;
    rec.key = published.digest;
    rec.root = published.digest;
    rec.created_ns = rec.last_access_ns = s.env.now_ns();
    std::vector<Digest> dead;
    MITHRIL_TRY(s.index.insert_entry(rec, {published.digest}, &dead));
    s.note_doomed(dead);
    return published;
  }));
  s.count(Counter::kPuts);
  s.count(Counter::kBytesIn, static_cast<std::int64_t>(size));
  MITHRIL_LOG(LogLevel::kDebug, "put", {{"object", info.digest.to_hex()}, {"size", static_cast<std::int64_t>(size)},
                                        {"dedup", static_cast<std::int64_t>(info.existed ? 1 : 0)}});
  return info;
}

Result<std::optional<std::string>> get_blob(StoreRoot& s, const Digest& digest) {
  MITHRIL_ASSIGN(const auto kind, s.index.find_entry_kind(digest));
  std::optional<std::string> data;
  if (kind == EntryKind::kBlob) {
    MITHRIL_ASSIGN(data, read_object(s, digest));
  }
  MITHRIL_LOG(LogLevel::kDebug, data ? "hit" : "miss", {{"key", digest.to_hex()}});
  if (!data) {
    s.count(Counter::kMisses);
  } else {
    s.count(Counter::kHits);
    s.count(Counter::kBytesOut, static_cast<std::int64_t>(data->size()));
    s.touch(digest);
  }
  return data;
}

Result<bool> get_blob_to_file(StoreRoot& s, const Digest& digest, const std::string& dest) {
  MITHRIL_ASSIGN(const auto rec, s.index.find_entry(digest));
  bool hit = false;
  if (rec && rec->kind == EntryKind::kBlob) {
    auto got = s.objects.get_to_file(digest, dest);
    if (!got && got.error().code == ErrorCode::kCorruption) {
      MITHRIL_TRY(drop_object(s, digest, true));
    } else {
      MITHRIL_ASSIGN(hit, std::move(got));
      if (!hit) MITHRIL_TRY(drop_object(s, digest, false));
    }
  }
  if (hit) {
    s.count(Counter::kHits);
    s.count(Counter::kBytesOut, static_cast<std::int64_t>(rec->size));
    s.touch(digest);
  } else {
    s.count(Counter::kMisses);
  }
  return hit;
}

}  // namespace mithril::store
