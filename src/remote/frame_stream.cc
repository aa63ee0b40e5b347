#include "remote/frame_stream.h"

#include <zstd.h>

#include <memory>
#include <string>
#include <vector>

namespace mithril::remote {
namespace {

constexpr int kWindowLogMax = 24;  // 16 MiB: level 19 uses 8 MiB; ultra levels are refused
constexpr std::size_t kPiece = 128 << 10;

struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

std::unexpected<Error> bad(const std::string& why) { return fail(ErrorCode::kCorruption, why); }

}  // namespace

std::uint64_t max_frame_bytes(std::uint64_t size) {
  // ZSTD_COMPRESSBOUND plus room for a frame header and checksum.
  return size + (size >> 8) + (128 << 10);
}

Result<void> decompress_to_fd(Env& env, int fd, std::string_view frame, std::uint64_t size, const Digest& digest) {
  if (ZSTD_getFrameContentSize(frame.data(), frame.size()) != size) {
    return bad("its zstd frame does not declare the manifest's size");
  }
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) return fail(ErrorCode::kInternal, "zstd: out of memory");
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kWindowLogMax);
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  std::vector<char> piece(kPiece);
  Hasher hasher;
  std::uint64_t written = 0;
  for (std::size_t more = 1; more != 0;) {
    ZSTD_outBuffer out{piece.data(), piece.size(), 0};
    more = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(more)) return bad(std::string("its zstd frame is bad: ") + ZSTD_getErrorName(more));
    written += out.pos;
    if (written > size) return bad("its zstd frame holds more than it declares");
    hasher.update(std::string_view(piece.data(), out.pos));
    MITHRIL_TRY(write_all(env, fd, piece.data(), out.pos));
    if (more != 0 && in.pos == in.size && out.pos < out.size) return bad("its zstd frame is truncated");
  }
  if (in.pos != in.size) return bad("its zstd frame is followed by other bytes");
  if (written != size) return bad("its zstd frame holds fewer bytes than it declares");
  if (hasher.finalize() != digest) return bad("does not match its digest");
  return {};
}

}  // namespace mithril::remote
