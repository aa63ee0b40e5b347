#include "hooks/gpu_detect.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include <mithril/key.h>
#include <mithril/log.h>

extern char** environ;

namespace mithril {
namespace {

// --- NVML: the few entry points we need, declared by hand (no nvml.h). ---

using NvmlReturn = int;  // nvmlReturn_t; NVML_SUCCESS == 0
using NvmlDevice = void*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned kNvmlDriverBuffer = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
constexpr unsigned kNvmlUuidBuffer = 96;    // NVML_DEVICE_UUID_V2_BUFFER_SIZE

struct NvmlApi {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*driver_version)(char*, unsigned) = nullptr;
  NvmlReturn (*count)(unsigned*) = nullptr;
  NvmlReturn (*handle)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*capability)(NvmlDevice, int*, int*) = nullptr;
  NvmlReturn (*uuid)(NvmlDevice, char*, unsigned) = nullptr;
};

template <typename Fn>
bool bind_symbol(void* lib, const char* name, Fn& out) {
  out = reinterpret_cast<Fn>(dlsym(lib, name));
  return out != nullptr;
}

Result<NvmlApi> load_nvml(const std::string& library) {
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return fail(ErrorCode::kUnavailable, "cannot load " + library + ": " + (why ? why : "?"));
  }
  NvmlApi api;
  const bool ok = bind_symbol(lib, "nvmlInit_v2", api.init) && bind_symbol(lib, "nvmlShutdown", api.shutdown) &&
                  bind_symbol(lib, "nvmlSystemGetDriverVersion", api.driver_version) &&
                  bind_symbol(lib, "nvmlDeviceGetCount_v2", api.count) &&
                  bind_symbol(lib, "nvmlDeviceGetHandleByIndex_v2", api.handle) &&
                  bind_symbol(lib, "nvmlDeviceGetCudaComputeCapability", api.capability) &&
                  bind_symbol(lib, "nvmlDeviceGetUUID", api.uuid);
  if (!ok) return fail(ErrorCode::kUnavailable, library + " lacks an NVML function");
  return api;  // the library stays loaded (see the header)
}

std::unexpected<Error> nvml_error(const char* call, NvmlReturn rc) {
  return fail(ErrorCode::kUnavailable, std::string(call) + " returned NVML error " + std::to_string(rc));
}

bool plausible_capability(int major, int minor) {
  return major >= 1 && major <= DeviceClass::kMaxComputeMajor && minor >= 0 && minor <= DeviceClass::kMaxComputeMinor;
}

// One device's capability and UUID.
Result<GpuDevice> nvml_device(const NvmlApi& api, unsigned index) {
  NvmlDevice dev = nullptr;
  if (const auto rc = api.handle(index, &dev); rc != kNvmlSuccess) return nvml_error("nvmlDeviceGetHandleByIndex_v2", rc);
  GpuDevice out;
  if (const auto rc = api.capability(dev, &out.cc_major, &out.cc_minor); rc != kNvmlSuccess) {
    return nvml_error("nvmlDeviceGetCudaComputeCapability", rc);
  }
  if (!plausible_capability(out.cc_major, out.cc_minor)) {
    return fail(ErrorCode::kCorruption, "NVML reports compute capability " + std::to_string(out.cc_major) + "." +
                                            std::to_string(out.cc_minor));
  }
  std::array<char, kNvmlUuidBuffer + 1> uuid{};
  if (api.uuid(dev, uuid.data(), kNvmlUuidBuffer) == kNvmlSuccess) out.uuid = uuid.data();  // optional
  return out;
}

