// Any other directory cache: one entry per top-level child.
#include "frameworks/adapter.h"

namespace mithril::frameworks {
namespace {

class GenericAdapter final : public FrameworkAdapter {
 public:
  std::string_view name() const override { return "generic"; }
  std::string_view env_var() const override { return ""; }

  EntryOfFile entry_of(const std::vector<std::string>& p) const override {
    if (p.empty() || is_temp_name(p.back()) || p[0] == "locks") return {};
    return {p[0], "generic"};
  }
};

}  // namespace

const FrameworkAdapter& generic_adapter() {
  static const GenericAdapter adapter;
  return adapter;
}

}  // namespace mithril::frameworks
