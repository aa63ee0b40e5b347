#include "torch_explain.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <mithril/env.h>
#include <mithril/format.h>

#include "explain_hook_source.h"  // kExplainHookSource: python/mithril_cache/explain.py, embedded by CMake

namespace mithril::cli {
namespace {

constexpr const char* kSiteCustomize = R"py(# Written by `mithril run --explain`: records torch's FX graph cache keys.
import importlib.machinery
import importlib.util
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
try:
    import mithril_explain_hook
    mithril_explain_hook.install(os.environ["MITHRIL_EXPLAIN_ROOT"])
except Exception as e:  # never disturb the job
    sys.stderr.write(f"mithril: explain hook not installed: {e}\n")
# Chain to the sitecustomize this one shadows, if any.
_rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _spec is not None and _spec.loader is not None:
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
)py";

struct Record {
  std::int64_t t = 0;
  std::int64_t pid = 0;
  std::string key;
  std::string outcome;
  std::map<std::string, std::pair<std::string, std::string>> components;  // name -> hash, value
};

std::vector<Record> read_records(const std::string& path) {
  std::vector<Record> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    try {
      Record r;
      r.t = j.at("t").get<std::int64_t>();
      r.pid = j.at("pid").get<std::int64_t>();
      r.key = j.at("key").get<std::string>();
      r.outcome = j.at("outcome").get<std::string>();
      for (const auto& [name, v] : j.at("components").items()) {
        r.components[name] = {v.at(0).get<std::string>(), v.at(1).get<std::string>()};
      }
      out.push_back(std::move(r));
    } catch (const nlohmann::json::exception&) {
      continue;  // a torn or foreign line
    }
  }
  return out;
}

std::size_t differing(const Record& a, const Record& b) {
  std::size_t n = 0;
  for (const auto& [name, hv] : a.components) {
    auto it = b.components.find(name);
    n += (it == b.components.end() || it->second.first != hv.first) ? 1 : 0;
  }
  for (const auto& [name, hv] : b.components) n += a.components.count(name) ? 0 : 1;
  return n;
}

}  // namespace

bool enable_torch_explain(const std::string& root) {
  const std::string dir = root + "/explain/hook";
  Env& env = Env::posix();
  auto ok = make_dirs(env, dir);
  if (ok) ok = write_file_atomic(env, dir + "/mithril_explain_hook.py", kExplainHookSource, false);
  if (ok) ok = write_file_atomic(env, dir + "/sitecustomize.py", kSiteCustomize, false);
  if (!ok) {
    detail::print_to(stderr, "mithril: warning: cannot prepare --explain: %s\n", ok.error().to_string().c_str());
    return false;
  }
  const char* old = std::getenv("PYTHONPATH");
  const std::string path = old != nullptr && *old != '\0' ? dir + ":" + old : dir;
  setenv("PYTHONPATH", path.c_str(), 1);
  setenv("MITHRIL_EXPLAIN_ROOT", root.c_str(), 1);
  return true;
}

int explain_torch(const CacheConfig& config) {
  const std::string path = config.root + "/explain/torch-keys.jsonl";
  const auto records = read_records(path);
  if (records.empty()) {
    std::printf("no FX graph cache keys recorded in %s: run the job with `mithril run --explain -- ...` "
                "(or mithril_cache.init(explain=True))\n", path.c_str());
    return 2;
  }
  const std::int64_t latest_pid = records.back().pid;
  std::vector<const Record*> misses;
  for (const auto& r : records) {
    if (r.pid == latest_pid && r.outcome == "miss") misses.push_back(&r);
  }
  if (misses.empty()) {
    std::printf("the latest recorded run (pid %lld) had no FX graph cache miss\n", static_cast<long long>(latest_pid));
    return 0;
  }
  for (const Record* miss : misses) {
    const Record* best = nullptr;
    std::size_t best_diff = 0;
    for (const auto& r : records) {
      if (r.pid == latest_pid || r.key == miss->key || r.components.empty()) continue;
      const std::size_t d = differing(*miss, r);
      if (best == nullptr || d < best_diff) {
        best = &r;
        best_diff = d;
      }
    }
    std::printf("miss: FX graph %s\n", miss->key.c_str());
    if (best == nullptr) {
      std::printf("  no earlier graph recorded to compare with\n");
      continue;
    }
    std::printf("  nearest earlier graph: %s (%s then), %zu of %zu components differ (earlier -> now):\n",
                best->key.c_str(), best->outcome.c_str(), best_diff, miss->components.size());
    for (const auto& [name, hv] : miss->components) {
      auto it = best->components.find(name);
      if (it != best->components.end() && it->second.first == hv.first) continue;
      const std::string before = it == best->components.end() ? "(absent)" : it->second.second;
      std::printf("    %s: %s -> %s\n", name.c_str(), before.c_str(), hv.second.c_str());
    }
    for (const auto& [name, hv] : best->components) {
      if (!miss->components.count(name)) std::printf("    %s: %s -> (absent)\n", name.c_str(), hv.second.c_str());
    }
  }
  return 1;
}

}  // namespace mithril::cli
