// Remote URL parsing: scheme://[user[:password]@]host[:port][/path][?k=v&...]
#include <charconv>

#include <mithril/remote.h>

#include "util/hex.h"

namespace mithril {
namespace {

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return fail(ErrorCode::kInvalidArgument, "bad %-escape in remote URL");
    const int hi = detail::hex_digit(s[i + 1]);
    const int lo = detail::hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return fail(ErrorCode::kInvalidArgument, "bad %-escape in remote URL");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<void> parse_query(std::string_view q, RemoteUrl* url) {
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    MITHRIL_ASSIGN(std::string k, percent_decode(item.substr(0, eq)));
    MITHRIL_ASSIGN(std::string v, percent_decode(eq == std::string_view::npos ? "" : item.substr(eq + 1)));
    url->query[k] = v;
  }
  return {};
}

}  // namespace

const char* remote_mode_name(RemoteMode mode) {
  switch (mode) {
    case RemoteMode::kReadWrite: return "rw";
    case RemoteMode::kReadOnly: return "ro";
    case RemoteMode::kWriteOnly: return "wo";
  }
  return "?";
}

Result<RemoteUrl> parse_remote_url(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, "bad remote URL: " + why);
  };
  RemoteUrl url;
  const auto colon = text.find("://");
  if (colon == std::string_view::npos) return bad("expected s3://, redis:// or file://");
  url.scheme = std::string(text.substr(0, colon));
  if (url.scheme != "s3" && url.scheme != "redis" && url.scheme != "file") {
    return bad("unknown scheme '" + url.scheme + "' (expected s3, redis or file)");
  }
  std::string_view rest = text.substr(colon + 3);
  const auto qpos = rest.find('?');
  if (qpos != std::string_view::npos) {
    MITHRIL_TRY(parse_query(rest.substr(qpos + 1), &url));
    rest = rest.substr(0, qpos);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  MITHRIL_ASSIGN(url.path, percent_decode(slash == std::string_view::npos ? "" : rest.substr(slash)));
  std::string redacted_auth;
  std::string_view after_auth = rest;  // host, port and path
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    after_auth = rest.substr(at + 1);
    const std::string_view userinfo = authority.substr(0, at);
    const auto c = userinfo.find(':');
    MITHRIL_ASSIGN(url.user, percent_decode(userinfo.substr(0, c)));
    if (c != std::string_view::npos) {
      MITHRIL_ASSIGN(url.password, percent_decode(userinfo.substr(c + 1)));
    }
    redacted_auth = std::string(userinfo.substr(0, c)) + (c != std::string_view::npos ? ":***@" : "@");
    authority = authority.substr(at + 1);
  }
  if (const auto c = authority.rfind(':'); c != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    const std::string_view port = authority.substr(c + 1);
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (ec != std::errc{} || p != port.data() + port.size() || url.port <= 0 || url.port > 65535) {
      return bad("bad port '" + std::string(port) + "'");
    }
    authority = authority.substr(0, c);
  }
  url.host = std::string(authority);
  if (url.scheme == "file") {
    if (!url.host.empty() && url.host != "localhost") return bad("file:// URLs name a local path: file:///dir");
    if (url.path.empty() || url.path == "/") return bad("file:// needs a directory: file:///dir");
  } else if (url.host.empty()) {
    return bad(url.scheme == "s3" ? "s3:// needs a bucket: s3://bucket/prefix" : "redis:// needs a host");
  }
  if (auto it = url.query.find("mode"); it != url.query.end()) {
    if (it->second == "rw") url.mode = RemoteMode::kReadWrite;
    else if (it->second == "ro") url.mode = RemoteMode::kReadOnly;
    else if (it->second == "wo") url.mode = RemoteMode::kWriteOnly;
    else return bad("mode must be rw, ro or wo, not '" + it->second + "'");
  }
  // Redacted form: the URL as given, minus the password.
  url.redacted = url.scheme + "://" + redacted_auth + std::string(after_auth);
  if (qpos != std::string_view::npos) url.redacted += std::string(text.substr(colon + 3 + qpos));
  return url;
}

}  // namespace mithril
