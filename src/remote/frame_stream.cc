#include "remote/frame_stream.h"

#include <zstd.h>

#include <vector>

namespace mithril::remote {
namespace {

constexpr int kWindowLogMax = 24;  // 16 MiB: level 19 uses 8 MiB; ultra levels are refused
constexpr std::size_t kPiece = 128 << 10;
constexpr std::size_t kHeaderMax = 18;  // ZSTD_FRAMEHEADERSIZE_MAX

std::unexpected<Error> bad(const std::string& why) { return fail(ErrorCode::kCorruption, why); }

}  // namespace

struct FrameDecoder::State {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  Hasher hasher;
  std::string header;  // the first bytes, until the frame header can be read
  bool header_checked = false;
  std::vector<char> out = std::vector<char>(kPiece);
  ~State() { ZSTD_freeDCtx(dctx); }
};

std::uint64_t max_frame_bytes(std::uint64_t size) {
  // ZSTD_COMPRESSBOUND plus room for a frame header and checksum.
  return size + (size >> 8) + (128 << 10);
}

FrameDecoder::FrameDecoder(Env& env, int fd, std::uint64_t size, const Digest& digest)
    : m_state(std::make_unique<State>()), m_env(env), m_fd(fd), m_size(size), m_digest(digest) {
  if (m_state->dctx != nullptr) ZSTD_DCtx_setParameter(m_state->dctx, ZSTD_d_windowLogMax, kWindowLogMax);
}

FrameDecoder::~FrameDecoder() = default;

// The declared content size, read once the longest header has arrived (or
// at the end, for a shorter frame). Decoding goes on meanwhile: its output
// is bounded by `m_size` anyway.
Result<void> FrameDecoder::check_header(std::string_view piece, bool last) {
  State& s = *m_state;
  s.header.append(piece.substr(0, kHeaderMax - std::min(s.header.size(), kHeaderMax)));
  if (s.header.size() < kHeaderMax && !last) return {};
  s.header_checked = true;
  if (ZSTD_getFrameContentSize(s.header.data(), s.header.size()) != m_size) {
    return bad("its zstd frame does not declare the manifest's size");
  }
  return {};
}

Result<void> FrameDecoder::feed(std::string_view piece) {
  auto ok = feed_checked(piece);
  m_refused = m_refused || (!ok && ok.error().code == ErrorCode::kCorruption);
  return ok;
}

Result<void> FrameDecoder::finish() {
  auto ok = finish_checked();
  m_refused = m_refused || (!ok && ok.error().code == ErrorCode::kCorruption);
  return ok;
}

Result<void> FrameDecoder::feed_checked(std::string_view piece) {
  State& s = *m_state;
  if (s.dctx == nullptr) return fail(ErrorCode::kInternal, "zstd: out of memory");
  if (!s.header_checked) MITHRIL_TRY(check_header(piece, false));
  ZSTD_inBuffer in{piece.data(), piece.size(), 0};
  while (in.pos < in.size || !m_ended) {
    if (m_ended) return bad("its zstd frame is followed by other bytes");
    ZSTD_outBuffer out{s.out.data(), s.out.size(), 0};
    const std::size_t more = ZSTD_decompressStream(s.dctx, &out, &in);
    if (ZSTD_isError(more)) return bad(std::string("its zstd frame is bad: ") + ZSTD_getErrorName(more));
    m_written += out.pos;
    if (m_written > m_size) return bad("its zstd frame holds more than it declares");
    s.hasher.update(std::string_view(s.out.data(), out.pos));
    if (auto ok = write_all(m_env, m_fd, s.out.data(), out.pos); !ok) {
      m_local_failure = true;
      return ok;
    }
    m_ended = more == 0;
    if (!m_ended && in.pos == in.size && out.pos < out.size) return {};  // wants the next piece
  }
  return {};
}

Result<void> FrameDecoder::finish_checked() {
  if (!m_state->header_checked) MITHRIL_TRY(check_header({}, true));
  if (!m_ended) return bad("its zstd frame is truncated");
  if (m_written != m_size) return bad("its zstd frame holds fewer bytes than it declares");
  if (m_state->hasher.finalize() != m_digest) return bad("does not match its digest");
  return {};
}

}  // namespace mithril::remote
