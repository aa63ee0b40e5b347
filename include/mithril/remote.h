// Remote tier: existing distributed stores (S3-compatible object storage,
// Redis, a shared directory) behind one narrow interface, and the sync
// operations (push / pull) that move framework cache entries through them.
//
// URLs (docs/remote.md):
//   s3://BUCKET[/PREFIX][?endpoint=http://host:port&region=R&addressing=path|virtual]
//       AWS Signature V4 over libcurl. Credentials: AWS_ACCESS_KEY_ID /
//       AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the profile
//       (AWS_PROFILE, default "default") of AWS_SHARED_CREDENTIALS_FILE or
//       ~/.aws/credentials. Region: ?region=, AWS_REGION, AWS_DEFAULT_REGION,
//       else us-east-1. Objects over 16 MiB use multipart upload.
//   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?prefix=P&ttl=SECONDS]
//   file:///ABSOLUTE/PATH  (a shared file system; atomic publish by rename)
// Every URL accepts mode=rw|ro|wo (read-write, read-only, write-only).
//
// Errors: a missing key is a miss (nullopt / false), never an error. A
// failure is kTimeout when a bounded wait ran out (connect, stalled
// transfer, the deadline) and kUnavailable / kIoError otherwise: those are
// about the remote as a whole. kCorruption is about one key only (an object
// larger than the caller's bound, a file:// object that is not a regular
// file, a Redis key of the wrong type): callers reject that key and go on.
// Messages never contain credentials.
//
// Trust: nothing a remote says sizes a buffer or a loop before it is
// bounded. get() takes the most bytes the caller accepts; listings are
// bounded in pages, keys and bytes; every call of a store is bounded by its
// deadline (set_deadline) as well as by its own timeouts.
//
// Thread safety: one RemoteStore serves one thread at a time (it owns a
// connection). Open one per worker for parallelism (open_remote is cheap:
// connections are made lazily and reused across calls).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mithril/entry.h>
#include <mithril/env.h>
#include <mithril/export.h>
#include <mithril/key.h>
#include <mithril/result.h>

namespace mithril {

class Cache;

enum class RemoteMode { kReadWrite, kReadOnly, kWriteOnly };
MITHRIL_API const char* remote_mode_name(RemoteMode mode);

// The point in time by which a whole operation (a pull, a push) must be
// done; every remote call checks it and waits at most what is left.
// Copyable; thread-safe (immutable).
class MITHRIL_API RemoteDeadline {
 public:
  RemoteDeadline() = default;  // none: calls are bounded by their own timeouts only
  // `ms` from now; ms <= 0 means none.
  static RemoteDeadline in_ms(std::int64_t ms);
  bool none() const { return m_none; }
  bool expired() const;
  // What a wait may take: `cap_ms`, or less when the deadline is nearer;
  // never below 1 ms (0 means "no timeout" to the OS, hiredis and curl), so
  // callers check expired() before waiting.
  std::int64_t wait_ms(std::int64_t cap_ms) const;

