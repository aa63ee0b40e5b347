#include "hooks/file_watch.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include "util/format.h"

namespace mithril {

FileWatcher::~FileWatcher() { (void)stop(); }

bool FileWatcher::start(const std::vector<std::string>& dirs) {
  m_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (m_fd < 0) return false;
  m_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // stop() wakes the thread at once
  for (const auto& d : dirs) add_tree(d, false);
  m_thread = std::thread([this] { run(); });
  return true;
}

void FileWatcher::add_tree(const std::string& dir, bool report_files) {
  constexpr std::uint32_t kMask =
      IN_OPEN | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_ONLYDIR;
  const int wd = inotify_add_watch(m_fd, dir.c_str(), kMask);
  if (wd < 0) {
    m_activity.complete = false;  // e.g. out of watches: fall back to a full scan
    return;
  }
  m_dirs[wd] = dir;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR) {
      add_tree(detail::concat(dir, "/", name), report_files);
    } else if (report_files) {
      // Written before our watch existed: its mtime says when.
      const std::string path = detail::concat(dir, "/", name);
      m_activity.changed.insert(path);
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0) {
        m_activity.written_at_ns[path] = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                                         st.st_mtim.tv_nsec;
      }
    }
  }
  closedir(d);
}

void FileWatcher::drain() {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = read(m_fd, buf, sizeof buf);
    if (n <= 0) return;
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) m_activity.complete = false;
      const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count();
      if (m_activity.first_event_ns == 0) m_activity.first_event_ns = now;  // also a look into a watched dir
      auto it = m_dirs.find(ev->wd);
      if (it == m_dirs.end() || ev->len == 0) continue;
      const std::string path = it->second + "/" + ev->name;
      if (ev->mask & IN_ISDIR) {
        if (ev->mask & (IN_CREATE | IN_MOVED_TO)) add_tree(path, true);
        continue;
      }
      if (ev->mask & IN_OPEN) m_activity.opened.insert(path);
      if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE)) {
        m_activity.changed.insert(path);
      }
      if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) m_activity.written_at_ns[path] = now;
    }
  }
}

void FileWatcher::run() {
  pollfd pfds[2] = {{m_fd, POLLIN, 0}, {m_wake_fd, POLLIN, 0}};
  const int n = m_wake_fd >= 0 ? 2 : 1;
  while (!m_stop.load()) {
    // Without the eventfd (never seen), the 100 ms timeout bounds stop()'s wait.
    if (poll(pfds, n, m_wake_fd >= 0 ? -1 : 100) > 0 && (pfds[0].revents & POLLIN) != 0) drain();
  }
  drain();
}

FileWatcher::Activity FileWatcher::stop() {
  if (m_fd < 0) {
    Activity unknown;
    unknown.complete = false;
    return unknown;
  }
  m_stop = true;
  if (m_wake_fd >= 0) {
    const std::uint64_t one = 1;
    (void)!write(m_wake_fd, &one, sizeof one);
  }
  if (m_thread.joinable()) m_thread.join();
  close(m_fd);
  m_fd = -1;
  if (m_wake_fd >= 0) close(m_wake_fd);
  m_wake_fd = -1;
  return std::move(m_activity);
}

}  // namespace mithril
