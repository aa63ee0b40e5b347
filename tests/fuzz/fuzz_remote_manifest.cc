// Remote entry manifests and tags: never crash; accepted manifests only
// name safe paths within the budget, and signature checks hold. The input is
// also fed to the streaming frame decoder in uneven pieces (a remote's zstd
// frame): it never crashes and never accepts what its checks refuse.
#include <fcntl.h>

#include <mithril/entry.h>

#include "fuzz_util.h"
#include "remote/frame_stream.h"
#include "remote/remote_layout.h"

namespace {

void decode_as_frame(std::string_view frame) {
  static const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  mithril::remote::FrameDecoder decoder(mithril::Env::posix(), devnull, 1 << 16, mithril::blake3(""));
  std::size_t piece = 1;
  for (std::size_t off = 0; off < frame.size(); off += piece, piece = piece * 3 % 1000 + 1) {
    if (!decoder.feed(frame.substr(off, piece))) return;
  }
  // 64 KiB with the digest of nothing: no frame can honestly be both.
  FUZZ_CHECK(!decoder.finish().has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = as_text(data, size);
  constexpr std::uint64_t kBudget = 1 << 20;
  auto m = mithril::remote::decode_manifest(text, "cpu-AVX2", "", kBudget);
  if (m) {
    std::uint64_t total = 0;
    FUZZ_CHECK(mithril::validate_entry_path(m->entry.name).has_value());
    for (const auto& f : m->entry.files) {
      FUZZ_CHECK(mithril::validate_entry_path(f.path).has_value());
      total += f.size;
    }
    FUZZ_CHECK(total <= kBudget);
    // Signing what was accepted, then checking with the same key, accepts it.
    auto signed_back = mithril::remote::decode_manifest(mithril::remote::encode_manifest(*m, "k"), "cpu-AVX2", "k",
                                                        kBudget);
    FUZZ_CHECK(signed_back.has_value());
  }
  (void)mithril::remote::decode_manifest(text, "cpu-AVX2", "key", kBudget);
  (void)mithril::remote::decode_tag(text);
  decode_as_frame(text);
  return 0;
}
