// Remote tier: SigV4 against AWS's published examples, URL parsing, the
// manifest validator, the file:// store and push/pull between two roots.
#include <gtest/gtest.h>

#include <filesystem>

#include <mithril/cache.h>
#include <mithril/hooks.h>
#include <mithril/remote.h>

#include "manifest/entry_manifest.h"
#include "remote/remote_layout.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::TempDir;

constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const AwsCredentials kAwsExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

std::string signature_of(const std::string& auth) { return auth.substr(auth.rfind('=') + 1); }

// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
TEST(SigV4, AwsExampleGetObject) {
  SigV4Request r{"GET", "/test.txt", {},
                 {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                  {"x-amz-content-sha256", kEmpty}, {"x-amz-date", "20130524T000000Z"}},
                 kEmpty};
  const std::string auth = sigv4_authorization(r, kAwsExample, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(signature_of(auth), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_NE(auth.find("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"), std::string::npos);
}

TEST(SigV4, AwsExamplePutObject) {
  const std::string body_sha = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";  // "Welcome to Amazon S3."
  SigV4Request r{"PUT", "/test%24file.text", {},
                 {{"Host", "examplebucket.s3.amazonaws.com"}, {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                  {"x-amz-storage-class", "REDUCED_REDUNDANCY"}, {"x-amz-content-sha256", body_sha},
                  {"x-amz-date", "20130524T000000Z"}},
                 body_sha};
  EXPECT_EQ(signature_of(sigv4_authorization(r, kAwsExample, "us-east-1", "s3", "20130524T000000Z")),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, AwsExampleListObjects) {
  SigV4Request r{"GET", "/", {{"max-keys", "2"}, {"prefix", "J"}},
                 {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmpty},
                  {"x-amz-date", "20130524T000000Z"}},
                 kEmpty};
  EXPECT_EQ(signature_of(sigv4_authorization(r, kAwsExample, "us-east-1", "s3", "20130524T000000Z")),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, UriEncodeKeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(aws_uri_encode("a b/c~d$", true), "a%20b/c~d%24");
  EXPECT_EQ(aws_uri_encode("a b/c", false), "a%20b%2Fc");
}

TEST(RemoteUrl, ParsesAndRedactsPasswords) {
  auto u = parse_remote_url("redis://alice:s3cr%40t@cache.local:6380/3?prefix=team:&ttl=60&mode=ro");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->host, "cache.local");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "s3cr@t");
  EXPECT_EQ(u->path, "/3");
  EXPECT_EQ(u->query.at("prefix"), "team:");
  EXPECT_EQ(u->mode, RemoteMode::kReadOnly);
  EXPECT_EQ(u->redacted.find("s3cr"), std::string::npos);
  EXPECT_NE(u->redacted.find("alice:***@cache.local"), std::string::npos);

  auto s3 = parse_remote_url("s3://bucket/team/a?endpoint=http://127.0.0.1:9000&region=eu-west-1");
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->host, "bucket");
  EXPECT_EQ(s3->path, "/team/a");
  EXPECT_EQ(s3->query.at("endpoint"), "http://127.0.0.1:9000");
}

// Found by fuzz_text_inputs: the password was printed when the user part
// held an '@' of its own.
TEST(RemoteUrl, PasswordNeverLeaksWithSeveralAtSigns) {
  auto u = parse_remote_url("redis://a%40t@:s3cr3t@host:1/0");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->host, "host");
  EXPECT_EQ(u->password, "s3cr3t");
  EXPECT_EQ(u->redacted.find("s3cr3t"), std::string::npos) << u->redacted;
}

