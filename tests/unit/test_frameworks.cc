// The frameworks layer: registry and adapters, EntryLock, the Importer's
// publish order, and the kinds of history points.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <mithril/cache.h>
#include <mithril/hooks.h>
#include <mithril/remote.h>

#include "fault_env.h"
#include "frameworks/entry_lock.h"
#include "frameworks/importer.h"
#include "frameworks/registry.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::TempDir;

void write_file(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  testing::write_text(path, data);
}

TEST(FrameworkRegistry, AdaptersSplitEntriesAndOrderPublishing) {
  EXPECT_EQ(frameworks::adapter_for("inductor").env_var(), "TORCHINDUCTOR_CACHE_DIR");
  EXPECT_EQ(frameworks::adapter_for("triton").env_var(), "TRITON_CACHE_DIR");
  EXPECT_EQ(frameworks::adapter_for("something-else").name(), "generic");
  EXPECT_EQ(frameworks::entry_of("triton", "hh/__grp__k.json").name, "hh");
  EXPECT_EQ(frameworks::entry_of("triton", "hh/../k").name, "");
  // Triton's group file after the kernel's other files; others by path.
  EXPECT_TRUE(frameworks::publish_before("triton/hh/k.cubin", "triton/hh/__grp__k.json"));
  EXPECT_FALSE(frameworks::publish_before("triton/hh/__grp__k.json", "triton/hh/k.cubin"));
  EXPECT_TRUE(frameworks::publish_before("inductor/ab/__grp__x", "inductor/ab/cabc.py"));  // not Triton: by path
  EXPECT_EQ(frameworks::file_path("/r", "cpu-AVX2", "triton/hh/k.json"), "/r/fw/cpu-AVX2/triton/hh/k.json");
}

TEST(EntryLock, AcquiredBusyOrNothingToLock) {
  TempDir dir;
  Env& env = Env::posix();
  const std::string ind = dir.path() + "/fw/cpu-AVX2/inductor";
  std::filesystem::create_directories(ind);
  {
    auto first = frameworks::EntryLock::acquire(env, ind, "ab/cabc", "inductor-code").value();
    ASSERT_TRUE(first.has_value());
    EXPECT_TRUE(first->held());
    EXPECT_TRUE(std::filesystem::exists(ind + "/locks/cabc.lock"));
    // Held by another open file (torch's, or this one): busy.
    EXPECT_FALSE(frameworks::EntryLock::acquire(env, ind, "ab/cabc", "inductor-code").value().has_value());
  }
  // Released with the first lock.
  auto again = frameworks::EntryLock::acquire(env, ind, "ab/cabc", "inductor-code").value();
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->held());
  // Kinds the framework takes no lock for: acquired, nothing held.
  auto fx = frameworks::EntryLock::acquire(env, ind, "fxgraph/ab/fabc", "inductor-fxgraph").value();
  ASSERT_TRUE(fx.has_value());
  EXPECT_FALSE(fx->held());
  auto tri = frameworks::EntryLock::acquire(env, dir.path() + "/fw/cpu-AVX2/triton", "hh", "triton-kernel").value();
  ASSERT_TRUE(tri.has_value());
  EXPECT_FALSE(tri->held());
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a = open_root(dir.path() + "/a", Env::posix());
    b = open_root(dir.path() + "/b", env);
    remote_url = "file://" + dir.path() + "/remote";
    std::filesystem::create_directories(dir.path() + "/remote");
  }
  static std::unique_ptr<Cache> open_root(const std::string& root, Env& e) {
    CacheConfig c;
    c.root = root;
    c.max_size = 1ull << 30;
    return std::move(*Cache::open(c, e));
  }
  std::string fw(const Cache& c, const std::string& framework) {
    return frameworks::partition_dir(c.config().root, part.to_string()) + "/" + framework;
  }
  static std::vector<std::string> events(Cache& c) {
    std::vector<std::string> out;
    const auto history = c.history().value();
    for (const auto& p : history) out.push_back(p.event);
    return out;
  }
  // The names of the framework files renamed into place in b, in order.
  std::vector<std::string> published_names() const {
    std::vector<std::string> out;
    for (const auto& to : env.renamed_to()) {
      if (to.find("/fw/") != std::string::npos) out.push_back(to.substr(to.find_last_of('/') + 1));
    }
    return out;
  }
  TempDir dir;
  testing::FaultEnv env;  // b's: records every rename
  DeviceClass part = DeviceClass::cpu(CpuIsa::kAvx2);
  std::unique_ptr<Cache> a, b;
  std::string remote_url;
};

TEST_F(ImportTest, UnpackPublishesTritonGroupFilesLast) {
  // "__grp__" sorts before the kernel's other files: a path-ordered publish
  // would show Triton the group file before the files it names.
  write_file(fw(*a, "triton") + "/hh/__grp__k.json", R"({"child_paths": {}})");
  write_file(fw(*a, "triton") + "/hh/k.cubin", "cubin");
  write_file(fw(*a, "triton") + "/hh/k.json", "{}");
  const std::string bundle = dir.path() + "/bundle.tar.zst";
  ASSERT_TRUE(a->pack_frameworks(part, bundle));
  auto unpacked = b->unpack_frameworks(bundle);
  ASSERT_TRUE(unpacked) << unpacked.error().to_string();
  EXPECT_EQ(unpacked->files, 3u);
  const auto published = published_names();
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published.back(), "__grp__k.json");
  EXPECT_EQ(b->stats()->framework_entries, 1u);
}

