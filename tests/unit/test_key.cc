#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include <mithril/key.h>

namespace mithril {
namespace {

std::string to_hex(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// The keys whose bytes are frozen in tests/data/key_golden.txt.
std::map<std::string, CacheKey> golden_keys() {
  using D = DeviceClass;
  return {
      {"empty_cpu_default", CacheKey("", {}, D::cpu(CpuIsa::kDefault))},
      {"mlp_avx512", CacheKey("fzo4oyok3bpc3je65vdstgi3jsgav5ss4us7vywfvncga2lszn4w",
                              {{{32, 256}, DType::kFloat32}}, D::cpu(CpuIsa::kAvx512), "torch-2.13.0")},
      {"dynamic_bf16_sm90", CacheKey("graph", {{{-1, 128, 4096}, DType::kBFloat16}, {{-1}, DType::kInt64}},
                                     D::cuda_compute(9, 0), "ns")},
      {"cuda_any_scalar", CacheKey("g", {{{}, DType::kFloat16}}, D::cuda_any())},
      {"binary_fields", CacheKey(std::string("a\0b\xff", 4), {}, D::cpu(CpuIsa::kAvx2), std::string("\0", 1))},
  };
}

TEST(CacheKey, GoldenVectorsGuardTheFormat) {
  const std::string path = MITHRIL_TEST_DATA "/key_golden.txt";
  const auto keys = golden_keys();
  if (std::getenv("MITHRIL_REGENERATE_GOLDEN") != nullptr) {
    std::ofstream out(path);
    out << "# name serialized-bytes-hex blake3-digest (regenerate only for a new format version)\n";
    for (const auto& [name, key] : keys) {
      out << name << " " << to_hex(key.serialize()) << " " << key.digest().to_hex() << "\n";
    }
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::size_t checked = 0;
  for (std::string name, bytes, digest; in >> name;) {
    if (name[0] == '#') {
      std::getline(in, name);
      continue;
    }
    in >> bytes >> digest;
    ASSERT_TRUE(keys.count(name)) << name;
    const CacheKey& key = keys.at(name);
    EXPECT_EQ(to_hex(key.serialize()), bytes) << name;
    EXPECT_EQ(key.digest().to_hex(), digest) << name;
    ++checked;
  }
  EXPECT_EQ(checked, keys.size());
}

TEST(CacheKey, RoundTripsThroughDeserialize) {
  for (const auto& [name, key] : golden_keys()) {
    auto back = CacheKey::deserialize(key.serialize());
    ASSERT_TRUE(back) << name << ": " << back.error().message;
    EXPECT_EQ(*back, key) << name;
  }
}

TEST(CacheKey, DifferentFieldSplitsNeverCollide) {
  const auto dev = DeviceClass::cpu(CpuIsa::kAvx2);
  const CacheKey a("ab", {}, dev, "c");
  const CacheKey b("a", {}, dev, "bc");
  EXPECT_NE(a.serialize(), b.serialize());
  EXPECT_NE(a.digest(), b.digest());
  // Shape [2,3] + [] vs [2] + [3]
  const CacheKey c("g", {{{2, 3}, DType::kFloat32}, {{}, DType::kFloat32}}, dev);
  const CacheKey d("g", {{{2}, DType::kFloat32}, {{3}, DType::kFloat32}}, dev);
  EXPECT_NE(c.digest(), d.digest());
}

TEST(CacheKey, EveryFieldChangesTheDigest) {
  const CacheKey base("g", {{{4, -1}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx512), "s");
  const std::vector<CacheKey> variants = {
      CacheKey("h", {{{4, -1}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx512), "s"),
      CacheKey("g", {{{4, 5}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx512), "s"),
      CacheKey("g", {{{4, -1}, DType::kFloat16}}, DeviceClass::cpu(CpuIsa::kAvx512), "s"),
      CacheKey("g", {{{4, -1}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx2), "s"),
      CacheKey("g", {{{4, -1}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx512), "t"),
      CacheKey("g", {}, DeviceClass::cpu(CpuIsa::kAvx512), "s"),
  };
  for (const auto& v : variants) EXPECT_NE(v.digest(), base.digest()) << v.debug_dump();
}

TEST(CacheKey, RejectsMalformedBytes) {
  const std::string good = golden_keys().at("mlp_avx512").serialize();
  // Every truncation and every single appended byte is refused, never crashes.
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(CacheKey::deserialize(good.substr(0, n))) << "prefix " << n;
  }
  EXPECT_FALSE(CacheKey::deserialize(good + "x"));
  std::string bad_version = good;
  bad_version[4] = 9;
  EXPECT_FALSE(CacheKey::deserialize(bad_version));
}

TEST(CacheKey, ValidateRejectsBadDimensions) {
  EXPECT_FALSE(CacheKey("g", {{{-2}, DType::kFloat32}}, DeviceClass::cuda_any()).validate());
  EXPECT_TRUE(CacheKey("g", {{{-1, 0}, DType::kFloat32}}, DeviceClass::cuda_any()).validate());
  EXPECT_FALSE(CacheKey("g", {{std::vector<std::int64_t>(65, 1), DType::kFloat32}}, DeviceClass::cuda_any()).validate());
}

TEST(CacheKey, DebugDumpNamesEveryField) {
  const auto dump = golden_keys().at("dynamic_bf16_sm90").debug_dump();
  for (const char* s : {"graph_hash len=5 \"graph\"", "input[0].shape [?, 128, 4096]", "input[0].dtype bfloat16",
                        "input[1].dtype int64", "device cuda-sm90", "salt len=2 \"ns\"", "blake3 "}) {
    EXPECT_NE(dump.find(s), std::string::npos) << s << "\n" << dump;
  }
}

TEST(DeviceClass, CompatibilityIsOneWay) {
  const auto any = DeviceClass::cuda_any();
  const auto sm90 = DeviceClass::cuda_compute(9, 0);
  const auto sm80 = DeviceClass::cuda_compute(8, 0);
  EXPECT_TRUE(any.can_serve(sm90));
  EXPECT_TRUE(any.can_serve(any));
  EXPECT_FALSE(sm90.can_serve(any));
  EXPECT_FALSE(sm80.can_serve(sm90));
  EXPECT_TRUE(sm90.can_serve(sm90));
  EXPECT_FALSE(DeviceClass::cpu(CpuIsa::kAvx512).can_serve(DeviceClass::cpu(CpuIsa::kAvx2)));
  EXPECT_FALSE(DeviceClass::cpu(CpuIsa::kAvx2).can_serve(DeviceClass::cpu(CpuIsa::kAvx512)));
  EXPECT_FALSE(any.can_serve(DeviceClass::cpu(CpuIsa::kDefault)));
}

TEST(DeviceClass, ParsesWhatItPrints) {
  for (const auto& d : {DeviceClass::cuda_any(), DeviceClass::cuda_compute(9, 0), DeviceClass::cuda_compute(10, 0),
                        DeviceClass::cpu(CpuIsa::kAvx512), DeviceClass::cpu(CpuIsa::kDefault)}) {
    auto parsed = DeviceClass::parse(d.to_string());
    ASSERT_TRUE(parsed) << d.to_string();
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_EQ(*DeviceClass::parse("cuda-8.6"), DeviceClass::cuda_compute(8, 6));
  EXPECT_EQ(*DeviceClass::parse("cpu-avx2"), DeviceClass::cpu(CpuIsa::kAvx2));
  EXPECT_FALSE(DeviceClass::parse("gpu"));
  EXPECT_FALSE(DeviceClass::parse("cpu-AVX9000"));
  EXPECT_FALSE(DeviceClass::parse("cuda-smx"));
}

TEST(DeviceClass, CudaHostPartitionNames) {
  const auto host = DeviceClass::cuda_host(9, 0, 550, CpuIsa::kAvx2);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->to_string(), "cuda-sm90-drv550-cpu-AVX2");
  EXPECT_EQ(DeviceClass::cuda_host(10, 0, 570, CpuIsa::kAvx512Vnni)->to_string(), "cuda-sm100-drv570-cpu-AVX512_VNNI");
  for (const auto& d : {*host, *DeviceClass::cuda_host(10, 0, 570, CpuIsa::kAvx512Vnni),
                        *DeviceClass::cuda_host(8, 6, 1, CpuIsa::kDefault)}) {
    auto parsed = DeviceClass::parse(d.to_string());
    ASSERT_TRUE(parsed) << d.to_string();
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_TRUE(host->can_serve(*host));
  EXPECT_FALSE(host->can_serve(*DeviceClass::cuda_host(9, 0, 560, CpuIsa::kAvx2)));
  EXPECT_FALSE(host->can_serve(*DeviceClass::cuda_host(9, 0, 550, CpuIsa::kAvx512)));
  EXPECT_FALSE(host->can_serve(DeviceClass::cuda_compute(9, 0)));
  EXPECT_FALSE(DeviceClass::cuda_any().can_serve(*host));
  EXPECT_FALSE(DeviceClass::cuda_host(0, 0, 550, CpuIsa::kAvx2));
  EXPECT_FALSE(DeviceClass::cuda_host(9, 10, 550, CpuIsa::kAvx2));
  EXPECT_FALSE(DeviceClass::cuda_host(9, 0, 0, CpuIsa::kAvx2));
  EXPECT_FALSE(DeviceClass::cuda_host(9, 0, 10000, CpuIsa::kAvx2));
  for (const char* bad : {"cuda-sm90-drv-cpu-AVX2", "cuda-sm90-drv550", "cuda-sm90-drv550-cpu-AVX9000",
                          "cuda-sm90-drv99999-cpu-AVX2", "cuda-sm90-drv550-cpu-AVX2/..", "cuda-sm0-drv550-cpu-AVX2",
                          "cuda-sm90-drv+550-cpu-AVX2", "cuda-9.0-drv550-cpu-AVX2", "cuda-sm90-cpu-AVX2"}) {
    EXPECT_FALSE(DeviceClass::parse(bad)) << bad;
  }
  // Keys may carry one too: new bytes for a new kind, old kinds unchanged (golden vectors).
  const CacheKey key("g", {{{4}, DType::kFloat16}}, *host, "s");
  auto back = CacheKey::deserialize(key.serialize());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, key);
  EXPECT_NE(key.digest(), key.with_device(*DeviceClass::cuda_host(9, 0, 560, CpuIsa::kAvx2)).digest());
  EXPECT_NE(key.debug_dump().find("device cuda-sm90-drv550-cpu-AVX2"), std::string::npos);
}

}  // namespace
}  // namespace mithril

namespace mithril {
namespace {

TEST(DiffKeys, NamesExactlyTheFieldsThatDiffer) {
  const CacheKey a("g", {{{8, -1}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx2), "torch-2.13.0");
  EXPECT_TRUE(diff_keys(a, a).empty());
  const CacheKey b("g", {{{8, 32}, DType::kFloat32}}, DeviceClass::cpu(CpuIsa::kAvx2), "torch-2.13.0");
  EXPECT_EQ(diff_keys(a, b), std::vector<std::string>{"input[0].shape: [8, ?] vs [8, 32]"});
  const CacheKey c("h", {{{8, -1}, DType::kBFloat16}, {{1}, DType::kInt64}}, DeviceClass::cpu(CpuIsa::kAvx512), "x");
  const auto d = diff_keys(a, c);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0], "graph_hash: \"g\" vs \"h\"");
  EXPECT_EQ(d[1], "inputs: 1 vs 2");
  EXPECT_EQ(d[2], "input[0].dtype: float32 vs bfloat16");
  EXPECT_EQ(d[3], "device: cpu-AVX2 vs cpu-AVX512");
  EXPECT_EQ(d[4], "salt: \"torch-2.13.0\" vs \"x\"");
}

}  // namespace
}  // namespace mithril
