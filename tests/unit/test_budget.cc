// root::Budget on its own, over two test doubles of its EvictionSource
// interface (our own interface; the real sources are covered through Cache
// in test_cache.cc, test_frameworks.cc, test_faults.cc and test_power_loss.cc).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "root/budget.h"

namespace mithril::root {
namespace {

// a + b (GCC 12's -Wrestrict misfires on a literal + std::string).
std::string join(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + b.size());
  out.append(a);
  out.append(b);
  return out;
}

std::string numbered(std::string_view prefix, int i) { return join(prefix, std::to_string(i)); }

struct Item {
  std::string name;
  std::uint64_t size = 0;
  std::int64_t last_access_ns = 0;
  bool busy = false;
};

// A write transaction that only tracks whether one is open.
class FakeTxn final : public WriteTxn {
 public:
  Result<void> run_write_txn(const std::function<Result<void>()>& body) override {
    EXPECT_FALSE(open);
    open = true;
    ++count;
    auto r = body();
    open = false;
    return r;
  }
  bool open = false;
  int count = 0;
};

// Entries in a vector; LRU order is (last access, position). A busy entry
// is touched instead of evicted, like a locked framework entry.
class FakeSource final : public EvictionSource {
 public:
  FakeSource(std::string tag, FakeTxn& txn, std::vector<std::string>& log) : m_tag(std::move(tag)), m_txn(txn), m_log(log) {}

  Result<Footprint> footprint() override {
    Footprint f;
    for (const auto& i : items) f.bytes += i.size;
    f.files = items.size() * files_per_item;
    return f;
  }
  Result<std::optional<EvictionCandidate>> oldest_txn() override {
    EXPECT_TRUE(m_txn.open);
    const Item* best = nullptr;
    for (const auto& i : items) {
      if (best == nullptr || i.last_access_ns < best->last_access_ns) best = &i;
    }
    if (best == nullptr) return std::optional<EvictionCandidate>{};
    return EvictionCandidate{best->name, m_tag, best->size, best->last_access_ns};
  }
  Result<bool> evict_txn(const EvictionCandidate& c) override {
    EXPECT_TRUE(m_txn.open);
    for (auto it = items.begin(); it != items.end(); ++it) {
      if (it->name != c.name) continue;
      if (it->busy) {
        it->last_access_ns = ++clock;
        ++busy_skips;
        return false;
      }
      m_log.push_back(join(m_tag, join(":", c.name)));
      items.erase(it);
      return true;
    }
    ADD_FAILURE() << "evicted an unknown entry " << c.name;
    return false;
  }
  Result<void> purge_txn() override {
    EXPECT_TRUE(m_txn.open);
    m_log.push_back(join(m_tag, ":purge"));
    return {};
  }

  std::vector<Item> items;
  std::uint64_t files_per_item = 1;
  std::int64_t clock = 1'000'000;
  int busy_skips = 0;

 private:
  std::string m_tag;
  FakeTxn& m_txn;
  std::vector<std::string>& m_log;
};

struct Fixture {
  FakeTxn txn;
  std::vector<std::string> log;
  FakeSource keyed{"keyed", txn, log};
  FakeSource fw{"fw", txn, log};
  Budget budget{{&keyed, &fw}, txn};
  std::uint64_t hook_steps = 0;
  std::uint64_t hook_freed = 0;
  int hook_calls = 0;

