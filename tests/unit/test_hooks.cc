#include <gtest/gtest.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <mithril/cache.h>
#include <mithril/hooks.h>

#include "fault_env.h"
#include "temp_dir.h"

namespace mithril {
namespace {

FrameworkActivity act(std::vector<std::string> opened, std::vector<std::string> changed, bool changes_known) {
  FrameworkActivity a;
  a.opened = std::move(opened);
  a.changed = std::move(changed);
  a.changes_known = changes_known;
  return a;
}


using testing::TempDir;

TEST(FrameworkLayout, InductorFilesGroupIntoEntries) {
  const auto e = [](const std::string& rel) { return framework_entry_of("inductor", rel); };
  EXPECT_EQ(e("fxgraph/l2/fl2gqq/ig5jex").name, "fxgraph/l2/fl2gqq");
  EXPECT_EQ(e("fxgraph/l2/fl2gqq/ig5jex").kind, "inductor-fxgraph");
  EXPECT_EQ(e("aotautograd/a6urp/6h47x").name, "aotautograd/a6urp");
  EXPECT_EQ(e("2t/c2ti2t.main.cpp").name, "2t/c2ti2t");
  EXPECT_EQ(e("2t/c2ti2t.main.so").name, "2t/c2ti2t");
  EXPECT_EQ(e("2t/c2ti2t.so.load_ok").name, "2t/c2ti2t");
  EXPECT_EQ(e("2t/c2ti2t.main.so").kind, "inductor-code");
  EXPECT_EQ(e("locks/c2ti2t.lock").name, "");
  EXPECT_EQ(e("tmpabc123/x.py").name, "");
  EXPECT_EQ(e("2t/.c2ti2t.py.1234.5678.tmp").name, "");
  EXPECT_EQ(e("../escape").name, "");
  EXPECT_EQ(framework_entry_of("triton", "HASH123/__grp__k.json").name, "HASH123");
  EXPECT_EQ(framework_entry_of("triton", "HASH123/tmp.pid_7_abc/k.cubin").name, "");
  EXPECT_EQ(framework_entry_of("vllm", "model/x.bin").name, "model");
}

TEST(ElfCheck, TruncatedSharedObjectsFail) {
  const std::string self = testing::read_text("/proc/self/exe");
  ASSERT_GT(self.size(), 1000u);
  EXPECT_TRUE(elf_looks_complete(self.substr(0, 64), self.size()));
  EXPECT_FALSE(elf_looks_complete(self.substr(0, 64), self.size() / 2));
  EXPECT_FALSE(elf_looks_complete("", 0));
  EXPECT_FALSE(elf_looks_complete(std::string(64, 'x'), 4096));
}

TEST(Partition, AtenCapabilityOverridesDetection) {
  const auto env = [](std::string v) {
    return [v](const std::string& k) -> std::optional<std::string> {
      if (k == "ATEN_CPU_CAPABILITY") return v;
      if (k == "MITHRIL_NVML_LIBRARY") return "";  // no GPU detection, even on a GPU machine
      return std::nullopt;
    };
  };
  EXPECT_EQ(detect_cpu_isa(env("default")), CpuIsa::kDefault);
  EXPECT_EQ(detect_cpu_isa(env("avx2")), CpuIsa::kAvx2);
  EXPECT_EQ(detect_partition(env("avx512")).to_string(), "cpu-AVX512");
  const auto dirs = framework_dirs("/r", DeviceClass::cpu(CpuIsa::kAvx2));
  EXPECT_EQ(dirs[0].path, "/r/fw/cpu-AVX2/inductor");
  EXPECT_EQ(dirs[0].env_var, "TORCHINDUCTOR_CACHE_DIR");
  EXPECT_EQ(dirs[1].env_var, "TRITON_CACHE_DIR");
}

class FrameworkCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CacheConfig c;
    c.root = dir.path();
    c.max_size = 1ull << 30;
    cache = std::move(*Cache::open(c, env));
    ind = framework_dirs(dir.path(), part)[0].path;
  }
  void write(const std::string& rel, const std::string& data) {
    std::filesystem::create_directories(std::filesystem::path(ind + "/" + rel).parent_path());
    testing::write_text(ind + "/" + rel, data);
  }
  TempDir dir;
  testing::FaultEnv env;
  DeviceClass part = DeviceClass::cpu(CpuIsa::kAvx2);
  std::string ind;
  std::unique_ptr<Cache> cache;
};

