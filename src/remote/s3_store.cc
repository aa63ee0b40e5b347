// S3-compatible object storage over libcurl with SigV4 (docs/remote.md).
// One curl easy handle per store: requests reuse its connection.
//
// Bounds: a response body is kept only up to the caller's limit (a
// Content-Length above it aborts the transfer before any byte of the body,
// and nothing is reserved from a declared length beyond the limit); a
// transfer with no progress for remote_timeout_ms fails (curl's low-speed
// limit), a healthy slow one is never cut by a flat time cap; the only total
// cap is what the deadline leaves. Listings stop after kMaxListCalls pages,
// kMaxListedKeys keys, or a continuation token seen twice.
#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <set>

#include "remote/crypto.h"
#include "remote/xml.h"
#include "remote/stores.h"
#include "util/format.h"

namespace mithril::remote {
namespace {

constexpr std::size_t kMultipartThreshold = 16ull << 20;
constexpr std::size_t kPartSize = 16ull << 20;
constexpr std::uint64_t kMaxSmallBody = 1ull << 20;  // errors, multipart replies
constexpr std::uint64_t kMaxListBody = 16ull << 20;  // one ListObjectsV2 page
constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Response {
  long status = 0;
  std::string body;
  std::string etag;
  std::uint64_t max_body = kMaxSmallBody;
  bool too_large = false;  // the server sent or declared more than max_body
  bool head = false;       // HEAD: Content-Length is the object's, no body follows
  // Streaming GET: a 2xx body goes to the sink, not into `body`.
  const RemoteStore::ByteSink* sink = nullptr;
  CURL* curl = nullptr;
  std::uint64_t streamed = 0;
  std::optional<Error> sink_error;
};

bool streaming(const Response& r) {
  if (r.sink == nullptr) return false;
  long status = 0;
  curl_easy_getinfo(r.curl, CURLINFO_RESPONSE_CODE, &status);
  return status >= 200 && status < 300;
}

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t on_write(char* ptr, std::size_t size, std::size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  if (streaming(*resp)) {
    resp->streamed += size * n;
    if (resp->streamed > resp->max_body) {
      resp->too_large = true;
      return 0;
    }
    if (auto ok = (*resp->sink)(std::string_view(ptr, size * n)); !ok) {
      resp->sink_error = ok.error();
      return 0;
    }
    return size * n;
  }
  if (resp->body.size() + size * n > std::min(resp->max_body, resp->sink ? kMaxSmallBody : resp->max_body)) {
    resp->too_large = true;
    return 0;  // aborts the transfer
  }
  resp->body.append(ptr, size * n);
  return size * n;
}

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t k = std::min(size * n, up->data.size() - up->pos);
  std::memcpy(buf, up->data.data() + up->pos, k);
  up->pos += k;
  return k;
}

// Keeps the ETag (multipart parts) and reserves the body from a
// Content-Length within the limit; a larger one aborts the transfer.
std::size_t on_header(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  std::string_view line(buf, size * n);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  if (name == "etag") resp->etag = std::string(value);
  if (name == "content-length" && !resp->head) {
    std::uint64_t len = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), len);
    if (ec == std::errc{} && len > resp->max_body) {
      resp->too_large = true;
      return 0;
    }
    if (ec == std::errc{} && resp->sink == nullptr) resp->body.reserve(static_cast<std::size_t>(len));
  }
  return size * n;
}

std::string amz_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};  // a time_t past year 2^31
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return {buf, n};
}

class S3Store final : public RemoteStore {
 public:
  S3Store(RemoteUrl url, RemoteOptions options, AwsCredentials creds, std::string region)
      : RemoteStore(std::move(url)), m_options(options), m_creds(std::move(creds)), m_region(std::move(region)) {
    const RemoteUrl& u = this->url();
    m_prefix = u.path;
    while (!m_prefix.empty() && m_prefix.front() == '/') m_prefix.erase(m_prefix.begin());
    while (!m_prefix.empty() && m_prefix.back() == '/') m_prefix.pop_back();
    if (!m_prefix.empty()) m_prefix += '/';
    const auto ep = u.query.find("endpoint");
    std::string endpoint = ep != u.query.end() ? ep->second : "https://s3." + m_region + ".amazonaws.com";
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    const auto addressing = u.query.find("addressing");
    m_path_style = addressing != u.query.end() ? addressing->second == "path" : ep != u.query.end();
    const auto scheme_end = endpoint.find("://");
    m_scheme = scheme_end == std::string::npos ? "https" : endpoint.substr(0, scheme_end);
    m_host = scheme_end == std::string::npos ? endpoint : endpoint.substr(scheme_end + 3);
    if (!m_path_style) m_host = u.host + "." + m_host;
    global_init();
    m_curl = curl_easy_init();
  }
  ~S3Store() override {
    if (m_curl != nullptr) curl_easy_cleanup(m_curl);
  }

