// Triton: <hash>/<files> with a __grp__<name>.json group file per kernel,
// which Triton reads to find the kernel's other files.
#include "frameworks/adapter.h"

namespace mithril::frameworks {
namespace {

class TritonAdapter final : public FrameworkAdapter {
 public:
  std::string_view name() const override { return "triton"; }
  std::string_view env_var() const override { return "TRITON_CACHE_DIR"; }

  EntryOfFile entry_of(const std::vector<std::string>& p) const override {
    if (p.empty() || is_temp_name(p.back())) return {};
    for (const auto& part : p) {
      if (part.starts_with("tmp.")) return {};  // FileCacheManager's tmp.pid_<pid>_<uuid>/ staging dirs
    }
    return {p[0], "triton-kernel"};
  }

  // The group file names the others: it appears only after them.
  bool publish_last(std::string_view file_name) const override { return file_name.starts_with("__grp__"); }
};

}  // namespace

const FrameworkAdapter& triton_adapter() {
  static const TritonAdapter adapter;
  return adapter;
}

}  // namespace mithril::frameworks
