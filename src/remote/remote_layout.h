// Where things live in a remote, and the entry manifest format
// (docs/remote.md). Private to src/remote.
//
//   v1/objects/<hex[0:2]>/<hex>           zstd frame of a file's content,
//                                         named by the BLAKE3 of the content
//   v1/fw/<partition>/<id>.json           manifest of one framework entry;
//                                         id = BLAKE3(name) hex, 32 chars
//   v1/tags/<partition>/<tag>.json        {"entries": [id, ...]}
//
// Small files are inlined in their manifest as "zstd": base64 of the frame.
// Manifests are written and read by the one codec (src/manifest/codec.h).
// A manifest is UTF-8 JSON, optionally followed by one line
// "\nhmac-sha256:<hex>\n" signing every byte before it.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <mithril/cache.h>
#include <mithril/digest.h>
#include <mithril/remote.h>

namespace mithril::remote {

// Compression shared by the sync and keyed paths (the manifests themselves
// are src/manifest/codec.h's).
// zstd frame of `data` ("" when zstd fails).
std::string compress(std::string_view data, int level);
// Decompresses a frame that must declare and hold exactly `size` bytes;
// nullopt otherwise (a frame claiming another size is refused before any
// allocation: no decompression bomb).
std::optional<std::string> decompress_exact(std::string_view frame, std::uint64_t size);

std::string object_key(const Digest& digest);

// Where one file's bytes go in a remote, by one rule for framework and keyed
// entries: a zstd frame of at most kInlineMax travels inline in the manifest
// (returned); a larger one is the object object_key(digest), uploaded unless
// the remote has it already. Files over 8 x kInlineMax are not loaded before
// that check. `frame_of` produces the frame, or nullopt when the file cannot
// be had (then `skipped`).
struct Placement {
  bool skipped = false;
  std::optional<std::string> inline_frame;
  std::uint64_t uploaded_bytes = 0;  // > 0: uploaded now; 0 and no inline frame: already there
};
Result<Placement> place_file(RemoteStore& store, const Digest& digest, std::uint64_t size,
                             const std::function<std::optional<std::string>()>& frame_of);
std::string manifest_prefix(const std::string& partition);
std::string entry_id(const std::string& name);
std::string manifest_key(const std::string& partition, const std::string& name);
std::string tag_key(const std::string& partition, const std::string& tag);

// Files whose zstd frame is at most this size travel inside the manifest
// (base64), not as objects: one request per small entry instead of two.
inline constexpr std::size_t kInlineMax = 48 << 10;

struct EntryManifest {
  std::string partition;
  FrameworkEntryFiles entry;  // paths relative to fw/<partition>/
  std::map<std::string, std::string> inline_frames;  // path -> zstd frame
};

// A "mithril-entry" document of the one manifest codec (manifest::kRemoteEntry).
// Serializes; signs when `hmac_key` is not empty.
std::string encode_manifest(const EntryManifest& m, const std::string& hmac_key);
// Parses and validates: format and version, the partition (must equal
// `want_partition`), every path (validate_entry_path), no duplicate, each
// size at most kMaxFileBytes, sizes summing to at most `max_bytes`, and with
// a non-empty `hmac_key` a valid signature. A compile time is clamped to
// 0 .. 24 h (a negative or absurd credit never reaches the index; a float
// is malformed). Errors are kInvalidArgument (malformed) or kCorruption
// (signature missing or wrong), naming the problem.
Result<EntryManifest> decode_manifest(std::string_view text, const std::string& want_partition,
                                      const std::string& hmac_key, std::uint64_t max_bytes);

std::string encode_tag(const std::vector<std::string>& ids);
Result<std::vector<std::string>> decode_tag(std::string_view text);

}  // namespace mithril::remote
