// push_frameworks / pull_frameworks: framework cache entries through a
// remote (docs/remote.md). Work is spread over `parallelism` threads, each
// with its own connection. Remote failures are counted, not returned: after
// a timeout or an unreachable remote the run stops taking new work (fail
// open), and a deadline bounds the whole run.
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <mithril/cache.h>
#include <mithril/log.h>
#include <mithril/remote.h>

#include "frameworks/importer.h"
#include "frameworks/registry.h"
#include "remote/frame_stream.h"
#include "remote/remote_layout.h"
#include "util/format.h"

namespace mithril {
namespace {

using Clock = std::chrono::steady_clock;

class SyncRun {
 public:
  SyncRun(std::string url, const SyncOptions& options, const char* verb, Env& env)
      : m_url(std::move(url)),
        m_options(options),
        m_verb(verb),
        m_env(env),
        m_start(Clock::now()),
        m_deadline(RemoteDeadline::in_ms(options.deadline_ms)) {}

  // The one deadline of this pull or push: every store it uses checks it.
  const RemoteDeadline& deadline() const { return m_deadline; }

  // Runs `fn(store, i)` for every i < n on up to `parallelism` threads, each
  // with its own store. Stops handing out work once stopped().
  void for_each(std::unique_ptr<RemoteStore> first, std::size_t n,
                const std::function<void(RemoteStore&, std::size_t)>& fn) {
    m_total = n;
    std::atomic<std::size_t> next{0};
    const auto worker = [&](RemoteStore& store) {
      for (;;) {
        if (stopped()) return;
        const std::size_t i = next.fetch_add(1);
        if (i >= n) return;
        fn(store, i);
        m_done.fetch_add(1);
        progress(false);
      }
    };
    const std::size_t threads = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, m_options.parallelism)));
    std::vector<std::thread> pool;
    std::vector<std::unique_ptr<RemoteStore>> stores;
    for (std::size_t t = 1; t < threads; ++t) {
      auto s = open_remote(m_url, m_options.remote, nullptr, m_env);
      if (!s) break;  // the first store opened with the same URL: cannot happen but for resources
      (*s)->set_deadline(m_deadline);
      stores.push_back(std::move(*s));
    }
    pool.reserve(stores.size());
    for (auto& s : stores) pool.emplace_back(worker, std::ref(*s));
    worker(*first);
    for (auto& t : pool) t.join();
    progress(true);
    const std::size_t done = m_done.load();
    std::lock_guard lock(mu);
    report.skipped += n - std::min(n, done);
  }

  // A remote operation failed. Timeouts and an unreachable remote stop the run.
  void failed(const Error& e) {
    std::lock_guard lock(mu);
    (e.code == ErrorCode::kTimeout ? report.timeouts : report.errors) += 1;
    if (report.first_problem.empty()) report.first_problem = e.to_string();
    if (e.code == ErrorCode::kTimeout || e.code == ErrorCode::kUnavailable) {
      report.remote_gave_up = true;
      m_gave_up.store(true);
    }
    MITHRIL_LOG(LogLevel::kWarn, "remote_error", {{"op", std::string(m_verb)}, {"error", e.to_string()}});
  }
  // A remote call failed: kCorruption is about that one key (rejected, the
  // run goes on), anything else about the remote (failed).
  void problem(const Error& e) {
    if (e.code == ErrorCode::kCorruption) return rejected(e.to_string());
    failed(e);
  }
  void rejected(const std::string& why) {
    std::lock_guard lock(mu);
    ++report.rejected;
    if (report.first_problem.empty()) report.first_problem = why;
    MITHRIL_LOG(LogLevel::kWarn, "remote_rejected", {{"why", why}});
  }
  bool stopped() const { return m_gave_up.load() || m_deadline.expired(); }
  SyncReport finish() {
    std::lock_guard lock(mu);
    report.seconds = std::chrono::duration<double>(Clock::now() - m_start).count();
    return report;
  }

  std::mutex mu;  // guards report
  SyncReport report;

 private:
  void progress(bool final_line) {
    if (!m_options.progress) return;
    std::lock_guard lock(m_progress_mu);
    const auto now = Clock::now();
    if (!final_line && now - m_last_draw < std::chrono::milliseconds(200)) return;
    m_last_draw = now;
    std::uint64_t bytes = 0;
    {
      std::lock_guard r(mu);
      bytes = report.wire_bytes;
    }
    detail::print_to(stderr, "\rmithril: %s %zu/%zu entries, %s%s", m_verb, m_done.load(), m_total,
                     format_size(bytes).c_str(), final_line ? "\n" : "");
  }

  std::string m_url;
  SyncOptions m_options;
  const char* m_verb;
  Env& m_env;
  Clock::time_point m_start;
  RemoteDeadline m_deadline;
  std::atomic<bool> m_gave_up{false};
  std::atomic<std::size_t> m_done{0};
  std::size_t m_total = 0;
  std::mutex m_progress_mu;
  Clock::time_point m_last_draw{};
};

