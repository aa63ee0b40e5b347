// Streaming object I/O shared by the content store: write a (compressed)
// object to a file descriptor while hashing it, and read one back while
// decompressing and hashing. Private to src/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <mithril/digest.h>
#include <mithril/env.h>
#include <mithril/result.h>

namespace mithril::detail {

using Sink = std::function<Result<void>(std::string_view)>;

// Feeds data in, writes it (zstd-compressed when `level` > 0) to `fd`, and
// hashes the uncompressed bytes. Call finish() once at the end.
class ObjectWriter {
 public:
  // `pledged_size`, when known, is recorded in the zstd frame header (the
  // recovery scan reads it); writing a different amount is then an error.
  ObjectWriter(Env& env, int fd, int level, std::optional<std::uint64_t> pledged_size = std::nullopt);
  ~ObjectWriter();
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  Result<void> write(std::string_view data);
  // Flushes the compressor. Returns the digest of all uncompressed bytes.
  Result<Digest> finish();
  std::uint64_t bytes_in() const { return m_in; }
  std::uint64_t bytes_out() const { return m_out; }

 private:
  Result<void> emit(std::string_view out);
  Env& m_env;
  int m_fd;
  void* m_cctx = nullptr;  // ZSTD_CCtx*, null when uncompressed
  Hasher m_hasher;
  std::uint64_t m_in = 0;
  std::uint64_t m_out = 0;
};

// A per-thread 1 MiB scratch buffer for streaming I/O (valid until the
// thread exits; do not hold it across calls that may also use it).
char* io_buffer(std::size_t* size);

// Reads `fd` to its end, decompressing when `compressed`, passing the
// uncompressed bytes to `sink` in chunks. Returns their digest.
// Malformed zstd data is ErrorCode::kCorruption.
Result<Digest> read_object(Env& env, int fd, bool compressed, const Sink& sink);

}  // namespace mithril::detail

namespace mithril::detail {

// The first `n` bytes of the file at `path` (fewer if it is shorter);
// nullopt when it does not exist. Like hash_file, reads only a regular file:
// a symlink, FIFO or device is kCorruption (see open_regular), never read.
Result<std::optional<std::string>> read_prefix(Env& env, const std::string& path, std::size_t n);
// BLAKE3 of the whole regular file at `path` (a missing one is an error).
Result<Digest> hash_file(Env& env, const std::string& path);
// Uncompressed size recorded in the zstd frame header of the file at `path`,
// or nullopt when the header does not record it.
Result<std::optional<std::uint64_t>> zstd_content_size(Env& env, const std::string& path);

}  // namespace mithril::detail
