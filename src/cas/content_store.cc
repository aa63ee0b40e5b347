#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include <mithril/content_store.h>

#include "cas/object_io.h"
#include "util/format.h"

namespace mithril {
namespace {

constexpr std::string_view kZstSuffix = ".zst";

std::string shard_dir(const std::string& root, const std::string& hex) {
  return root + "/" + hex.substr(0, 2) + "/" + hex.substr(2, 2);
}

// Parses "<64 hex>" or "<64 hex>.zst".
std::optional<std::pair<Digest, bool>> parse_object_name(std::string_view name) {
  bool compressed = false;
  if (name.size() == 64 + kZstSuffix.size() && name.ends_with(kZstSuffix)) {
    compressed = true;
    name.remove_suffix(kZstSuffix.size());
  }
  // Names we write are lowercase; anything else is stray.
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto d = Digest::from_hex(name);
  if (!d) return std::nullopt;
  return std::make_pair(*d, compressed);
}

// Closes `fd` when leaving scope.
class FdGuard {
 public:
  FdGuard(Env& env, int fd) : m_env(env), m_fd(fd) {}
  ~FdGuard() {
    if (m_fd >= 0) (void)m_env.close(m_fd);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  Result<void> close() {
    const int fd = m_fd;
    m_fd = -1;
    return m_env.close(fd);
  }

 private:
  Env& m_env;
  int m_fd;
};

}  // namespace

// ---- StagedObject ---------------------------------------------------------

StagedObject::StagedObject(StagedObject&& other) noexcept
    : m_env(other.m_env), m_temp_path(std::move(other.m_temp_path)), m_info(other.m_info) {
  other.m_temp_path.clear();
}

StagedObject& StagedObject::operator=(StagedObject&& other) noexcept {
  if (this != &other) {
    if (!m_temp_path.empty()) (void)m_env->unlink(m_temp_path);
    m_env = other.m_env;
    m_temp_path = std::move(other.m_temp_path);
    m_info = other.m_info;
    other.m_temp_path.clear();
  }
  return *this;
}

StagedObject::~StagedObject() {
  if (!m_temp_path.empty()) (void)m_env->unlink(m_temp_path);
}

// ---- ContentStore ---------------------------------------------------------

Result<std::unique_ptr<ContentStore>> ContentStore::open(std::string dir, StoreOptions options,
                                                         Env& env) {
  if (options.compression_level < 1 || options.compression_level > 19) {
    return fail(ErrorCode::kInvalidArgument, "compression level must be 1..19");
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  MITHRIL_TRY(options.fsync ? make_dirs_durable(env, dir + "/tmp") : make_dirs(env, dir + "/tmp"));
  for (const std::string& d : {dir, dir + "/tmp"}) {
    MITHRIL_ASSIGN(const auto st, env.lstat(d));
    if (!st || !st->is_dir()) return fail(ErrorCode::kInvalidArgument, d + " is a symlink or not a directory");
  }
  return std::unique_ptr<ContentStore>(new ContentStore(std::move(dir), options, env));
}

std::string ContentStore::path_of(const Digest& digest, bool compressed) const {
  const std::string hex = digest.to_hex();
  return shard_dir(m_dir, hex) + "/" + hex + (compressed ? std::string(kZstSuffix) : "");
}

Result<int> ContentStore::open_temp(std::string* path) {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t salt = std::random_device{}();
  *path = m_dir + "/tmp/put." + std::to_string(::getpid()) + "." + std::to_string(salt & 0xffffff) +
          "." + std::to_string(counter.fetch_add(1));
  return m_env->open(*path, O_WRONLY | O_CREAT | O_EXCL, 0600);
}

// Writes either `data` (in_fd < 0) or everything read from `in_fd` into a
// new temp file, hashing (and compressing) on the way.
Result<StagedObject> ContentStore::stage_stream(int in_fd, std::string_view data, bool compress,
                                                std::optional<std::uint64_t> size) {
  StagedObject staged;
  staged.m_env = m_env;
  MITHRIL_ASSIGN(const int fd, open_temp(&staged.m_temp_path));
  FdGuard guard(*m_env, fd);
  detail::ObjectWriter writer(*m_env, fd, compress ? m_options.compression_level : 0, size);
  const auto too_large = [&] {
    return fail(ErrorCode::kNoSpace, detail::concat("larger than the cache budget (", std::to_string(m_options.max_object_size),
                                                    " bytes); not stored"));
  };
  if (in_fd < 0) {
    if (data.size() > m_options.max_object_size) return too_large();
    MITHRIL_TRY(writer.write(data));
  } else {
    std::size_t cap = 0;
    char* buf = detail::io_buffer(&cap);
    for (;;) {
      MITHRIL_ASSIGN(const std::size_t n, m_env->read(in_fd, buf, cap));
      if (n == 0) break;
      if (writer.bytes_in() + n > m_options.max_object_size) return too_large();
      MITHRIL_TRY(writer.write(std::string_view(buf, n)));
    }
  }
  MITHRIL_ASSIGN(staged.m_info.digest, writer.finish());
  if (m_options.fsync) MITHRIL_TRY(m_env->fsync(fd));
  MITHRIL_TRY(guard.close());
  staged.m_info.size = writer.bytes_in();
  staged.m_info.stored_size = writer.bytes_out();
  staged.m_info.compressed = compress;
  return staged;
}

Result<StagedObject> ContentStore::stage_bytes(std::string_view data, bool allow_compression) {
  return stage_stream(-1, data, m_options.compress && allow_compression, data.size());
}

Result<StagedObject> ContentStore::stage_file(const std::string& path) {
  MITHRIL_ASSIGN(const auto st, m_env->stat(path));
  if (st && st->is_dir()) return fail(ErrorCode::kInvalidArgument, path + " is a directory");
  MITHRIL_ASSIGN(const int in_fd, m_env->open(path, O_RDONLY, 0));
  FdGuard in_guard(*m_env, in_fd);
  return stage_stream(in_fd, {}, m_options.compress, st ? std::optional<std::uint64_t>(st->size) : std::nullopt);
}

Result<ObjectInfo> ContentStore::publish(StagedObject&& staged) {
  StagedObject obj = std::move(staged);
  ObjectInfo info = obj.m_info;
  MITHRIL_ASSIGN(const auto existing, stat(info.digest));
  if (existing) {
    info = *existing;
    info.existed = true;
    return info;  // `obj` unlinks its temp file
  }
  const std::string final_path = path_of(info.digest, info.compressed);
  MITHRIL_TRY(lstat_beneath(*m_env, m_dir, final_path));  // never renamed through a symlinked shard
  auto renamed = m_env->rename(obj.m_temp_path, final_path);
  if (!renamed && renamed.error().sys_errno == ENOENT) {
    // Shard directories are created on first use.
    const std::string shard = final_path.substr(0, final_path.find_last_of('/'));
    MITHRIL_TRY(m_options.fsync ? make_dirs_durable(*m_env, shard) : make_dirs(*m_env, shard));
    renamed = m_env->rename(obj.m_temp_path, final_path);
  }
  MITHRIL_TRY(renamed);
  obj.m_temp_path.clear();
  if (m_options.fsync) MITHRIL_TRY(fsync_dir(*m_env, final_path.substr(0, final_path.find_last_of('/'))));
  return info;
}

Result<ObjectInfo> ContentStore::put_bytes(std::string_view data) {
  MITHRIL_ASSIGN(auto staged, stage_bytes(data));
  return publish(std::move(staged));
}

Result<ObjectInfo> ContentStore::put_file(const std::string& path) {
  MITHRIL_ASSIGN(auto staged, stage_file(path));
  return publish(std::move(staged));
}

Result<std::optional<FileStat>> ContentStore::lstat_object(const Digest& digest, bool compressed) {
  auto st = lstat_beneath(*m_env, m_dir, path_of(digest, compressed));
  if (!st && st.error().code == ErrorCode::kCorruption) return std::optional<FileStat>{};  // a symlinked shard
  return st;
}

Result<std::optional<ObjectInfo>> ContentStore::stat(const Digest& digest) {
  for (const bool compressed : {false, true}) {
    MITHRIL_ASSIGN(const auto st, lstat_object(digest, compressed));
    if (st) {
      ObjectInfo info;
      info.digest = digest;
      info.stored_size = st->size;
      info.size = compressed ? 0 : st->size;  // unknown without reading the frame
      info.compressed = compressed;
      info.mtime_ns = st->mtime_ns;
      return std::optional<ObjectInfo>(info);
    }
  }
  return std::optional<ObjectInfo>{};
}

// Opens the object in whichever form exists, only from a real shard
// directory and only a regular file (never following a symlink, never
// waiting on a FIFO). fd -1: absent, or `not_regular` when something else
// sits in its place.
Result<ContentStore::Opened> ContentStore::open_object(const Digest& digest) {
  for (const bool compressed : {false, true}) {
    MITHRIL_ASSIGN(const auto st, lstat_object(digest, compressed));
    if (!st) continue;
    auto fd = open_regular(*m_env, path_of(digest, compressed));
    if (!fd && fd.error().code == ErrorCode::kCorruption) return Opened{-1, compressed, true};
    if (!fd) return std::unexpected(fd.error());
    const std::optional<int>& opened = *fd;
    if (opened) return Opened{*opened, compressed, false};
  }
  return Opened{};
}

// An object whose place holds a symlink, FIFO or device: quarantined.
Result<void> ContentStore::refuse_not_regular(const Digest& digest) {
  (void)quarantine(digest);
  return fail(ErrorCode::kCorruption, "object " + digest.to_hex() + " is not a regular file; quarantined");
}

Result<std::optional<std::string>> ContentStore::get(const Digest& digest) {
  MITHRIL_ASSIGN(const Opened opened, open_object(digest));
  if (opened.not_regular) return std::unexpected(refuse_not_regular(digest).error());
  if (opened.fd < 0) return std::optional<std::string>{};
  FdGuard guard(*m_env, opened.fd);
  std::string out;
  Result<Digest> got = Digest();
  if (!opened.compressed) {
    // Uncompressed: read straight into the result (one copy), then hash.
    // Hashed chunk by chunk right after each read, while the bytes are still
    // in the CPU cache, and without zero-filling the buffer first.
    MITHRIL_ASSIGN(const FileStat st, m_env->fstat(opened.fd));
    Hasher hasher;
    Result<void> io;
    out.resize_and_overwrite(st.size, [&](char* p, std::size_t size) {
      std::size_t done = 0;
      while (done < size) {
        auto n = m_env->read(opened.fd, p + done, std::min<std::size_t>(size - done, 1 << 20));
        if (!n) {
          io = std::unexpected(n.error());
          break;
        }
        if (*n == 0) break;  // shorter if truncated meanwhile: the digest check catches it
        hasher.update(std::string_view(p + done, *n));
        done += *n;
      }
      return done;
    });
    MITHRIL_TRY(io);
    got = hasher.finalize();
  } else {
    got = detail::read_object(*m_env, opened.fd, true, [&](std::string_view chunk) -> Result<void> {
      out.append(chunk);
      return {};
    });
  }
  (void)guard.close();
  const bool bad = (!got && got.error().code == ErrorCode::kCorruption) ||
                   (got && m_options.verify_on_read && *got != digest);
  if (bad) {
    (void)quarantine(digest);
    return fail(ErrorCode::kCorruption, "object " + digest.to_hex() + " does not match its digest; quarantined");
  }
  MITHRIL_TRY(got);
  return std::optional<std::string>(std::move(out));
}

Result<bool> ContentStore::get_to_file(const Digest& digest, const std::string& dest) {
  MITHRIL_ASSIGN(const Opened opened, open_object(digest));
  if (opened.not_regular) return std::unexpected(refuse_not_regular(digest).error());
  if (opened.fd < 0) return false;
  FdGuard guard(*m_env, opened.fd);
  auto written = write_output_file(*m_env, dest, [&](int out_fd) -> Result<void> {
    MITHRIL_ASSIGN(const Digest got, detail::read_object(*m_env, opened.fd, opened.compressed, [&](std::string_view chunk) {
      return write_all(*m_env, out_fd, chunk.data(), chunk.size());
    }));
    if (got != digest) return fail(ErrorCode::kCorruption, "digest mismatch");
    return {};
  });
  if (!written && written.error().code == ErrorCode::kCorruption) {
    (void)quarantine(digest);
    return fail(ErrorCode::kCorruption, "object " + digest.to_hex() + " does not match its digest; quarantined");
  }
  if (!written) return std::unexpected(written.error());
  return true;
}

Result<bool> ContentStore::remove(const Digest& digest) {
  bool any = false;
  for (const bool compressed : {false, true}) {
    MITHRIL_ASSIGN(const auto st, lstat_object(digest, compressed));
    if (!st || st->is_dir()) continue;  // absent, behind a symlinked shard, or a directory: not ours to delete
    MITHRIL_ASSIGN(const bool gone, m_env->unlink(path_of(digest, compressed)));
    any = any || gone;
  }
  return any;
}

Result<bool> ContentStore::verify(const Digest& digest, bool quarantine_bad) {
  MITHRIL_ASSIGN(const Opened opened, open_object(digest));
  if (opened.not_regular) {
    if (quarantine_bad) MITHRIL_TRY(quarantine(digest));
    return false;
  }
  if (opened.fd < 0) return true;
  FdGuard guard(*m_env, opened.fd);
  auto got = detail::read_object(*m_env, opened.fd, opened.compressed,
                                 [](std::string_view) -> Result<void> { return {}; });
  (void)guard.close();
  if (got && *got == digest) return true;
  if (!got && got.error().code != ErrorCode::kCorruption) return std::unexpected(got.error());
  if (quarantine_bad) MITHRIL_TRY(quarantine(digest));
  return false;
}

Result<void> ContentStore::quarantine(const Digest& digest) {
  const std::string qdir = quarantine_dir();
  MITHRIL_TRY(make_dirs(*m_env, qdir));
  for (const bool compressed : {false, true}) {
    MITHRIL_ASSIGN(const auto st, lstat_object(digest, compressed));
    if (!st) continue;  // absent, or behind a symlinked shard: never renamed through it
    const std::string from = path_of(digest, compressed);
    const std::string name = from.substr(from.find_last_of('/') + 1);
    auto r = m_env->rename(from, detail::concat(qdir, "/", name, ".", std::to_string(m_env->now_ns())));
    if (!r && r.error().sys_errno != ENOENT) return std::unexpected(r.error());
  }
  return {};
}

Result<void> ContentStore::for_each(const std::function<bool(const ObjectInfo&)>& fn,
                                    const std::function<void(const std::string&)>& on_stray) {
  MITHRIL_ASSIGN(const auto level1, m_env->list_dir(m_dir));
  for (const auto& a : level1) {
    if (!a.is_dir || a.name.size() != 2) continue;  // tmp/ and foreign files
    const std::string da = m_dir + "/" + a.name;
    MITHRIL_ASSIGN(const auto level2, m_env->list_dir(da));
    for (const auto& b : level2) {
      if (!b.is_dir) continue;
      const std::string db = da + "/" + b.name;
      MITHRIL_ASSIGN(const auto files, m_env->list_dir(db));
      for (const auto& f : files) {
        const auto parsed = parse_object_name(f.name);
        const std::string full = db + "/" + f.name;
        const bool in_right_shard = parsed && f.name.substr(0, 2) == a.name && f.name.substr(2, 2) == b.name;
        if (!in_right_shard || f.is_dir) {
          if (on_stray) on_stray(full);
          continue;
        }
        MITHRIL_ASSIGN(const auto st, m_env->lstat(full));
        if (!st) continue;  // removed meanwhile
        if (!st->is_regular()) {  // a symlink, FIFO or device: never read or listed as an object
          if (on_stray) on_stray(full);
          continue;
        }
        ObjectInfo info;
        info.digest = parsed->first;
        info.compressed = parsed->second;
        info.stored_size = st->size;
        info.size = info.compressed ? 0 : st->size;
        info.mtime_ns = st->mtime_ns;
        if (!fn(info)) return {};
      }
    }
  }
  return {};
}

Result<std::size_t> ContentStore::remove_stale_temp_files(std::int64_t min_age_ns) {
  const std::string tmp_dir = m_dir + "/tmp";
  MITHRIL_ASSIGN(const auto dir_st, m_env->lstat(tmp_dir));
  if (!dir_st || !dir_st->is_dir()) return 0;  // a symlink: never listed or cleaned through
  MITHRIL_ASSIGN(const auto files, m_env->list_dir(tmp_dir));
  const std::int64_t now = m_env->now_ns();
  std::size_t removed = 0;
  for (const auto& f : files) {
    const std::string path = tmp_dir + "/" + f.name;
    MITHRIL_ASSIGN(const auto st, m_env->lstat(path));
    if (!st || !st->is_regular() || now - st->mtime_ns < min_age_ns) continue;  // only our own temp files
    MITHRIL_ASSIGN(const bool gone, m_env->unlink(path));
    removed += gone ? 1 : 0;
  }
  return removed;
}

}  // namespace mithril
