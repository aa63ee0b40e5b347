// Streaming decompression of a remote zstd frame into a staged file, with a
// running BLAKE3, so neither the frame nor the size a manifest declares is
// ever held in memory: pieces are decoded as they arrive. Private to
// src/remote. One decoder per file; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <mithril/digest.h>
#include <mithril/env.h>
#include <mithril/result.h>

namespace mithril::remote {

// The largest zstd frame a file of `size` bytes can legitimately have: what
// a get of its object may receive.
std::uint64_t max_frame_bytes(std::uint64_t size);

// Decodes a frame fed in pieces into `fd` (at its offset). The frame must
// declare exactly `size`, decode to exactly `size` bytes with BLAKE3
// `digest`, need a window of at most 16 MiB and hold nothing after its end.
// Memory: the zstd window (at most 16 MiB) and a 128 KiB piece.
class FrameDecoder {
 public:
  FrameDecoder(Env& env, int fd, std::uint64_t size, const Digest& digest);
  ~FrameDecoder();
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Errors: kCorruption naming what the frame got wrong (the remote's
  // fault), or the Env's error from writing (then failed_locally()).
  Result<void> feed(std::string_view piece);
  // Checks that the frame ended, with the declared size and digest.
  Result<void> finish();
  bool failed_locally() const { return m_local_failure; }
  // True once the decoder refused the frame (its kCorruption).
  bool refused() const { return m_refused; }

 private:
  Result<void> check_header(std::string_view piece, bool last);
  Result<void> feed_checked(std::string_view piece);
  Result<void> finish_checked();

  struct State;
  std::unique_ptr<State> m_state;
  Env& m_env;
  int m_fd;
  std::uint64_t m_size;
  Digest m_digest;
  std::uint64_t m_written = 0;
  bool m_ended = false;
  bool m_local_failure = false;
  bool m_refused = false;
};

}  // namespace mithril::remote
