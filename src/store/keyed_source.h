// The keyed store as a root::EvictionSource: blob and keyed entries in LRU
// order (last access, then insertion), sized by their objects; evicting one
// removes its index row and dooms the objects it held last (unlinked by
// purge_txn after the commit). Never busy. Private to src/; see StoreRoot for
// locking.
#pragma once

#include "root/budget.h"
#include "store/store_root.h"

namespace mithril::store {

class KeyedSource final : public root::EvictionSource {
 public:
  explicit KeyedSource(StoreRoot s) : m_s(s) {}

  // Bytes: every stored object's; files: the objects.
  Result<root::Footprint> footprint() override;
  Result<std::optional<root::EvictionCandidate>> oldest_txn() override;
  Result<bool> evict_txn(const root::EvictionCandidate& c) override;
  Result<void> purge_txn() override;

 private:
  StoreRoot m_s;
  std::optional<Digest> m_oldest;  // the key of the last candidate
};

}  // namespace mithril::store
