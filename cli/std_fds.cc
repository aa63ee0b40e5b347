#include "std_fds.h"

#include <fcntl.h>
#include <unistd.h>

namespace mithril::cli {
namespace {

bool& stdin_closed() {
  static bool closed = false;
  return closed;
}

}  // namespace

void guard_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) continue;
    if (fd == STDIN_FILENO) stdin_closed() = true;
    // open() returns the lowest free number: this slot. Read-only even for
    // stdout and stderr: a write then fails (EBADF) and is reported, like
    // any other lost output, instead of vanishing.
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0 && null_fd != fd) (void)::close(null_fd);
  }
}

bool stdin_was_closed() { return stdin_closed(); }

}  // namespace mithril::cli