TEST(RemoteUrl, RejectsBadUrls) {
  for (const char* bad : {"bucket/x", "ftp://h/x", "s3:///nobucket", "redis://h:99999", "file://host/x",
                          "file:///", "redis://h?mode=rx", "redis://h/%zz"}) {
    auto u = parse_remote_url(bad);
    EXPECT_FALSE(u) << bad;
    if (!u) {
      EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

remote::EntryManifest sample_manifest() {
  FrameworkEntryFiles e;
  e.name = "inductor/fxgraph/ab/fabc";
  e.kind = "inductor-fxgraph";
  e.files.push_back({"inductor/fxgraph/ab/fabc/entry", 5, blake3("hello")});
  return {"cpu-AVX2", e, {}};
}

TEST(RemoteManifest, RoundTripsAndChecksSignatures) {
  const auto m = sample_manifest();
  auto back = remote::decode_manifest(remote::encode_manifest(m, ""), "cpu-AVX2", "", 1 << 20);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->entry.files.at(0).digest, blake3("hello"));

  const std::string signed_text = remote::encode_manifest(m, "team-key");
  EXPECT_TRUE(remote::decode_manifest(signed_text, "cpu-AVX2", "team-key", 1 << 20));
  auto wrong = remote::decode_manifest(signed_text, "cpu-AVX2", "other-key", 1 << 20);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kCorruption);
  auto unsigned_ = remote::decode_manifest(remote::encode_manifest(m, ""), "cpu-AVX2", "team-key", 1 << 20);
  ASSERT_FALSE(unsigned_);
  EXPECT_EQ(unsigned_.error().code, ErrorCode::kCorruption);
  std::string tampered = signed_text;
  tampered.replace(tampered.find("\"size\":5"), 8, "\"size\":6");
  EXPECT_FALSE(remote::decode_manifest(tampered, "cpu-AVX2", "team-key", 1 << 20));
}

TEST(RemoteManifest, RefusesHostileManifests) {
  const auto with_path = [](const std::string& path) {
    auto m = sample_manifest();
    m.entry.files[0].path = path;
    return remote::encode_manifest(m, "");
  };
  for (const char* p : {"../../etc/passwd", "/etc/passwd", "a/../../b", "a//b", ""}) {
    auto r = remote::decode_manifest(with_path(p), "cpu-AVX2", "", 1 << 20);
    EXPECT_FALSE(r) << p;
  }
  EXPECT_FALSE(remote::decode_manifest(remote::encode_manifest(sample_manifest(), ""), "cpu-AVX512", "", 1 << 20));
  EXPECT_FALSE(remote::decode_manifest(remote::encode_manifest(sample_manifest(), ""), "cpu-AVX2", "", 4));
  auto dup = sample_manifest();
  dup.entry.files.push_back(dup.entry.files[0]);
  EXPECT_FALSE(remote::decode_manifest(remote::encode_manifest(dup, ""), "cpu-AVX2", "", 1 << 20));
  for (const char* junk : {"", "{}", "[]", "{\"format\":\"mithril-entry\",\"version\":2}", "\xff\xfe"}) {
    EXPECT_FALSE(remote::decode_manifest(junk, "cpu-AVX2", "", 1 << 20)) << junk;
  }
}

// Found by fuzz_remote_manifest / fuzz_entry_manifest: numbers that are not
// integers (1e300) or negative were converted with undefined behaviour.
TEST(RemoteManifest, NonIntegerNumbersAreErrorsNotUndefinedBehaviour) {
  std::string text = remote::encode_manifest(sample_manifest(), "");
  for (const char* bad : {"1e300", "-1", "1.5", "18446744073709551616"}) {
    std::string t = text;
    t.replace(t.find("\"size\":5"), 8, std::string("\"size\":") + bad);
    EXPECT_FALSE(remote::decode_manifest(t, "cpu-AVX2", "", 1 << 20)) << bad;
    std::string v = text;
    v.replace(v.find("\"version\":1"), 11, std::string("\"version\":") + bad);
    EXPECT_FALSE(remote::decode_manifest(v, "cpu-AVX2", "", 1 << 20)) << bad;
  }
  EXPECT_FALSE(detail::parse_manifest("{\"format\":\"mithril-manifest\",\"version\":1e300}"));
}

TEST(FileRemote, StoresListsAndRemoves) {
  TempDir dir;
  auto store = open_remote("file://" + dir.path());
  ASSERT_TRUE(store) << store.error().to_string();
  auto& s = **store;
  ASSERT_TRUE(s.put("v1/objects/ab/abc", "data"));
  ASSERT_TRUE(s.put("v1/fw/cpu-X/1.json", "{}"));
  EXPECT_EQ(s.get("v1/objects/ab/abc", 100).value(), std::optional<std::string>("data"));
  EXPECT_EQ(s.get("v1/objects/ab/missing", 100).value(), std::nullopt);
  EXPECT_TRUE(s.exists("v1/fw/cpu-X/1.json").value());
  auto listed = s.list("v1/fw/").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], "v1/fw/cpu-X/1.json");
  EXPECT_TRUE(s.list("v1/nothing/").value().empty());
  EXPECT_TRUE(s.remove("v1/objects/ab/abc").value());
  EXPECT_FALSE(s.remove("v1/objects/ab/abc").value());
  auto escape = s.put("../escape", "x");
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir.path()).parent_path() / "escape"));
}

