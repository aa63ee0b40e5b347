#include "frameworks/quarantine.h"

#include <mithril/log.h>

#include "frameworks/fw_files.h"

namespace mithril::frameworks {

// Moves the files of a framework entry into quarantine (or deletes them)
// and forgets it. A file neither move nor delete removed is doomed: never
// recorded as a valid entry again, its unlink retried by every purge. TXN.
Result<std::uint64_t> quarantine_entry_txn(FwRoot& fw, const std::string& name) {
  MITHRIL_ASSIGN(const std::string kind, fw.index.fw_kind_of(name));
  MITHRIL_ASSIGN(const auto files, fw.index.fw_remove_entry(name));
  std::uint64_t bytes = 0;
  for (const auto& f : files) bytes += f.size;
  MITHRIL_TRY(fw.index.eviction_log_add({fw.env.now_ns(), name, kind, bytes, "corrupt"}));
  MITHRIL_TRY(fw.index.fw_kind_add(kind, {.quarantined = 1}));
  std::uint64_t handled = 0;
  std::vector<FwFile> stuck;
  for (const auto& f : files) {
    auto r = quarantine_or_delete(fw.env, fw.root, f.path);
    if (r) {
      handled += 1;
      continue;
    }
    MITHRIL_LOG(LogLevel::kWarn, "quarantine_failed", {{"file", f.path}, {"error", r.error().message}});
    stuck.push_back(f);
  }
  if (!stuck.empty()) {
    MITHRIL_TRY(fw.index.fw_doom(name, kind, stuck));
    fw.purge_needed = true;
  }
  return handled;
}

// Refuses files that are not regular (symlinks, FIFOs, devices) found in a
// framework directory: each is moved into quarantine (the link itself, never
// its target) or deleted, so a framework never loads through it.
std::uint64_t refuse_links(FwRoot& fw, const std::vector<std::string>& links) {
  std::uint64_t n = 0;
  for (const auto& rel : links) {
    MITHRIL_LOG(LogLevel::kWarn, "quarantine", {{"file", rel}, {"reason", "not a regular file (symlink, FIFO or device)"}});
    n += quarantine_or_delete(fw.env, fw.root, rel) ? 1 : 0;
  }
  return n;
}

}  // namespace mithril::frameworks
