// FileWatcher: records which files under some directories are opened while
// it runs (Linux inotify, IN_OPEN), following new subdirectories. Used by
// RunSession (src/session/) to learn which framework entries a run used (its hits), since
// PyTorch reads its cache files directly. Monitoring only: it never touches
// the files, so it lives outside the Env layer. Private to src/.
//
// Thread safety: start()/stop() from one thread; the watcher runs its own.
#pragma once

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace mithril {

class FileWatcher {
 public:
  FileWatcher() = default;
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Starts watching `dirs` (recursively). Returns false when inotify is
  // unavailable (the caller then simply learns nothing about accesses).
  bool start(const std::vector<std::string>& dirs);
  struct Activity {
    std::set<std::string> opened;   // files opened (read or written)
    std::set<std::string> changed;  // files created, written, renamed or deleted
    bool complete = true;           // false if events were lost (queue overflow)
    // Wall-clock ns (system_clock): the first event of any kind, and the last
    // completed write (close after writing, or rename into place) per file.
    std::int64_t first_event_ns = 0;
    std::unordered_map<std::string, std::int64_t> written_at_ns;
  };
  // Stops and returns what happened under the directories since start().
  Activity stop();

 private:
  // Watches `dir` and its subdirectories. With `report_files`, the files
  // already inside count as changed (they may have been written before the
  // watch existed: the race between mkdir and our inotify_add_watch).
  void add_tree(const std::string& dir, bool report_files);
  void run();
  void drain();

  int m_fd = -1;
  int m_wake_fd = -1;  // eventfd: stop() wakes the thread
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::unordered_map<int, std::string> m_dirs;  // watch descriptor -> path
  Activity m_activity;
};

}  // namespace mithril