TEST(FileRemote, ModesAreEnforced) {
  TempDir dir;
  auto ro = open_remote("file://" + dir.path() + "?mode=ro").value();
  auto put = ro->put("k", "v");
  ASSERT_FALSE(put);
  EXPECT_NE(put.error().message.find("read-only"), std::string::npos);
  EXPECT_TRUE(ro->get("k", 100).has_value());
  auto wo = open_remote("file://" + dir.path() + "?mode=wo").value();
  EXPECT_TRUE(wo->put("k", "v"));
  EXPECT_FALSE(wo->get("k", 100));
}

// Two roots at different paths share a file:// remote.
class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    partition = DeviceClass::cpu(CpuIsa::kAvx2);
    a = open_root("a");
    b = open_root("b");
    remote_url = "file://" + dir / "remote";
  }
  std::unique_ptr<Cache> open_root(const std::string& name) {
    CacheConfig c;
    c.root = dir / name;
    auto cache = Cache::open(c);
    EXPECT_TRUE(cache) << cache.error().to_string();
    return std::move(*cache);
  }
  std::string inductor(Cache& c) { return c.config().root + "/fw/" + partition.to_string() + "/inductor"; }
  void write(const std::string& path, const std::string& data) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    testing::write_text(path, data);
  }
  TempDir dir;
  DeviceClass partition = DeviceClass::cpu(CpuIsa::kDefault);
  std::unique_ptr<Cache> a, b;
  std::string remote_url;
};

