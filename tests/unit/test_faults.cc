// Fault injection at every call site: each operation below is run once per
// OS call it makes (SQLite's I/O on the index included), with that call
// failing (ENOSPC, EIO, EROFS and EACCES in turn). Each
// time, the operation must return (a value or an error, never a crash), and
// a clean reopen must find nothing lost, nothing corrupt, nothing partial.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include <mithril/cache.h>
#include <mithril/remote.h>

#include "fault_env.h"
#include "temp_dir.h"

namespace mithril {
namespace {

namespace fs = std::filesystem;
using testing::FaultEnv;
using testing::TempDir;

const DeviceClass kPart = DeviceClass::cpu(CpuIsa::kAvx2);

CacheKey key_of(int i) {
  return CacheKey("graph-" + std::to_string(i), {InputSpec{{8, -1}, DType::kFloat32}}, kPart, "salt");
}

std::string fw_dir(const std::string& root) { return root + "/fw/" + kPart.to_string() + "/inductor"; }

void write_file(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  testing::write_text(path, data);
}

std::unique_ptr<Cache> open_at(const std::string& root, Env& env = Env::posix()) {
  CacheConfig c;
  c.root = root;
  c.max_size = 1 << 30;
  auto cache = Cache::open(c, env);
  return cache ? std::move(*cache) : nullptr;
}

// What every scenario starts from: blobs, keyed entries and framework
// entries in <dir>/root, a bundle and a file:// remote beside it.
struct Baseline {
  std::vector<std::string> blobs;
  std::vector<std::pair<CacheKey, std::vector<EntryFile>>> entries;
};

Baseline make_template(const std::string& dir) {
  Baseline b;
  auto cache = open_at(dir + "/root");
  for (int i = 0; i < 3; ++i) {
    b.blobs.push_back("blob " + std::to_string(i) + std::string(1000 * (i + 1), 'b'));
    EXPECT_TRUE(cache->put_blob(b.blobs.back()));
  }
  for (int i = 0; i < 2; ++i) {
    std::vector<EntryFile> files{{"kernel.so", std::string(3000, static_cast<char>('k' + i))}, {"wrapper.py", "w"}};
    EXPECT_TRUE(cache->put_entry(key_of(i), files));
    b.entries.emplace_back(key_of(i), files);
  }
  write_file(fw_dir(dir + "/root") + "/fxgraph/ab/fone/entry", std::string(5000, '1'));
  write_file(fw_dir(dir + "/root") + "/aotautograd/aq/entry", "aot");
  EXPECT_TRUE(cache->sync_frameworks(kPart));
  // A bundle and a remote holding an entry the root lacks.
  auto other = open_at(dir + "/other");
  write_file(fw_dir(dir + "/other") + "/fxgraph/cd/ftwo/entry", std::string(200000, '2'));
  write_file(fw_dir(dir + "/other") + "/fxgraph/ef/fthree/entry", "small");
  EXPECT_TRUE(other->sync_frameworks(kPart));
  EXPECT_TRUE(other->pack_frameworks(kPart, dir + "/bundle.tar.zst"));
  EXPECT_TRUE(push_frameworks(*other, kPart, "file://" + dir + "/remote"));
  return b;
}

// The invariants after a faulted operation, checked through a clean Env.
void check_invariants(const std::string& dir, const Baseline& b, bool may_delete, const std::string& label) {
  auto cache = open_at(dir + "/root");
  ASSERT_NE(cache, nullptr) << label;
  auto v = cache->verify(false);
  ASSERT_TRUE(v) << label << ": " << v.error().to_string();
  EXPECT_EQ(v->corrupt, 0u) << label;
  EXPECT_EQ(v->missing, 0u) << label;
  auto checked = cache->check_frameworks(kPart);
  ASSERT_TRUE(checked) << label;
  EXPECT_EQ(checked->quarantined_entries, 0u) << label << ": a framework file was left torn";
  // No staged file may be left where a framework would look.
  for (const auto& e : fs::recursive_directory_iterator(dir + "/root/fw")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".mithril-"), std::string::npos) << label << ": debris " << e.path();
  }
  if (may_delete) return;
  for (const auto& blob : b.blobs) {
    auto got = cache->get_blob(blake3(blob));
    ASSERT_TRUE(got) << label;
    EXPECT_EQ(*got, std::optional<std::string>(blob)) << label << ": a stored blob was lost";
  }
  for (const auto& [key, files] : b.entries) {
    auto e = cache->get_entry(key);
    ASSERT_TRUE(e && *e) << label << ": a stored entry was lost";
    for (const auto& f : files) {
      auto data = cache->read_entry_file(**e, f.name);
      ASSERT_TRUE(data && *data) << label;
      EXPECT_EQ(**data, f.data) << label;
    }
  }
  EXPECT_EQ(testing::read_text(fw_dir(dir + "/root") + "/fxgraph/ab/fone/entry"), std::string(5000, '1')) << label;
}

struct Scenario {
  const char* name;
  bool may_delete;  // gc and clear remove entries by design
  std::function<void(Cache&, const std::string& dir)> run;
};

