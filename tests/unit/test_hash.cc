#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <mithril/digest.h>

namespace mithril {
namespace {

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

TEST(Blake3, MatchesOfficialTestVectors) {
  std::ifstream in(MITHRIL_TEST_DATA "/blake3_vectors.txt");
  ASSERT_TRUE(in) << "missing test data";
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::size_t len = 0;
    std::string expected;
    fields >> len >> expected;
    EXPECT_EQ(blake3(pattern(len)).to_hex(), expected) << "input_len " << len;
    ++checked;
  }
  EXPECT_EQ(checked, 21);
}

TEST(Blake3, StreamingEqualsOneShotForEverySplit) {
  const std::string data = pattern(5000);
  const Digest whole = blake3(data);
  for (std::size_t split : {0u, 1u, 63u, 64u, 1023u, 1024u, 1025u, 4999u, 5000u}) {
    Hasher h;
    h.update(std::string_view(data).substr(0, split));
    h.update(std::string_view(data).substr(split));
    EXPECT_EQ(h.finalize(), whole) << "split at " << split;
  }
}

TEST(Digest, HexRoundTripAndRejectsBadInput) {
  const Digest d = blake3("mithril");
  const std::string hex = d.to_hex();
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(Digest::from_hex(hex), d);
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(Digest::from_hex(upper), d);
  EXPECT_FALSE(Digest::from_hex(hex.substr(1)));
  EXPECT_FALSE(Digest::from_hex(hex + "0"));
  EXPECT_FALSE(Digest::from_hex(std::string(63, 'a') + "g"));
  EXPECT_FALSE(Digest::from_bytes(std::vector<std::uint8_t>(31)));
}

TEST(Blake3, ReportsSimdPath) { EXPECT_STRNE(blake3_simd_path(), ""); }

}  // namespace
}  // namespace mithril
