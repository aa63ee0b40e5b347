// The one manifest codec (src/manifest/codec.h) and the one error table
// (kErrorTable in <mithril/result.h>).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <mithril/digest.h>
#include <mithril/result.h>

#include "manifest/codec.h"

namespace mithril {
namespace {

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

manifest::FileRow row(std::string path, const std::string& hex, std::uint64_t size) {
  return {std::move(path), *Digest::from_hex(hex), size, std::nullopt};
}

TEST(ErrorTable, EveryCodeHasOneRowInCodeOrder) {
  std::set<std::string> names;
  int want = 1;
  for (const auto& r : kErrorTable) {
    EXPECT_EQ(static_cast<int>(r.code), want++);
    EXPECT_EQ(error_code_name(r.code), std::string(r.name));
    EXPECT_EQ(&error_info(r.code), &r);
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_NE(std::string(r.description), "");
    EXPECT_NE(std::string(r.python_class), "");
    EXPECT_EQ(r.exit_code, 1);  // `mithril` exits 1 on every runtime error (2 is usage)
  }
  EXPECT_EQ(static_cast<int>(ErrorCode::kInternal), want - 1);  // the last enumerator has the last row
  EXPECT_EQ((Error{ErrorCode::kCorruption, "x", 0}.to_string()), "corruption: x");
  EXPECT_EQ(error_info(static_cast<ErrorCode>(99)).code, ErrorCode::kInternal);
}

// The bytes each format writes are those its old writer wrote (key order included).
TEST(ManifestCodec, WritesTheBytesOfEachOldWriter) {
  const std::vector<manifest::FileRow> rows{row("a/b", kHexA, 3)};
  EXPECT_EQ(manifest::encode(manifest::kEntry, {{"key", "00"}, {"created_ns", std::int64_t{7}}}, rows),
            R"({"format":"mithril-manifest","version":1,"key":"00","created_ns":7,"files":[{"name":"a/b","digest":")" +
                kHexA + R"(","size":3}]})");
  EXPECT_EQ(manifest::encode(manifest::kBundle, {{"partition", "cpu-AVX2"}}, rows),
            R"({"format":"mithril-bundle","version":1,"partition":"cpu-AVX2","files":[{"path":"a/b","size":3,"blake3":")" +
                kHexA + R"("}]})");
  auto with_frame = rows;
  with_frame[0].inline_frame = std::string("hi!");
  EXPECT_EQ(manifest::encode(manifest::kKeyed, {{"key", "00"}}, with_frame),
            R"({"format":"mithril-keyed","version":1,"key":"00","files":[{"name":"a/b","size":3,"blake3":")" + kHexA +
                R"(","zstd":"aGkh"}]})");
  // A format without inline frames never writes one.
  EXPECT_EQ(manifest::encode(manifest::kBundle, {}, with_frame).find("zstd"), std::string::npos);
}

TEST(ManifestCodec, RoundTripsEveryFormat) {
  for (const auto* format : {&manifest::kEntry, &manifest::kBundle, &manifest::kRemoteEntry, &manifest::kKeyed}) {
    std::vector<manifest::FileRow> rows{row("x", kHexA, 1), row("d/y", kHexB, 2)};
    if (format->has_inline) rows[0].inline_frame = std::string("\x28\xb5\x2f\xfd", 4);
    const std::string text = manifest::encode(*format, {{"s", "v"}, {"n", std::int64_t{-4}}}, rows);
    auto doc = manifest::decode(*format, text, manifest::Limits{});
    ASSERT_TRUE(doc.has_value()) << format->name << ": " << doc.error().to_string();
    EXPECT_EQ(*doc->text(*format, "s"), "v");
    EXPECT_EQ(*doc->integer(*format, "n"), -4);
    EXPECT_FALSE(doc->text(*format, "n").has_value());
    EXPECT_TRUE(doc->has("files"));
    ASSERT_EQ(doc->files.size(), 2u);
    EXPECT_EQ(doc->files[1].path, "d/y");
    EXPECT_EQ(doc->files[1].digest.to_hex(), kHexB);
    EXPECT_EQ(doc->files[1].size, 2u);
    EXPECT_EQ(doc->files[0].inline_frame, rows[0].inline_frame);
    // Another format's document is refused.
    const auto* other = format == &manifest::kEntry ? &manifest::kBundle : &manifest::kEntry;
    EXPECT_FALSE(manifest::decode(*other, text, manifest::Limits{}).has_value());
  }
}

