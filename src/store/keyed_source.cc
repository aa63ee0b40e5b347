// The keyed store as an eviction source.
#include "store/keyed_source.h"

#include <mithril/log.h>

#include "store/objects.h"

namespace mithril::store {

Result<root::Footprint> KeyedSource::footprint() {
  root::Footprint f;
  MITHRIL_ASSIGN(f.bytes, m_s.index.stored_bytes());
  MITHRIL_ASSIGN(f.files, m_s.index.object_count());
  return f;
}

Result<std::optional<root::EvictionCandidate>> KeyedSource::oldest_txn() {
  MITHRIL_ASSIGN(const auto rec, m_s.index.oldest_entry());
  if (!rec) {
    m_oldest.reset();
    return std::optional<root::EvictionCandidate>{};
  }
  m_oldest = rec->key;
  return root::EvictionCandidate{rec->key.to_hex(), "store", rec->size, rec->last_access_ns};
}

Result<bool> KeyedSource::evict_txn(const root::EvictionCandidate& c) {
  if (!m_oldest || m_oldest->to_hex() != c.name) {
    return fail(ErrorCode::kInvalidArgument, "evict_txn: '" + c.name + "' is not the last candidate");
  }
  const Digest key = *m_oldest;
  MITHRIL_LOG(LogLevel::kInfo, "evict",
              {{"entry", c.name}, {"kind", c.kind}, {"bytes", static_cast<std::int64_t>(c.size)}});
  std::vector<Digest> dead;
  MITHRIL_TRY(m_s.index.remove_entry(key, &dead));
  MITHRIL_TRY(m_s.index.eviction_log_add({m_s.env.now_ns(), c.name, c.kind, c.size, "budget"}));
  m_s.note_doomed(dead);
  m_s.touches.erase(key);
  return true;
}

Result<void> KeyedSource::purge_txn() { return purge_doomed_txn(m_s); }

}  // namespace mithril::store