  Result<std::optional<std::string>> get(const std::string& key, std::uint64_t max_bytes) override {
    MITHRIL_ASSIGN(auto r, request("GET", object_path(key), {}, {}, "GET " + key, max_bytes));
    if (r.status == 404) return std::optional<std::string>{};
    MITHRIL_TRY(expect_ok(r, "GET " + key));
    return std::optional<std::string>(std::move(r.body));
  }

  Result<bool> get_to(const std::string& key, std::uint64_t max_bytes, const ByteSink& sink) override {
    MITHRIL_ASSIGN(auto r, request("GET", object_path(key), {}, {}, "GET " + key, max_bytes, &sink));
    if (r.status == 404) return false;
    MITHRIL_TRY(expect_ok(r, "GET " + key));
    return true;
  }

  Result<void> put(const std::string& key, std::string_view data) override {
    if (data.size() > kMultipartThreshold) return put_multipart(key, data);
    MITHRIL_ASSIGN(const auto r, request("PUT", object_path(key), {}, data, "PUT " + key));
    return expect_ok(r, "PUT " + key);
  }

  Result<bool> exists(const std::string& key) override {
    MITHRIL_ASSIGN(const auto r, request("HEAD", object_path(key), {}, {}, "HEAD " + key));
    if (r.status == 404) return false;
    MITHRIL_TRY(expect_ok(r, "HEAD " + key));
    return true;
  }

  Result<bool> remove(const std::string& key) override {
    MITHRIL_ASSIGN(const bool had, exists(key));
    MITHRIL_ASSIGN(const auto r, request("DELETE", object_path(key), {}, {}, "DELETE " + key));
    if (r.status == 404) return false;
    MITHRIL_TRY(expect_ok(r, "DELETE " + key));
    return had;
  }

  Result<std::vector<std::string>> list(const std::string& prefix) override {
    std::vector<std::string> out;
    std::set<std::string> tokens;  // a token seen twice: a listing that loops
    std::string token;
    for (std::uint64_t page = 0;; ++page) {
      if (page >= kMaxListCalls || out.size() > kMaxListedKeys) {
        return fail(ErrorCode::kCorruption, url().redacted + ": LIST " + prefix + ": did not end after " +
                                                std::to_string(page) + " pages");
      }
      std::map<std::string, std::string> q{{"list-type", "2"}, {"prefix", m_prefix + prefix}};
      if (!token.empty()) q["continuation-token"] = token;
      MITHRIL_ASSIGN(const auto r, request("GET", bucket_path(), q, {}, "LIST " + prefix, kMaxListBody));
      MITHRIL_TRY(expect_ok(r, "LIST " + prefix));
      for (auto& k : xml_values(r.body, "Key")) {
        if (k.starts_with(m_prefix)) out.push_back(k.substr(m_prefix.size()));
      }
      const auto truncated = xml_values(r.body, "IsTruncated");
      const auto next = xml_values(r.body, "NextContinuationToken");
      if (truncated.empty() || truncated[0] != "true" || next.empty()) return out;
      if (!tokens.insert(next[0]).second) {
        return fail(ErrorCode::kCorruption, url().redacted + ": LIST " + prefix + ": the listing loops");
      }
      token = next[0];
    }
  }

 private:
  std::string bucket_path() const {
    std::string p = "/";
    if (m_path_style) p += aws_uri_encode(url().host, false);
    return p;
  }
  std::string object_path(const std::string& key) const {
    const std::string encoded = aws_uri_encode(m_prefix + key, true);
    return m_path_style ? bucket_path() + "/" + encoded : "/" + encoded;
  }

