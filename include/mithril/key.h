// Cache keys: what identifies a compiled artifact.
//
// A `CacheKey` is a graph hash, the ordered input specs (shape, with -1 for a
// dynamic dimension, and dtype), the device class the artifact was built for,
// and a free-form namespace/version salt. `serialize()` produces the same
// bytes on every machine: little-endian integers, and a typed delimiter
// (tag byte + length) before every field, so that different splits of the
// same characters never collide ("ab"+"c" != "a"+"bc"). The format is
// versioned and guarded by golden vectors in tests/data/key_golden.txt:
// changing the bytes for an existing key is a breaking change.
//
// Thread safety: all types here are plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/digest.h>
#include <mithril/export.h>
#include <mithril/result.h>

namespace mithril {

// Tensor element types, numbered as stored in the key bytes (never renumber).
enum class DType : std::uint8_t {
  kFloat32 = 1, kFloat64 = 2, kFloat16 = 3, kBFloat16 = 4,
  kInt8 = 5, kInt16 = 6, kInt32 = 7, kInt64 = 8, kUInt8 = 9, kBool = 10,
  kComplex64 = 11, kComplex128 = 12, kFloat8E4M3 = 13, kFloat8E5M2 = 14,
};

// "float32", "bfloat16", ... (PyTorch's names without "torch.").
MITHRIL_API const char* dtype_name(DType d);
MITHRIL_API std::optional<DType> dtype_from_name(std::string_view name);

struct MITHRIL_API InputSpec {
  static constexpr std::int64_t kDynamic = -1;
  std::vector<std::int64_t> shape;  // each >= 0, or kDynamic
  DType dtype = DType::kFloat32;
  friend bool operator==(const InputSpec&, const InputSpec&) = default;
};

// CPU vector ISA level as PyTorch reports it
// (torch.backends.cpu.get_cpu_capability()). Artifacts built for one level are
// never served to another: torch crashes or computes wrong results when they are.
enum class CpuIsa : std::uint8_t {
  kDefault = 0,  // scalar: no vector ISA
  kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kAmx = 4,
  kNeon = 16, kSve128 = 17, kSve256 = 18,
  kVsx = 32, kZVector = 33,
};
MITHRIL_API const char* cpu_isa_name(CpuIsa isa);            // "AVX2", "AVX512", ...
MITHRIL_API std::optional<CpuIsa> cpu_isa_from_name(std::string_view name);  // case-insensitive

// Kinds:
//   kCpu          "cpu-AVX2": a CPU vector ISA level.
//   kCudaAny      "cuda": any CUDA device (PTX-like artifacts).
//   kCudaCompute  "cuda-sm90": one CUDA compute capability.
//   kCudaHost     "cuda-sm90-drv550-cpu-AVX2": a GPU machine as a whole, i.e.
//                 the framework-cache partition of a machine whose job sees a
//                 CUDA device: compute capability, NVIDIA driver branch (the
//                 major of "550.54.15") and the host's CPU ISA, because one
//                 Inductor cache directory holds both GPU and CPU kernels.
class MITHRIL_API DeviceClass {
 public:
  enum class Kind : std::uint8_t { kCpu = 1, kCudaAny = 2, kCudaCompute = 3, kCudaHost = 4 };

  // Limits of what the text and key forms can carry (the minor is one digit
  // in "sm90"); cuda_host() and parse() refuse anything outside them.
  static constexpr int kMaxComputeMajor = 99;
  static constexpr int kMaxComputeMinor = 9;
  static constexpr int kMaxDriverMajor = 9999;

  static DeviceClass cpu(CpuIsa isa) { return DeviceClass(Kind::kCpu, 0, 0, isa); }
  static DeviceClass cuda_any() { return DeviceClass(Kind::kCudaAny, 0, 0, CpuIsa::kDefault); }
  static DeviceClass cuda_compute(int major, int minor) {
    return DeviceClass(Kind::kCudaCompute, major, minor, CpuIsa::kDefault);
  }
  // kInvalidArgument when a number is outside the limits above (major >= 1,
  // minor >= 0, driver >= 1).
  static Result<DeviceClass> cuda_host(int major, int minor, int driver_major, CpuIsa isa);
  // Parses what to_string() prints: "cpu-AVX512", "cuda", "cuda-sm90" / "cuda-9.0",
  // "cuda-sm90-drv550-cpu-AVX2".
  static Result<DeviceClass> parse(std::string_view text);

  Kind kind() const { return m_kind; }
  int major() const { return m_major; }
  int minor() const { return m_minor; }
  CpuIsa isa() const { return m_isa; }
  int driver_major() const { return m_driver; }  // kCudaHost only, else 0
  std::string to_string() const;

  // True when an artifact built for `*this` may be loaded on `target`.
  // CudaAny serves CudaAny and every CudaCompute; CudaCompute{a,b} serves only
  // itself; a CPU class serves only the same ISA level; a CudaHost class
  // serves only itself (same capability, driver branch and ISA). Never the
  // reverse.
  bool can_serve(const DeviceClass& target) const;

  friend bool operator==(const DeviceClass&, const DeviceClass&) = default;

 private:
  DeviceClass(Kind k, int major, int minor, CpuIsa isa, int driver = 0)
      : m_kind(k), m_major(major), m_minor(minor), m_isa(isa), m_driver(driver) {}
  Kind m_kind;
  int m_major;
  int m_minor;
  CpuIsa m_isa;
  int m_driver;
};

class MITHRIL_API CacheKey {
 public:
  static constexpr std::uint8_t kFormatVersion = 1;

  CacheKey(std::string graph_hash, std::vector<InputSpec> inputs, DeviceClass device,
           std::string salt = {})
      : m_graph_hash(std::move(graph_hash)), m_inputs(std::move(inputs)),
        m_device(device), m_salt(std::move(salt)) {}

  // Checks field invariants (dims >= -1, ranks <= 64, sizes fit u32).
  Result<void> validate() const;

  // The canonical bytes (see the file comment). Deterministic across machines.
  std::string serialize() const;
  static Result<CacheKey> deserialize(std::string_view bytes);
  // BLAKE3 of serialize(): the key's name in the index.
  Digest digest() const;
  // A human-readable line-per-field dump of exactly the bytes serialize()
  // hashes, with offsets, for diffing why two keys differ.
  std::string debug_dump() const;

  // The same key with another device class (used to look up CudaAny
  // artifacts for a CudaCompute target).
  CacheKey with_device(DeviceClass device) const;

  const std::string& graph_hash() const { return m_graph_hash; }
  const std::vector<InputSpec>& inputs() const { return m_inputs; }
  const DeviceClass& device() const { return m_device; }
  const std::string& salt() const { return m_salt; }

  friend bool operator==(const CacheKey&, const CacheKey&) = default;

 private:
  std::string m_graph_hash;
  std::vector<InputSpec> m_inputs;
  DeviceClass m_device;
  std::string m_salt;
};

// Field-by-field differences between two keys, one human-readable line per
// differing field ("input[0].shape: [8, ?] vs [8, 32]"); empty when equal.
// Used by `mithril explain` to say why a lookup missed.
MITHRIL_API std::vector<std::string> diff_keys(const CacheKey& wanted, const CacheKey& cached);

}  // namespace mithril