  Result<BudgetOutcome> enforce(BudgetLimits limits) {
    return budget.enforce(limits, [&](std::uint64_t steps, std::uint64_t freed) -> Result<void> {
      EXPECT_TRUE(txn.open);
      hook_steps += steps;
      hook_freed += freed;
      ++hook_calls;
      return {};
    });
  }
};

TEST(Budget, EvictsInGlobalLruOrderAcrossSourcesDownToTheBudget) {
  Fixture f;
  f.keyed.items = {{"k1", 10, 1}, {"k3", 10, 3}, {"k5", 10, 5}};
  f.fw.items = {{"f2", 10, 2}, {"f4", 10, 4}, {"f6", 10, 6}};
  auto out = f.enforce({.max_bytes = 25});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(f.log, (std::vector<std::string>{"keyed:k1", "fw:f2", "keyed:k3", "fw:f4"}));
  EXPECT_EQ(out->bytes_before, 60u);
  EXPECT_EQ(out->bytes_after, 20u);
  EXPECT_EQ(out->evicted_entries, 4u);
  EXPECT_EQ(out->evicted_bytes, 40u);
  EXPECT_EQ(f.hook_steps, 4u);
  EXPECT_EQ(f.hook_freed, 40u);
  EXPECT_EQ(f.txn.count, 1);
}

TEST(Budget, ATieGoesToTheSourceListedFirst) {
  Fixture f;
  f.keyed.items = {{"k", 10, 7}};
  f.fw.items = {{"f", 10, 7}};
  ASSERT_TRUE(f.enforce({.max_bytes = 10}));
  EXPECT_EQ(f.log, (std::vector<std::string>{"keyed:k"}));
}

TEST(Budget, WithinLimitsEvictsNothing) {
  Fixture f;
  f.keyed.items = {{"k", 10, 1}};
  f.fw.items = {{"f", 10, 2}};
  auto over = f.budget.over({.max_bytes = 20});
  ASSERT_TRUE(over);
  EXPECT_FALSE(*over);
  auto out = f.enforce({.max_bytes = 20});
  ASSERT_TRUE(out);
  EXPECT_TRUE(f.log.empty());
  EXPECT_EQ(out->evicted_entries, 0u);
  EXPECT_EQ(out->bytes_after, 20u);
}

TEST(Budget, TheFileBoundIsEnforcedUnderTheByteBudget) {
  Fixture f;
  f.keyed.items = {{"k1", 1, 1}, {"k3", 1, 3}};
  f.fw.files_per_item = 3;
  f.fw.items = {{"f2", 1, 2}, {"f4", 1, 4}};
  // Files: 2 + 6 = 8; the bound is 4, bytes are far below budget.
  auto over = f.budget.over({.max_bytes = 1000, .max_files = 4});
  ASSERT_TRUE(over);
  EXPECT_TRUE(*over);
  ASSERT_TRUE(f.enforce({.max_bytes = 1000, .max_files = 4}));
  EXPECT_EQ(f.log, (std::vector<std::string>{"keyed:k1", "fw:f2"}));  // 1 + 3 files left
  f.log.clear();
  ASSERT_TRUE(f.enforce({.max_bytes = 1000, .max_files = 0}));  // 0: no bound
  EXPECT_TRUE(f.log.empty());
}

TEST(Budget, EvictsEverythingWhenTheBudgetIsZero) {
  Fixture f;
  f.keyed.items = {{"k1", 5, 1}};
  f.fw.items = {{"f2", 5, 2}};
  auto out = f.enforce({.max_bytes = 0});
  ASSERT_TRUE(out);
  EXPECT_EQ(f.log, (std::vector<std::string>{"keyed:k1", "fw:f2"}));
  EXPECT_EQ(out->bytes_after, 0u);
}

TEST(Budget, BusyEntriesAreSkippedAndASourceOfOnlyBusyEntriesIsLeftOut) {
  Fixture f;
  f.fw.items = {{"busy1", 10, 1, true}, {"busy2", 10, 2, true}};
  f.fw.clock = 100;  // a touched busy entry becomes newer than every keyed entry
  for (int i = 0; i < 10; ++i) f.keyed.items.push_back({numbered("k", i), 10, 3 + i});
  auto out = f.enforce({.max_bytes = 0});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(f.keyed.items.empty());  // every keyed entry went, oldest first
  EXPECT_EQ(f.log.front(), "keyed:k0");
  EXPECT_EQ(f.fw.items.size(), 2u);  // the busy ones stay
  EXPECT_EQ(f.fw.busy_skips, Budget::kMaxBusySkips);
  // Steps count busy skips too (the evictions counter always did).
  EXPECT_EQ(out->evicted_entries, 10u + static_cast<std::uint64_t>(Budget::kMaxBusySkips));
  EXPECT_EQ(out->evicted_bytes, 100u);
}

TEST(Budget, RunsInBatchesOfOneTransactionEach) {
  Fixture f;
  const int n = Budget::kBatch * 2 + 10;
  for (int i = 0; i < n; ++i) {
    auto& s = (i % 2 == 0) ? f.keyed : f.fw;
    s.items.push_back({numbered("e", i), 1, i});
  }
  auto out = f.enforce({.max_bytes = 0});
  ASSERT_TRUE(out);
  EXPECT_EQ(f.txn.count, 3);
  EXPECT_EQ(f.hook_calls, 3);
  EXPECT_EQ(out->evicted_entries, static_cast<std::uint64_t>(n));
  ASSERT_EQ(f.log.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(f.log[i], numbered((i % 2 == 0) ? "keyed:e" : "fw:e", i));
}

TEST(Budget, ABatchThatOnlySkippedBusyEntriesEndsTheLoop) {
  Fixture f;
  // Empty busy entries are not counted as busy skips (they would free
  // nothing), so only the no-progress rule ends the loop.
  for (int i = 0; i < Budget::kBatch + 50; ++i) f.fw.items.push_back({numbered("b", i), 0, i, true});
  auto out = f.enforce({.max_bytes = 1000, .max_files = 1});
  ASSERT_TRUE(out);
  EXPECT_EQ(f.txn.count, 1);
  EXPECT_EQ(out->evicted_entries, static_cast<std::uint64_t>(Budget::kBatch));
  EXPECT_EQ(f.fw.items.size(), static_cast<std::size_t>(Budget::kBatch + 50));
}

TEST(Budget, AfterTooManyBusySkipsTheLoopEnds) {
  Fixture f;
  for (int i = 0; i < Budget::kBatch; ++i) f.fw.items.push_back({numbered("b", i), 1, i, true});
  auto out = f.enforce({.max_bytes = 0});
  ASSERT_TRUE(out);
  EXPECT_EQ(f.txn.count, 1);
  EXPECT_EQ(f.fw.busy_skips, Budget::kMaxBusySkips);
  EXPECT_EQ(f.fw.items.size(), static_cast<std::size_t>(Budget::kBatch));
}

TEST(Budget, PurgesEverySourceInOrder) {
  Fixture f;
  ASSERT_TRUE(f.txn.run_write_txn([&] { return f.budget.purge_txn(); }));
  EXPECT_EQ(f.log, (std::vector<std::string>{"keyed:purge", "fw:purge"}));
}

TEST(Budget, AFailingHookFailsTheCall) {
  Fixture f;
  f.keyed.items = {{"k", 10, 1}};
  auto out = f.budget.enforce({.max_bytes = 0}, [](std::uint64_t, std::uint64_t) -> Result<void> {
    return fail(ErrorCode::kIoError, "disk gone");
  });
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kIoError);
}

}  // namespace
}  // namespace mithril::root
