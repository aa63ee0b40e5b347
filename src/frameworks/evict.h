// Eviction of framework entries (whole entries; the LRU order across the
// root is root::Budget's, this layer's entries are its FwSource). Private to
// src/.
#pragma once

#include <cstdint>

#include "frameworks/fw_root.h"
#include "root/budget.h"

namespace mithril::frameworks {

// Removes framework entry `oldest` from the index and dooms its files
// (unlinked after the commit, see purge_doomed_txn). False when a framework
// process holds the entry's lock: nothing is freed and the entry is marked
// used instead. TXN.
Result<bool> evict_entry_txn(FwRoot& fw, const FwEntryRecord& oldest);
// Second phase: unlinks the doomed files (unless a sync recorded them again)
// and their parents left empty, never through a symlink, and forgets them;
// an entry whose lock a framework holds is left for the next purge. TXN.
Result<void> purge_doomed_txn(FwRoot& fw);

// The framework entries as a root::EvictionSource: LRU order (last access,
// then insertion), sized by their files; evicting one is evict_entry_txn
// (busy when a framework process holds its lock), logged to the eviction log
// when it freed bytes; purge_txn is purge_doomed_txn. See FwRoot for locking.
class FwSource final : public root::EvictionSource {
 public:
  explicit FwSource(FwRoot fw) : m_fw(fw) {}

  // Bytes: every recorded framework file's; files: those files.
  Result<root::Footprint> footprint() override;
  Result<std::optional<root::EvictionCandidate>> oldest_txn() override;
  Result<bool> evict_txn(const root::EvictionCandidate& c) override;
  Result<void> purge_txn() override { return purge_doomed_txn(m_fw); }

 private:
  FwRoot m_fw;
  std::optional<FwEntryRecord> m_oldest;  // the last candidate
};

}  // namespace mithril::frameworks
