// Errors as values for the whole public API.
//
// Every fallible public function returns `Result<T>`: either a `T` or an
// `Error`. A cache *miss* is never an error: lookups return
// `Result<std::optional<T>>`, where `std::nullopt` is the miss. No C++
// exception escapes a public function of mithril.
//
// Thread safety: `Error` and `Result` are plain values.
#pragma once

#include <expected>
#include <string>
#include <utility>

#include <mithril/export.h>

namespace mithril {

// Stable error categories. Values are part of the Python binding's contract:
// append new codes, never renumber.
enum class ErrorCode : int {
  kInvalidArgument = 1,  // the caller passed something malformed
  kCorruption = 2,       // stored bytes do not match their digest or format
  kIoError = 3,          // the OS refused an operation (errno in `sys_errno`)
  kNoSpace = 4,          // ENOSPC / EDQUOT: the disk or quota is full
  kTimeout = 5,          // a bounded wait ran out
  kUnavailable = 6,      // a dependency (database, remote) cannot be reached
  kBusy = 7,             // another process holds a lock for too long
  kInternal = 8,         // a bug in mithril; please report it
};

// The one table of error codes: every ErrorCode has exactly one row, in
// code order (row i is code i + 1). The CLI takes its exit codes from it, the
// Python bindings return it (`_core._error_table()`) and the package maps
// each row to the exception class it names.
struct ErrorInfo {
  ErrorCode code;
  const char* name;          // human-readable, e.g. "corruption" (Error::to_string's prefix)
  const char* description;   // one line
  int exit_code;             // `mithril` exits with this when a command fails with `code`
  const char* python_class;  // the mithril_cache exception raised for `code`
};

inline constexpr ErrorInfo kErrorTable[] = {
    {ErrorCode::kInvalidArgument, "invalid argument", "the caller passed something malformed", 1,
     "InvalidArgumentError"},
    {ErrorCode::kCorruption, "corruption", "stored bytes do not match their digest or format", 1, "CorruptionError"},
    {ErrorCode::kIoError, "I/O error", "the OS refused an operation", 1, "CacheIOError"},
    {ErrorCode::kNoSpace, "no space left", "the disk or quota is full", 1, "NoSpaceError"},
    {ErrorCode::kTimeout, "timeout", "a bounded wait ran out", 1, "CacheTimeoutError"},
    {ErrorCode::kUnavailable, "unavailable", "a dependency (database, remote) cannot be reached", 1,
     "UnavailableError"},
    {ErrorCode::kBusy, "busy", "another process holds a lock for too long", 1, "BusyError"},
    {ErrorCode::kInternal, "internal error", "a bug in mithril; please report it", 1, "MithrilError"},
};

// The row of `code`; the kInternal row for a value outside the enumeration.
constexpr const ErrorInfo& error_info(ErrorCode code) {
  const int i = static_cast<int>(code) - 1;
  constexpr int kRows = static_cast<int>(sizeof(kErrorTable) / sizeof(kErrorTable[0]));
  return (i >= 0 && i < kRows) ? kErrorTable[i] : kErrorTable[kRows - 1];
}

// Human-readable name of `code`, e.g. "corruption" (error_info(code).name).
MITHRIL_API const char* error_code_name(ErrorCode code);

struct MITHRIL_API Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // one line, no trailing newline; names the object
  int sys_errno = 0;    // errno of the failing system call, or 0

  // "corruption: object ab12...: digest mismatch"
  std::string to_string() const;
};

template <typename T>
using Result = std::expected<T, Error>;

// Convenience constructors: `return fail(ErrorCode::kIoError, "...");`
inline std::unexpected<Error> fail(ErrorCode code, std::string message, int sys_errno = 0) {
  return std::unexpected<Error>(Error{code, std::move(message), sys_errno});
}

// An Error built from `errno` of a failed system call on `what`; ENOSPC and
// EDQUOT map to kNoSpace, everything else to kIoError.
MITHRIL_API Error error_from_errno(int err, const std::string& what);

}  // namespace mithril

// Propagate an error from an expression returning Result<...>.
#define MITHRIL_CONCAT_INNER(a, b) a##b
#define MITHRIL_CONCAT(a, b) MITHRIL_CONCAT_INNER(a, b)

// MITHRIL_TRY(expr): evaluate `expr`; on error return it from the caller.
#define MITHRIL_TRY(expr) MITHRIL_TRY_IMPL(MITHRIL_CONCAT(mithril_try_r_, __COUNTER__), expr)
#define MITHRIL_TRY_IMPL(tmp, expr)                     \
  do {                                                  \
    if (auto tmp = (expr); !tmp) {                      \
      return std::unexpected(std::move(tmp).error());   \
    }                                                   \
  } while (0)

// MITHRIL_ASSIGN(decl, expr): `decl = *expr` on success, else return the error.
#define MITHRIL_ASSIGN(decl, expr) \
  MITHRIL_ASSIGN_IMPL(MITHRIL_CONCAT(mithril_assign_r_, __COUNTER__), decl, expr)
#define MITHRIL_ASSIGN_IMPL(tmp, decl, expr)          \
  auto tmp = (expr);                                  \
  if (!tmp) {                                         \
    return std::unexpected(std::move(tmp).error());   \
  }                                                   \
  decl = std::move(*tmp)
