// The one manifest codec: every JSON document that lists the files of an
// entry is written and read here (docs/manifests.md).
//
//   format             where                          file row keys
//   mithril-manifest   a keyed entry in the store     name, digest, size
//   mithril-bundle     first member of a bundle       path, size, blake3
//   mithril-entry      v1/fw/<partition>/<id>.json    path, size, blake3, zstd?
//   mithril-keyed      v1/keys/<device>/<key>.json    name, size, blake3, zstd?
//
// Each is {"format":<name>,"version":1, <header fields>..., "files":[rows]}.
// A `Format` names the differences (row keys, their order, how a rejection
// is reported); the header fields are the caller's. Writing keeps the bytes
// the old writers produced (key order included); reading applies one
// validation of hostile input to every format: format and version, every
// header field's type, each row's path (validate_entry_path), digest
// (Digest::from_hex), size (a non-negative integer, bounded by
// `Limits`), no path twice, optionally no path that is both a file and a
// directory, an inline frame only where the format has them (base64,
// bounded).
//
// Private to src/. Pure functions over values; thread-safe; no exception
// escapes (nlohmann's are caught inside).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <mithril/digest.h>
#include <mithril/result.h>

namespace mithril::manifest {

inline constexpr std::int64_t kVersion = 1;

struct Format {
  std::string_view name;          // the "format" value
  std::string_view path_key;      // "name" or "path"
  std::string_view digest_key;    // "digest" or "blake3"
  bool digest_before_size;        // a row's key order, as the old writer had it
  bool has_inline;                // rows may carry "zstd": base64 of a zstd frame
  ErrorCode error;                // the code of every rejection
  std::string_view error_prefix;  // what every rejection message starts with
};

inline constexpr Format kEntry{"mithril-manifest", "name", "digest", true, false, ErrorCode::kCorruption,
                               "bad manifest: "};
inline constexpr Format kBundle{"mithril-bundle", "path", "blake3", false, false, ErrorCode::kInvalidArgument,
                                "refusing bundle: manifest "};
inline constexpr Format kRemoteEntry{"mithril-entry", "path", "blake3", false, true, ErrorCode::kInvalidArgument,
                                     "remote manifest "};
inline constexpr Format kKeyed{"mithril-keyed", "name", "blake3", false, true, ErrorCode::kInvalidArgument,
                               "remote keyed entry "};

// One listed file. `path` is relative (to the entry, or to fw/<partition>/).
struct FileRow {
  std::string path;
  Digest digest;
  std::uint64_t size = 0;
  std::optional<std::string> inline_frame;  // the raw zstd frame (base64 only on the wire)
};

// Bounds a reader applies to the rows of a document.
struct Limits {
  std::uint64_t max_file = std::numeric_limits<std::uint64_t>::max();   // one row's size
  std::uint64_t max_total = std::numeric_limits<std::uint64_t>::max();  // the sum of the sizes
  bool tree = false;  // the paths are one directory tree: none is both a file and a directory
  std::size_t max_inline = std::size_t{4} * (std::size_t{48} << 10);  // base64 characters of one inline frame
};

// A header value: a string or an integer.
using Field = std::variant<std::string, std::int64_t>;

// Fields written between "version" and "files", in order.
using Header = std::vector<std::pair<std::string, Field>>;

// The JSON text of a document (no trailing newline).
std::string encode(const Format& format, const Header& header, const std::vector<FileRow>& files);

// A read document: its top-level string and integer fields, and its rows.
struct Decoded {
  std::map<std::string, Field, std::less<>> fields;
  std::set<std::string, std::less<>> keys;  // every top-level key, of any type
  std::vector<FileRow> files;

  bool has(std::string_view key) const { return keys.find(key) != keys.end(); }

  // The field `key` as a string / an integer; a rejection of `format` when it
  // is missing or of the other type.
  Result<std::string> text(const Format& format, std::string_view key) const;
  Result<std::int64_t> integer(const Format& format, std::string_view key) const;
};

// Parses `text` as a document of `format` and validates it (see the top).
// Every error has `format.error` as its code and `format.error_prefix` in front.
Result<Decoded> decode(const Format& format, std::string_view text, const Limits& limits);

// The rejection `format` reports: `format.error`, prefix + why.
std::unexpected<Error> reject(const Format& format, const std::string& why);

// Base64 of the inline frames (RFC 4648, padded).
std::string base64(std::string_view bytes);
// nullopt: malformed, or longer than `max_chars`.
std::optional<std::string> unbase64(std::string_view text, std::size_t max_chars);

}  // namespace mithril::manifest