struct PushState {
  std::mutex mu;
  std::set<std::string> uploaded;  // object keys known to be in the remote
};

void push_entry(SyncRun& run, PushState& state, Cache& cache, RemoteStore& store, const std::string& partition,
                const FrameworkEntryFiles& entry, const SyncOptions& options) {
  std::uint64_t wire = 0, logical = 0, objects = 0, dedup = 0;
  remote::EntryManifest manifest{partition, entry, {}};
  for (const auto& f : entry.files) {
    const std::string key = remote::object_key(f.digest);
    {
      std::lock_guard lock(state.mu);
      if (state.uploaded.count(key)) {
        ++dedup;
        continue;
      }
    }
    auto placed = remote::place_file(store, f.digest, f.size, [&]() -> std::optional<std::string> {
      auto data = read_regular_file(cache.env(), frameworks::file_path(cache.config().root, partition, f.path));
      if (!data || !*data || (*data)->size() != f.size || blake3(**data) != f.digest) return std::nullopt;
      return remote::compress(**data, options.compression_level);
    });
    if (!placed) return run.failed(placed.error());
    if (placed->skipped) {
      std::lock_guard lock(run.mu);
      ++run.report.skipped;  // changed or vanished since it was recorded: next push
      return;
    }
    if (auto& frame = placed->inline_frame) {
      logical += f.size;
      manifest.inline_frames.emplace(f.path, std::move(*frame));
      continue;
    }
    if (placed->uploaded_bytes > 0) {
      wire += placed->uploaded_bytes;
      logical += f.size;
      ++objects;
    } else {
      ++dedup;
    }
    std::lock_guard lock(state.mu);
    state.uploaded.insert(key);
  }
  const std::string text = remote::encode_manifest(manifest, options.hmac_key);
  if (auto put = store.put(remote::manifest_key(partition, entry.name), text); !put) return run.failed(put.error());
  std::lock_guard lock(run.mu);
  ++run.report.entries_transferred;
  run.report.objects_transferred += objects;
  run.report.objects_deduplicated += dedup;
  run.report.wire_bytes += wire + text.size();
  run.report.logical_bytes += logical;
}

// One entry being pulled: its files are staged by the Importer and
// published together once all verified.
struct PullEntry {
  SyncRun& run;
  Env& env;
  RemoteStore& store;
  frameworks::Importer::Batch batch;
  std::uint64_t wire = 0, logical = 0, objects = 0;

  PullEntry(SyncRun& r, Cache& cache, RemoteStore& s, frameworks::Importer& importer)
      : run(r), env(cache.env()), store(s), batch(importer.batch()) {}

  // A local problem (disk, permissions, something not ours in the way): the
  // entry is skipped, not rejected.
  void local_failure(const Error& e) {
    std::lock_guard lock(run.mu);
    ++run.report.skipped;
    if (run.report.first_problem.empty()) run.report.first_problem = e.to_string();
  }

  // Feeds `f`'s frame to `decoder` and finishes it: the frame inline in the
  // manifest, else its object, streamed with a bound of what a frame of its
  // size can be. false when the object is missing.
  Result<bool> receive(const remote::EntryManifest& m, const FrameworkEntryFiles::File& f,
                       remote::FrameDecoder& decoder) {
    if (auto it = m.inline_frames.find(f.path); it != m.inline_frames.end()) {
      MITHRIL_TRY(decoder.feed(it->second));
    } else {
      std::uint64_t received = 0;
      const auto feed = [&](std::string_view piece) {
        received += piece.size();
        return decoder.feed(piece);
      };
      auto found = store.get_to(remote::object_key(f.digest), remote::max_frame_bytes(f.size), feed);
      wire += received;
      if (!found || !*found) return found;
    }
    MITHRIL_TRY(decoder.finish());
    return true;
  }

  // Stages `f` (at `fd`, a staged temp file), decoded as it arrives and
  // hashed on the way. false after counting why (the temp file goes with
  // `batch`).
  bool fetch(const remote::EntryManifest& m, const FrameworkEntryFiles::File& f, int fd) {
    remote::FrameDecoder decoder(env, fd, f.size, f.digest);
    const auto found = receive(m, f, decoder);
    const auto closed = env.close(fd);  // a quota or NFS error may show only here
    if (found && *found && !closed) {
      local_failure(closed.error());
      return false;
    }
    if (found && *found) return true;
    if (found) {
      run.rejected("remote entry " + m.entry.name + " lacks the object of " + f.path);
    } else if (decoder.failed_locally()) {
      local_failure(found.error());
    } else if (decoder.refused()) {
      run.rejected("remote object for " + f.path + " " + found.error().message + "; not written");
    } else {
      run.problem(found.error());  // the remote's own answer
    }
    return false;
  }
};

