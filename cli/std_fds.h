// Standard descriptors a parent left closed. A process started with fd 0, 1
// or 2 closed would hand that number to the next file it opens (the index
// database), and a later print would write into it. guard_std_fds() puts
// /dev/null, read-only, in each closed slot first (so output written there
// fails and is reported) and remembers whether stdin was closed.
#pragma once

namespace mithril::cli {

// Call first thing in main(), before anything opens a file. Not thread-safe
// (single-threaded start-up).
void guard_std_fds();
// True when standard input was closed at start (`mithril put - <&-`).
bool stdin_was_closed();

}  // namespace mithril::cli
