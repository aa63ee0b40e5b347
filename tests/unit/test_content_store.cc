#include <gtest/gtest.h>

#include <filesystem>

#include <mithril/content_store.h>

#include "fault_env.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::FaultEnv;
using testing::Op;
using testing::TempDir;

std::unique_ptr<ContentStore> open_store(const TempDir& dir, StoreOptions o = {}, Env& env = Env::posix()) {
  auto s = ContentStore::open(dir / "objects", o, env);
  EXPECT_TRUE(s) << s.error().to_string();
  return std::move(*s);
}

std::size_t count_files(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(ContentStore, PutGetRoundTripAndShardedLayout) {
  TempDir dir;
  auto store = open_store(dir);
  auto info = store->put_bytes("hello world");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->digest, blake3("hello world"));
  EXPECT_FALSE(info->existed);
  const std::string hex = info->digest.to_hex();
  EXPECT_TRUE(std::filesystem::exists(dir / ("objects/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex)));
  auto got = store->get(info->digest);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, "hello world");
  auto again = store->put_bytes("hello world");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->existed);
  EXPECT_EQ(count_files(dir / "objects"), 1u) << "no temp file left behind";
}

TEST(ContentStore, MissIsNotAnError) {
  TempDir dir;
  auto store = open_store(dir);
  auto got = store->get(blake3("absent"));
  ASSERT_TRUE(got);
  EXPECT_FALSE(*got);
  auto to_file = store->get_to_file(blake3("absent"), dir / "out");
  ASSERT_TRUE(to_file);
  EXPECT_FALSE(*to_file);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(ContentStore, CompressedObjectsKeepTheUncompressedDigest) {
  TempDir dir;
  StoreOptions o;
  o.compress = true;
  auto store = open_store(dir, o);
  const std::string data(1 << 20, 'z');
  auto info = store->put_bytes(data);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->digest, blake3(data));
  EXPECT_TRUE(info->compressed);
  EXPECT_LT(info->stored_size, data.size() / 100);
  EXPECT_TRUE(std::filesystem::exists(store->path_of(info->digest, true)));
  auto got = store->get(info->digest);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, data);
  ASSERT_TRUE(store->get_to_file(info->digest, dir / "copy").value());
  EXPECT_EQ(testing::read_text(dir / "copy"), data);
}

TEST(ContentStore, PutFileStreamsLargeFiles) {
  TempDir dir;
  std::string data(5 * (1 << 20) + 123, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 % 253);
  testing::write_text(dir / "big", data);
  for (bool compress : {false, true}) {
    StoreOptions o;
    o.compress = compress;
    auto store = open_store(dir, o);
    auto info = store->put_file(dir / "big");
    ASSERT_TRUE(info) << info.error().to_string();
    EXPECT_EQ(info->digest, blake3(data));
    EXPECT_EQ(info->size, data.size());
    ASSERT_TRUE(store->remove(info->digest).value());
  }
}

TEST(ContentStore, CorruptObjectIsQuarantinedNeverReturned) {
  TempDir dir;
  auto store = open_store(dir);
  auto info = store->put_bytes(std::string(10000, 'a'));
  ASSERT_TRUE(info);
  const std::string path = store->path_of(info->digest, false);
  std::string bytes = testing::read_text(path);
  bytes[5000] ^= 1;
  testing::write_text(path, bytes);
  auto got = store->get(info->digest);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kCorruption);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(count_files(store->quarantine_dir()), 1u);
  auto after = store->get(info->digest);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after) << "a quarantined object is a miss";
}

TEST(ContentStore, TruncatedCompressedObjectIsCorruption) {
  TempDir dir;
  StoreOptions o;
  o.compress = true;
  auto store = open_store(dir, o);
  std::string data(200000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * i) % 251);
  auto info = store->put_bytes(data);
  ASSERT_TRUE(info);
  const std::string path = store->path_of(info->digest, true);
  std::filesystem::resize_file(path, info->stored_size / 2);
  auto got = store->get_to_file(info->digest, dir / "out");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kCorruption);
  EXPECT_FALSE(std::filesystem::exists(dir / "out")) << "nothing partial is left at the destination";
}

