#include <mithril/hooks.h>

namespace mithril {

CpuIsa detect_cpu_isa(const GetEnv& getenv) {
  if (auto forced = getenv("ATEN_CPU_CAPABILITY"); forced && !forced->empty()) {
    if (auto isa = cpu_isa_from_name(*forced)) return *isa;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return CpuIsa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::kAvx2;
  return CpuIsa::kDefault;
#elif defined(__aarch64__)
  return CpuIsa::kNeon;
#else
  return CpuIsa::kDefault;
#endif
}

DeviceClass detect_partition(const GetEnv& getenv) { return DeviceClass::cpu(detect_cpu_isa(getenv)); }

std::vector<FrameworkDir> framework_dirs(const std::string& root, const DeviceClass& partition) {
  const std::string base = root + "/fw/" + partition.to_string();
  return {
      {"inductor", "TORCHINDUCTOR_CACHE_DIR", base + "/inductor"},
      {"triton", "TRITON_CACHE_DIR", base + "/triton"},
  };
}

}  // namespace mithril
