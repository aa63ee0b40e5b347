// PyTorch Inductor (torch 2.x): fxgraph/<2ch>/<key>/<entry>, aotautograd/<key>/<entry>,
// <2ch>/<key>.* code modules (.py wrapper, .cpp/.so kernels, .main.cpp/.main.so,
// .so.load_ok markers), locks/ (left alone), tmp* (debris).
#include <climits>

#include <mithril/digest.h>

#include "frameworks/adapter.h"

namespace mithril::frameworks {
namespace {

class InductorAdapter final : public FrameworkAdapter {
 public:
  std::string_view name() const override { return "inductor"; }
  std::string_view env_var() const override { return "TORCHINDUCTOR_CACHE_DIR"; }

  EntryOfFile entry_of(const std::vector<std::string>& p) const override {
    if (p.empty() || p[0] == "locks" || p[0].starts_with("tmp") || is_temp_name(p.back())) return {};
    if (p[0] == "fxgraph" && p.size() >= 4) return {join_parts(p, 3), "inductor-fxgraph"};
    if (p[0] == "aotautograd" && p.size() >= 3) return {join_parts(p, 2), "inductor-aotautograd"};
    if (p[0].size() == 2 && p.size() == 2) {
      const std::string& file = p[1];
      const auto dot = file.find('.');
      return {p[0] + "/" + file.substr(0, dot), "inductor-code"};
    }
    if (p.size() >= 2) return {join_parts(p, 2), "inductor-other"};
    return {p[0], "inductor-other"};
  }

  // Torch locks a code module as locks/<key>.lock while it compiles it.
  std::optional<std::string> lock_file(const std::string& entry_rel, std::string_view kind) const override {
    if (kind != "inductor-code") return std::nullopt;
    std::string key = entry_rel.substr(entry_rel.find('/') + 1);
    if (key.size() + 5 > NAME_MAX) key = "mithril-" + blake3(key).to_hex();  // torch cannot lock such a name either
    return "locks/" + key + ".lock";
  }

  // Shared objects live in the <2ch>/ code directories, not in FX entries.
  bool lists_for_completeness(std::string_view sub) const override {
    return sub != "fxgraph" && sub != "aotautograd" && sub != "locks";
  }
};

}  // namespace

const FrameworkAdapter& inductor_adapter() {
  static const InductorAdapter adapter;
  return adapter;
}

}  // namespace mithril::frameworks
