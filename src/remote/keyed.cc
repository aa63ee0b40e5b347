// Keyed entries through a remote: the C++ API's second tier
// (get_entry_through / put_entry_through in <mithril/remote.h>).
//
// Remote layout: v1/keys/<device>/<key digest>.json, a "mithril-keyed"
// document of the one manifest codec (src/manifest/codec.h, manifest::kKeyed):
//   {"format":"mithril-keyed","version":1,"key":"<hex of the key bytes>",
//    "files":[{"name":..,"size":..,"blake3":..,"zstd":"<base64>"?}]}
// Files whose zstd frame is small travel inline (like framework manifests);
// the others are objects under v1/objects/.
#include <mithril/cache.h>
#include <mithril/log.h>
#include <mithril/remote.h>

#include "manifest/codec.h"
#include "remote/frame_stream.h"
#include "remote/remote_layout.h"
#include "util/hex.h"

namespace mithril {
namespace {

std::string keyed_path(const CacheKey& key) {
  return "v1/keys/" + key.device().to_string() + "/" + key.digest().to_hex() + ".json";
}

void count_failure(Cache& cache, const Error& e) {
  cache.add_counter(e.code == ErrorCode::kTimeout ? Counter::kRemoteTimeouts : Counter::kRemoteErrors, 1);
  MITHRIL_LOG(LogLevel::kWarn, "remote_error", {{"op", std::string("keyed")}, {"error", e.to_string()}});
}

void count_rejected(Cache& cache, const std::string& why) {
  cache.add_counter(Counter::kRemoteRejected, 1);
  MITHRIL_LOG(LogLevel::kWarn, "remote_rejected", {{"why", why}});
}

// What `key` names in the remote, at most `max_bytes` of it (nullopt:
// missing). An error was counted here (kCorruption as a rejection, the rest
// as a remote failure): the lookup is a miss.
Result<std::optional<std::string>> fetch_counted(Cache& cache, RemoteStore& remote, const std::string& key,
                                                 std::uint64_t max_bytes) {
  auto got = remote.get(key, max_bytes);
  if (got) return got;
  if (got.error().code == ErrorCode::kCorruption) {
    count_rejected(cache, got.error().to_string());
  } else {
    count_failure(cache, got.error());
  }
  return got;
}

}  // namespace

Result<Digest> put_entry_through(Cache& cache, RemoteStore& remote, const CacheKey& key,
                                 const std::vector<EntryFile>& files) {
  MITHRIL_ASSIGN(const Digest digest, cache.put_entry(key, files));
  if (remote.url().mode == RemoteMode::kReadOnly) return digest;
  std::vector<manifest::FileRow> rows;
  std::uint64_t wire = 0;
  for (const auto& f : files) {
    const Digest d = blake3(f.data);
    auto placed = remote::place_file(remote, d, f.data.size(), [&]() -> std::optional<std::string> {
      std::string frame = remote::compress(f.data, 3);
      if (frame.empty()) return std::nullopt;  // zstd failed
      return frame;
    });
    if (!placed) {
      count_failure(cache, placed.error());
      return digest;  // stored locally; the remote is best effort
    }
    if (placed->skipped) return fail(ErrorCode::kInternal, "zstd compression failed");
    wire += placed->uploaded_bytes;
    rows.push_back({f.name, d, f.data.size(), std::move(placed->inline_frame)});
  }
  const std::string text =
      manifest::encode(manifest::kKeyed, {{"key", detail::to_hex(key.serialize())}}, rows);
  if (auto put = remote.put(keyed_path(key), text); !put) {
    count_failure(cache, put.error());
    return digest;
  }
  cache.add_counter(Counter::kRemotePushed, 1);
  cache.add_counter(Counter::kRemoteBytesOut, static_cast<std::int64_t>(wire + text.size()));
  return digest;
}

Result<std::optional<Entry>> get_entry_through(Cache& cache, RemoteStore& remote, const CacheKey& key) {
  MITHRIL_ASSIGN(auto local, cache.get_entry(key));
  if (local || remote.url().mode == RemoteMode::kWriteOnly) return local;
  const auto rejected = [&](const std::string& why) -> Result<std::optional<Entry>> {
    count_rejected(cache, why);
    return std::optional<Entry>{};
  };
  auto text = fetch_counted(cache, remote, keyed_path(key), kMaxManifestBytes);
  if (!text || !*text) return std::optional<Entry>{};  // fail open: a miss
  std::uint64_t wire = (*text)->size();
  const auto& format = manifest::kKeyed;
  const manifest::Limits limits{kMaxFileBytes, cache.config().max_size, /*tree=*/false, 4 * remote::kInlineMax};
  auto doc = manifest::decode(format, **text, limits);
  if (!doc) return rejected(doc.error().message);
  const auto key_hex = doc->text(format, "key");
  const auto key_bytes = key_hex ? detail::from_hex(*key_hex) : std::nullopt;
  if (!key_bytes || *key_bytes != key.serialize()) return rejected("remote keyed entry is for another key");
  std::vector<EntryFile> files;
  for (auto& f : doc->files) {
    std::optional<std::string> frame = std::move(f.inline_frame);
    if (!frame) {
      auto got = fetch_counted(cache, remote, remote::object_key(f.digest), remote::max_frame_bytes(f.size));
      if (!got) return std::optional<Entry>{};
      frame = std::move(*got);
      wire += frame ? frame->size() : 0;
    }
    auto data = frame ? remote::decompress_exact(*frame, f.size) : std::nullopt;
    if (!data || blake3(*data) != f.digest) return rejected("remote object of " + f.path + " does not match");
    files.push_back(EntryFile{std::move(f.path), std::move(*data)});
  }
  // Verified: into the local tier first (put_entry validates names), then served from there.
  if (auto put = cache.put_entry(key, files); !put) {
    if (put.error().code == ErrorCode::kInvalidArgument) return rejected(put.error().message);
    return std::unexpected(put.error());
  }
  cache.add_counter(Counter::kRemotePulled, 1);
  cache.add_counter(Counter::kRemoteBytesIn, static_cast<std::int64_t>(wire));
  return cache.get_entry(key);
}

}  // namespace mithril