// Everything between a successful nvmlInit_v2 and nvmlShutdown.
Result<GpuInventory> nvml_inventory(const NvmlApi& api) {
  GpuInventory inv;
  inv.source = "nvml";
  std::array<char, kNvmlDriverBuffer + 1> version{};
  if (const auto rc = api.driver_version(version.data(), kNvmlDriverBuffer); rc != kNvmlSuccess) {
    return nvml_error("nvmlSystemGetDriverVersion", rc);
  }
  const auto driver = driver_major_of(version.data());
  if (!driver) return fail(ErrorCode::kCorruption, "NVML reports an implausible driver version");
  inv.driver_major = *driver;
  unsigned count = 0;
  if (const auto rc = api.count(&count); rc != kNvmlSuccess) return nvml_error("nvmlDeviceGetCount_v2", rc);
  if (count > kMaxGpus) return fail(ErrorCode::kCorruption, "NVML reports " + std::to_string(count) + " GPUs");
  for (unsigned i = 0; i < count; ++i) {
    MITHRIL_ASSIGN(auto dev, nvml_device(api, i));
    inv.devices.push_back(std::move(dev));
  }
  return inv;
}

// --- nvidia-smi: a bounded child process. ---

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
};

Result<Child> spawn_with_stdout_pipe(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::unexpected(error_from_errno(errno, "pipe"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills its children too
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return fail(ErrorCode::kUnavailable, "cannot run " + argv[0] + ": " + std::strerror(rc), rc);
  }
  return Child{pid, fds[0]};
}

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

// Reads `fd` to EOF. kTimeout past `deadline`, kUnavailable past `max` bytes.
Result<std::string> read_bounded(int fd, Clock::time_point deadline, std::size_t max) {
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, ms_left(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return std::unexpected(error_from_errno(errno, "poll"));
    if (ready == 0) return fail(ErrorCode::kTimeout, "nvidia-smi did not finish in time");
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(error_from_errno(errno, "read"));
    if (n == 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > max) return fail(ErrorCode::kUnavailable, "nvidia-smi printed too much");
  }
}

// Waits for `pid` until `deadline`; past it (or when `kill_now`), SIGKILLs
// its process group and reaps it. The exit status, or -1 when killed.
int reap_bounded(pid_t pid, Clock::time_point deadline, bool kill_now) {
  int status = 0;
  while (!kill_now) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(trim(s.substr(0, at)));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// "9.0" -> {9, 0}.
std::optional<std::pair<int, int>> parse_capability(std::string_view s) {
  const auto parts = split(s, '.');
  if (parts.size() != 2) return std::nullopt;
  const auto major = parse_int(parts[0]);
  const auto minor = parse_int(parts[1]);
  if (!major || !minor || !plausible_capability(*major, *minor)) return std::nullopt;
  return std::pair{*major, *minor};
}

bool iequals_prefix(std::string_view prefix, std::string_view s) {
  if (prefix.size() > s.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(prefix[i])) != std::tolower(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<std::size_t> select_by_uuid(const GpuInventory& inv, std::string_view prefix) {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < inv.devices.size(); ++i) {
    if (!iequals_prefix(prefix, inv.devices[i].uuid)) continue;
    if (found) return std::nullopt;  // ambiguous: CUDA refuses it too
    found = i;
  }
  return found;
}

}  // namespace

Result<GpuInventory> probe_nvml(const std::string& library) {
  MITHRIL_ASSIGN(const NvmlApi api, load_nvml(library));
  if (const auto rc = api.init(); rc != kNvmlSuccess) return nvml_error("nvmlInit_v2", rc);
  auto inv = nvml_inventory(api);
  api.shutdown();
  return inv;
}

Result<GpuInventory> probe_nvidia_smi(const std::string& exe, std::chrono::milliseconds timeout,
                                      std::size_t max_output) {
  const auto deadline = Clock::now() + timeout;
  MITHRIL_ASSIGN(const Child child, spawn_with_stdout_pipe({exe, "--query-gpu=index,uuid,compute_cap,driver_version",
                                                            "--format=csv,noheader"}));
  auto text = read_bounded(child.out, deadline, max_output);
  close(child.out);
  const int status = reap_bounded(child.pid, deadline, !text.has_value());
  if (!text) return std::unexpected(text.error());
  if (status != 0) return fail(ErrorCode::kUnavailable, exe + " failed (exit status " + std::to_string(status) + ")");
  auto inv = parse_nvidia_smi_csv(*text);
  if (inv) inv->source = "nvidia-smi";
  return inv;
}

Result<GpuInventory> parse_nvidia_smi_csv(std::string_view text) {
  GpuInventory inv;
  inv.source = "nvidia-smi";
  const auto bad = [](const std::string& why) { return fail(ErrorCode::kCorruption, "nvidia-smi output: " + why); };
  for (const auto line : split(text, '\n')) {
    if (line.empty()) continue;
    const auto f = split(line, ',');
    if (f.size() != 4) return bad("expected 4 fields");
    if (parse_int(f[0]) != static_cast<int>(inv.devices.size())) return bad("indexes out of order");
    if (inv.devices.size() == kMaxGpus) return bad("too many GPUs");
    const auto cap = parse_capability(f[2]);
    const auto driver = driver_major_of(f[3]);
    if (!cap || !driver) return bad("implausible compute capability or driver version");
    if (inv.driver_major != 0 && inv.driver_major != *driver) return bad("two driver versions");
    inv.driver_major = *driver;
    inv.devices.push_back({std::string(f[1]), cap->first, cap->second});
  }
  return inv;
}

std::optional<int> driver_major_of(std::string_view version) {
  version = trim(version);
  if (version.empty() || version.find_first_not_of("0123456789.") != std::string_view::npos) return std::nullopt;
  const auto major = parse_int(version.substr(0, version.find('.')));
  if (!major || *major < 1 || *major > DeviceClass::kMaxDriverMajor) return std::nullopt;
  return major;
}

std::optional<std::size_t> select_visible_gpu(const GpuInventory& inventory,
                                              const std::optional<std::string>& visible) {
  if (inventory.devices.empty()) return std::nullopt;
  if (!visible) return 0;
  const std::string_view first = trim(std::string_view(*visible).substr(0, visible->find(',')));
  if (first.empty()) return std::nullopt;
  if (first.find_first_not_of("0123456789") == std::string_view::npos) {
    const auto index = parse_int(first);
    if (!index || static_cast<std::size_t>(*index) >= inventory.devices.size()) return std::nullopt;
    return static_cast<std::size_t>(*index);
  }
  if (iequals_prefix("GPU-", first)) return select_by_uuid(inventory, first);
  if (iequals_prefix("MIG-", first)) {
    const auto& d0 = inventory.devices.front();
    const bool uniform = std::all_of(inventory.devices.begin(), inventory.devices.end(), [&](const GpuDevice& d) {
      return d.cc_major == d0.cc_major && d.cc_minor == d0.cc_minor;
    });
    if (uniform) return 0;
  }
  return std::nullopt;
}

std::string find_in_path(const std::string& name, const std::optional<std::string>& path) {
  if (!path) return {};
  for (const auto dir : split(*path, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = std::string(dir) + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

Result<GpuInventory> probe_machine_gpus(const GetEnv& getenv) {
  const auto library = getenv("MITHRIL_NVML_LIBRARY");
  if (!library || !library->empty()) {
    auto inv = probe_nvml(library.value_or("libnvidia-ml.so.1"));
    if (inv) return inv;
    MITHRIL_LOG(LogLevel::kDebug, "gpu_probe", {{"via", std::string("nvml")}, {"error", inv.error().to_string()}});
  }
  const std::string smi = find_in_path("nvidia-smi", getenv("PATH"));
  if (smi.empty()) return fail(ErrorCode::kUnavailable, "no NVML library and no nvidia-smi on PATH");
  auto inv = probe_nvidia_smi(smi, std::chrono::milliseconds(2000));
  if (!inv) {
    MITHRIL_LOG(LogLevel::kDebug, "gpu_probe", {{"via", smi}, {"error", inv.error().to_string()}});
  }
  return inv;
}

}  // namespace mithril