TEST(ContentStore, VerifyFindsBitRot) {
  TempDir dir;
  auto store = open_store(dir);
  auto a = store->put_bytes("object a");
  auto b = store->put_bytes("object b");
  ASSERT_TRUE(a && b);
  testing::write_text(store->path_of(b->digest, false), "object B");
  EXPECT_TRUE(store->verify(a->digest, true).value());
  EXPECT_FALSE(store->verify(b->digest, true).value());
  EXPECT_FALSE(store->stat(b->digest).value());
}

TEST(ContentStore, IteratesObjectsAndReportsStrays) {
  TempDir dir;
  auto store = open_store(dir);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->put_bytes("obj" + std::to_string(i)));
  testing::write_text(dir / "objects/ab/stray.txt", "x");
  std::filesystem::create_directories(dir / "objects/ab/cd");
  testing::write_text(dir / "objects/ab/cd/notadigest", "x");
  std::size_t objects = 0, strays = 0;
  ASSERT_TRUE(store->for_each([&](const ObjectInfo&) { return ++objects, true; },
                              [&](const std::string&) { ++strays; }));
  EXPECT_EQ(objects, 20u);
  EXPECT_EQ(strays, 1u);
}

TEST(ContentStore, StaleTempFilesAreRemovedFreshOnesKept) {
  TempDir dir;
  FaultEnv env;
  auto store = open_store(dir, {}, env);
  testing::write_text(dir / "objects/tmp/put.1.2.3", "debris of a killed writer");
  auto staged = store->stage_bytes("in flight");  // a live writer's temp file
  ASSERT_TRUE(staged);
  EXPECT_EQ(store->remove_stale_temp_files(3600LL * 1'000'000'000).value(), 0u);
  env.advance_clock(7200LL * 1'000'000'000);
  EXPECT_EQ(store->remove_stale_temp_files(3600LL * 1'000'000'000).value(), 2u);
}

TEST(ContentStore, NoSpaceFailsCleanlyAndKeepsExistingObjects) {
  TempDir dir;
  FaultEnv env;
  auto store = open_store(dir, {}, env);
  auto kept = store->put_bytes("already stored");
  ASSERT_TRUE(kept);
  env.fail(Op::kWrite, ENOSPC);
  auto put = store->put_bytes(std::string(100000, 'x'));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kNoSpace);
  EXPECT_EQ(count_files(dir / "objects"), 1u) << "no partial object, no temp file";
  EXPECT_EQ(**store->get(kept->digest), "already stored");
}

TEST(ContentStore, FailedRenameLeavesNothingVisible) {
  TempDir dir;
  FaultEnv env;
  auto store = open_store(dir, {}, env);
  env.fail(Op::kRename, EIO);
  auto put = store->put_bytes("will not land");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kIoError);
  EXPECT_EQ(count_files(dir / "objects"), 0u);
  EXPECT_FALSE(store->stat(blake3("will not land")).value());
}

TEST(ContentStore, ShortWritesAreRetried) {
  TempDir dir;
  FaultEnv env;
  env.short_writes(7);
  StoreOptions o;
  o.compress = true;
  auto store = open_store(dir, o, env);
  const std::string data(50000, 'q');
  auto info = store->put_bytes(data);
  ASSERT_TRUE(info);
  EXPECT_EQ(**store->get(info->digest), data);
}

TEST(ContentStore, FsyncFailureIsReported) {
  TempDir dir;
  FaultEnv env;
  StoreOptions o;
  o.fsync = true;
  auto store = open_store(dir, o, env);
  env.fail(Op::kFsync, EIO);
  EXPECT_FALSE(store->put_bytes("durable"));
  EXPECT_EQ(count_files(dir / "objects"), 0u);
  EXPECT_TRUE(store->put_bytes("durable"));
}

}  // namespace
}  // namespace mithril
