#include <cerrno>
#include <cstring>

#include <mithril/result.h>

namespace mithril {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kIoError: return "I/O error";
    case ErrorCode::kNoSpace: return "no space left";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Error::to_string() const {
  return std::string(error_code_name(code)) + ": " + message;
}

Error error_from_errno(int err, const std::string& what) {
  const ErrorCode code = (err == ENOSPC || err == EDQUOT) ? ErrorCode::kNoSpace : ErrorCode::kIoError;
  return Error{code, what + ": " + std::strerror(err), err};
}

}  // namespace mithril