// Downloads, verifies, stages and publishes one entry through `importer`;
// on success notes its compile time in `costs`.
void pull_entry(SyncRun& run, Cache& cache, RemoteStore& store, frameworks::Importer& importer,
                const std::string& partition, const std::string& id, const SyncOptions& options,
                std::map<std::string, std::int64_t>* costs) {
  auto got = store.get(remote::manifest_prefix(partition) + id + ".json", kMaxManifestBytes);
  if (!got) return run.problem(got.error());
  const auto& text = *got;
  if (!text) return;  // removed meanwhile
  auto manifest = remote::decode_manifest(*text, partition, options.hmac_key, cache.config().max_size);
  if (!manifest) return run.rejected(manifest.error().to_string());
  if (remote::entry_id(manifest->entry.name) != id) return run.rejected("remote manifest " + id + " names another entry");
  PullEntry pull(run, cache, store, importer);
  pull.wire = text->size();
  for (const auto& f : manifest->entry.files) {
    const auto staged = pull.batch.stage(f.path);
    if (!staged) return pull.local_failure(staged.error());
    const std::optional<int>& fd = *staged;
    if (!fd) continue;  // keep what is here (checked before every run)
    if (!pull.fetch(*manifest, f, *fd)) return;
    pull.logical += f.size;
    ++pull.objects;
  }
  if (auto published = pull.batch.publish(); !published) return pull.local_failure(published.error());
  std::lock_guard lock(run.mu);
  ++run.report.entries_transferred;
  run.report.objects_transferred += pull.objects;
  run.report.wire_bytes += pull.wire;
  run.report.logical_bytes += pull.logical;
  if (manifest->entry.compile_ns > 0) (*costs)[manifest->entry.name] = manifest->entry.compile_ns;
}

std::set<std::string> local_ids(const std::vector<FrameworkEntryFiles>& entries) {
  std::set<std::string> ids;
  for (const auto& e : entries) ids.insert(remote::entry_id(e.name));
  return ids;
}