TEST_F(FrameworkCacheTest, SyncRecordsEntriesAndCheckQuarantinesAlteredOnes) {
  const std::string so = testing::read_text("/proc/self/exe").substr(0, 4096);
  write("fxgraph/ab/fabc/entry1", "pickled graph");
  write("ab/cabc.py", "print('wrapper')");
  write("cd/ccd.main.cpp", "int f();");
  write("locks/ccd.lock", "");
  auto synced = cache->sync_frameworks(part, act({ind + "/ab/cabc.py"}, {}, false)).value();
  EXPECT_EQ(synced.new_entries, 3u);
  EXPECT_EQ(synced.accessed_entries, 0u);  // written in this run: not a hit
  EXPECT_EQ(synced.files_hashed, 3u);
  EXPECT_EQ(cache->stats()->framework_entries, 3u);
  auto again = cache->sync_frameworks(part, act({ind + "/ab/cabc.py"}, {}, false)).value();
  EXPECT_EQ(again.accessed_entries, 1u);  // read by a later run: a hit
  EXPECT_EQ(again.new_entries, 0u);
  // Unchanged: nothing hashed again, nothing quarantined.
  auto checked = cache->check_frameworks(part).value();
  EXPECT_EQ(checked.files_hashed, 0u);
  EXPECT_EQ(checked.quarantined_entries, 0u);
  // An edited wrapper (same size, new mtime) is caught by its digest.
  env.advance_clock(0);
  write("ab/cabc.py", "print('WRAPPER')");
  std::filesystem::last_write_time(ind + "/ab/cabc.py",
                                   std::filesystem::last_write_time(ind + "/ab/cabc.py") + std::chrono::seconds(5));
  checked = cache->check_frameworks(part).value();
  EXPECT_EQ(checked.quarantined_entries, 1u);
  EXPECT_FALSE(std::filesystem::exists(ind + "/ab/cabc.py"));
  EXPECT_EQ(cache->stats()->get(Counter::kCorruptions), 1);
  EXPECT_EQ(cache->stats()->framework_entries, 2u);
}

