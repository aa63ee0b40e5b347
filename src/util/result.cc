#include <cerrno>
#include <cstring>

#include <mithril/result.h>

namespace mithril {

namespace {

// Every row sits at its code's place, so error_info is an index.
constexpr bool table_in_code_order() {
  int want = 1;
  for (const auto& row : kErrorTable) {
    if (static_cast<int>(row.code) != want++) return false;
  }
  return true;
}
static_assert(table_in_code_order(), "kErrorTable: one row per ErrorCode, in code order");
static_assert(error_info(ErrorCode::kInternal).code == ErrorCode::kInternal, "the last row is kInternal");

}  // namespace

const char* error_code_name(ErrorCode code) { return error_info(code).name; }

std::string Error::to_string() const {
  return std::string(error_code_name(code)) + ": " + message;
}

Error error_from_errno(int err, const std::string& what) {
  const ErrorCode code = (err == ENOSPC || err == EDQUOT) ? ErrorCode::kNoSpace : ErrorCode::kIoError;
  return Error{code, what + ": " + std::strerror(err), err};
}

}  // namespace mithril
