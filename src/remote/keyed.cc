// Keyed entries through a remote: the C++ API's second tier
// (get_entry_through / put_entry_through in <mithril/remote.h>).
//
// Remote layout: v1/keys/<device>/<key digest>.json
//   {"format":"mithril-keyed","version":1,"key":"<hex of the key bytes>",
//    "files":[{"name":..,"size":..,"blake3":..,"zstd":"<base64>"?}]}
// Files whose zstd frame is small travel inline (like framework manifests);
// the others are objects under v1/objects/.
#include <nlohmann/json.hpp>

#include <mithril/cache.h>
#include <mithril/log.h>
#include <mithril/remote.h>

#include "remote/frame_stream.h"
#include "remote/remote_layout.h"
#include "util/hex.h"
#include "util/json_util.h"

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
  nlohmann::ordered_json j;
  j["format"] = "mithril-keyed";
  j["version"] = 1;
  j["key"] = detail::to_hex(key.serialize());
  j["files"] = nlohmann::ordered_json::array();
  std::uint64_t wire = 0;
  for (const auto& f : files) {
    const Digest d = blake3(f.data);
    nlohmann::ordered_json file{{"name", f.name}, {"size", f.data.size()}, {"blake3", d.to_hex()}};
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
    if (const auto& frame = placed->inline_frame) file["zstd"] = remote::base64(*frame);
    wire += placed->uploaded_bytes;
    j["files"].push_back(std::move(file));
  }
  const std::string text = j.dump();
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
  std::vector<EntryFile> files;
  try {
    const auto j = nlohmann::json::parse(**text);
    if (j.at("format").get<std::string>() != "mithril-keyed" || detail::json_i64(j.at("version")) != 1) {
      return rejected("remote keyed entry has an unknown format");
    }
    const auto key_bytes = detail::from_hex(j.at("key").get<std::string>());
    if (!key_bytes || *key_bytes != key.serialize()) return rejected("remote keyed entry is for another key");
    std::uint64_t total = 0;
    for (const auto& f : j.at("files")) {
      EntryFile file;
      file.name = f.at("name").get<std::string>();
      const std::uint64_t size = detail::json_u64(f.at("size"));
      const auto digest = Digest::from_hex(f.at("blake3").get<std::string>());
      total += size;
      if (!digest || size > kMaxFileBytes || total > cache.config().max_size) {
        return rejected("remote keyed entry is malformed or too big");
      }
      std::optional<std::string> frame;
      if (f.contains("zstd")) {
        frame = remote::unbase64(f.at("zstd").get<std::string>());
      } else {
        auto got = fetch_counted(cache, remote, remote::object_key(*digest), remote::max_frame_bytes(size));
        if (!got) return std::optional<Entry>{};
        frame = std::move(*got);
        wire += frame ? frame->size() : 0;
      }
      auto data = frame ? remote::decompress_exact(*frame, size) : std::nullopt;
      if (!data || blake3(*data) != *digest) return rejected("remote object of " + file.name + " does not match");
      file.data = std::move(*data);
      files.push_back(std::move(file));
    }
  } catch (const nlohmann::json::exception&) {
    return rejected("remote keyed entry is not valid JSON");
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
