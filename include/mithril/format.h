// printf-style formatting into std::string and writing text to stdio
// streams: the helpers the library and the programs built on it (the
// `mithril` CLI) share. Public so those programs need no private header, but
// not part of the cache API proper: namespace `detail`, no stability promise
// beyond the library's minor version. Thread-safe (stdio locks its streams).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <mithril/export.h>

namespace mithril::detail {

// "2026-11-24T19:29:26Z" (UTC) from wall-clock ns since the epoch; empty
// past year 2^31.
MITHRIL_API std::string iso_time(std::int64_t ns);

// The text printf would print for `f` and its arguments, of any length.
// An encoding error (invalid wide character) gives the empty string.
MITHRIL_API __attribute__((format(printf, 1, 2))) std::string str_format(const char* f, ...);

// The pieces one after another, in one allocation: concat(dir, "/", name).
template <typename... Pieces>
std::string concat(const Pieces&... pieces) {
  const std::string_view views[] = {std::string_view(pieces)...};
  std::size_t n = 0;
  for (const auto v : views) n += v.size();
  std::string out;
  out.reserve(n);
  for (const auto v : views) out.append(v);
  return out;
}

// Writes `text` to `to`. A failed write (a closed stderr, a full disk under a
// redirected stdout) is ignored on purpose: the stream was the place to
// report problems, so nothing is left to report this one to. Callers whose
// output must not be lost (files they create) check their own writes.
MITHRIL_API void write_text(std::FILE* to, std::string_view text);
// Flushes stdout and returns the errno of the first write to it that failed
// (through write_text or the flush), or 0 when everything reached it. A
// command's output that did not arrive (a full disk, /dev/full) is an error.
MITHRIL_API int finish_stdout();

// write_text(to, str_format(f, ...)).
MITHRIL_API __attribute__((format(printf, 2, 3))) void print_to(std::FILE* to, const char* f, ...);

}  // namespace mithril::detail
