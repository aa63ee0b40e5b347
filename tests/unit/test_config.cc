#include <gtest/gtest.h>

#include <mithril/config.h>

#include "temp_dir.h"

namespace mithril {
namespace {

GetEnv fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseSize, AcceptsDocumentedForms) {
  EXPECT_EQ(parse_size("0").value(), 0u);
  EXPECT_EQ(parse_size("123").value(), 123u);
  EXPECT_EQ(parse_size("500K").value(), 500u << 10);
  EXPECT_EQ(parse_size("500M").value(), 500ull << 20);
  EXPECT_EQ(parse_size("20G").value(), 20ull << 30);
  EXPECT_EQ(parse_size("1.5T").value(), 3ull << 39);
  EXPECT_EQ(parse_size("2GiB").value(), 2ull << 30);
  EXPECT_EQ(parse_size("2gb").value(), 2ull << 30);
  EXPECT_EQ(parse_size(" 7 M ").value(), 7ull << 20);
}

TEST(ParseSize, RejectsGarbageWithAClearMessage) {
  for (const char* bad : {"", "M", "-5G", "12Q", "1.5", "abc", "1..5G", "99999999999999999999P"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("invalid size"), std::string::npos);
  }
}

TEST(FormatSize, IsHumanReadable) {
  EXPECT_EQ(format_size(512), "512 B");
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(10ull << 30), "10.0 GiB");
}

TEST(Config, DefaultsUseXdgCacheHome) {
  auto c = load_config({}, fake_env({{"XDG_CACHE_HOME", "/x/cache"}, {"HOME", "/home/u"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->root, "/x/cache/mithril");
  EXPECT_EQ(c->max_size, 10ull << 30);
  EXPECT_EQ(c->sources.at("max_size"), ConfigSource::kDefault);
  auto h = load_config({}, fake_env({{"HOME", "/home/u"}}));
  EXPECT_EQ(h->root, "/home/u/.cache/mithril");
}

TEST(Config, PrecedenceIsDefaultFileEnvironmentOverride) {
  testing::TempDir dir;
  testing::write_text(dir / "mithril.toml", "max_size = \"1G\"\ncompression = true\ncompression_level = 5\n");
  auto vars = fake_env({{"MITHRIL_ROOT", dir.path()}, {"MITHRIL_COMPRESSION_LEVEL", "7"}, {"MITHRIL_FSYNC", "yes"}});
  auto c = load_config({{"fsync", "false"}}, vars);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->root, dir.path());
  EXPECT_EQ(c->max_size, 1ull << 30);  // file
  EXPECT_EQ(c->sources.at("max_size"), ConfigSource::kFile);
  EXPECT_TRUE(c->compression);          // file
  EXPECT_EQ(c->compression_level, 7);   // environment beats file
  EXPECT_EQ(c->sources.at("compression_level"), ConfigSource::kEnvironment);
  EXPECT_FALSE(c->fsync);               // override beats environment
  EXPECT_EQ(c->sources.at("fsync"), ConfigSource::kOverride);
  auto o = load_config({{"root", dir / "other"}}, vars);
  EXPECT_EQ(o->root, dir / "other");    // override beats MITHRIL_ROOT
}

TEST(Config, BadValuesAreClearErrors) {
  testing::TempDir dir;
  auto env_bad = load_config({{"root", dir.path()}}, fake_env({{"MITHRIL_MAX_SIZE", "lots"}}));
  ASSERT_FALSE(env_bad);
  EXPECT_NE(env_bad.error().message.find("MITHRIL_MAX_SIZE"), std::string::npos);
  EXPECT_FALSE(load_config({{"root", dir.path()}, {"nonsense", "1"}}, fake_env({})));
  EXPECT_FALSE(load_config({{"root", dir.path()}, {"compression_level", "99"}}, fake_env({})));
  testing::write_text(dir / "mithril.toml", "max_size = [1, 2\n");
  auto file_bad = load_config({{"root", dir.path()}}, fake_env({}));
  ASSERT_FALSE(file_bad);
  EXPECT_NE(file_bad.error().message.find("mithril.toml:1"), std::string::npos) << file_bad.error().message;
  testing::write_text(dir / "mithril.toml", "root = \"/elsewhere\"\n");
  EXPECT_FALSE(load_config({{"root", dir.path()}}, fake_env({})));
}

}  // namespace
}  // namespace mithril
