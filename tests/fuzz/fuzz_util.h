// Helpers for the libFuzzer targets (tests/fuzz). A violated invariant
// aborts, which libFuzzer reports as a crash with the input saved.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A temporary directory for the whole fuzzing process, removed at exit.
inline const std::string& fuzz_temp_dir(const char* name) {
  static const std::string dir = [name] {
    std::string tmpl = std::string("/tmp/mithril-fuzz-") + name + "-XXXXXX";
    std::string d = ::mkdtemp(tmpl.data());
    static std::string to_remove;
    to_remove = d;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    return d;
  }();
  return dir;
}
