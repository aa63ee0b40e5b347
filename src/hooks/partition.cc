#include <mithril/hooks.h>
#include <mithril/log.h>

#include "hooks/gpu_detect.h"

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

namespace {

// MITHRIL_PARTITION when it names a partition (a CPU or a GPU machine).
std::optional<DeviceClass> forced_partition(const GetEnv& getenv) {
  const auto text = getenv("MITHRIL_PARTITION");
  if (!text || text->empty()) return std::nullopt;
  auto parsed = DeviceClass::parse(*text);
  if (parsed && (parsed->kind() == DeviceClass::Kind::kCpu || parsed->kind() == DeviceClass::Kind::kCudaHost)) {
    return *parsed;
  }
  MITHRIL_LOG(LogLevel::kWarn, "partition_override_ignored",
              {{"value", *text}, {"why", std::string("not cpu-<ISA> or cuda-sm<XY>-drv<N>-cpu-<ISA>")}});
  return std::nullopt;
}

}  // namespace

DeviceClass detect_partition(const GetEnv& getenv) {
  if (auto forced = forced_partition(getenv)) return *forced;
  const DeviceClass cpu = DeviceClass::cpu(detect_cpu_isa(getenv));
  const auto inventory = probe_machine_gpus(getenv);
  if (!inventory) return cpu;  // logged by probe_machine_gpus
  const auto visible = getenv("CUDA_VISIBLE_DEVICES");
  const auto index = select_visible_gpu(*inventory, visible);
  if (!index) {
    MITHRIL_LOG(LogLevel::kDebug, "gpu_none_visible",
                {{"gpus", static_cast<std::int64_t>(inventory->devices.size())},
                 {"cuda_visible_devices", visible.value_or("(unset)")}});
    return cpu;
  }
  const GpuDevice& gpu = inventory->devices[*index];
  auto host = DeviceClass::cuda_host(gpu.cc_major, gpu.cc_minor, inventory->driver_major, cpu.isa());
  if (!host) return cpu;  // the probes already refuse implausible numbers
  MITHRIL_LOG(LogLevel::kDebug, "gpu_partition",
              {{"via", inventory->source}, {"device", static_cast<std::int64_t>(*index)}, {"partition", host->to_string()}});
  return *host;
}

}  // namespace mithril
