// The index on its own: a database in the released format opens unchanged
// and reads back, the telemetry tables keep their order and pruning rules,
// and core's conversion of rows into report types.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>
#include <string>

#include <mithril/digest.h>
#include <mithril/stats.h>

#include "core/index_records.h"
#include "index/index.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::TempDir;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void exec_or_fail(sqlite3* db, const std::string& sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  ASSERT_EQ(rc, SQLITE_OK) << (msg != nullptr ? msg : "") << "\n" << sql;
}

std::string hex_blob(const Digest& d) { return "x'" + d.to_hex() + "'"; }

// A root's index as the released version wrote it: the tables of
// tests/data/index_schema_v1.sql, no application_id, and no `fw_files` meta
// row (added after release), holding one object, one blob entry, one
// framework entry with two files, a counter and a history point.
void write_released_index(const std::string& path, const Digest& d) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  exec_or_fail(db, "PRAGMA journal_mode=WAL");
  exec_or_fail(db, read_text(std::string(MITHRIL_TEST_DATA) + "/index_schema_v1.sql"));
  exec_or_fail(db,
               "INSERT INTO meta(k, v) VALUES ('schema_version', 1), ('stored_bytes', 5), ('logical_bytes', 9), "
               "('entries', 1), ('objects', 1), ('initialized', 1), ('fw_bytes', 30);"
               "INSERT INTO objects VALUES (" + hex_blob(d) + ", 9, 5, 1, 1);"
               "INSERT INTO entries VALUES (1, " + hex_blob(d) + ", 1, " + hex_blob(d) + ", '', '', 5, 10, 20, 3);"
               "INSERT INTO entry_objects VALUES (1, " + hex_blob(d) + ");"
               "INSERT INTO counters VALUES (0, 42);"
               "INSERT INTO fw_entries VALUES (1, 'cpu/inductor/a', 'inductor-fxgraph', 30, 1, 2, 4);"
               "INSERT INTO fw_files VALUES ('fw/cpu/a/1', 1, 10, 7, " + hex_blob(d) + "), "
               "('fw/cpu/a/2', 1, 20, 8, " + hex_blob(d) + ");"
               "INSERT INTO fw_costs VALUES ('cpu/inductor/a', 3000000);"
               "INSERT INTO history VALUES (100, 'run', 1, 2, 3, 4, 35, 1000, 6, 0);");
  sqlite3_close(db);
}

TEST(Index, OpensAnIndexOfTheReleasedFormatAndReadsItBack) {
  TempDir dir;
  const Digest d = blake3(std::string_view("object"));
  write_released_index(dir / "index.db", d);
  auto opened = Index::open(dir / "index.db", {});
  ASSERT_TRUE(opened) << opened.error().message;
  Index& index = **opened;
  EXPECT_TRUE(index.initialized().value());
  const auto entry = index.find_entry(d).value();
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->root, d);
  EXPECT_EQ(entry->size, 5u);
  EXPECT_EQ(entry->hits, 3);
  EXPECT_EQ(index.stored_bytes().value(), 5u);
  EXPECT_EQ(index.logical_bytes().value(), 9u);
  EXPECT_EQ(index.counters().value()[0], 42);
  EXPECT_EQ(index.fw_entry_files("cpu/inductor/a").value().size(), 2u);
  EXPECT_EQ(index.fw_cost("cpu/inductor/a").value(), 3'000'000);
  // The meta row added after release is counted once, at this first open.
  EXPECT_EQ(index.file_count().value(), 3u);
  const auto history = index.history().value();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].event, "run");
  EXPECT_EQ(history[0].bytes, 35u);
}

TEST(Index, KeepsHistoryInOrderAndTheEvictionLogNewestFirst) {
  TempDir dir;
  auto index = Index::open(dir / "index.db", {}).value();
  ASSERT_TRUE(index->begin_write());
  for (std::int64_t t = 1; t <= 5'002; ++t) {
    ASSERT_TRUE(index->history_add(HistoryRow{t, t % 2 == 0 ? "gc" : "run", t, 0, 0, 0, 0, 0, 0, 0}));
  }
  for (std::int64_t t = 1; t <= 3; ++t) {
    ASSERT_TRUE(index->eviction_log_add({t, "e" + std::to_string(t), "store", 7, "budget"}));
  }
  ASSERT_TRUE(index->commit());
  const auto history = index->history().value();
  ASSERT_EQ(history.size(), 5'000u);  // pruned to the last 5,000 points
  EXPECT_EQ(history.front().t_ns, 3);
  EXPECT_EQ(history.back().t_ns, 5'002);
  EXPECT_EQ(history.back().event, "gc");
  const auto log = index->eviction_log(2).value();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].name, "e3");
  EXPECT_EQ(log[1].name, "e2");
}

TEST(Index, ReportsFrameworkKindsWithTheirCounters) {
  TempDir dir;
  auto index = Index::open(dir / "index.db", {}).value();
  const Digest d = blake3(std::string_view("file"));
  ASSERT_TRUE(index->begin_write());
  ASSERT_TRUE(index->fw_put_entry("p/a", "triton-kernel", {FwFile{"fw/p/a", 10, 1, d, "p/a"}}, 5, false));
  ASSERT_TRUE(index->fw_set_cost("p/a", 2'500'000));
  Index::KindDelta delta;
  delta.evictions = 2;
  delta.saved_ns = 7'000'000;
  ASSERT_TRUE(index->fw_kind_add("triton-kernel", delta));
  ASSERT_TRUE(index->fw_kind_add("inductor-fxgraph", delta));  // counters only, no entry left
  ASSERT_TRUE(index->commit());
  const auto kinds = index->fw_kinds().value();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].kind, "inductor-fxgraph");
  EXPECT_EQ(kinds[0].entries, 0u);
  EXPECT_EQ(kinds[1].kind, "triton-kernel");
  EXPECT_EQ(kinds[1].entries, 1u);
  EXPECT_EQ(kinds[1].bytes, 10u);
  EXPECT_EQ(kinds[1].evictions, 2);
  EXPECT_EQ(kinds[1].saved_ns, 7'000'000);
  const auto summaries = index->fw_summaries().value();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].compile_ns, 2'500'000);
}

TEST(IndexRecords, ConvertRowsIntoReportTypes) {
  const auto kinds = to_kind_stats({FwKindRow{"k", 1, 2, 3, 4, 5, 6, 7'999'999, 8}});
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(kinds[0].compile_ms_saved, 7);  // whole milliseconds
  EXPECT_EQ(kinds[0].evictions, 4);
  EXPECT_EQ(kinds[0].compiled, 8);
  EXPECT_EQ(to_entry_summary(FwSummaryRow{"n", "k", 1, 2, 3, 2'500'000}).compile_ms, 2);
  const HistoryPoint point{1, "gc", 2, 3, 4, 5, 6, 7, 8, 9};
  const auto back = to_history_points({to_history_row(point)});
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].event, "gc");
  EXPECT_EQ(back[0].max_size, 7u);
  EXPECT_EQ(back[0].evictions, 9);
  const auto log = to_eviction_records({EvictionRow{1, "n", "store", 4, "corrupt"}});
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].reason, "corrupt");
}

}  // namespace
}  // namespace mithril
