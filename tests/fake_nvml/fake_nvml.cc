// A fake NVML (libnvidia-ml.so.1) for tests: the entry points mithril's GPU
// detection calls (src/hooks/gpu_detect.cc), answering from the environment
// at call time so one loaded copy serves every test case:
//
//   FAKE_NVML_CC="9.0,8.0"     one compute capability per device, in order
//                              (default "9.0"; "" is no device; "x" is 0.0)
//   FAKE_NVML_DRIVER=550.54.15 what nvmlSystemGetDriverVersion reports
//   FAKE_NVML_COUNT=N          the device count, overriding FAKE_NVML_CC's
//   FAKE_NVML_INIT_FAIL=1      nvmlInit_v2 fails (NVML_ERROR_DRIVER_NOT_LOADED)
//   FAKE_NVML_LOG=PATH         appends "init", "shutdown" lines there
//
// Device i's UUID is "GPU-fa4e000i-0000-4000-8000-00000000000i".
// Never linked into the product.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

std::vector<std::string> capabilities() {
  std::vector<std::string> out;
  const std::string text = env_or("FAKE_NVML_CC", "9.0");
  std::size_t start = 0;
  while (!text.empty()) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void log_call(const char* what) {
  const char* path = std::getenv("FAKE_NVML_LOG");
  if (!path) return;
  if (FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\n", what);
    std::fclose(f);
  }
}

constexpr int kSuccess = 0;
constexpr int kInvalidArgument = 2;
constexpr int kDriverNotLoaded = 9;
constexpr int kInsufficientSize = 7;

}  // namespace

extern "C" {

int nvmlInit_v2() {
  log_call("init");
  return env_or("FAKE_NVML_INIT_FAIL", "") == "1" ? kDriverNotLoaded : kSuccess;
}

int nvmlShutdown() {
  log_call("shutdown");
  return kSuccess;
}

int nvmlSystemGetDriverVersion(char* version, unsigned length) {
  const std::string v = env_or("FAKE_NVML_DRIVER", "550.54.15");
  if (length < v.size() + 1) return kInsufficientSize;
  std::memcpy(version, v.c_str(), v.size() + 1);
  return kSuccess;
}

int nvmlDeviceGetCount_v2(unsigned* count) {
  const std::string forced = env_or("FAKE_NVML_COUNT", "");
  *count = forced.empty() ? static_cast<unsigned>(capabilities().size())
                          : static_cast<unsigned>(std::strtoul(forced.c_str(), nullptr, 10));
  return kSuccess;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned index, void** device) {
  if (index >= 1024) return kInvalidArgument;
  *device = reinterpret_cast<void*>(static_cast<std::uintptr_t>(index) + 1);
  return kSuccess;
}

int nvmlDeviceGetCudaComputeCapability(void* device, int* major, int* minor) {
  const auto index = reinterpret_cast<std::uintptr_t>(device) - 1;
  const auto caps = capabilities();
  const std::string cap = index < caps.size() ? caps[index] : "9.0";
  *major = std::atoi(cap.c_str());
  const auto dot = cap.find('.');
  *minor = dot == std::string::npos ? 0 : std::atoi(cap.c_str() + dot + 1);
  return kSuccess;
}

int nvmlDeviceGetUUID(void* device, char* uuid, unsigned length) {
  const auto index = static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(device) - 1);
  char text[64];
  std::snprintf(text, sizeof text, "GPU-fa4e%04u-0000-4000-8000-%012u", index, index);
  if (length < std::strlen(text) + 1) return kInsufficientSize;
  std::memcpy(uuid, text, std::strlen(text) + 1);
  return kSuccess;
}

}  // extern "C"