 private:
  bool m_none = true;
  std::int64_t m_at_ns = 0;  // steady clock
};

// Bounds on what one call may receive (docs/remote.md, "Trust boundaries").
inline constexpr std::uint64_t kMaxManifestBytes = 8ull << 20;  // a manifest, a tag, a keyed manifest
inline constexpr std::uint64_t kMaxFileBytes = 4ull << 30;       // one file of an entry, uncompressed
inline constexpr std::uint64_t kMaxListedKeys = 1ull << 20;      // keys one list() returns
inline constexpr std::uint64_t kMaxListCalls = 100000;           // SCAN / ListObjects pages, directories walked

struct MITHRIL_API RemoteOptions {
  int connect_timeout_ms = 2000;  // to establish a connection
  int io_timeout_ms = 10000;      // a request with no progress for this long fails as kTimeout
};

// A parsed remote URL. `redacted` is the URL with any password removed, for
// messages and logs.
struct MITHRIL_API RemoteUrl {
  std::string scheme;  // "s3", "redis", "file"
  std::string host;    // bucket (s3), host (redis); empty for file
  int port = 0;
  std::string path;    // prefix (s3), db number (redis), directory (file)
  std::string user;
  std::string password;
  std::map<std::string, std::string> query;
  RemoteMode mode = RemoteMode::kReadWrite;
  std::string redacted;
};
MITHRIL_API Result<RemoteUrl> parse_remote_url(std::string_view url);

class MITHRIL_API RemoteStore {
 public:
  virtual ~RemoteStore() = default;
  // The object's bytes; nullopt when the key does not exist. An object
  // larger than `max_bytes` is kCorruption, found without holding more than
  // about `max_bytes` of it in memory.
  virtual Result<std::optional<std::string>> get(const std::string& key, std::uint64_t max_bytes) = 0;
  // Streams the object's bytes to `sink` in pieces as they arrive (at most
  // about 1 MiB each), so no more than a piece is held; false when the key
  // does not exist (or is empty: objects never are). More than `max_bytes`
  // is kCorruption; an error from `sink` aborts the transfer and is
  // returned as is. The default calls get() and passes one piece.
  using ByteSink = std::function<Result<void>(std::string_view)>;
  virtual Result<bool> get_to(const std::string& key, std::uint64_t max_bytes, const ByteSink& sink);
  // Stores `data` under `key`, replacing it; readers see the old or the new
  // value, never a part.
  virtual Result<void> put(const std::string& key, std::string_view data) = 0;
  virtual Result<bool> exists(const std::string& key) = 0;
  // false when the key did not exist.
  virtual Result<bool> remove(const std::string& key) = 0;
  // Every key starting with `prefix`, in no particular order; at most
  // kMaxListedKeys of them in at most kMaxListCalls requests (more is
  // kCorruption: a listing that never ends).
  virtual Result<std::vector<std::string>> list(const std::string& prefix) = 0;
  const RemoteUrl& url() const { return m_url; }
  // Every later call waits at most until `deadline`, then fails as kTimeout.
  virtual void set_deadline(RemoteDeadline deadline) { m_deadline = deadline; }
  const RemoteDeadline& deadline() const { return m_deadline; }

 protected:
  explicit RemoteStore(RemoteUrl url) : m_url(std::move(url)) {}
  // kTimeout naming `what` once the deadline passed.
  Result<void> check_deadline(const std::string& what) const;

 private:
  RemoteUrl m_url;
  RemoteDeadline m_deadline;
};

// Opens the store a URL names. The mode is enforced here: put/remove on a
// read-only remote and get/list on a write-only one fail with
// kInvalidArgument. `getenv` and `env` are injectable for tests.
using GetEnvFn = std::function<std::optional<std::string>(const std::string&)>;
MITHRIL_API Result<std::unique_ptr<RemoteStore>> open_remote(std::string_view url,
                                                             const RemoteOptions& options = {},
                                                             const GetEnvFn& getenv = nullptr,
                                                             Env& env = Env::posix());

// ---- SigV4 (exposed so tests can compare it with independent signers) ----
struct MITHRIL_API SigV4Request {
  std::string method;                         // "GET", "PUT", ...
  std::string path;                           // already URI-encoded, e.g. "/bucket/a%20b"
  std::map<std::string, std::string> query;   // decoded names and values
  std::map<std::string, std::string> headers; // names in any case; must include host
  std::string payload_sha256_hex;
};
struct MITHRIL_API AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional
};
// The Authorization header value for `req` signed at `amz_date`
// ("20130524T000000Z") for `region` and `service`. Signs every header given.
MITHRIL_API std::string sigv4_authorization(const SigV4Request& req, const AwsCredentials& creds,
                                            const std::string& region, const std::string& service,
                                            const std::string& amz_date);
// RFC 3986 encoding as SigV4 wants it (unreserved kept; '/' kept when
// `keep_slash`).
MITHRIL_API std::string aws_uri_encode(std::string_view s, bool keep_slash);