  Result<void> expect_ok(const Response& r, const std::string& what) const {
    if (r.status >= 200 && r.status < 300) return {};
    const auto code = xml_values(r.body, "Code");
    std::string msg = url().redacted + ": " + what + ": HTTP " + std::to_string(r.status);
    if (!code.empty()) msg += " " + code[0];
    if (r.status == 403) msg += " (check the credentials and the bucket policy)";
    return fail(r.status >= 500 || r.status == 403 ? ErrorCode::kUnavailable : ErrorCode::kIoError, msg);
  }

  // The signed headers of a request (the caller frees the list).
  curl_slist* signed_headers(const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& query, std::string_view body) const {
    const std::string amz_date = amz_now();
    SigV4Request sig;
    sig.method = method;
    sig.path = path;
    sig.query = query;
    sig.payload_sha256_hex = body.empty() ? kEmptySha256 : sha256_hex(body);
    sig.headers = {{"host", m_host}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", sig.payload_sha256_hex}};
    if (!m_creds.session_token.empty()) sig.headers["x-amz-security-token"] = m_creds.session_token;
    const std::string auth = sigv4_authorization(sig, m_creds, m_region, "s3", amz_date);
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : sig.headers) {
      if (k != "host") headers = curl_slist_append(headers, detail::concat(k, ": ", v).c_str());
    }
    headers = curl_slist_append(headers, ("Authorization: " + auth).c_str());
    headers = curl_slist_append(headers, "Expect:");
    // Not form data (curl's POST default): servers must see the XML body.
    if (method == "POST") headers = curl_slist_append(headers, "Content-Type: application/xml");
    return headers;
  }

  std::string full_url(const std::string& path, const std::map<std::string, std::string>& query) const {
    std::string full = m_scheme + "://" + m_host + path;
    char sep = '?';
    for (const auto& [k, v] : query) {
      full += detail::concat(std::string(1, sep), aws_uri_encode(k, false), "=", aws_uri_encode(v, false));
      sep = '&';
    }
    return full;
  }

