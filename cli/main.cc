#include <cstring>

#include <mithril/format.h>

#include "commands.h"
#include "std_fds.h"

// The exit code is the command's, unless its output did not reach stdout
// (a full disk, /dev/full): then 1, with one error line.
int main(int argc, char** argv) {
  mithril::cli::guard_std_fds();
  const int rc = mithril::cli::run_cli(argc, argv);
  if (const int err = mithril::detail::finish_stdout(); err != 0) {
    mithril::detail::print_to(stderr, "mithril: error: writing to standard output: %s\n", std::strerror(err));
    return rc != 0 ? rc : 1;
  }
  return rc;
}
