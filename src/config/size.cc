#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <mithril/config.h>
#include "util/format.h"

namespace mithril {

Result<std::uint64_t> parse_size(std::string_view text) {
  const auto bad = [&](const char* why) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid size '" + std::string(text) + "': " + why + " (examples: 500M, 20G, 1.5T)");
  };
  std::string s(text);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  if (s.empty()) return bad("empty");
  std::size_t digits = 0;
  bool dot = false;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || (s[digits] == '.' && !dot))) {
    dot |= s[digits] == '.';
    ++digits;
  }
  if (digits == 0 || s.substr(0, digits) == ".") return bad("no number");
  std::string unit = s.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("B")) unit.pop_back();
  if (unit.ends_with("I") && unit.size() == 2) unit.pop_back();
  int shift = 0;
  if (unit.empty()) shift = 0;
  else if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else if (unit == "P") shift = 50;
  else return bad("unknown unit");
  const long double value = std::strtold(s.substr(0, digits).c_str(), nullptr);
  const long double bytes = value * std::ldexp(1.0L, shift);
  // Sizes live in SQLite's signed 64-bit integers: 2^63 bytes (8 EiB) and up is too large.
  if (!std::isfinite(bytes) || bytes >= 9223372036854775807.0L) return bad("too large");
  if (shift == 0 && dot) return bad("fractional bytes");
  return static_cast<std::uint64_t>(std::llroundl(bytes));
}

std::string format_size(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  if (u == 0) return detail::str_format("%llu B", static_cast<unsigned long long>(bytes));
  return detail::str_format("%.1f %s", v, kUnits[u]);
}

}  // namespace mithril
