// FrameworkAdapter: everything mithril knows about one framework's cache
// directory, behind one small interface. A new framework is one adapter file
// in adapters/ plus one line in registry.cc.
//
// Thread safety: adapters are stateless singletons (const methods only), safe
// to use from any thread. Private to src/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/hooks.h>

namespace mithril::frameworks {

class FrameworkAdapter {
 public:
  virtual ~FrameworkAdapter() = default;

  // The directory name under <root>/fw/<partition>/ ("inductor") and the
  // environment variable that points the framework at it.
  virtual std::string_view name() const = 0;
  virtual std::string_view env_var() const = 0;

  // Which entry a file belongs to. `parts` is the file's path relative to the
  // framework directory, split at '/', never empty and free of "", ".", "..".
  // Returns the entry name (relative to the framework directory) and its
  // kind, or an empty name for files mithril must leave alone (locks, temp
  // files).
  virtual EntryOfFile entry_of(const std::vector<std::string>& parts) const = 0;

  // True for a file (by its name, no directory) that the framework reads to
  // find the other files of its entry: an import publishes it after them.
  virtual bool publish_last(std::string_view /*file_name*/) const { return false; }

  // The lock file (relative to the framework directory) the framework holds
  // while it writes entry `entry_rel` of kind `kind`, or nullopt when the
  // framework takes no lock mithril can share.
  virtual std::optional<std::string> lock_file(const std::string& /*entry_rel*/, std::string_view /*kind*/) const {
    return std::nullopt;
  }

  // Completeness check before a run: the top-level subdirectory `sub` is
  // listed for unrecorded files that need it (false: never looked into).
  virtual bool lists_for_completeness(std::string_view sub) const { return sub != "locks"; }
  // True when an unrecorded file named `file_name` must pass
  // complete() before the framework may load it (a shared object a killed
  // linker may have left truncated).
  virtual bool needs_completeness_check(std::string_view file_name) const { return file_name.ends_with(".so"); }
  // True when `head` (the first <= 64 bytes) of a file of `size` bytes is a
  // complete file (default: a complete ELF object, elf_looks_complete()).
  virtual bool complete(const std::string& head, std::uint64_t size) const { return elf_looks_complete(head, size); }
};

// Shared by the adapters: `name` is a temp or hidden file (tmp*, *.tmp,
// *.tmp.*, .*) that is never part of an entry.
bool is_temp_name(const std::string& name);
// The first `n` parts joined with '/'.
std::string join_parts(const std::vector<std::string>& parts, std::size_t n);

// The adapters (registry.cc), one per line there.
const FrameworkAdapter& inductor_adapter();
const FrameworkAdapter& triton_adapter();
// Any other directory cache: one entry per top-level child.
const FrameworkAdapter& generic_adapter();

}  // namespace mithril::frameworks