TEST_F(FrameworkCacheTest, PartialUnrecordedSharedObjectIsQuarantinedUnlessLocked) {
  write("ef/cef.main.so", "");  // a linker killed mid-write
  write("gh/cgh.main.so", "");  // one being linked right now
  std::filesystem::create_directories(ind + "/locks");
  const int fd = ::open((ind + "/locks/cgh.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto checked = cache->check_frameworks(part).value();
  ::close(fd);
  EXPECT_EQ(checked.quarantined_files, 1u);
  EXPECT_EQ(checked.skipped_busy, 1u);
  EXPECT_FALSE(std::filesystem::exists(ind + "/ef/cef.main.so"));
  EXPECT_TRUE(std::filesystem::exists(ind + "/gh/cgh.main.so"));
}

TEST_F(FrameworkCacheTest, BudgetEvictsWholeLeastRecentlyUsedEntries) {
  for (int i = 0; i < 6; ++i) {
    const std::string k = "c" + std::to_string(i) + "xx";
    write("fxgraph/" + k.substr(1, 2) + "/f" + k + "/e", std::string(1000, 'a' + static_cast<char>(i)));
    ASSERT_TRUE(cache->sync_frameworks(part, {}));
    env.advance_clock(1'000'000'000);
  }
  // Use the oldest: it must survive the gc.
  ASSERT_TRUE(cache->sync_frameworks(part, act({ind + "/fxgraph/0x/fc0xx/e"}, {}, true)));
  auto report = cache->gc(3000).value();
  EXPECT_LE(report.stored_after, 3000u);
  EXPECT_TRUE(std::filesystem::exists(ind + "/fxgraph/0x/fc0xx/e"));
  EXPECT_FALSE(std::filesystem::exists(ind + "/fxgraph/1x/fc1xx")) << "evicted whole, empty dirs removed";
  EXPECT_TRUE(std::filesystem::exists(ind + "/fxgraph/5x/fc5xx/e"));
  EXPECT_EQ(cache->stats()->framework_entries, 3u);
}

TEST_F(FrameworkCacheTest, EntryLockedByTorchIsNotEvicted) {
  write("ab/cab.main.so", std::string(5000, 'x'));
  write("cd/ccd.main.so", std::string(5000, 'y'));
  ASSERT_TRUE(cache->sync_frameworks(part, {}));
  std::filesystem::create_directories(ind + "/locks");
  const int fd = ::open((ind + "/locks/cab.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ASSERT_TRUE(cache->gc(6000));
  ::close(fd);
  EXPECT_TRUE(std::filesystem::exists(ind + "/ab/cab.main.so"));
  EXPECT_FALSE(std::filesystem::exists(ind + "/cd/ccd.main.so"));
}

// Eviction is two-phase: the commit forgets the entry and dooms its files;
// they are unlinked after it. Unlinks that fail leave doomed rows, which the
// next open finishes; never an index entry whose files are gone.
TEST_F(FrameworkCacheTest, EvictedFilesTheUnlinkMissedGoAtTheNextOpen) {
  write("fxgraph/aa/faa/e", std::string(4000, 'a'));
  ASSERT_TRUE(cache->sync_frameworks(part, {}));
  env.advance_clock(1'000'000'000);
  write("fxgraph/bb/fbb/e", std::string(4000, 'b'));
  ASSERT_TRUE(cache->sync_frameworks(part, {}));
  env.fail(testing::Op::kUnlink, EIO, 1, /*sticky=*/true);
  auto report = cache->gc(5000);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->evicted_entries, 1u);
  EXPECT_TRUE(std::filesystem::exists(ind + "/fxgraph/aa/faa/e")) << "the unlink failed: still there";
  EXPECT_EQ(cache->stats()->framework_entries, 1u) << "but no longer an entry";
  EXPECT_EQ(cache->check_frameworks(part)->quarantined_entries, 0u);
  env.reset();
  cache.reset();
  CacheConfig c;
  c.root = dir.path();
  cache = std::move(*Cache::open(c, env));
  EXPECT_FALSE(std::filesystem::exists(ind + "/fxgraph/aa")) << "finished at open, empty dirs too";
  EXPECT_TRUE(std::filesystem::exists(ind + "/fxgraph/bb/fbb/e"));
  EXPECT_EQ(cache->stats()->framework_entries, 1u);
}

// While an evicted entry's files are doomed, a sync does not record what is
// left of it as a new entry (it may be partial).
TEST_F(FrameworkCacheTest, DoomedFilesAreNotRecordedAgain) {
  write("fxgraph/aa/faa/e", std::string(4000, 'a'));
  ASSERT_TRUE(cache->sync_frameworks(part, {}));
  env.fail(testing::Op::kUnlink, EIO, 1, /*sticky=*/true);
  ASSERT_TRUE(cache->gc(0));
  env.reset();
  auto synced = cache->sync_frameworks(part, {});
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->new_entries, 0u);
  EXPECT_EQ(cache->stats()->framework_entries, 0u);
  cache.reset();  // the next open finishes the purge
  CacheConfig c;
  c.root = dir.path();
  cache = std::move(*Cache::open(c, env));
  EXPECT_FALSE(std::filesystem::exists(ind + "/fxgraph/aa/faa/e"));
}

}  // namespace
}  // namespace mithril

namespace mithril {
namespace {

TEST_F(FrameworkCacheTest, IncrementalSyncTouchesOnlyChangedEntries) {
  write("fxgraph/ab/fabc/e1", "one");
  write("cd/ccd.main.cpp", "int f();");
  ASSERT_TRUE(cache->sync_frameworks(part));
  // A run that wrote one new code module and read the FX entry.
  write("ef/cef.main.cpp", "int g();");
  write("ef/cef.main.so", "not really an elf");
  FrameworkActivity run = act({ind + "/fxgraph/ab/fabc/e1"}, {ind + "/ef/cef.main.cpp", ind + "/ef/cef.main.so"}, true);
  auto r = cache->sync_frameworks(part, run).value();
  EXPECT_EQ(r.new_entries, 1u);
  EXPECT_EQ(r.files_hashed, 2u);
  EXPECT_EQ(r.accessed_entries, 1u);
  EXPECT_EQ(r.entries, 3u);
  // A run that deleted a module: its entry is forgotten.
  std::filesystem::remove(ind + "/cd/ccd.main.cpp");
  r = cache->sync_frameworks(part, act({}, {ind + "/cd/ccd.main.cpp"}, true)).value();
  EXPECT_EQ(r.removed_entries, 1u);
  EXPECT_EQ(r.entries, 2u);
}

// A damaged file that cannot be moved into quarantine (EXDEV, EACCES, a name
// too long) is deleted instead; one that can be neither moved nor deleted
// leaves its entry doomed: never recorded as a valid entry again, deleted by
// a later purge.
TEST_F(FrameworkCacheTest, QuarantineThatCannotMoveDeletesTheFile) {
  write("fxgraph/ab/fabc/e1", "one");
  ASSERT_TRUE(cache->sync_frameworks(part));
  write("fxgraph/ab/fabc/e1", "ONE, altered");
  env.fail(testing::Op::kRename, EXDEV, 1, /*sticky=*/true);
  auto checked = cache->check_frameworks(part).value();
  env.reset();
  EXPECT_EQ(checked.quarantined_entries, 1u);
  EXPECT_FALSE(std::filesystem::exists(ind + "/fxgraph/ab/fabc/e1"));
  EXPECT_EQ(cache->sync_frameworks(part).value().entries, 0u);
}

TEST_F(FrameworkCacheTest, QuarantineThatCannotMoveNorDeleteDoomsTheEntry) {
  write("fxgraph/ab/fabc/e1", "one");
  ASSERT_TRUE(cache->sync_frameworks(part));
  write("fxgraph/ab/fabc/e1", "ONE, altered");
  env.fail(testing::Op::kRename, EACCES, 1, /*sticky=*/true);
  env.fail(testing::Op::kUnlink, EACCES, 1, /*sticky=*/true);
  auto checked = cache->check_frameworks(part);
  env.reset();
  ASSERT_TRUE(checked) << checked.error().to_string();
  EXPECT_EQ(checked->quarantined_entries, 1u);
  EXPECT_EQ(cache->stats()->framework_entries, 0u);
  auto synced = cache->sync_frameworks(part).value();  // a full rescan: the damaged file is not an entry
  EXPECT_EQ(synced.new_entries, 0u);
  EXPECT_EQ(synced.entries, 0u);
  ASSERT_TRUE(cache->gc());  // the purge that runs with it finishes the delete
  CacheConfig c = cache->config();
  cache.reset();
  cache = std::move(*Cache::open(c, env));
  EXPECT_FALSE(std::filesystem::exists(ind + "/fxgraph/ab/fabc/e1"));
}

TEST_F(FrameworkCacheTest, SymlinksAreQuarantinedNeverHashedThrough) {
  TempDir outside;
  testing::write_text(outside / "secret", "not yours");
  write("fxgraph/ab/fabc/e1", "one");
  std::filesystem::create_symlink(outside / "secret", ind + "/fxgraph/ab/fabc/e2");
  std::filesystem::create_directory_symlink(outside.path(), ind + "/zz");
  auto synced = cache->sync_frameworks(part).value();
  EXPECT_EQ(synced.entries, 1u);
  EXPECT_EQ(synced.quarantined_files, 2u);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(ind + "/fxgraph/ab/fabc/e2")));
  EXPECT_EQ(testing::read_text(outside / "secret"), "not yours");
  const auto entries = cache->framework_entries(part).value();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].files.size(), 1u);
}

}  // namespace
}  // namespace mithril
