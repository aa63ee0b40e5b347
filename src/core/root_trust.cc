// Whether a cache root may be trusted: like ssh with a loose ~/.ssh, a root
// another user owns or others can write is refused (they could plant objects,
// symlinks or kernels that torch would load). Contract in mithril/cache.h.
#include <cstdio>
#include <string>

#include <mithril/cache.h>

namespace mithril {
namespace {

constexpr std::uint32_t kGroupWrite = 0020;
constexpr std::uint32_t kOtherWrite = 0002;

Result<void> refused(const std::string& root, const std::string& why, const std::string& fix) {
  return fail(ErrorCode::kInvalidArgument, "refusing cache root " + root + ": " + why + "; " + fix);
}

std::string octal(std::uint32_t mode) {
  char buf[8];
  (void)std::snprintf(buf, sizeof buf, "%04o", mode & 07777U);
  return buf;
}

// One directory of the root: a real directory (`follow` only for the root
// path itself, which may be a symlink), owned by us, not writable by others.
Result<void> check_dir(Env& env, const std::string& root, const std::string& path, bool follow, bool shared) {
  MITHRIL_ASSIGN(const auto st, follow ? env.stat(path) : env.lstat(path));
  if (!st) return {};  // created later, private
  if (!st->is_dir()) return refused(root, path + " is a symlink or not a directory", "remove it (mithril recreates it)");
  const std::uint32_t uid = env.effective_uid();
  if (!shared && st->uid != uid) {
    return refused(root, path + " is owned by uid " + std::to_string(st->uid) + ", not by you (uid " +
                             std::to_string(uid) + ")",
                   "chown it, or set MITHRIL_ALLOW_SHARED_ROOT=1 for a deliberately shared root");
  }
  const std::uint32_t loose = shared ? kOtherWrite : (kGroupWrite | kOtherWrite);
  if ((st->mode & loose) == 0) return {};
  const bool others = (st->mode & kOtherWrite) != 0;
  return refused(root, path + " is writable by " + (others ? "others" : "its group") + " (mode " + octal(st->mode) + ")",
                 others ? "chmod go-w it" : "chmod g-w it, or set MITHRIL_ALLOW_SHARED_ROOT=1 for a shared root");
}

}  // namespace

Result<void> check_root_trusted(Env& env, const std::string& root, bool allow_shared) {
  MITHRIL_TRY(check_dir(env, root, root, /*follow=*/true, allow_shared));
  for (const char* sub : {"/objects", "/objects/tmp", "/quarantine", "/quarantine/fw", "/fw"}) {
    MITHRIL_TRY(check_dir(env, root, root + sub, false, allow_shared));
  }
  MITHRIL_ASSIGN(const auto partitions, env.list_dir(root + "/fw"));
  for (const auto& p : partitions) {
    const std::string part = root + "/fw/" + p.name;
    MITHRIL_TRY(check_dir(env, root, part, false, allow_shared));
    if (!p.is_dir) continue;
    MITHRIL_ASSIGN(const auto frameworks, env.list_dir(part));
    for (const auto& f : frameworks) MITHRIL_TRY(check_dir(env, root, part + "/" + f.name, false, allow_shared));
  }
  return {};
}

}  // namespace mithril
