// Power-loss simulation for `fsync = true`: after each put returns, every
// object file under the root must be durable (content fsynced, its name and
// every directory above it fsynced into their parents), so the index, which
// SQLite commits with synchronous=FULL in this mode, never outlives its
// objects. The same run without fsync must fail the check: the model can
// tell the difference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <mithril/cache.h>

#include "power_loss_env.h"
#include "temp_dir.h"

namespace mithril {
namespace {

namespace fs = std::filesystem;

// Object files that a power cut right now would lose or tear.
std::vector<std::string> not_durable(testing::PowerLossEnv& env, const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root + "/objects")) {
    if (!e.is_regular_file() || e.path().parent_path().filename() == "tmp") continue;
    if (!env.would_survive(e.path().string())) out.push_back(e.path().string());
  }
  return out;
}

std::size_t lost_after_puts(bool fsync) {
  testing::TempDir dir;
  testing::PowerLossEnv env;
  env.start(dir.path());
  CacheConfig c;
  c.root = dir / "root";
  c.fsync = fsync;
  auto cache = Cache::open(c, env);
  EXPECT_TRUE(cache) << cache.error().to_string();
  std::size_t worst = 0;
  for (int i = 0; i < 30; ++i) {
    std::string data = "object ";
    data.append(std::to_string(i)).append(static_cast<std::size_t>(100 * i), 'x');
    std::string graph = "g";
    graph.append(std::to_string(i));
    std::string other = "b";
    other.append(data);
    if (i % 3 == 0) {
      EXPECT_TRUE((*cache)->put_entry(CacheKey(graph, {}, DeviceClass::cpu(CpuIsa::kAvx2), ""),
                                      {{"a.so", data}, {"b.py", other}}));
    } else {
      EXPECT_TRUE((*cache)->put_blob(data));
    }
    // A power cut may strike right after any put returned.
    const auto lost = not_durable(env, c.root);
    if (fsync && !lost.empty()) ADD_FAILURE() << "after put " << i << ": " << lost.front() << " would be lost";
    worst = std::max(worst, lost.size());
  }
  return worst;
}

TEST(PowerLoss, FsyncModeMakesEveryPublishedObjectDurable) {
  const std::size_t lost = lost_after_puts(true);
  EXPECT_EQ(lost, 0u);
  if (const char* dir = std::getenv("MITHRIL_REPORT_DIR"); dir != nullptr) {
    fs::create_directories(dir);
    testing::write_text(std::string(dir) + "/powerloss.json",
                        "{\"power_cuts\":30,\"objects_lost\":" + std::to_string(lost) + "}");
  }
}

TEST(PowerLoss, WithoutFsyncTheModelSeesLosses) {
  EXPECT_GT(lost_after_puts(false), 0u);
}

}  // namespace
}  // namespace mithril