TEST_F(SyncTest, PushThenPullReproducesTheEntries) {
  write(inductor(*a) + "/fxgraph/ab/fabc/entry", std::string(5000, 'x'));
  write(inductor(*a) + "/aotautograd/aq/entry", "graph");
  ASSERT_TRUE(a->sync_frameworks(partition));
  auto pushed = push_frameworks(*a, partition, remote_url);
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  EXPECT_EQ(pushed->entries_transferred, 2u);
  EXPECT_LT(pushed->wire_bytes, 5000u);  // compressed
  auto again = push_frameworks(*a, partition, remote_url).value();
  EXPECT_EQ(again.entries_transferred, 0u);
  EXPECT_EQ(again.entries_present, 2u);

  auto pulled = pull_frameworks(*b, partition, remote_url);
  ASSERT_TRUE(pulled) << pulled.error().to_string();
  EXPECT_EQ(pulled->entries_transferred, 2u);
  EXPECT_EQ(testing::read_text(inductor(*b) + "/fxgraph/ab/fabc/entry"), std::string(5000, 'x'));
  const auto s = b->stats().value();
  EXPECT_EQ(s.framework_entries, 2u);
  EXPECT_EQ(s.get(Counter::kRemotePulled), 2);
  EXPECT_EQ(s.get(Counter::kFrameworkNewEntries), 0);  // imported, not compiled
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::string out(n, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

TEST_F(SyncTest, SmallFilesTravelInsideTheManifest) {
  write(inductor(*a) + "/fxgraph/ab/fabc/entry", std::string(20000, 'y'));
  ASSERT_TRUE(a->sync_frameworks(partition));
  auto pushed = push_frameworks(*a, partition, remote_url).value();
  EXPECT_EQ(pushed.objects_transferred, 0u);  // inlined: one request per entry
  EXPECT_TRUE(open_remote(remote_url).value()->list("v1/objects/").value().empty());
  EXPECT_EQ(pull_frameworks(*b, partition, remote_url).value().entries_transferred, 1u);
  EXPECT_EQ(testing::read_text(inductor(*b) + "/fxgraph/ab/fabc/entry"), std::string(20000, 'y'));
}

TEST_F(SyncTest, CorruptRemoteObjectIsRejectedAndNeverWritten) {
  const std::string real = random_bytes(100000, 1), fake = random_bytes(100000, 2);  // too big to inline
  write(inductor(*a) + "/fxgraph/ab/fabc/entry", real);
  ASSERT_TRUE(a->sync_frameworks(partition));
  ASSERT_TRUE(push_frameworks(*a, partition, remote_url));
  auto store = open_remote(remote_url).value();
  {  // a valid zstd frame of other bytes of the same size, from another root's push
    TempDir tmp;
    CacheConfig c;
    c.root = tmp / "root";
    auto evil = Cache::open(c).value();
    write(c.root + "/fw/" + partition.to_string() + "/inductor/fxgraph/ab/fabc/entry", fake);
    ASSERT_TRUE(evil->sync_frameworks(partition));
    const std::string evil_remote = "file://" + tmp / "r";
    ASSERT_TRUE(push_frameworks(*evil, partition, evil_remote));
    auto evil_store = open_remote(evil_remote).value();
    ASSERT_TRUE(store->put(remote::object_key(blake3(real)),
                           evil_store->get(remote::object_key(blake3(fake)), 1 << 20).value().value()));
  }
  auto pulled = pull_frameworks(*b, partition, remote_url).value();
  EXPECT_EQ(pulled.entries_transferred, 0u);
  EXPECT_EQ(pulled.rejected, 1u);
  EXPECT_FALSE(std::filesystem::exists(inductor(*b) + "/fxgraph/ab/fabc/entry"));
  EXPECT_EQ(b->stats().value().get(Counter::kRemoteRejected), 1);
}

CacheKey keyed(const std::string& graph) {
  return CacheKey(graph, {InputSpec{{8, -1}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx2), "v1");
}

TEST_F(SyncTest, KeyedEntriesGoThroughTheRemoteVerified) {
  auto store = open_remote(remote_url).value();
  const std::string big = random_bytes(200000, 3);  // an object; "w" travels inline
  ASSERT_TRUE(put_entry_through(*a, *store, keyed("g1"), {{"kernel.so", big}, {"wrapper.py", "w"}}));
  auto got = get_entry_through(*b, *store, keyed("g1"));
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_TRUE(*got);
  EXPECT_EQ(b->read_entry_file(**got, "kernel.so").value(), std::optional<std::string>(big));
  EXPECT_EQ(b->stats().value().get(Counter::kRemotePulled), 1);
  // Now local: served without the remote.
  auto dead = open_remote("redis://127.0.0.1:1").value();
  EXPECT_TRUE(get_entry_through(*b, *dead, keyed("g1")).value().has_value());
  EXPECT_FALSE(get_entry_through(*b, *store, keyed("unknown")).value().has_value());
}

TEST_F(SyncTest, KeyedEntryWithBadRemoteBytesIsAMissAndNotStored) {
  auto store = open_remote(remote_url).value();
  const std::string big = random_bytes(200000, 4);
  ASSERT_TRUE(put_entry_through(*a, *store, keyed("g2"), {{"kernel.so", big}}));
  const std::string other = remote::compress(random_bytes(200000, 5), 3);
  ASSERT_TRUE(store->put(remote::object_key(blake3(big)), other));
  auto got = get_entry_through(*b, *store, keyed("g2"));
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_FALSE(*got);
  EXPECT_FALSE(b->get_entry(keyed("g2")).value().has_value());
  EXPECT_EQ(b->stats().value().get(Counter::kRemoteRejected), 1);
}

TEST_F(SyncTest, KeyedLookupWithADeadRemoteIsAMiss) {
  RemoteOptions quick;
  quick.connect_timeout_ms = 500;
  auto dead = open_remote("redis://127.0.0.1:1", quick).value();
  auto got = get_entry_through(*b, *dead, keyed("g3"));
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_FALSE(*got);
  EXPECT_TRUE(put_entry_through(*b, *dead, keyed("g3"), {{"a", "b"}}));  // stored locally all the same
  EXPECT_TRUE(b->get_entry(keyed("g3")).value().has_value());
  EXPECT_EQ(b->stats().value().get(Counter::kRemoteErrors), 2);
}

TEST_F(SyncTest, UnreachableRemoteIsCountedNotFatal) {
  SyncOptions o;
  o.remote.connect_timeout_ms = 500;
  auto r = pull_frameworks(*b, partition, "redis://127.0.0.1:1", o);  // nothing listens on port 1
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->errors, 1u);
  EXPECT_TRUE(r->remote_gave_up);
  EXPECT_EQ(b->stats().value().get(Counter::kRemoteErrors), 1);
}

TEST_F(SyncTest, TagsSelectEntries) {
  write(inductor(*a) + "/fxgraph/ab/fabc/entry", "one");
  ASSERT_TRUE(a->sync_frameworks(partition));
  SyncOptions tagged;
  tagged.tag = "model-v1";
  ASSERT_TRUE(push_frameworks(*a, partition, remote_url, tagged));
  write(inductor(*a) + "/fxgraph/cd/fcd/entry", "two");
  ASSERT_TRUE(a->sync_frameworks(partition));
  ASSERT_TRUE(push_frameworks(*a, partition, remote_url));
  auto pulled = pull_frameworks(*b, partition, remote_url, tagged).value();
  EXPECT_EQ(pulled.entries_transferred, 1u);
  SyncOptions unknown;
  unknown.tag = "nope";
  EXPECT_FALSE(pull_frameworks(*b, partition, remote_url, unknown));
}

}  // namespace
}  // namespace mithril
