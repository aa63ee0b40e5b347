// GPU detection for the framework partition (src/hooks/gpu_detect.h) with a
// fake NVML (tests/fake_nvml/) and fake nvidia-smi scripts: there is no GPU
// on the test machines, and none is needed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <map>

#include <mithril/hooks.h>

#include "hooks/gpu_detect.h"
#include "temp_dir.h"

namespace mithril {
namespace {

using testing::TempDir;
using Vars = std::map<std::string, std::string>;

// An injected environment: only `vars` exist (no PATH, no real NVML unless named).
GetEnv env_of(Vars vars) {
  return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The fake library reads the real process environment at call time.
class ScopedFakeNvml {
 public:
  explicit ScopedFakeNvml(Vars vars) : m_vars(std::move(vars)) {
    for (const auto& [k, v] : m_vars) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedFakeNvml() {
    for (const auto& [k, v] : m_vars) ::unsetenv(k.c_str());
  }
  ScopedFakeNvml(const ScopedFakeNvml&) = delete;
  ScopedFakeNvml& operator=(const ScopedFakeNvml&) = delete;

 private:
  Vars m_vars;
};

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir / name;
  testing::write_text(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path;
}

const std::string kTwoKinds =
    "0, GPU-aaaa1111-0000-4000-8000-000000000000, 8.0, 550.54.15\n"
    "1, GPU-bbbb2222-0000-4000-8000-000000000000, 9.0, 550.54.15\n";

GpuInventory two_kinds() { return *parse_nvidia_smi_csv(kTwoKinds); }

TEST(GpuDetect, DriverMajorOfVersionText) {
  EXPECT_EQ(driver_major_of("550.54.15"), 550);
  EXPECT_EQ(driver_major_of(" 535.104.05\n"), 535);
  EXPECT_EQ(driver_major_of("560"), 560);
  EXPECT_FALSE(driver_major_of(""));
  EXPECT_FALSE(driver_major_of("[N/A]"));
  EXPECT_FALSE(driver_major_of("0.1"));
  EXPECT_FALSE(driver_major_of("99999999999999.1"));
  EXPECT_FALSE(driver_major_of("550.54.15; rm -rf /"));
}

TEST(GpuDetect, ParsesNvidiaSmiCsv) {
  const auto inv = parse_nvidia_smi_csv(kTwoKinds);
  ASSERT_TRUE(inv) << inv.error().to_string();
  ASSERT_EQ(inv->devices.size(), 2u);
  EXPECT_EQ(inv->driver_major, 550);
  EXPECT_EQ(inv->devices[0].cc_major, 8);
  EXPECT_EQ(inv->devices[1].cc_major, 9);
  EXPECT_EQ(inv->devices[1].uuid, "GPU-bbbb2222-0000-4000-8000-000000000000");
  EXPECT_TRUE(parse_nvidia_smi_csv("")->devices.empty());
  EXPECT_TRUE(parse_nvidia_smi_csv("0, GPU-a, 12.0, 570.1\r\n"));
}

TEST(GpuDetect, RefusesGarbageNvidiaSmiOutput) {
  for (const char* text : {
           "garbage\n",
           "0, GPU-a, [N/A], 550.54.15\n",
           "0, GPU-a, 9.0, [Not Supported]\n",
           "0, GPU-a, 9.0\n",
           "0, GPU-a, 9.0, 550.1, extra\n",
           "1, GPU-a, 9.0, 550.1\n",                          // index out of order
           "0, GPU-a, 9.0, 550.1\n1, GPU-b, 9.0, 560.1\n",    // two drivers
           "0, GPU-a, 0.0, 550.1\n",                          // no such capability
           "0, GPU-a, 9.12, 550.1\n",                         // minor has one digit
           "0, GPU-a, 1000.0, 550.1\n",
           "0, GPU-a, -9.0, 550.1\n",
           "0, GPU-a, 9.0.1, 550.1\n",
           "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
       }) {
    EXPECT_FALSE(parse_nvidia_smi_csv(text)) << text;
  }
  std::string many;
  for (int i = 0; i <= static_cast<int>(kMaxGpus); ++i) many += std::to_string(i) + ", GPU-x, 9.0, 550.1\n";
  EXPECT_FALSE(parse_nvidia_smi_csv(many));
}

TEST(GpuDetect, SelectsTheDeviceTheJobSees) {
  const auto inv = two_kinds();
  EXPECT_EQ(select_visible_gpu(inv, std::nullopt), 0u);
  EXPECT_EQ(select_visible_gpu(inv, "0"), 0u);
  EXPECT_EQ(select_visible_gpu(inv, "1"), 1u);
  EXPECT_EQ(select_visible_gpu(inv, " 1 , 0"), 1u);
  EXPECT_EQ(select_visible_gpu(inv, "GPU-bbbb2222"), 1u);         // a unique UUID prefix
  EXPECT_EQ(select_visible_gpu(inv, "gpu-AAAA1111-0000,1"), 0u);  // case-insensitive
  EXPECT_EQ(select_visible_gpu(inv, "GPU-"), std::nullopt);       // ambiguous
  EXPECT_EQ(select_visible_gpu(inv, "GPU-cccc"), std::nullopt);   // no such GPU
  EXPECT_EQ(select_visible_gpu(inv, ""), std::nullopt);
  EXPECT_EQ(select_visible_gpu(inv, "-1"), std::nullopt);
  EXPECT_EQ(select_visible_gpu(inv, "2"), std::nullopt);
  EXPECT_EQ(select_visible_gpu(inv, "99999999999999999999"), std::nullopt);
  EXPECT_EQ(select_visible_gpu(inv, "MIG-1234"), std::nullopt);   // two kinds: unknown
  EXPECT_EQ(select_visible_gpu(*parse_nvidia_smi_csv("0, GPU-a, 9.0, 550.1\n1, GPU-b, 9.0, 550.1\n"), "MIG-1"), 0u);
  EXPECT_EQ(select_visible_gpu(GpuInventory{}, std::nullopt), std::nullopt);
}

TEST(GpuDetect, FakeNvmlReportsDevices) {
  TempDir dir;
  ScopedFakeNvml fake(Vars{{"FAKE_NVML_CC", "8.0,9.0"}, {"FAKE_NVML_DRIVER", "550.54.15"}, {"FAKE_NVML_LOG", dir / "log"}});
  const auto inv = probe_nvml(MITHRIL_FAKE_NVML);
  ASSERT_TRUE(inv) << inv.error().to_string();
  EXPECT_EQ(inv->source, "nvml");
  EXPECT_EQ(inv->driver_major, 550);
  ASSERT_EQ(inv->devices.size(), 2u);
  EXPECT_EQ(inv->devices[0].cc_major, 8);
  EXPECT_EQ(inv->devices[1].cc_major, 9);
  EXPECT_EQ(inv->devices[1].uuid, "GPU-fa4e0001-0000-4000-8000-000000000001");
  EXPECT_EQ(testing::read_text(dir / "log"), "init\nshutdown\n");
}

TEST(GpuDetect, HostileNvmlAnswersAreErrors) {
  // The error code, or nullopt when the probe succeeded.
  const auto code = [](const Result<GpuInventory>& r) { return r ? std::nullopt : std::optional(r.error().code); };
  const auto probe_with = [&](Vars vars) {
    ScopedFakeNvml fake(std::move(vars));
    return code(probe_nvml(MITHRIL_FAKE_NVML));
  };
  EXPECT_EQ(probe_with({{"FAKE_NVML_INIT_FAIL", "1"}}), ErrorCode::kUnavailable);
  EXPECT_EQ(probe_with({{"FAKE_NVML_COUNT", "4000000000"}}), ErrorCode::kCorruption);
  EXPECT_EQ(probe_with({{"FAKE_NVML_CC", "99999.0"}}), ErrorCode::kCorruption);
  EXPECT_EQ(probe_with({{"FAKE_NVML_CC", "9.-1"}}), ErrorCode::kCorruption);
  EXPECT_EQ(probe_with({{"FAKE_NVML_CC", "9.0,garbage"}}), ErrorCode::kCorruption);
  EXPECT_EQ(probe_with({{"FAKE_NVML_DRIVER", "banana"}}), ErrorCode::kCorruption);
  EXPECT_EQ(probe_with({{"FAKE_NVML_DRIVER", std::string(200, '5')}}), ErrorCode::kUnavailable);
  {
    ScopedFakeNvml fake(Vars{{"FAKE_NVML_CC", ""}});
    const auto none = probe_nvml(MITHRIL_FAKE_NVML);  // a driver, no GPU
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->devices.empty());
  }
  // Not NVML at all (missing symbols), or no library.
  EXPECT_EQ(code(probe_nvml("libc.so.6")), ErrorCode::kUnavailable);
  EXPECT_EQ(code(probe_nvml("/nonexistent/libnvidia-ml.so.1")), ErrorCode::kUnavailable);
}

TEST(GpuDetect, NvidiaSmiFallbackIsBounded) {
  TempDir dir;
  const auto good = script(dir, "good", "printf '%s' '" + kTwoKinds + "'\n");
  const auto inv = probe_nvidia_smi(good, std::chrono::milliseconds(2000));
  ASSERT_TRUE(inv) << inv.error().to_string();
  EXPECT_EQ(inv->source, "nvidia-smi");
  EXPECT_EQ(inv->devices.size(), 2u);

  EXPECT_FALSE(probe_nvidia_smi(script(dir, "garbage", "echo 'NVIDIA-SMI has failed'\n"), std::chrono::seconds(2)));
  EXPECT_FALSE(probe_nvidia_smi(script(dir, "fails", "printf '%s' '" + kTwoKinds + "'\nexit 9\n"),
                                std::chrono::seconds(2)));
  EXPECT_FALSE(probe_nvidia_smi(script(dir, "chatty", "yes\n"), std::chrono::seconds(2), 4096));
  EXPECT_FALSE(probe_nvidia_smi(dir / "missing", std::chrono::seconds(2)));

  // Hung, with its output still open, and hung after closing it: killed at the bound.
  for (const char* body : {"sleep 30\n", "exec >&-\nsleep 30\n"}) {
    const auto start = std::chrono::steady_clock::now();
    const auto hung = probe_nvidia_smi(script(dir, "hung", body), std::chrono::milliseconds(300));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(hung) << body;
    EXPECT_LT(took, std::chrono::milliseconds(1500)) << body;
  }
}

TEST(GpuDetect, FindsExecutablesOnPath) {
  TempDir dir;
  const auto exe = script(dir, "nvidia-smi", "exit 0\n");
  testing::write_text(dir / "plain", "");
  EXPECT_EQ(find_in_path("nvidia-smi", "/nonexistent::" + dir.path()), exe);
  EXPECT_EQ(find_in_path("plain", dir.path()), "");  // not executable
  EXPECT_EQ(find_in_path("nvidia-smi", std::nullopt), "");
  EXPECT_EQ(find_in_path("nvidia-smi", ""), "");
}

TEST(GpuPartition, NamesTheGpuTheJobSelects) {
  ScopedFakeNvml fake(Vars{{"FAKE_NVML_CC", "8.0,9.0"}, {"FAKE_NVML_DRIVER", "550.54.15"}});
  Vars vars{{"ATEN_CPU_CAPABILITY", "avx2"}, {"MITHRIL_NVML_LIBRARY", MITHRIL_FAKE_NVML}};
  const auto with = [&](std::optional<std::string> visible) {
    Vars v = vars;
    if (visible) v["CUDA_VISIBLE_DEVICES"] = *visible;
    return detect_partition(env_of(v)).to_string();
  };
  EXPECT_EQ(with(std::nullopt), "cuda-sm80-drv550-cpu-AVX2");
  EXPECT_EQ(with("1"), "cuda-sm90-drv550-cpu-AVX2");
  EXPECT_EQ(with("1,0"), "cuda-sm90-drv550-cpu-AVX2");
  EXPECT_EQ(with("GPU-fa4e0001"), "cuda-sm90-drv550-cpu-AVX2");
  EXPECT_EQ(with(""), "cpu-AVX2");
  EXPECT_EQ(with("-1"), "cpu-AVX2");
  EXPECT_EQ(with("7"), "cpu-AVX2");
  const auto parsed = DeviceClass::parse(with("1"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, *DeviceClass::cuda_host(9, 0, 550, CpuIsa::kAvx2));
  EXPECT_EQ(framework_dirs("/r", *parsed)[1].path, "/r/fw/cuda-sm90-drv550-cpu-AVX2/triton");
}

TEST(GpuPartition, NoGpuOrAnyFailureIsTheCpuPartition) {
  const Vars base{{"ATEN_CPU_CAPABILITY", "avx512"}, {"MITHRIL_NVML_LIBRARY", MITHRIL_FAKE_NVML}};
  {
    ScopedFakeNvml fake(Vars{{"FAKE_NVML_CC", ""}});
    EXPECT_EQ(detect_partition(env_of(base)).to_string(), "cpu-AVX512");
  }
  {
    ScopedFakeNvml fake(Vars{{"FAKE_NVML_INIT_FAIL", "1"}});
    EXPECT_EQ(detect_partition(env_of(base)).to_string(), "cpu-AVX512");
  }
  {
    ScopedFakeNvml fake(Vars{{"FAKE_NVML_CC", "12345.6"}});
    EXPECT_EQ(detect_partition(env_of(base)).to_string(), "cpu-AVX512");
  }
  EXPECT_EQ(detect_partition(env_of({{"ATEN_CPU_CAPABILITY", "avx2"}, {"MITHRIL_NVML_LIBRARY", "libc.so.6"}}))
                .to_string(),
            "cpu-AVX2");
}

TEST(GpuPartition, NvidiaSmiFallbackNamesTheSamePartition) {
  TempDir dir;
  script(dir, "nvidia-smi", "printf '%s' '" + kTwoKinds + "'\n");
  const Vars vars{{"ATEN_CPU_CAPABILITY", "avx2"}, {"MITHRIL_NVML_LIBRARY", ""}, {"PATH", dir.path()},
                  {"CUDA_VISIBLE_DEVICES", "1"}};
  EXPECT_EQ(detect_partition(env_of(vars)).to_string(), "cuda-sm90-drv550-cpu-AVX2");
  {
    ScopedFakeNvml fake(Vars{{"FAKE_NVML_CC", "8.0,9.0"}, {"FAKE_NVML_DRIVER", "550.54.15"}});
    Vars nvml = vars;
    nvml["MITHRIL_NVML_LIBRARY"] = MITHRIL_FAKE_NVML;
    nvml["PATH"] = "/nonexistent";
    EXPECT_EQ(detect_partition(env_of(nvml)).to_string(), "cuda-sm90-drv550-cpu-AVX2");
  }
  // A broken NVML falls back to nvidia-smi; a hung nvidia-smi costs 2 s at most.
  Vars broken = vars;
  broken["MITHRIL_NVML_LIBRARY"] = "libc.so.6";
  EXPECT_EQ(detect_partition(env_of(broken)).to_string(), "cuda-sm90-drv550-cpu-AVX2");
  script(dir, "nvidia-smi", "sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(detect_partition(env_of(vars)).to_string(), "cpu-AVX2");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3500));
}

TEST(GpuPartition, OverrideWinsWhenItNamesAPartition) {
  Vars vars{{"ATEN_CPU_CAPABILITY", "avx2"}, {"MITHRIL_NVML_LIBRARY", ""}};
  vars["MITHRIL_PARTITION"] = "cuda-sm90-drv550-cpu-AVX512";
  EXPECT_EQ(detect_partition(env_of(vars)).to_string(), "cuda-sm90-drv550-cpu-AVX512");
  vars["MITHRIL_PARTITION"] = "cpu-default";
  EXPECT_EQ(detect_partition(env_of(vars)).to_string(), "cpu-DEFAULT");
  for (const char* ignored : {"cuda", "cuda-sm90", "../../etc", "cuda-sm90-drv550-cpu-AVX2/x"}) {
    vars["MITHRIL_PARTITION"] = ignored;
    EXPECT_EQ(detect_partition(env_of(vars)).to_string(), "cpu-AVX2") << ignored;
  }
}

}  // namespace
}  // namespace mithril
