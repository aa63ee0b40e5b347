// FileWatcher: records which files under some directories are opened while
// it runs (Linux inotify, IN_OPEN), following new subdirectories. Used by
// `mithril run` to learn which framework entries a run used (its hits), since
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
  // Stops and returns the absolute paths of files opened since start().
  std::set<std::string> stop();

 private:
  void add_tree(const std::string& dir);
  void run();
  void drain();

  int m_fd = -1;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::unordered_map<int, std::string> m_dirs;  // watch descriptor -> path
  std::set<std::string> m_opened;
};

}  // namespace mithril
