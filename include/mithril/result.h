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

// Human-readable name of `code`, e.g. "corruption".
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
