// What a remote says is bounded before it is believed: the streaming frame
// decoder, size and credit limits in manifests, file:// refusing what is not
// a regular file, bounded listings, the deadline. (Misbehaving servers are
// in tests/system/test_hostile_remote.py.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <mithril/remote.h>

#include "remote/frame_stream.h"
#include "remote/remote_layout.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::TempDir;

std::string pseudo_random(std::size_t n) {
  std::mt19937_64 gen(42);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen());
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Decodes `frame` fed in pieces of `piece` bytes into a new file; the
// decoder's verdict (feed or finish).
Result<void> decode(const TempDir& dir, std::string_view frame, std::uint64_t size, const Digest& digest,
                    std::size_t piece) {
  const int fd = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  remote::FrameDecoder decoder(Env::posix(), fd, size, digest);
  Result<void> ok;
  for (std::size_t off = 0; ok && off < frame.size(); off += piece) ok = decoder.feed(frame.substr(off, piece));
  if (ok) ok = decoder.finish();
  ::close(fd);
  return ok;
}

TEST(FrameDecoder, DecodesPieceByPieceAndChecksSizeDigestAndEnd) {
  TempDir dir;
  const std::string data = pseudo_random(1 << 20) + std::string(1 << 20, 'x');
  const std::string frame = remote::compress(data, 3);
  const Digest digest = blake3(data);
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, frame.size()}) {
    ASSERT_TRUE(decode(dir, frame, data.size(), digest, piece)) << piece;
    EXPECT_EQ(slurp(dir / "out"), data);
  }
  const auto refused = [&](std::string_view f, std::uint64_t size, const Digest& d, const std::string& why) {
    auto r = decode(dir, f, size, d, 1000);
    ASSERT_FALSE(r) << why;
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << why;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  };
  refused(frame, data.size() + 1, digest, "does not declare");
  refused(frame, (1ull << 40), digest, "does not declare");  // a manifest lying about the size
  refused(std::string_view(frame).substr(0, frame.size() / 2), data.size(), digest, "truncated");
  refused(frame + "trailing", data.size(), digest, "followed by other bytes");
  refused(frame, data.size(), blake3("other"), "does not match its digest");
  refused("not a zstd frame at all", 5, digest, "");
  EXPECT_GE(remote::max_frame_bytes(data.size()), frame.size());
}

TEST(RemoteManifest, CompileCreditsAreClampedAndFileSizesLimited) {
  remote::EntryManifest m{"cpu-AVX2", {}, {}};
  m.entry.name = "inductor/fxgraph/ab/fabc";
  m.entry.kind = "inductor-fxgraph";
  m.entry.files.push_back({"inductor/fxgraph/ab/fabc/entry", 5, blake3("hello")});
  const auto credit = [&](const std::string& ns) {
    std::string text = remote::encode_manifest(m, "");
    text.replace(text.find("\"files\""), 0, "\"compile_ns\":" + ns + ",");
    auto back = remote::decode_manifest(text, "cpu-AVX2", "", 1 << 20);
    return back ? back->entry.compile_ns : std::int64_t{-42};
  };
  EXPECT_EQ(credit("1000"), 1000);
  EXPECT_EQ(credit("-5"), 0);
  EXPECT_EQ(credit("9223372036854775807"), 24LL * 3600 * 1'000'000'000);
  EXPECT_EQ(credit("1e300"), -42);  // not an integer: the manifest is refused
  m.entry.files[0].size = kMaxFileBytes + 1;
  auto huge = remote::decode_manifest(remote::encode_manifest(m, ""), "cpu-AVX2", "", ~0ull);
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("per-file limit"), std::string::npos);
}

TEST(FileRemote, RefusesWhatIsNotARegularFileWithoutReadingIt) {
  TempDir dir;
  auto store = open_remote("file://" + dir.path()).value();
  ASSERT_TRUE(store->put("v1/objects/ab/good", "0123456789"));
  std::filesystem::create_symlink("/dev/zero", dir / "v1/objects/ab/zero");
  ASSERT_EQ(::mkfifo((dir / "v1/objects/ab/fifo").c_str(), 0600), 0);  // a blocking open would hang here
  std::filesystem::create_directories(dir / "v1/objects/ab/dir");
  const auto sink = [](std::string_view) -> Result<void> { return {}; };
  for (const char* key : {"v1/objects/ab/zero", "v1/objects/ab/fifo", "v1/objects/ab/dir"}) {
    auto got = store->get(key, 1 << 20);
    ASSERT_FALSE(got) << key;
    EXPECT_EQ(got.error().code, ErrorCode::kCorruption) << key;
    auto streamed = store->get_to(key, 1 << 20, sink);
    ASSERT_FALSE(streamed) << key;
    EXPECT_EQ(streamed.error().code, ErrorCode::kCorruption) << key;
  }
  if (::geteuid() != 0) {  // root reads a mode-000 file anyway
    ASSERT_TRUE(store->put("v1/objects/ab/private", "x"));
    std::filesystem::permissions(dir / "v1/objects/ab/private", std::filesystem::perms::none);
    auto denied = store->get("v1/objects/ab/private", 10);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, ErrorCode::kCorruption);  // one bad key, not a dead remote
  }
  auto too_big = store->get("v1/objects/ab/good", 9);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::kCorruption);
  EXPECT_EQ(store->get("v1/objects/ab/good", 10).value(), std::optional<std::string>("0123456789"));
}

TEST(FileRemote, ListingsAreBoundedInDepth) {
  TempDir dir;
  std::string deep = dir / "v1/fw/cpu-X";
  for (int i = 0; i < 20; ++i) deep += "/d";
  std::filesystem::create_directories(deep);
  std::filesystem::create_symlink("..", dir / "v1/fw/cpu-X/loop");  // not followed
  auto store = open_remote("file://" + dir.path()).value();
  auto listed = store->list("v1/fw/");
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kCorruption);
  std::filesystem::remove_all(dir / "v1/fw/cpu-X/d");
  EXPECT_EQ(store->list("v1/fw/").value(), std::vector<std::string>{"v1/fw/cpu-X/loop"});
}

TEST(RemoteDeadline, BoundsEveryWaitAndEndsCalls) {
  EXPECT_TRUE(RemoteDeadline().none());
  EXPECT_TRUE(RemoteDeadline::in_ms(0).none());
  EXPECT_EQ(RemoteDeadline().wait_ms(1234), 1234);
  const auto d = RemoteDeadline::in_ms(100);
  EXPECT_LE(d.wait_ms(10000), 100);
  EXPECT_EQ(d.wait_ms(10), 10);
  TempDir dir;
  auto store = open_remote("file://" + dir.path()).value();
  ASSERT_TRUE(store->put("k", "v"));
  store->set_deadline(d);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(d.expired());
  EXPECT_EQ(d.wait_ms(10000), 1);  // never 0: that would mean "no timeout"
  EXPECT_EQ(RemoteDeadline().wait_ms(0), 1);
  auto got = store->get("k", 10);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kTimeout);
}

}  // namespace
}  // namespace mithril
