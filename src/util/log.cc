#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include <mithril/log.h>
#include "util/format.h"

namespace mithril {
namespace {

struct LogSink {
  LogLevel level = LogLevel::kOff;
  int fd = STDERR_FILENO;
  std::mutex mu;

  LogSink() {
    const char* v = std::getenv("MITHRIL_LOG");
    const std::string s = v ? v : "";
    if (s == "debug") level = LogLevel::kDebug;
    else if (s == "info") level = LogLevel::kInfo;
    else if (s == "warn" || s == "warning") level = LogLevel::kWarn;
    if (const char* f = std::getenv("MITHRIL_LOG_FILE"); f != nullptr && *f != '\0' && level != LogLevel::kOff) {
      const int opened = ::open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (opened >= 0) fd = opened;
    }
  }
};

LogSink& sink() {
  static LogSink s;
  return s;
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};  // a time_t past year 2^31
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n) + detail::str_format(".%03dZ", static_cast<int>(ms % 1000));
}

}  // namespace

bool log_enabled(LogLevel level) { return level >= sink().level && sink().level != LogLevel::kOff; }

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!log_enabled(level)) return;
  nlohmann::ordered_json j;
  j["ts"] = timestamp();
  j["level"] = level_name(level);
  j["pid"] = static_cast<std::int64_t>(::getpid());
  j["event"] = std::string(event);
  for (const auto& [k, v] : fields) {
    if (const auto* s = std::get_if<std::string>(&v)) j[std::string(k)] = *s;
    else j[std::string(k)] = std::get<std::int64_t>(v);
  }
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(sink().mu);
  (void)!::write(sink().fd, line.data(), line.size());
}

}  // namespace mithril