// One validation of hostile rows, the same for every format; each rejection
// carries the format's code and prefix.
TEST(ManifestCodec, RefusesHostileRowsTheSameWayInEveryFormat) {
  const auto doc = [](const manifest::Format& f, const std::string& rows) {
    return R"({"format":")" + std::string(f.name) + R"(","version":1,"files":[)" + rows + "]}";
  };
  for (const auto* format : {&manifest::kEntry, &manifest::kBundle, &manifest::kRemoteEntry, &manifest::kKeyed}) {
    const std::string p(format->path_key);
    const std::string d(format->digest_key);
    const auto file = [&](const std::string& path, const std::string& digest, const std::string& size) {
      return R"({")" + p + R"(":")" + path + R"(",")" + d + R"(":")" + digest + R"(","size":)" + size + "}";
    };
    manifest::Limits limits;
    limits.max_file = 100;
    limits.max_total = 150;
    limits.tree = true;
    const std::vector<std::string> hostile{
        file("../x", kHexA, "1"),                        // escapes
        file("/etc/passwd", kHexA, "1"),                 // absolute
        file("a//b", kHexA, "1"),                        // empty component
        file("x", "zz", "1"),                            // not a digest
        file("x", kHexA, "-1"),                          // negative
        file("x", kHexA, "1.5"),                         // a float
        file("x", kHexA, "101"),                         // over the per-file limit
        file("x", kHexA, "100") + "," + file("y", kHexA, "100"),  // over the total
        file("x", kHexA, "1") + "," + file("x", kHexB, "1"),      // twice
        file("x", kHexA, "1") + "," + file("x/y", kHexB, "1"),    // a file and a directory
        R"({")" + p + R"(":"x",")" + d + R"(":")" + kHexA + R"(","size":1,"zstd":"%%%%"})",  // bad inline frame
        R"("not a row")",
    };
    for (const auto& rows : hostile) {
      auto got = manifest::decode(*format, doc(*format, rows), limits);
      ASSERT_FALSE(got.has_value()) << format->name << " accepted " << rows;
      EXPECT_EQ(got.error().code, format->error);
      EXPECT_TRUE(got.error().message.starts_with(format->error_prefix)) << got.error().message;
    }
    EXPECT_TRUE(manifest::decode(*format, doc(*format, file("x", kHexA, "100")), limits).has_value());
    EXPECT_FALSE(manifest::decode(*format, "[1]", limits).has_value());
    EXPECT_FALSE(manifest::decode(*format, R"({"format":"other","version":1,"files":[]})", limits).has_value());
    EXPECT_FALSE(manifest::decode(*format, R"({"format":")" + std::string(format->name) + R"(","version":2,"files":[]})",
                                  limits)
                     .has_value());
  }
}

TEST(ManifestCodec, InlineFramesOnlyWhereTheFormatHasThem) {
  const std::string text = R"({"format":"mithril-bundle","version":1,"files":[{"path":"x","size":1,"blake3":")" +
                           kHexA + R"(","zstd":"aGkh"}]})";
  EXPECT_FALSE(manifest::decode(manifest::kBundle, text, manifest::Limits{}).has_value());
  manifest::Limits small;
  small.max_inline = 4;
  EXPECT_TRUE(manifest::unbase64("aGkh", 4).has_value());
  EXPECT_FALSE(manifest::unbase64("aGkhaGkh", small.max_inline).has_value());
  EXPECT_FALSE(manifest::unbase64("aGk", 8).has_value());
  const std::string bytes("a\0b", 3);
  EXPECT_EQ(*manifest::unbase64(manifest::base64(bytes), 8), bytes);
}

}  // namespace
}  // namespace mithril
