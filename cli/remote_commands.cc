#include "remote_commands.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include <mithril/format.h>
#include <mithril/hooks.h>

namespace mithril::cli {

SyncOptions sync_options(const CacheConfig& config, bool bounded) {
  SyncOptions o = sync_options_from(config, bounded);
  o.progress = isatty(STDERR_FILENO) != 0;
  return o;
}

void print_sync_summary(const char* prefix, const char* verb, const std::string& url, const SyncReport& r) {
  detail::print_to(stderr, "%s%s\n", prefix, sync_summary(verb, url, r).c_str());
  if (!r.first_problem.empty()) detail::print_to(stderr, "%sfirst problem: %s\n", prefix, r.first_problem.c_str());
}

std::string sync_json(const SyncReport& r) {
  nlohmann::ordered_json j{{"entries_local", r.entries_local},
                           {"entries_remote", r.entries_remote},
                           {"entries_transferred", r.entries_transferred},
                           {"entries_present", r.entries_present},
                           {"objects_transferred", r.objects_transferred},
                           {"objects_deduplicated", r.objects_deduplicated},
                           {"wire_bytes", r.wire_bytes},
                           {"logical_bytes", r.logical_bytes},
                           {"errors", r.errors},
                           {"timeouts", r.timeouts},
                           {"rejected", r.rejected},
                           {"skipped", r.skipped},
                           {"remote_gave_up", r.remote_gave_up},
                           {"first_problem", r.first_problem},
                           {"seconds", r.seconds}};
  return j.dump(2) + "\n";
}

namespace {

int finish(const char* verb, const std::string& url, Result<SyncReport> r, bool json, bool strict) {
  if (!r) {
    detail::print_to(stderr, "mithril: error: %s\n", r.error().to_string().c_str());
    return error_info(r.error().code).exit_code;
  }
  const std::string redacted = [&] {
    auto u = parse_remote_url(url);
    return u ? u->redacted : std::string("remote");
  }();
  if (json) detail::write_text(stdout, sync_json(*r));
  print_sync_summary("mithril: ", verb, redacted, *r);
  return strict && (r->errors + r->timeouts + r->rejected) > 0 ? 3 : 0;
}

}  // namespace

int cmd_push(const CacheConfig& config, const std::string& url, const std::string& tag, bool json, bool strict) {
  auto cache = Cache::open(config);
  if (!cache) return finish("push", url, std::unexpected(cache.error()), json, strict);
  const DeviceClass partition = detect_partition();
  // Records what is on disk; the history point is the push's.
  if (auto synced = (*cache)->sync_frameworks(partition, {}, HistoryKind::kNone); !synced) {
    return finish("push", url, std::unexpected(synced.error()), json, strict);
  }
  SyncOptions o = sync_options(config, false);
  o.tag = tag;
  return finish("push", url, push_frameworks(**cache, partition, url, o), json, strict);
}

int cmd_pull(const CacheConfig& config, const std::string& url, const std::string& tag, bool json, bool strict) {
  auto cache = Cache::open(config);
  if (!cache) return finish("pull", url, std::unexpected(cache.error()), json, strict);
  SyncOptions o = sync_options(config, false);
  o.tag = tag;
  return finish("pull", url, pull_frameworks(**cache, detect_partition(), url, o), json, strict);
}

}  // namespace mithril::cli
