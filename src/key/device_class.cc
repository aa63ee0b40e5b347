#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include <mithril/key.h>

namespace mithril {
namespace {

constexpr std::array<std::pair<DType, const char*>, 14> kDTypes{{
    {DType::kFloat32, "float32"}, {DType::kFloat64, "float64"}, {DType::kFloat16, "float16"},
    {DType::kBFloat16, "bfloat16"}, {DType::kInt8, "int8"}, {DType::kInt16, "int16"},
    {DType::kInt32, "int32"}, {DType::kInt64, "int64"}, {DType::kUInt8, "uint8"},
    {DType::kBool, "bool"}, {DType::kComplex64, "complex64"}, {DType::kComplex128, "complex128"},
    {DType::kFloat8E4M3, "float8_e4m3fn"}, {DType::kFloat8E5M2, "float8_e5m2"},
}};

constexpr std::array<std::pair<CpuIsa, const char*>, 10> kIsas{{
    {CpuIsa::kDefault, "DEFAULT"}, {CpuIsa::kAvx2, "AVX2"}, {CpuIsa::kAvx512, "AVX512"},
    {CpuIsa::kAvx512Vnni, "AVX512_VNNI"}, {CpuIsa::kAmx, "AMX"}, {CpuIsa::kNeon, "NEON"},
    {CpuIsa::kSve128, "SVE128"}, {CpuIsa::kSve256, "SVE256"}, {CpuIsa::kVsx, "VSX"},
    {CpuIsa::kZVector, "ZVECTOR"},
}};

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::optional<int> parse_int(std::string_view s, int max) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

std::optional<int> parse_small_int(std::string_view s) { return parse_int(s, 255); }

// "sm90" -> {9, 0}, "sm100" -> {10, 0}: the last digit is the minor version.
std::optional<std::pair<int, int>> parse_sm(std::string_view s) {
  if (!s.starts_with("sm") || s.size() < 4) return std::nullopt;
  auto major = parse_small_int(s.substr(2, s.size() - 3));
  auto minor = parse_small_int(s.substr(s.size() - 1));
  if (!major || !minor) return std::nullopt;
  return std::pair{*major, *minor};
}

// "sm90-drv550-cpu-AVX2" (after "cuda-").
std::optional<DeviceClass> parse_cuda_host(std::string_view rest) {
  const auto dash = rest.find("-drv");
  if (dash == std::string_view::npos) return std::nullopt;
  const auto sm = parse_sm(rest.substr(0, dash));
  rest.remove_prefix(dash + 4);
  const auto cpu = rest.find("-cpu-");
  if (!sm || cpu == std::string_view::npos) return std::nullopt;
  const auto driver = parse_int(rest.substr(0, cpu), DeviceClass::kMaxDriverMajor);
  const auto isa = cpu_isa_from_name(rest.substr(cpu + 5));
  if (!driver || !isa) return std::nullopt;
  auto made = DeviceClass::cuda_host(sm->first, sm->second, *driver, *isa);
  if (!made) return std::nullopt;
  return *made;
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& [v, n] : kDTypes) if (v == d) return n;
  return "unknown";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  for (const auto& [v, n] : kDTypes) if (name == n) return v;
  return std::nullopt;
}

const char* cpu_isa_name(CpuIsa isa) {
  for (const auto& [v, n] : kIsas) if (v == isa) return n;
  return "UNKNOWN";
}

std::optional<CpuIsa> cpu_isa_from_name(std::string_view name) {
  const std::string u = upper(name);
  for (const auto& [v, n] : kIsas) if (u == n) return v;
  if (u == "NO AVX" || u == "SCALAR") return CpuIsa::kDefault;
  return std::nullopt;
}

std::string DeviceClass::to_string() const {
  switch (m_kind) {
    case Kind::kCpu: return std::string("cpu-") + cpu_isa_name(m_isa);
    case Kind::kCudaAny: return "cuda";
    case Kind::kCudaCompute: return "cuda-sm" + std::to_string(m_major) + std::to_string(m_minor);
    case Kind::kCudaHost:
      return "cuda-sm" + std::to_string(m_major) + std::to_string(m_minor) + "-drv" + std::to_string(m_driver) +
             "-cpu-" + cpu_isa_name(m_isa);
  }
  return "unknown";
}

Result<DeviceClass> DeviceClass::cuda_host(int major, int minor, int driver_major, CpuIsa isa) {
  if (major < 1 || major > kMaxComputeMajor || minor < 0 || minor > kMaxComputeMinor || driver_major < 1 ||
      driver_major > kMaxDriverMajor) {
    return fail(ErrorCode::kInvalidArgument, "implausible CUDA device: compute capability " + std::to_string(major) +
                                                 "." + std::to_string(minor) + ", driver " +
                                                 std::to_string(driver_major));
  }
  return DeviceClass(Kind::kCudaHost, major, minor, isa, driver_major);
}

Result<DeviceClass> DeviceClass::parse(std::string_view text) {
  const auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "bad device class '" + std::string(text) +
                    "' (expected cpu-<ISA>, cuda, cuda-sm<MAJOR><MINOR>, cuda-<MAJOR>.<MINOR> or "
                    "cuda-sm<MAJOR><MINOR>-drv<DRIVER>-cpu-<ISA>)");
  };
  if (text == "cuda") return cuda_any();
  if (text.starts_with("cpu-")) {
    auto isa = cpu_isa_from_name(text.substr(4));
    if (!isa) return bad();
    return cpu(*isa);
  }
  if (text.starts_with("cuda-")) {
    std::string_view rest = text.substr(5);
    if (rest.find('-') != std::string_view::npos) {
      if (auto host = parse_cuda_host(rest)) return *host;
      return bad();
    }
    if (const auto dot = rest.find('.'); dot != std::string_view::npos) {
      const auto major = parse_small_int(rest.substr(0, dot));
      const auto minor = parse_small_int(rest.substr(dot + 1));
      if (!major || !minor) return bad();
      return cuda_compute(*major, *minor);
    }
    if (const auto sm = parse_sm(rest)) return cuda_compute(sm->first, sm->second);
  }
  return bad();
}

bool DeviceClass::can_serve(const DeviceClass& target) const {
  if (m_kind == Kind::kCudaAny) {
    return target.m_kind == Kind::kCudaAny || target.m_kind == Kind::kCudaCompute;
  }
  return *this == target;
}

}  // namespace mithril
