// Streaming decompression of a remote zstd frame into a staged file, with a
// running BLAKE3, so the size a manifest declares is never allocated.
// Private to src/remote. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string_view>

#include <mithril/digest.h>
#include <mithril/env.h>
#include <mithril/result.h>

namespace mithril::remote {

// The largest zstd frame a file of `size` bytes can legitimately have: what
// a get() of its object may receive.
std::uint64_t max_frame_bytes(std::uint64_t size);

// Decodes `frame` into `fd` (at its offset) in 128 KiB pieces. The frame
// must declare exactly `size`, decode to exactly `size` bytes with BLAKE3
// `digest`, need a window of at most 16 MiB and hold nothing after its end.
// Errors: kCorruption naming what the frame got wrong (the remote's fault;
// what was written must be discarded), or the Env's error from writing.
Result<void> decompress_to_fd(Env& env, int fd, std::string_view frame, std::uint64_t size, const Digest& digest);

}  // namespace mithril::remote
