// `mithril run`, `mithril env` and `mithril demo`: the framework hooks.
// The run cycle itself (directories, trust, check, pull, watch, record,
// push) is RunSession (<mithril/session.h>), shared with Python's init();
// this file keeps what only a CLI wrapping a child process needs: spawning
// it, forwarding signals, the subreaper that waits for its descendants, exit
// codes, and printing.
#pragma once

#include <string>
#include <vector>

#include <mithril/config.h>

namespace mithril::cli {

// Runs `command` with the framework cache variables pointing into the root:
// integrity check before, recording + size budget after. Returns the
// command's exit code (128 + signal if it was killed). The cache never fails
// the command: its own errors become warnings. With `config.remote` set, it
// pulls before the command and pushes after it, each bounded by
// remote_deadline_s; remote problems are warnings and counters.
int run_with_hooks(const CacheConfig& config, const std::vector<std::string>& command, bool quiet);
// Prints `export VAR='dir'` lines for a shell.
int print_env(const CacheConfig& config);
// Cold then warm torch.compile in fresh processes; prints a table.
int run_demo(const CacheConfig& config, const std::string& python);

}  // namespace mithril::cli
