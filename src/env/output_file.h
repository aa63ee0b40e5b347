// Writing a file the user named (`get -o`, `pack`, `report -o`): what is at
// the path decides how, so mithril never replaces what is not its to replace.
#pragma once

#include <functional>
#include <string>

#include <mithril/env.h>

namespace mithril {

// Writes the output file `path`; `fill` writes the content to the descriptor
// it is given (and may be called at most once).
//  - Nothing at `path`, or a regular file: the content goes to a temp file
//    beside it, which is renamed over `path` only when complete (a reader
//    never sees half a file; on error nothing is left behind). Mode `mode`
//    less the umask (0666: like any file a user's command creates).
//  - A character device (/dev/null, a terminal) or a FIFO: written through,
//    never replaced, like a shell's `>`.
//  - A symbolic link, a directory, a block device or a socket: refused with
//    kInvalidArgument before anything is written (mithril does not write
//    through links: name the target itself).
// Thread safety: as safe as `env`; temp names are unique per process + call.
Result<void> write_output_file(Env& env, const std::string& path, const std::function<Result<void>(int fd)>& fill,
                               unsigned mode = 0666);

}  // namespace mithril
