#include <mithril/format.h>

#include <cerrno>
#include <ctime>
#include <cstdarg>

namespace mithril::detail {

namespace {

// errno of the first failed write to stdout (0: none): one per process.
int& stdout_errno() {
  static int err = 0;
  return err;
}

__attribute__((format(printf, 1, 0))) std::string vformat(const char* f, std::va_list args) {
  std::va_list again;
  va_copy(again, args);
  char small[256];
  const int n = std::vsnprintf(small, sizeof small, f, args);
  std::string out;
  if (n < 0) {
    va_end(again);
    return out;
  }
  if (static_cast<std::size_t>(n) < sizeof small) {
    out.assign(small, static_cast<std::size_t>(n));
  } else {
    out.resize(static_cast<std::size_t>(n));
    // Writes n characters and the terminating NUL into the string's own buffer.
    if (std::vsnprintf(out.data(), out.size() + 1, f, again) != n) out.clear();
  }
  va_end(again);
  return out;
}

}  // namespace

std::string str_format(const char* f, ...) {
  std::va_list args;
  va_start(args, f);
  std::string out = vformat(f, args);
  va_end(args);
  return out;
}

void write_text(std::FILE* to, std::string_view text) {
  if (text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), to) != text.size() && to == stdout && stdout_errno() == 0) {
    stdout_errno() = errno != 0 ? errno : EIO;
  }
}

int finish_stdout() {
  if (std::fflush(stdout) != 0 && stdout_errno() == 0) stdout_errno() = errno != 0 ? errno : EIO;
  if (stdout_errno() == 0 && std::ferror(stdout) != 0) stdout_errno() = EIO;
  return stdout_errno();
}

void print_to(std::FILE* to, const char* f, ...) {
  std::va_list args;
  va_start(args, f);
  const std::string text = vformat(f, args);
  va_end(args);
  write_text(to, text);
}

std::string iso_time(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};  // a time_t past year 2^31
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {buf, n};
}

}  // namespace mithril::detail