SyncOptions serial() {
  SyncOptions o;
  o.parallelism = 1;  // deterministic call order
  return o;
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      {"put_blob", false, [](Cache& c, const std::string&) { (void)c.put_blob(std::string(70000, 'n')); }},
      {"put_entry", false,
       [](Cache& c, const std::string&) {
         (void)c.put_entry(key_of(7), {{"a.so", std::string(9000, 'a')}, {"b.py", "b"}});
       }},
      {"replace_entry", false,
       [](Cache& c, const std::string&) { (void)c.put_entry(key_of(0), {{"kernel.so", std::string(3000, 'k')}, {"wrapper.py", "w"}}); }},
      {"get_entry", false,
       [](Cache& c, const std::string&) {
         if (auto e = c.get_entry(key_of(1)); e && *e) (void)c.read_entry_file(**e, "kernel.so");
         (void)c.flush();
       }},
      {"gc", true, [](Cache& c, const std::string&) { (void)c.gc(4000); }},
      {"verify_repair", false, [](Cache& c, const std::string&) { (void)c.verify(true); }},
      {"sync_frameworks", false,
       [](Cache& c, const std::string& dir) {
         write_file(fw_dir(dir + "/root") + "/fxgraph/gh/fnew/entry", "new");
         (void)c.sync_frameworks(kPart);
       }},
      {"pack", false, [](Cache& c, const std::string& dir) { (void)c.pack_frameworks(kPart, dir + "/out.tar.zst"); }},
      {"unpack", false, [](Cache& c, const std::string& dir) { (void)c.unpack_frameworks(dir + "/bundle.tar.zst"); }},
      {"pull", false, [](Cache& c, const std::string& dir) { (void)pull_frameworks(c, kPart, "file://" + dir + "/remote", serial()); }},
      {"push", false, [](Cache& c, const std::string& dir) { (void)push_frameworks(c, kPart, "file://" + dir + "/pushed", serial()); }},
  };
  return all;
}

// A full disk, an I/O error, a root made read-only, a permission taken away.
constexpr int kErrnos[] = {ENOSPC, EIO, EROFS, EACCES};
constexpr const char* kErrnoNames[] = {"ENOSPC", "EIO", "EROFS", "EACCES"};

struct CopyRun {
  int calls = -1;  // -1: the copy could not be opened
  int db_calls = 0;
  int injected = 0;
};

// Runs `s` once on a copy of the template in `work`, failing its
// `fail_at`-th OS call (0: none) with kErrnos[fail_at % 4].
CopyRun run_on_copy(const Scenario& s, const std::string& tmpl, const std::string& work, int fail_at) {
  fs::copy(tmpl, work, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  FaultEnv env;
  env.freeze_clock();
  auto cache = open_at(work + "/root", env);
  if (cache == nullptr) return {};
  const int before = env.calls();
  const int db_before = env.db_calls();
  if (fail_at > 0) env.fail_call(fail_at, kErrnos[fail_at % 4]);
  s.run(*cache, work);
  return {env.calls() - before, env.db_calls() - db_before, env.injected()};
}

class EveryCallSite : public ::testing::TestWithParam<std::size_t> {};

TEST_P(EveryCallSite, FailingAnyOsCallLosesNothing) {
  const Scenario& s = scenarios()[GetParam()];
  TempDir tmpl;
  const Baseline base = make_template(tmpl.path());
  CopyRun clean;
  {
    TempDir work;  // count the calls the operation makes when nothing fails
    clean = run_on_copy(s, tmpl.path(), work.path(), 0);
  }
  const int calls = clean.calls;
  ASSERT_GT(calls, 0) << s.name;
  int injected = 0;
  int by_errno[4] = {};
  for (int i = 1; i <= calls; ++i) {
    TempDir work;
    const CopyRun r = run_on_copy(s, tmpl.path(), work.path(), i);
    ASSERT_GE(r.calls, 0) << s.name << ": cannot open the copy";
    injected += r.injected;
    by_errno[i % 4] += r.injected;
    check_invariants(work.path(), base, s.may_delete, std::string(s.name) + " with call " + std::to_string(i) + " failing");
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::printf("[ faults   ] %-16s %3d call sites (%3d in SQLite), %3d faults injected\n", s.name, calls,
              clean.db_calls, injected);
  if (const char* dir = std::getenv("MITHRIL_REPORT_DIR"); dir != nullptr) {
    fs::create_directories(dir);
    std::string by;
    for (int k = 0; k < 4; ++k) {
      by += std::string(k ? "," : "") + "\"" + kErrnoNames[k] + "\":" + std::to_string(by_errno[k]);
    }
    testing::write_text(std::string(dir) + "/faults-" + s.name + ".json",
                        "{\"op\":\"" + std::string(s.name) + "\",\"call_sites\":" + std::to_string(calls) +
                            ",\"sqlite_call_sites\":" + std::to_string(clean.db_calls) +
                            ",\"injected\":" + std::to_string(injected) + ",\"by_errno\":{" + by + "},\"lost\":0}");
  }
  EXPECT_EQ(injected, calls);
}

INSTANTIATE_TEST_SUITE_P(Operations, EveryCallSite, ::testing::Range<std::size_t>(0, 11),
                         [](const auto& p) { return std::string(scenarios()[p.param].name); });

}  // namespace
}  // namespace mithril
