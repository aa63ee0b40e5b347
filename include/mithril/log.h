// Structured logging: one JSON object per line, silent by default.
//
//   MITHRIL_LOG=debug|info|warn   the lowest level written (unset: nothing)
//   MITHRIL_LOG_FILE=PATH         append there instead of stderr
//
// Each line: {"ts":"<UTC ISO-8601 ms>","level":"info","pid":123,"event":"evict",<fields>}.
// Field values are strings or integers; credentials never reach the log
// (callers pass no secrets).
//
// Thread safety: log() may be called from any thread; lines never interleave.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <mithril/export.h>

namespace mithril {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kOff = 3 };

using LogValue = std::variant<std::string, std::int64_t>;
using LogField = std::pair<std::string_view, LogValue>;

// True when `level` would be written (cheap; read once from the environment).
MITHRIL_API bool log_enabled(LogLevel level);
MITHRIL_API void log_event(LogLevel level, std::string_view event,
                           std::initializer_list<LogField> fields = {});

}  // namespace mithril

// MITHRIL_LOG(level, event, {{"key", value}, ...}): like log_event(), but the
// field values are only computed when `level` is enabled, so a disabled log
// costs nothing on hot paths (hits must not hex-encode digests for nobody).
#define MITHRIL_LOG(level, event, ...)                                  \
  do {                                                                  \
    if (::mithril::log_enabled(level)) {                                \
      ::mithril::log_event(level, event, __VA_ARGS__);                  \
    }                                                                   \
  } while (0)
