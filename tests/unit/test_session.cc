// RunSession: the run cycle `mithril run` and Python's init() share.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <mithril/hooks.h>
#include <mithril/session.h>

#include "temp_dir.h"

namespace mithril {
namespace {

using testing::TempDir;
using testing::write_text;

struct Recorded {
  std::vector<std::string> warnings;
  WarningSink sink() {
    return [this](const std::string& w) { warnings.push_back(w); };
  }
  bool mentions(const std::string& needle) const {
    for (const auto& w : warnings) {
      if (w.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

CacheConfig config_at(const std::string& root) {
  CacheConfig c;
  c.root = root;
  return c;
}

GetEnv fixed_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(RunSession, PreparesEveryFrameworkDirAndRecordsTheRunAtFinish) {
  TempDir dir;
  Recorded rec;
  RunSession session(config_at(dir / "root"), rec.sink(), {}, fixed_env({}));
  const PrepareReport prepared = session.prepare();
  EXPECT_EQ(prepared.warnings, 0);
  EXPECT_TRUE(rec.warnings.empty());
  ASSERT_TRUE(prepared.checked);
  EXPECT_FALSE(prepared.pulled);  // no remote configured
  const auto dirs = framework_dirs(dir / "root", session.partition());
  ASSERT_EQ(prepared.env.size(), dirs.size());
  for (const auto& d : dirs) {
    EXPECT_EQ(prepared.env.at(d.env_var), d.path);
    EXPECT_TRUE(std::filesystem::is_directory(d.path));
  }
  const std::string inductor = prepared.env.at("TORCHINDUCTOR_CACHE_DIR");
  std::filesystem::create_directories(inductor + "/fxgraph/ab/fabc");
  write_text(inductor + "/fxgraph/ab/fabc/entry", "graph");

  const FinishReport finished = session.finish();
  ASSERT_TRUE(finished.synced);
  EXPECT_EQ(finished.synced->new_entries, 1u);
  EXPECT_FALSE(finished.pushed);
  EXPECT_FALSE(finished.stats);  // not asked for
  EXPECT_EQ(finished.warnings, 0);
  const FinishReport again = session.finish();
  EXPECT_FALSE(again.synced) << "a second finish() does nothing";
}

TEST(RunSession, FinalStatsAreReadWhenAsked) {
  TempDir dir;
  Recorded rec;
  SessionOptions options;
  options.final_stats = true;
  RunSession session(config_at(dir / "root"), rec.sink(), options, fixed_env({}));
  ASSERT_FALSE(session.prepare().env.empty());
  const FinishReport finished = session.finish();
  ASSERT_TRUE(finished.stats);
  EXPECT_EQ(finished.stats->root, session.config().root);
}

TEST(RunSession, LeavesAVariableTheCallerSetAlone) {
  TempDir dir;
  Recorded rec;
  RunSession session(config_at(dir / "root"), rec.sink(), {},
                     fixed_env({{"TORCHINDUCTOR_CACHE_DIR", dir / "mine"}}));
  const PrepareReport prepared = session.prepare();
  EXPECT_EQ(prepared.env.count("TORCHINDUCTOR_CACHE_DIR"), 0u);
  EXPECT_EQ(prepared.env.count("TRITON_CACHE_DIR"), 1u);
  EXPECT_EQ(prepared.warnings, 1);
  EXPECT_TRUE(rec.mentions("leaving it alone"));
}

TEST(RunSession, AnUntrustedRootRunsWithoutTheCache) {
  TempDir dir;
  std::filesystem::create_directories(dir / "root");
  ASSERT_EQ(::chmod((dir / "root").c_str(), 0777), 0);
  Recorded rec;
  RunSession session(config_at(dir / "root"), rec.sink(), {}, fixed_env({}));
  const PrepareReport prepared = session.prepare();
  EXPECT_TRUE(prepared.env.empty());
  EXPECT_FALSE(prepared.checked);
  EXPECT_EQ(prepared.warnings, 1);
  EXPECT_TRUE(rec.mentions("running without the cache"));
  EXPECT_FALSE(session.finish().synced) << "nothing managed, nothing to record";
}

TEST(RunSession, AFileInTheWayRunsWithoutTheCache) {
  TempDir dir;
  write_text(dir / "root", "not a directory");
  Recorded rec;
  RunSession session(config_at(dir / "root"), rec.sink(), {}, fixed_env({}));
  const PrepareReport prepared = session.prepare();
  EXPECT_TRUE(prepared.env.empty());
  EXPECT_GE(prepared.warnings, 1);
  EXPECT_TRUE(rec.mentions("without the cache"));
}

TEST(RunSession, ADeadRemoteIsAWarningAndSkipsThePush) {
  TempDir dir;
  Recorded rec;
  CacheConfig config = config_at(dir / "root");
  config.remote = "redis://127.0.0.1:1";
  RunSession session(config, rec.sink(), {}, fixed_env({}));
  const PrepareReport prepared = session.prepare();
  EXPECT_FALSE(prepared.env.empty());
  ASSERT_TRUE(prepared.pulled);
  EXPECT_TRUE(prepared.pulled->remote_gave_up);
  EXPECT_GE(prepared.warnings, 1);
  EXPECT_TRUE(rec.mentions("pull"));
  const FinishReport finished = session.finish();
  EXPECT_TRUE(finished.synced);
  EXPECT_FALSE(finished.pushed) << "one bounded wait per run";
}

TEST(RunSession, AThrowingSinkLosesOnlyTheWarning) {
  TempDir dir;
  RunSession session(config_at(dir / "root"), [](const std::string&) { throw std::runtime_error("sink"); }, {},
                     fixed_env({{"TRITON_CACHE_DIR", dir / "mine"}}));
  const PrepareReport prepared = session.prepare();
  EXPECT_EQ(prepared.warnings, 1);
  EXPECT_EQ(prepared.env.count("TORCHINDUCTOR_CACHE_DIR"), 1u);
}

TEST(SyncAndGc, RecordsBeforeCollecting) {
  TempDir dir;
  auto cache = Cache::open(config_at(dir / "root")).value();
  const DeviceClass part = DeviceClass::cpu(CpuIsa::kDefault);
  const std::string inductor = framework_dirs(cache->config().root, part)[0].path;
  std::filesystem::create_directories(inductor + "/fxgraph/ab/fabc");
  write_text(inductor + "/fxgraph/ab/fabc/entry", "graph");
  const GcReport r = sync_and_gc(*cache, part, 0).value();
  EXPECT_EQ(r.evicted_entries, 1u);
  EXPECT_EQ(cache->stats().value().framework_entries, 0u);
}

TEST(StatsJsonText, IsTheCliDocument) {
  TempDir dir;
  auto cache = Cache::open(config_at(dir / "root")).value();
  const std::string text = stats_json_text(*cache).value();
  for (const char* field : {"\"schema_version\":1", "\"last_run\":null", "\"top_entries\":[]", "\"counters\":{"}) {
    EXPECT_NE(text.find(field), std::string::npos) << field << " in " << text;
  }
}

}  // namespace
}  // namespace mithril