  void set_method(const std::string& method, Upload* up) {
    if (method == "HEAD") {
      curl_easy_setopt(m_curl, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT" || method == "POST") {  // the body from on_read
      curl_easy_setopt(m_curl, method == "PUT" ? CURLOPT_UPLOAD : CURLOPT_POST, 1L);
      curl_easy_setopt(m_curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(m_curl, CURLOPT_READDATA, up);
      curl_easy_setopt(m_curl, method == "PUT" ? CURLOPT_INFILESIZE_LARGE : CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(up->data.size()));
    } else if (method != "GET") {
      curl_easy_setopt(m_curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
  }

  // One request. The body is kept up to `max_body` bytes, or with a `sink`
  // a 2xx body is streamed to it (at most `max_body` bytes).
  Result<Response> request(const std::string& method, const std::string& path,
                           const std::map<std::string, std::string>& query, std::string_view body,
                           const std::string& what, std::uint64_t max_body = kMaxSmallBody,
                           const ByteSink* sink = nullptr) {
    if (m_curl == nullptr) return fail(ErrorCode::kInternal, "curl_easy_init failed");
    MITHRIL_TRY(check_deadline(what));
    curl_easy_reset(m_curl);
    curl_slist* headers = signed_headers(method, path, query, body);
    const std::string full = full_url(path, query);
    Response resp;
    resp.max_body = max_body;
    resp.head = method == "HEAD";
    resp.sink = sink;
    resp.curl = m_curl;
    Upload up{body, 0};
    curl_easy_setopt(m_curl, CURLOPT_URL, full.c_str());
    curl_easy_setopt(m_curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(m_curl, CURLOPT_NOSIGNAL, 1L);
    set_timeouts();
    curl_easy_setopt(m_curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(m_curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(m_curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(m_curl, CURLOPT_HEADERDATA, &resp);
    set_method(method, &up);
    const CURLcode rc = curl_easy_perform(m_curl);
    curl_slist_free_all(headers);
    if (resp.sink_error) return std::unexpected(std::move(*resp.sink_error));
    if (resp.too_large) {
      return fail(ErrorCode::kCorruption, url().redacted + ": " + what + ": response larger than " +
                                              std::to_string(max_body) + " bytes");
    }
    if (rc != CURLE_OK) {
      const std::string msg = url().redacted + ": " + what + ": " + curl_easy_strerror(rc);
      if (rc == CURLE_OPERATION_TIMEDOUT) return fail(ErrorCode::kTimeout, msg);
      return fail(ErrorCode::kUnavailable, msg);
    }
    curl_easy_getinfo(m_curl, CURLINFO_RESPONSE_CODE, &resp.status);
    return resp;
  }

  // Connect: its timeout; transfer: fails after remote_timeout_ms below
  // 1 byte/s (no progress), however long a progressing one takes; total:
  // what the deadline leaves, when there is one.
  void set_timeouts() {
    const RemoteDeadline& d = deadline();
    const long connect_ms = static_cast<long>(d.wait_ms(m_options.connect_timeout_ms));
    const long stall_s = std::max(1L, static_cast<long>(m_options.io_timeout_ms / 1000));
    curl_easy_setopt(m_curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(m_curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(m_curl, CURLOPT_LOW_SPEED_TIME, stall_s);
    if (!d.none()) curl_easy_setopt(m_curl, CURLOPT_TIMEOUT_MS, static_cast<long>(d.wait_ms(INT32_MAX)));
  }

  Result<void> put_multipart(const std::string& key, std::string_view data) {
    const std::string path = object_path(key);
    MITHRIL_ASSIGN(const auto init, request("POST", path, {{"uploads", ""}}, {}, "multipart start " + key));
    MITHRIL_TRY(expect_ok(init, "multipart start " + key));
    const auto ids = xml_values(init.body, "UploadId");
    if (ids.empty()) return fail(ErrorCode::kIoError, url().redacted + ": multipart start " + key + ": no UploadId");
    const std::string& id = ids[0];
    auto result = [&]() -> Result<void> {
      std::string complete = "<CompleteMultipartUpload>";
      int part = 1;
      for (std::size_t off = 0; off < data.size(); off += kPartSize, ++part) {
        const std::string n = std::to_string(part);
        const std::string what = detail::concat("part ", n, " of ", key);
        MITHRIL_ASSIGN(const auto r,
                       request("PUT", path, {{"partNumber", n}, {"uploadId", id}}, data.substr(off, kPartSize), what));
        MITHRIL_TRY(expect_ok(r, what));
        complete += detail::concat("<Part><PartNumber>", n, "</PartNumber><ETag>", r.etag, "</ETag></Part>");
      }
      complete += "</CompleteMultipartUpload>";
      MITHRIL_ASSIGN(const auto done, request("POST", path, {{"uploadId", id}}, complete, "multipart end " + key));
      MITHRIL_TRY(expect_ok(done, "multipart end " + key));
      if (done.body.find("<Error>") != std::string::npos) {
        return fail(ErrorCode::kIoError, url().redacted + ": multipart end " + key + ": server reported an error");
      }
      return {};
    }();
    if (!result) (void)request("DELETE", path, {{"uploadId", id}}, {}, "multipart abort " + key);
    return result;
  }

  RemoteOptions m_options;
  AwsCredentials m_creds;
  std::string m_region;
  std::string m_prefix;  // "" or "prefix/"
  std::string m_scheme;
  std::string m_host;
  bool m_path_style = true;
  CURL* m_curl = nullptr;
};

}  // namespace

Result<std::unique_ptr<RemoteStore>> open_s3(const RemoteUrl& url, const RemoteOptions& options,
                                             const GetEnvFn& getenv, Env& env) {
  MITHRIL_ASSIGN(auto creds, load_aws_credentials(getenv, env));
  std::string region;
  if (auto it = url.query.find("region"); it != url.query.end()) region = it->second;
  if (region.empty()) region = getenv("AWS_REGION").value_or("");
  if (region.empty()) region = getenv("AWS_DEFAULT_REGION").value_or("");
  if (region.empty()) region = "us-east-1";
  return std::unique_ptr<RemoteStore>(new S3Store(url, options, std::move(creds), std::move(region)));
}

}  // namespace mithril::remote
