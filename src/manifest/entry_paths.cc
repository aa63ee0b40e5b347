// validate_entry_path and conflicting_path (<mithril/entry.h>): the path
// rules of every manifest (src/manifest/codec.h) and of Cache::put_entry.
#include <algorithm>
#include <set>
#include <string>

#include <mithril/entry.h>

namespace mithril {

Result<void> validate_entry_path(const std::string& name) {
  const auto bad = [&](const char* why) {
    return fail(ErrorCode::kInvalidArgument, "unsafe entry file name '" + name + "': " + why);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 4096) return bad("longer than 4096 bytes");
  if (name.front() == '/') return bad("absolute path");
  if (name.find('\0') != std::string::npos) return bad("NUL byte");
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('/', start), name.size());
    const std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("empty, '.' or '..' component");
    start = end + 1;
  }
  return {};
}

std::optional<std::string> conflicting_path(const std::set<std::string>& paths) {
  for (const auto& p : paths) {
    for (auto slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      if (paths.count(p.substr(0, slash)) > 0) return p.substr(0, slash);
    }
  }
  return std::nullopt;
}

}  // namespace mithril
