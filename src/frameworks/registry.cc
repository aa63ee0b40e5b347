#include "frameworks/registry.h"

#include <algorithm>

namespace mithril::frameworks {
namespace {

std::vector<std::string> split(const std::string& rel) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= rel.size()) {
    const auto end = std::min(rel.find('/', start), rel.size());
    parts.push_back(rel.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// True when `rel` (relative to fw/<partition>/) is a file its adapter
// publishes last.
bool published_last(const std::string& rel) {
  const auto slash = rel.find('/');
  const auto file = rel.find_last_of('/');
  if (slash == std::string::npos) return false;
  return adapter_for(std::string_view(rel).substr(0, slash)).publish_last(std::string_view(rel).substr(file + 1));
}

}  // namespace

const std::vector<const FrameworkAdapter*>& adapters() {
  static const std::vector<const FrameworkAdapter*> all = {
      &inductor_adapter(),  // TORCHINDUCTOR_CACHE_DIR
      &triton_adapter(),    // TRITON_CACHE_DIR
  };
  return all;
}

const FrameworkAdapter& adapter_for(std::string_view framework) {
  for (const FrameworkAdapter* a : adapters()) {
    if (a->name() == framework) return *a;
  }
  return generic_adapter();
}

std::string partition_dir(const std::string& root, const std::string& partition) {
  return root + "/fw/" + partition;
}

std::string file_path(const std::string& root, const std::string& partition, const std::string& rel) {
  return partition_dir(root, partition) + "/" + rel;
}

EntryOfFile entry_of(std::string_view framework, const std::string& rel) {
  const auto parts = split(rel);
  for (const auto& part : parts) {
    if (part.empty() || part == "." || part == "..") return {};
  }
  return adapter_for(framework).entry_of(parts);
}

bool publish_before(const std::string& a, const std::string& b) {
  const bool last_a = published_last(a);
  const bool last_b = published_last(b);
  return last_a != last_b ? last_b : a < b;
}

bool is_temp_name(const std::string& name) {
  return name.starts_with("tmp") || name.ends_with(".tmp") || name.find(".tmp.") != std::string::npos ||
         name.starts_with(".");
}

std::string join_parts(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

}  // namespace mithril::frameworks

namespace mithril {

// <mithril/hooks.h>, kept for the CLI, the bindings and the tests.
std::vector<FrameworkDir> framework_dirs(const std::string& root, const DeviceClass& partition) {
  const std::string base = frameworks::partition_dir(root, partition.to_string());
  std::vector<FrameworkDir> out;
  for (const auto* a : frameworks::adapters()) {
    out.push_back({std::string(a->name()), std::string(a->env_var()), base + "/" + std::string(a->name())});
  }
  return out;
}

EntryOfFile framework_entry_of(const std::string& framework, const std::string& rel) {
  return frameworks::entry_of(framework, rel);
}

}  // namespace mithril
