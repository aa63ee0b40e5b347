// Framework hooks: the directories PyTorch Inductor, Triton and other
// frameworks write their caches into, inside a mithril root.
//
// Layout: <root>/fw/<partition>/<framework>/..., where <partition> is the
// DeviceClass the artifacts are built for: "cpu-AVX2" on a machine whose job
// sees no CUDA device, "cuda-sm90-drv550-cpu-AVX2" on one whose job does
// (compute capability, NVIDIA driver branch, and the host ISA too, because
// Inductor keeps GPU and CPU kernels in one directory). Torch's own keys do
// not include the CPU vector ISA, and loading kernels built for another ISA
// or GPU architecture crashes or computes wrong results, so each gets its own
// directory (docs/frameworks.md, "GPU machines").
// `TORCHINDUCTOR_CACHE_DIR` points at .../inductor, `TRITON_CACHE_DIR` at
// .../triton.
//
// Thread safety: free functions. detect_partition() reads the CPU, the
// environment, and (GPU detection) NVML or nvidia-smi; it never initializes
// CUDA.
#pragma once

#include <string>
#include <vector>

#include <mithril/config.h>
#include <mithril/export.h>
#include <mithril/key.h>

namespace mithril {

// The CPU vector ISA as PyTorch's ATen picks it: ATEN_CPU_CAPABILITY
// ("default", "avx2", "avx512", ...) when set, else the best level this CPU
// and OS support (AVX512 needs F+BW+VL+DQ, AVX2 needs AVX2+FMA).
MITHRIL_API CpuIsa detect_cpu_isa(const GetEnv& getenv = process_getenv());
// The partition of this machine for framework caches, in this order:
//  1. MITHRIL_PARTITION, when it parses as a kCpu or kCudaHost DeviceClass
//     (anything else is ignored with a warning log);
//  2. the GPU the job will see, found without initializing CUDA (NVML via
//     dlopen of MITHRIL_NVML_LIBRARY or "libnvidia-ml.so.1", else
//     `nvidia-smi` on PATH, killed after 2 s): the first CUDA_VISIBLE_DEVICES
//     entry (an index, or a GPU-<uuid> prefix), device 0 when unset ->
//     DeviceClass::cuda_host(capability, driver branch, detect_cpu_isa());
//  3. otherwise (no driver, no visible device, any failure or implausible
//     answer, logged at debug level): DeviceClass::cpu(detect_cpu_isa()),
//     the same name as before GPU detection existed.
// Every variable is read through `getenv`. Never fails, never throws; costs
// one NVML init (or one nvidia-smi run) per call, so callers call it once.
MITHRIL_API DeviceClass detect_partition(const GetEnv& getenv = process_getenv());

// One framework cache directory managed inside a root.
struct MITHRIL_API FrameworkDir {
  std::string framework;  // "inductor", "triton"
  std::string env_var;    // "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"
  std::string path;       // absolute
};

// The managed framework directories for `partition` under `root`, one per
// adapter of the frameworks registry (src/frameworks/registry.cc, which
// also defines framework_entry_of; docs/frameworks.md).
MITHRIL_API std::vector<FrameworkDir> framework_dirs(const std::string& root, const DeviceClass& partition);

// Which entry a file belongs to, by the framework's on-disk layout.
// `rel` is the path relative to the framework directory. Returns the entry
// name (relative to the framework directory) and its kind, or an empty name
// for files mithril must leave alone (lock files, temp files).
struct MITHRIL_API EntryOfFile {
  std::string name;
  std::string kind;
};
MITHRIL_API EntryOfFile framework_entry_of(const std::string& framework, const std::string& rel);

// True when `data` is the start of a complete ELF file of `file_size` bytes:
// header present and section/program tables inside the file. A 0-byte or
// truncated shared object (a linker killed mid-write) fails. The default
// completeness check of the framework adapters (src/frameworks/).
MITHRIL_API bool elf_looks_complete(const std::string& head, std::uint64_t file_size);

}  // namespace mithril
