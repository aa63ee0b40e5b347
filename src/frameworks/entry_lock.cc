#include "frameworks/entry_lock.h"

#include "frameworks/registry.h"

namespace mithril::frameworks {

Result<std::optional<EntryLock>> EntryLock::acquire(Env& env, const std::string& fw_dir, const std::string& entry_rel,
                                                    std::string_view kind) {
  const std::string_view framework = std::string_view(fw_dir).substr(fw_dir.find_last_of('/') + 1);
  const auto file = adapter_for(framework).lock_file(entry_rel, kind);
  if (!file) return std::optional<EntryLock>(EntryLock(env, -1));
  const std::string path = fw_dir + "/" + *file;
  MITHRIL_TRY(make_dirs(env, path.substr(0, path.find_last_of('/'))));
  MITHRIL_ASSIGN(const int fd, env.try_lock_file(path));
  if (fd < 0) return std::optional<EntryLock>();  // busy
  return std::optional<EntryLock>(EntryLock(env, fd));
}

EntryLock& EntryLock::operator=(EntryLock&& other) noexcept {
  if (this != &other) {
    release();
    m_env = other.m_env;
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

void EntryLock::release() {
  if (m_fd >= 0) (void)m_env->close(m_fd);
  m_fd = -1;
}

}  // namespace mithril::frameworks
