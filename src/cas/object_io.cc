#include "cas/object_io.h"

#include <fcntl.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_FRAMEHEADERSIZE_MAX
#include <zstd.h>

#include <string>
#include <vector>

namespace mithril::detail {
namespace {
constexpr std::size_t kChunk = 1 << 20;
}

ObjectWriter::ObjectWriter(Env& env, int fd, int level, std::optional<std::uint64_t> pledged_size)
    : m_env(env), m_fd(fd) {
  if (level > 0) {
    auto* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
    if (pledged_size) ZSTD_CCtx_setPledgedSrcSize(cctx, *pledged_size);
    m_cctx = cctx;
  }
}

ObjectWriter::~ObjectWriter() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(m_cctx)); }

Result<void> ObjectWriter::emit(std::string_view out) {
  m_out += out.size();
  return write_all(m_env, m_fd, out.data(), out.size());
}

Result<void> ObjectWriter::write(std::string_view data) {
  m_hasher.update(data);
  m_in += data.size();
  if (m_cctx == nullptr) return emit(data);
  auto* cctx = static_cast<ZSTD_CCtx*>(m_cctx);
  std::vector<char> buf(ZSTD_CStreamOutSize());
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    const std::size_t rc = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(rc)) return fail(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(rc));
    MITHRIL_TRY(emit(std::string_view(buf.data(), out.pos)));
  }
  return {};
}

Result<Digest> ObjectWriter::finish() {
  if (m_cctx != nullptr) {
    auto* cctx = static_cast<ZSTD_CCtx*>(m_cctx);
    std::vector<char> buf(ZSTD_CStreamOutSize());
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      ZSTD_outBuffer out{buf.data(), buf.size(), 0};
      const std::size_t left = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
      if (ZSTD_isError(left)) return fail(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(left));
      MITHRIL_TRY(emit(std::string_view(buf.data(), out.pos)));
      if (left == 0) break;
    }
  }
  return m_hasher.finalize();
}

namespace {
// One read buffer per thread: allocating (and zeroing) 1 MiB per object
// would cost more than reading a small object.
char* thread_buffer() {
  thread_local std::unique_ptr<char[]> buf(new char[kChunk]);
  return buf.get();
}
}  // namespace

char* io_buffer(std::size_t* size) {
  *size = kChunk;
  return thread_buffer();
}

Result<Digest> read_object(Env& env, int fd, bool compressed, const Sink& sink) {
  Hasher hasher;
  char* const buf = thread_buffer();  // kChunk bytes
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(nullptr, &ZSTD_freeDCtx);
  std::string out;
  std::size_t frame_state = 0;  // 0 = frame complete (or none started)
  bool any_input = false;
  if (compressed) {
    dctx.reset(ZSTD_createDCtx());
    out.resize(ZSTD_DStreamOutSize());
  }
  for (;;) {
    MITHRIL_ASSIGN(const std::size_t n, env.read(fd, buf, kChunk));
    if (n == 0) break;
    any_input = true;
    if (!compressed) {
      hasher.update(std::string_view(buf, n));
      MITHRIL_TRY(sink(std::string_view(buf, n)));
      continue;
    }
    ZSTD_inBuffer in{buf, n, 0};
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      const std::size_t in_before = in.pos;
      const std::size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
      if (ZSTD_isError(rc)) {
        return fail(ErrorCode::kCorruption, std::string("bad zstd data: ") + ZSTD_getErrorName(rc));
      }
      // rc == 0: a frame was completed and fully flushed. A later call that
      // makes no progress returns a hint for the next frame: ignore it.
      if (rc == 0 || o.pos > 0 || in.pos > in_before) frame_state = rc;
      hasher.update(std::string_view(out.data(), o.pos));
      MITHRIL_TRY(sink(std::string_view(out.data(), o.pos)));
      // Done with this input chunk once it is consumed and the decoder had
      // room to spare (a full output buffer may hide more pending output).
      if (in.pos == in.size && o.pos < o.size) break;
    }
  }
  if (compressed && (frame_state != 0 || !any_input)) {
    return fail(ErrorCode::kCorruption, "truncated zstd frame");
  }
  return hasher.finalize();
}

}  // namespace mithril::detail

namespace mithril::detail {

Result<std::optional<std::string>> read_prefix(Env& env, const std::string& path, std::size_t n) {
  MITHRIL_ASSIGN(const auto fd, open_regular(env, path));
  if (!fd) return std::optional<std::string>{};
  std::string out(n, '\0');
  std::size_t got = 0;
  Result<void> status;
  while (got < n) {
    auto r = env.read(*fd, out.data() + got, n - got);
    if (!r) {
      status = std::unexpected(r.error());
      break;
    }
    if (*r == 0) break;
    got += *r;
  }
  (void)env.close(*fd);
  MITHRIL_TRY(status);
  out.resize(got);
  return std::optional<std::string>(std::move(out));
}

Result<std::optional<std::uint64_t>> zstd_content_size(Env& env, const std::string& path) {
  MITHRIL_ASSIGN(const auto head, read_prefix(env, path, ZSTD_FRAMEHEADERSIZE_MAX));
  if (!head) return std::optional<std::uint64_t>{};
  const unsigned long long size = ZSTD_getFrameContentSize(head->data(), head->size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>(size);
}

}  // namespace mithril::detail

namespace mithril::detail {

Result<Digest> hash_file(Env& env, const std::string& path) {
  MITHRIL_ASSIGN(const auto fd, open_regular(env, path));
  if (!fd) return std::unexpected(error_from_errno(ENOENT, "open " + path));
  auto d = read_object(env, *fd, false, [](std::string_view) -> Result<void> { return {}; });
  (void)env.close(*fd);
  return d;
}

}  // namespace mithril::detail