TEST_F(ImportTest, HistoryPointsNameWhatHappened) {
  write_file(fw(*a, "inductor") + "/fxgraph/ab/fabc/entry", "graph");
  ASSERT_TRUE(a->sync_frameworks(part));  // after a framework ran
  ASSERT_TRUE(a->gc());
  ASSERT_TRUE(a->pack_frameworks(part, dir.path() + "/bundle.tar.zst"));
  ASSERT_TRUE(push_frameworks(*a, part, remote_url));
  EXPECT_EQ(events(*a), (std::vector<std::string>{"run", "gc", "pack", "push"}));
  // Only the run is a run: the points after it are not mistaken for one.
  const auto last = last_framework_run(a->history().value());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->framework_new, 1);
  const auto history = a->history().value();
  EXPECT_EQ(last->t_ns, history.front().t_ns);

  ASSERT_TRUE(b->unpack_frameworks(dir.path() + "/bundle.tar.zst"));
  ASSERT_TRUE(pull_frameworks(*b, part, remote_url));  // nothing new: still a pull
  EXPECT_EQ(events(*b), (std::vector<std::string>{"unpack", "pull"}));
  EXPECT_FALSE(last_framework_run(b->history().value()).has_value());  // b never ran a framework
  EXPECT_EQ(b->stats()->framework_entries, 1u);
  EXPECT_DOUBLE_EQ(b->stats()->framework_hit_rate(), 0.0);
}

TEST_F(ImportTest, PullThatPublishesRecordsOnePullPoint) {
  write_file(fw(*a, "triton") + "/hh/__grp__k.json", "{}");
  write_file(fw(*a, "triton") + "/hh/k.cubin", "cubin");
  ASSERT_TRUE(a->sync_frameworks(part));
  ASSERT_TRUE(push_frameworks(*a, part, remote_url));
  auto pulled = pull_frameworks(*b, part, remote_url);
  ASSERT_TRUE(pulled) << pulled.error().to_string();
  EXPECT_EQ(pulled->entries_transferred, 1u);
  EXPECT_EQ(events(*b), (std::vector<std::string>{"pull"}));
  const auto published = published_names();
  EXPECT_EQ(published, (std::vector<std::string>{"k.cubin", "__grp__k.json"}));
  EXPECT_EQ(b->stats()->framework_entries, 1u);
}

// Two batches of one pull share parent directories. A batch that fails and
// discards its directories must not remove one another batch has just seen
// and is about to create its entry in (found by
// test_hostile_file_remote_fifo_and_dev_zero_are_refused_unread, 1 run in
// ~24 under load). Batch A made fxgraph/; while B is between seeing it and
// creating fxgraph/bb, A is dropped: B's stage and publish must succeed.
TEST_F(ImportTest, ADroppedBatchNeverRemovesADirectoryAnotherBatchIsFilling) {
  frameworks::Importer importer(*b, part, HistoryKind::kPull);
  std::mutex mu;
  std::condition_variable cv;
  bool staged = false, first_ok = false, go = false, dropped = false;
  std::thread holder([&] {
    {
      auto first = importer.batch();
      auto fd = first.stage("inductor/fxgraph/aa/faa/entry");
      first_ok = fd && fd->has_value();
      if (first_ok) (void)env.close(**fd);
      std::unique_lock lock(mu);
      staged = true;
      cv.notify_all();
      cv.wait(lock, [&] { return go; });
    }  // dropped unpublished: discards its temp file and directories
    std::lock_guard lock(mu);
    dropped = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return staged; });
  }
  if (!first_ok) {  // let the holder go before failing
    { std::lock_guard lock(mu); go = true; }
    cv.notify_all();
    holder.join();
    FAIL() << "the first batch could not stage";
  }
  env.before_mkdir = [&](const std::string& path) {
    if (!path.ends_with("/fxgraph/bb")) return;
    std::unique_lock lock(mu);
    go = true;
    cv.notify_all();
    // Without the importer's directory lock the drop finishes here (and
    // removes fxgraph/); with it, it waits for this stage to finish.
    cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return dropped; });
  };
  auto second = importer.batch();
  auto fd = second.stage("inductor/fxgraph/bb/fbb/entry");
  const std::string graph = "graph";
  const bool second_ok = fd && fd->has_value() && write_all(env, **fd, graph.data(), graph.size()) && env.close(**fd);
  {  // if the hook never ran, let the holder go now
    std::lock_guard lock(mu);
    go = true;
  }
  cv.notify_all();
  holder.join();
  env.before_mkdir = nullptr;
  ASSERT_TRUE(second_ok) << (fd ? "could not write the staged file" : fd.error().to_string());
  auto published = second.publish();
  ASSERT_TRUE(published) << published.error().to_string();
  EXPECT_TRUE(std::filesystem::exists(fw(*b, "inductor") + "/fxgraph/bb/fbb/entry"));
  EXPECT_FALSE(std::filesystem::exists(fw(*b, "inductor") + "/fxgraph/aa"));  // A's own directories are gone
}

}  // namespace
}  // namespace mithril
