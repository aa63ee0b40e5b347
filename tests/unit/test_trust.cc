// The root as a trust boundary: Env-level no-follow primitives, the root
// ownership check, objects behind symlinks or replaced by FIFOs, all-or-
// nothing staging, and telling our index from another program's database.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <mithril/cache.h>
#include <mithril/content_store.h>

#include "env/staged_files.h"
#include "fault_env.h"
#include "index/index_file.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::FaultEnv;
using testing::Op;
using testing::TempDir;
namespace fs = std::filesystem;

TEST(NoFollow, LstatAndListDirDescribeLinksThemselves) {
  TempDir dir;
  fs::create_directory(dir / "real");
  fs::create_directory_symlink(dir / "real", dir / "link");
  Env& env = Env::posix();
  EXPECT_TRUE((*env.stat(dir / "link"))->is_dir());
  EXPECT_TRUE((*env.lstat(dir / "link"))->is_symlink());
  const auto listed = env.list_dir(dir.path());
  ASSERT_TRUE(listed);
  for (const auto& e : *listed) {
    EXPECT_EQ(e.is_dir, e.name == "real") << e.name;
    EXPECT_EQ(e.is_symlink, e.name == "link") << e.name;
  }
}

TEST(NoFollow, OpenRegularRefusesLinksFifosAndDevicesWithoutBlocking) {
  TempDir dir;
  testing::write_text(dir / "file", "data");
  fs::create_symlink(dir / "file", dir / "link");
  fs::create_symlink("/dev/zero", dir / "zero");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  Env& env = Env::posix();
  EXPECT_EQ(**read_regular_file(env, dir / "file"), "data");
  EXPECT_FALSE(*read_regular_file(env, dir / "absent"));
  const auto t0 = std::chrono::steady_clock::now();
  for (const char* name : {"link", "zero", "fifo"}) {
    auto r = read_regular_file(env, dir / name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << name;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(NoFollow, LstatBeneathRefusesASymlinkedDirectoryOnTheWay) {
  TempDir dir;
  TempDir outside;
  testing::write_text(outside / "secret", "x");
  fs::create_directories(dir / "a/b");
  fs::create_directory_symlink(outside.path(), dir / "a/evil");
  Env& env = Env::posix();
  EXPECT_FALSE(*lstat_beneath(env, dir.path(), dir / "a/b/none"));
  EXPECT_TRUE(*lstat_beneath(env, dir.path(), dir / "a/evil"));  // the link itself
  auto through = lstat_beneath(env, dir.path(), dir / "a/evil/secret");
  ASSERT_FALSE(through);
  EXPECT_EQ(through.error().code, ErrorCode::kCorruption);
  EXPECT_FALSE(lstat_beneath(env, dir / "a", dir / "elsewhere"));
}

TEST(RootTrust, RefusesARootAnotherUserOwnsUnlessShared) {
  TempDir dir;
  FaultEnv env;
  env.pretend_uid(::geteuid() + 4242);
  auto r = check_root_trusted(env, dir.path(), false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not by you"), std::string::npos) << r.error().message;
  CacheConfig c;
  c.root = dir.path();
  EXPECT_FALSE(Cache::open(c, env));
  EXPECT_TRUE(check_root_trusted(env, dir.path(), true));
  c.allow_shared_root = true;
  EXPECT_TRUE(Cache::open(c, env));
}

TEST(RootTrust, RefusesLooseModesAndSymlinkedSubdirectories) {
  TempDir dir;
  TempDir outside;
  Env& env = Env::posix();
  fs::permissions(dir.path(), fs::perms(0777));
  EXPECT_FALSE(check_root_trusted(env, dir.path(), false));
  EXPECT_FALSE(check_root_trusted(env, dir.path(), true));  // others' write: never
  fs::permissions(dir.path(), fs::perms(0770));
  EXPECT_FALSE(check_root_trusted(env, dir.path(), false));
  EXPECT_TRUE(check_root_trusted(env, dir.path(), true));
  fs::permissions(dir.path(), fs::perms(0700));
  fs::create_directory_symlink(outside.path(), dir / "objects");
  auto r = check_root_trusted(env, dir.path(), false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("symlink"), std::string::npos);
}

TEST(ContentStoreTrust, ASymlinkedShardIsNeverReadOrDeletedThrough) {
  TempDir dir;
  TempDir outside;
  auto store = std::move(*ContentStore::open(dir / "objects", {}));
  const Digest d = store->put_bytes("inside")->digest;
  const std::string shard = dir / ("objects/" + d.to_hex().substr(0, 2));
  fs::rename(shard, outside / "shard");
  fs::create_directory_symlink(outside / "shard", shard);
  EXPECT_FALSE(*store->get(d));
  EXPECT_FALSE(*store->stat(d));
  EXPECT_FALSE(*store->remove(d));
  EXPECT_TRUE(store->quarantine(d));
  int listed = 0;
  ASSERT_TRUE(store->for_each([&](const ObjectInfo&) { return ++listed, true; }));
  EXPECT_EQ(listed, 0);
  EXPECT_TRUE(fs::exists(outside / ("shard/" + d.to_hex().substr(2, 2) + "/" + d.to_hex())));
  EXPECT_FALSE(store->put_bytes("inside"));  // never published through the link
}

TEST(ContentStoreTrust, AFifoInAnObjectsPlaceIsQuarantinedWithoutBlocking) {
  TempDir dir;
  auto store = std::move(*ContentStore::open(dir / "objects", {}));
  const Digest d = store->put_bytes("soon a fifo")->digest;
  const std::string path = store->path_of(d, false);
  fs::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_FALSE(*store->verify(d, true));
  EXPECT_FALSE(fs::exists(fs::symlink_status(path)));
  EXPECT_FALSE(*store->get(d));
}

TEST(ContentStoreTrust, StaleTempCleanupDeletesOnlyRegularFiles) {
  TempDir dir;
  TempDir outside;
  auto store = std::move(*ContentStore::open(dir / "objects", {}));
  testing::write_text(outside / "victim", "keep me");
  fs::create_symlink(outside / "victim", dir / "objects/tmp/put.link");
  testing::write_text(dir / "objects/tmp/put.stale", "debris");
  EXPECT_EQ(*store->remove_stale_temp_files(-1'000'000'000), 1u);
  EXPECT_TRUE(fs::is_symlink(dir / "objects/tmp/put.link"));
  EXPECT_EQ(testing::read_text(outside / "victim"), "keep me");
}

TEST(StagedFilesTrust, AFailedPublishLeavesNothing) {
  TempDir dir;
  FaultEnv env;
  {
    detail::StagedFiles staged(env);
    for (const char* rel : {"new/a/x", "new/b/y"}) {
      const std::string final_path = dir / rel;
      ASSERT_TRUE(staged.make_parents(dir.path(), final_path));
      testing::write_text(final_path + ".tmp", "data");
      staged.add(final_path + ".tmp", final_path);
    }
    env.fail(Op::kRename, EACCES, 2);
    EXPECT_FALSE(staged.publish());
  }
  EXPECT_FALSE(fs::exists(dir / "new"));
}

TEST(StagedFilesTrust, ParentsAreNeverCreatedThroughALink) {
  TempDir dir;
  TempDir outside;
  fs::create_directory_symlink(outside.path(), dir / "link");
  detail::StagedFiles staged(Env::posix());
  EXPECT_FALSE(staged.make_parents(dir.path(), dir / "link/sub/file"));
  EXPECT_FALSE(fs::exists(outside / "sub"));
  const std::string long_name(255, 'n');
  const std::string tmp = detail::staging_path(dir / long_name, ".mithril-pull.1.2");
  EXPECT_LE(fs::path(tmp).filename().string().size(), 255u);
  EXPECT_NE(tmp.find(".mithril-pull."), std::string::npos);
}

TEST(Paths, AFileAndADirectoryOfTheSameNameConflict) {
  EXPECT_EQ(conflicting_path({"a", "a/b"}), "a");
  EXPECT_EQ(conflicting_path({"x/a", "x/a/b/c", "y"}), "x/a");
  EXPECT_FALSE(conflicting_path({"a/b", "a/c", "ab"}));
}

TEST(IndexFile, AnotherProgramsDatabaseIsNotOursAndIsNotTouched) {
  TempDir dir;
  const std::string path = dir / "index.db";
  Env& env = Env::posix();
  EXPECT_TRUE(*detail::index_file_is_ours(env, path));  // absent: a new index
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users(name TEXT); INSERT INTO users VALUES('a');", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = testing::read_text(path);
  EXPECT_FALSE(*detail::index_file_is_ours(env, path));
  EXPECT_EQ(testing::read_text(path), before);
  fs::create_symlink(path, dir / "link.db");
  EXPECT_FALSE(*detail::index_file_is_ours(env, dir / "link.db"));
  CacheConfig c;
  c.root = dir.path();
  ASSERT_TRUE(Cache::open(c));  // set aside, rebuilt
  EXPECT_TRUE(*detail::index_file_is_ours(env, path));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms(0600));
}

}  // namespace
}  // namespace mithril