// Entry ids in the remote: from the partition's manifests, or a tag's list.
Result<std::vector<std::string>> remote_ids(RemoteStore& store, const std::string& partition, const std::string& tag) {
  if (!tag.empty()) {
    MITHRIL_ASSIGN(const auto text, store.get(remote::tag_key(partition, tag), kMaxManifestBytes));
    if (!text) return fail(ErrorCode::kInvalidArgument, "the remote has no tag '" + tag + "' for " + partition);
    return remote::decode_tag(*text);
  }
  const std::string prefix = remote::manifest_prefix(partition);
  MITHRIL_ASSIGN(const auto keys, store.list(prefix));
  std::vector<std::string> ids;
  for (const auto& k : keys) {
    if (k.size() > prefix.size() + 5 && k.ends_with(".json")) ids.push_back(k.substr(prefix.size(), k.size() - prefix.size() - 5));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void add_counters(Cache& cache, const SyncReport& r, bool push) {
  cache.add_counter(push ? Counter::kRemotePushed : Counter::kRemotePulled,
                    static_cast<std::int64_t>(r.entries_transferred));
  cache.add_counter(Counter::kRemoteErrors, static_cast<std::int64_t>(r.errors));
  cache.add_counter(Counter::kRemoteTimeouts, static_cast<std::int64_t>(r.timeouts));
  cache.add_counter(Counter::kRemoteRejected, static_cast<std::int64_t>(r.rejected));
  cache.add_counter(push ? Counter::kRemoteBytesOut : Counter::kRemoteBytesIn, static_cast<std::int64_t>(r.wire_bytes));
}

// The listing step's failure is a counted remote failure (fail open), and
// the remote gave up: nothing can be done without a listing (and a listing
// that never ends should not be waited for twice in one run).
SyncReport listing_failed(SyncRun& run, Cache& cache, const Error& e, bool push) {
  run.failed(e);
  SyncReport r = run.finish();
  r.remote_gave_up = true;
  add_counters(cache, r, push);
  (void)cache.flush();
  return r;
}

}  // namespace

SyncOptions sync_options_from(const CacheConfig& config, bool bounded) {
  SyncOptions o;
  o.remote.connect_timeout_ms = static_cast<int>(config.remote_connect_timeout_ms);
  o.remote.io_timeout_ms = static_cast<int>(config.remote_timeout_ms);
  o.parallelism = static_cast<int>(config.remote_parallelism);
  o.hmac_key = config.remote_hmac_key;
  o.deadline_ms = bounded ? static_cast<int>(config.remote_deadline_s * 1000) : 0;
  return o;
}

Result<SyncReport> push_frameworks(Cache& cache, const DeviceClass& partition_class, std::string_view url,
                                   const SyncOptions& options) {
  MITHRIL_ASSIGN(auto store, open_remote(url, options.remote, nullptr, cache.env()));
  if (store->url().mode == RemoteMode::kReadOnly) {
    return fail(ErrorCode::kInvalidArgument, "cannot push to " + store->url().redacted + ": it is read-only (mode=ro)");
  }
  const std::string partition = partition_class.to_string();
  SyncRun run(std::string(url), options, "push", cache.env());
  store->set_deadline(run.deadline());
  MITHRIL_ASSIGN(const auto entries, cache.framework_entries(partition_class));
  run.report.entries_local = entries.size();
  std::set<std::string> present;
  if (store->url().mode != RemoteMode::kWriteOnly) {
    auto ids = remote_ids(*store, partition, "");
    if (!ids) return listing_failed(run, cache, ids.error(), true);
    present.insert(ids->begin(), ids->end());
    run.report.entries_remote = ids->size();
  }
  std::vector<const FrameworkEntryFiles*> todo;
  std::vector<std::string> all_ids;
  for (const auto& e : entries) {
    all_ids.push_back(remote::entry_id(e.name));
    if (present.count(all_ids.back())) {
      ++run.report.entries_present;
    } else {
      todo.push_back(&e);
    }
  }
  PushState state;
  const std::string redacted = store->url().redacted;
  run.for_each(std::move(store), todo.size(), [&](RemoteStore& s, std::size_t i) {
    push_entry(run, state, cache, s, partition, *todo[i], options);
  });
  if (!options.tag.empty() && !run.stopped()) {
    auto tagged = open_remote(url, options.remote, nullptr, cache.env());
    if (tagged) {
      (*tagged)->set_deadline(run.deadline());
      if (auto r = (*tagged)->put(remote::tag_key(partition, options.tag), remote::encode_tag(all_ids)); !r) {
        run.failed(r.error());
      }
    }
  }
  SyncReport report = run.finish();
  add_counters(cache, report, true);
  MITHRIL_TRY(cache.record_history(HistoryKind::kPush));  // flushes the counters first
  MITHRIL_LOG(LogLevel::kInfo, "push",
              {{"remote", redacted}, {"entries", static_cast<std::int64_t>(report.entries_transferred)}});
  return report;
}

Result<SyncReport> pull_frameworks(Cache& cache, const DeviceClass& partition_class, std::string_view url,
                                   const SyncOptions& options) {
  MITHRIL_ASSIGN(auto store, open_remote(url, options.remote, nullptr, cache.env()));
  if (store->url().mode == RemoteMode::kWriteOnly) {
    return fail(ErrorCode::kInvalidArgument, "cannot pull from " + store->url().redacted + ": it is write-only (mode=wo)");
  }
  const std::string partition = partition_class.to_string();
  SyncRun run(std::string(url), options, "pull", cache.env());
  store->set_deadline(run.deadline());
  MITHRIL_ASSIGN(const auto entries, cache.framework_entries(partition_class));
  run.report.entries_local = entries.size();
  auto ids = remote_ids(*store, partition, options.tag);
  if (!ids) {
    if (ids.error().code == ErrorCode::kInvalidArgument) return std::unexpected(ids.error());  // e.g. unknown tag
    return listing_failed(run, cache, ids.error(), false);
  }
  run.report.entries_remote = ids->size();
  const auto have = local_ids(entries);
  std::vector<std::string> todo;
  for (const auto& id : *ids) {
    if (have.count(id)) {
      ++run.report.entries_present;
    } else {
      todo.push_back(id);
    }
  }
  frameworks::Importer importer(cache, partition_class, HistoryKind::kPull);
  std::map<std::string, std::int64_t> costs;  // what compiling them took where they were built
  run.for_each(std::move(store), todo.size(), [&](RemoteStore& s, std::size_t i) {
    pull_entry(run, cache, s, importer, partition, todo[i], options, &costs);
  });
  SyncReport report = run.finish();
  add_counters(cache, report, false);
  MITHRIL_TRY(importer.record(costs));  // the "pull" history point, after the counters
  return report;
}

}  // namespace mithril
