// `mithril push`, `mithril pull` / `prefetch`, and the remote steps of
// `mithril run --remote` (docs/remote.md).
#pragma once

#include <string>

#include <mithril/cache.h>
#include <mithril/config.h>
#include <mithril/format.h>
#include <mithril/remote.h>
#include <mithril/session.h>

namespace mithril::cli {

// The sync options a configuration asks for; `bounded` applies the
// remote_deadline_s bound (for `mithril run`).
SyncOptions sync_options(const CacheConfig& config, bool bounded);
// The report as JSON (the one-line summary is sync_summary() of <mithril/session.h>).
std::string sync_json(const SyncReport& r);
// Prints the summary line and, when there was one, the first problem to
// stderr, each line starting with `prefix` ("mithril: ", "mithril: warning: ").
void print_sync_summary(const char* prefix, const char* verb, const std::string& url, const SyncReport& r);

// Exit codes: 0 done (remote problems counted and reported, exit 0 unless
// --strict), 1 the command could not run (bad URL, no credentials, cache
// unavailable), 3 with --strict when any remote operation failed.
int cmd_push(const CacheConfig& config, const std::string& url, const std::string& tag, bool json, bool strict);
int cmd_pull(const CacheConfig& config, const std::string& url, const std::string& tag, bool json, bool strict);

}  // namespace mithril::cli
