// GPU detection for the framework-cache partition (internal to src/hooks/).
//
// What kind of CUDA device the job will run on, found without initializing
// CUDA in this process: NVML through dlopen() first (the library torch and
// nvidia-smi use; it never creates a CUDA context), `nvidia-smi` on PATH as a
// fallback. Neither libcuda nor cuInit is ever touched, so `mithril run` and
// `mithril_cache.init()` leave CUDA untouched for the job.
//
// Everything read from outside (the library's answers, nvidia-smi's output)
// is treated as hostile: a missing symbol, an error code, garbage text, an
// implausible number, a hung or chatty nvidia-smi all give an error, which
// callers turn into "no GPU" (the CPU partition). Nothing here throws or
// aborts.
//
// OS calls: this module calls dlopen()/dlsym() and posix_spawn()/poll()/
// waitpid() directly rather than through `Env` (ARCHITECTURE.md): neither is
// a file operation `Env` models, and the fault tests have nothing to inject
// there that the fakes (tests/fake_nvml/, fake nvidia-smi scripts) do not
// cover.
//
// Thread safety: free functions; probe_nvml() may run NVML's init/shutdown
// concurrently with another thread's, which NVML allows (reference-counted).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/config.h>
#include <mithril/result.h>

namespace mithril {

inline constexpr std::size_t kMaxGpus = 64;  // more is treated as garbage

struct GpuDevice {
  std::string uuid;  // "GPU-8a2f...", as NVML / nvidia-smi print it
  int cc_major = 0;  // compute capability, e.g. 9.0
  int cc_minor = 0;
};

// The CUDA devices of the machine in NVML order (PCI bus order, the same as
// nvidia-smi's index and CUDA's with CUDA_DEVICE_ORDER=PCI_BUS_ID) and the
// driver branch (550 for driver "550.54.15"). An empty `devices` is a valid
// answer: the driver is there, no GPU is.
struct GpuInventory {
  std::vector<GpuDevice> devices;
  int driver_major = 0;
  std::string source;  // "nvml" or "nvidia-smi"
};

// dlopen()s `library` ("libnvidia-ml.so.1" or a path) and asks NVML:
// nvmlInit_v2, nvmlSystemGetDriverVersion, nvmlDeviceGetCount_v2, then per
// device nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetCudaComputeCapability,
// nvmlDeviceGetUUID; nvmlShutdown after a successful init. The library stays
// loaded (as torch and pynvml leave it): unloading a driver library whose
// threads may outlive nvmlShutdown is a known way to crash.
// kUnavailable: no library, a missing symbol, an NVML error code.
// kCorruption: an implausible answer (count > kMaxGpus, capability or driver
// outside DeviceClass's limits).
Result<GpuInventory> probe_nvml(const std::string& library);

// Runs `exe --query-gpu=index,uuid,compute_cap,driver_version
// --format=csv,noheader` with stdin and stderr on /dev/null, in its own
// process group. Reads at most `max_output` bytes; past `timeout` or
// `max_output` the whole group is killed (SIGKILL) and reaped: a hung
// nvidia-smi costs at most `timeout`. kTimeout, kUnavailable (spawn failed,
// non-zero exit, too much output) or parse_nvidia_smi_csv's error.
Result<GpuInventory> probe_nvidia_smi(const std::string& exe, std::chrono::milliseconds timeout,
                                      std::size_t max_output = std::size_t{64} * 1024);

// Parses probe_nvidia_smi's output: one "index, uuid, X.Y, driver" line per
// GPU, indexes 0, 1, ... in order, one driver for all. Any malformed line,
// "[N/A]"/"[Not Supported]" field or implausible number fails the whole text
// (kCorruption). Empty text is zero GPUs.
Result<GpuInventory> parse_nvidia_smi_csv(std::string_view text);

// "550.54.15" -> 550; "550" -> 550. Nullopt unless digits and dots with a
// leading number in 1..DeviceClass::kMaxDriverMajor.
std::optional<int> driver_major_of(std::string_view version);

// The index in `inventory.devices` of the device a CUDA job sees as its
// device 0, given CUDA_VISIBLE_DEVICES (`visible`, nullopt when unset):
//   unset                  -> 0 (nullopt when there are no devices)
//   "2,0"                  -> 2: the first entry; an index past the end -> nullopt
//   "GPU-8a2f" (a unique prefix of a UUID, case-insensitive) -> that device
//   "MIG-..."              -> 0 when all devices have one capability, else nullopt
//   "", "-1", anything else -> nullopt (CUDA sees no device)
// Indexes are taken in NVML (PCI bus) order. CUDA numbers devices fastest
// first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, which can differ on a machine
// with two GPU kinds; UUIDs are unambiguous (documented in docs/frameworks.md).
std::optional<std::size_t> select_visible_gpu(const GpuInventory& inventory, const std::optional<std::string>& visible);

// The first regular executable file `name` in the colon-separated `path`
// (empty entries, i.e. the current directory, are skipped), or "".
std::string find_in_path(const std::string& name, const std::optional<std::string>& path);

// NVML (MITHRIL_NVML_LIBRARY, default "libnvidia-ml.so.1"; set but empty
// skips NVML), else nvidia-smi found on the PATH of `getenv` with a 2 s bound.
// Failures are logged at debug level (event "gpu_probe").
Result<GpuInventory> probe_machine_gpus(const GetEnv& getenv);

}  // namespace mithril