// ---- keyed entries (the C++ API) with a remote as second tier ----
// Looks `key` up in the local root, then in the remote. A remote hit is
// verified (key bytes, every file's size and BLAKE3) and stored in the local
// root before it is returned, so callers only ever read local, verified
// files. Remote failures are counted (remote_errors / remote_timeouts) and
// give a miss; bad remote bytes are counted as remote_rejected and give a
// miss. Local errors are returned.
MITHRIL_API Result<std::optional<Entry>> get_entry_through(Cache& cache, RemoteStore& remote,
                                                           const CacheKey& key);
// Stores `files` under `key` locally, then uploads them (objects first,
// then the key's manifest), unless the remote is read-only. Upload failures
// are counted, not returned: the local put decides the result.
MITHRIL_API Result<Digest> put_entry_through(Cache& cache, RemoteStore& remote, const CacheKey& key,
                                             const std::vector<EntryFile>& files);

// ---- sync: framework cache entries through a remote (docs/remote.md) ----
struct MITHRIL_API SyncOptions {
  RemoteOptions remote;
  int parallelism = 8;            // concurrent transfers (one connection each)
  int deadline_ms = 0;            // whole operation; 0 = none. Unfinished work is skipped, not an error.
  bool progress = false;          // draw a progress line on stderr
  std::string tag;                // push: also record the pushed entries under this tag; pull: only its entries
  std::string hmac_key;           // sign manifests (push) / require valid signatures (pull); empty = off
  int compression_level = 3;      // zstd level for objects on the wire and at rest remotely
};

struct CacheConfig;
// The options a configuration asks for (timeouts, parallelism, HMAC key);
// `bounded` applies remote_deadline_s (as `mithril run` and init() do).
MITHRIL_API SyncOptions sync_options_from(const CacheConfig& config, bool bounded);

struct MITHRIL_API SyncReport {
  std::uint64_t entries_local = 0;        // entries of the partition in the local root
  std::uint64_t entries_remote = 0;       // entries of the partition in the remote
  std::uint64_t entries_transferred = 0;  // pushed or pulled
  std::uint64_t entries_present = 0;      // already on the other side, skipped
  std::uint64_t objects_transferred = 0;  // file objects uploaded / downloaded
  std::uint64_t objects_deduplicated = 0; // (push) already in the remote
  std::uint64_t wire_bytes = 0;           // compressed bytes sent / received
  std::uint64_t logical_bytes = 0;        // their uncompressed size
  std::uint64_t errors = 0;               // remote operations that failed
  std::uint64_t timeouts = 0;             // remote operations that timed out
  std::uint64_t rejected = 0;             // (pull) entries refused: bad digest, path, size, signature
  std::uint64_t skipped = 0;              // entries left undone: deadline or remote gave up
  bool remote_gave_up = false;            // stopped early after a timeout or unreachable remote
  std::string first_problem;              // the first error or rejection, for the user
  double seconds = 0;
};

// Uploads every recorded framework entry of `partition` that the remote
// lacks: objects first (zstd-compressed, named by the BLAKE3 of their
// content), then the entry's manifest, so a visible manifest always has its
// objects. Fails only when the remote cannot be opened or is read-only;
// per-entry failures are counted in the report.
MITHRIL_API Result<SyncReport> push_frameworks(Cache& cache, const DeviceClass& partition,
                                               std::string_view url, const SyncOptions& options = {});
// Downloads the remote's entries of `partition` that the local root lacks.
// Each object is decompressed with a size bound and its digest checked
// before anything is written; an entry is published (renamed into place)
// only when all its files verified, then recorded. Entry paths are
// validated like bundle paths. Remote failures are counted, never thrown:
// after the first timeout or refused connection the pull stops (fail open).
MITHRIL_API Result<SyncReport> pull_frameworks(Cache& cache, const DeviceClass& partition,
                                               std::string_view url, const SyncOptions& options = {});

}  // namespace mithril
