// mithril benchmarks: each figure is printed next to a baseline measured in
// the same run on the same machine, and their ratio.
//
//   mithril_bench [--dir DIR] [--entries N] [--hits N]
//
// Timing: std::chrono::steady_clock. Latencies are per-operation samples
// (p50/p99); throughputs are the median of repeats. Page cache is warm for
// both sides of every comparison (we measure the cache, not the disk).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <mithril/cache.h>

#include <mithril/hooks.h>

#include "index/index.h"
#include "util/format.h"

using namespace mithril;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) {
    detail::print_to(stderr, "bench: %s: %s\n", what, r.error().to_string().c_str());
    std::exit(1);
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

void bare_read(const std::string& path, std::string& buf) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::size_t got = 0;
  for (ssize_t n; (n = ::read(fd, buf.data() + got, buf.size() - got)) > 0;) got += static_cast<std::size_t>(n);
  ::close(fd);
}

void bare_write(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::size_t done = 0;
  while (done < data.size()) done += static_cast<std::size_t>(::write(fd, data.data() + done, data.size() - done));
  ::close(fd);
}

CacheConfig config_at(const std::string& root) {
  CacheConfig c;
  c.root = root;
  c.max_size = 1ull << 40;
  c.max_files = 0;  // the store at scale (1 M entries and up), not the file-count bound
  return c;
}

void row(const std::string& name, const char* unit, double ours, const char* base_name, double base, double ratio,
         const char* target) {
  std::printf("| %-34s | %10.2f %-5s | %-26s | %10.2f %-5s | %6.2fx | %-22s |\n", name.c_str(), ours, unit, base_name,
              base, unit, ratio, target);
}

// 1. Hit lookup: index lookup + open + read + verify of a 4 KiB blob.
void bench_hit_latency(const std::string& dir, int objects, int lookups) {
  const std::string root = dir + "/hit";
  auto cache = must(Cache::open(config_at(root)), "open");
  std::vector<Digest> digests;
  digests.reserve(static_cast<std::size_t>(objects));
  for (int i = 0; i < objects; ++i) digests.push_back(must(cache->put_blob(random_bytes(4096, i)), "put").digest);
  must(cache->flush(), "flush");
  std::mt19937 rng(42);
  std::vector<std::size_t> order(static_cast<std::size_t>(lookups));
  for (auto& o : order) o = rng() % digests.size();
  auto store = must(ContentStore::open(root + "/objects", {}), "store");
  std::string buf(4096, '\0');
  // Warm both paths once.
  for (const auto& d : digests) {
    bare_read(store->path_of(d, false), buf);
    (void)cache->get_blob(d);
  }
  std::vector<double> ours, base;
  for (std::size_t i : order) {
    auto t0 = Clock::now();
    auto got = cache->get_blob(digests[i]);
    ours.push_back(seconds_since(t0) * 1e6);
    if (!got || !*got) std::exit(2);
    const std::string path = store->path_of(digests[i], false);
    t0 = Clock::now();
    bare_read(path, buf);
    base.push_back(seconds_since(t0) * 1e6);
  }
  const double p50 = median(ours), p99 = percentile(ours, 0.99);
  const double b50 = median(base), b99 = percentile(base, 0.99);
  row("hit 4 KiB p50 (lookup+read+verify)", "us", p50, "open+read+close p50", b50, p50 / b50, "<= 2x bare read");
  row("hit 4 KiB p99", "us", p99, "open+read+close p99", b99, p99 / b99, "p99 < 100 us");
}

// 2. Put/get throughput vs BLAKE3-only hashing and bare write/read.
void bench_throughput(const std::string& dir, std::size_t size, int repeats) {
  const std::string root = dir + "/tp" + std::to_string(size);
  auto cache = must(Cache::open(config_at(root)), "open");
  std::string data = random_bytes(size, 7);
  const std::string bare_dir = dir + "/bare";
  std::filesystem::create_directories(bare_dir);
  std::vector<double> put_s, hash_s, write_s, get_s, read_s;
  std::vector<Digest> stored;
  std::uint64_t counter = 0;
  for (int r = 0; r < repeats; ++r) {
    std::memcpy(data.data(), &++counter, sizeof counter);  // new content: no dedup
    auto t0 = Clock::now();
    stored.push_back(must(cache->put_blob(data), "put").digest);
    put_s.push_back(seconds_since(t0));
    t0 = Clock::now();
    volatile auto d = blake3(data).bytes()[0];
    (void)d;
    hash_s.push_back(seconds_since(t0));
    t0 = Clock::now();
    bare_write(bare_dir + "/" + std::to_string(r), data);  // a new file each time, as a put makes
    write_s.push_back(seconds_since(t0));
  }
  std::string buf(size, '\0');
  for (std::size_t r = 0; r < stored.size(); ++r) {
    auto t0 = Clock::now();
    auto got = must(cache->get_blob(stored[r]), "get");
    get_s.push_back(seconds_since(t0));
    if (!got) std::exit(2);
    t0 = Clock::now();
    bare_read(bare_dir + "/" + std::to_string(r), buf);
    read_s.push_back(seconds_since(t0));
  }
  const double mb = static_cast<double>(size) / 1e6;
  const double put = mb / median(put_s), hash = mb / median(hash_s), wr = mb / median(write_s);
  const double get = mb / median(get_s), rd = mb / median(read_s);
  const std::string label = size >= (1 << 20) ? std::to_string(size >> 20) + " MiB" : std::to_string(size >> 10) + " KiB";
  const std::string put_name = "put " + label;
  const std::string get_name = "get " + label;
  const bool hash_slower = hash < wr;
  row(put_name.c_str(), "MB/s", put, hash_slower ? "min(hash, write): hash" : "min(hash, write): write",
      std::min(hash, wr), put / std::min(hash, wr), size >= (64u << 20) ? ">= 0.6x; >= 1000 MB/s" : ">= 0.6x");
  row(get_name.c_str(), "MB/s", get, "bare read", rd, get / rd, "(no target)");
  std::filesystem::remove_all(root);
  std::filesystem::remove_all(bare_dir);
}

// 3. Key generation: build a typical CacheKey and hash it.
void bench_keys() {
  const std::string graph = "fzo4oyok3bpc3je65vdstgi3jsgav5ss4us7vywfvncga2lszn4w";
  const int n = 2'000'000;
  std::uint64_t sink = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    CacheKey key(graph, {{{32, i & 255}, DType::kFloat32}, {{-1, 128}, DType::kBFloat16}},
                 DeviceClass::cpu(CpuIsa::kAvx512), "torch-2.13.0");
    sink += key.digest().bytes()[0];
  }
  const double rate = n / seconds_since(t0);
  // Baseline: BLAKE3 alone over the same number of bytes per key.
  const std::string bytes =
      CacheKey(graph, {{{32, 1}, DType::kFloat32}, {{-1, 128}, DType::kBFloat16}}, DeviceClass::cpu(CpuIsa::kAvx512),
               "torch-2.13.0").serialize();
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) sink += blake3(bytes).bytes()[0];
  const double hash_rate = n / seconds_since(t0);
  row("key build+serialize+hash", "M/s", rate / 1e6, "BLAKE3 of the key bytes", hash_rate / 1e6,
      rate / hash_rate, ">= 5 M keys/s");
  if (sink == 42) std::puts("");
}

// 4. Index with N entries: open time, and eviction of 10% of them.
void bench_index(const std::string& dir, int entries) {
  const std::string root = dir + "/big";
  std::filesystem::create_directories(root);
  {
    auto index = must(Index::open(root + "/index.db", {}), "index");
    must(index->begin_write(), "begin");
    std::vector<Digest> dead;
    for (int i = 0; i < entries; ++i) {
      ObjectInfo o;
      o.digest = blake3(std::to_string(i));
      o.size = o.stored_size = 4096;
      must(index->upsert_object(o), "upsert");
      EntryRecord e;
      e.key = e.root = o.digest;
      e.created_ns = e.last_access_ns = i;
      must(index->insert_entry(e, {o.digest}, &dead), "insert");
    }
    must(index->set_initialized(), "init");
    must(index->commit(), "commit");
  }
  // Open: a fresh process would pay exactly this (no directory scan).
  std::vector<double> open_ms;
  for (int r = 0; r < 5; ++r) {
    auto t0 = Clock::now();
    auto cache = must(Cache::open(config_at(root)), "open");
    auto st = must(cache->stats(), "stats");
    open_ms.push_back(seconds_since(t0) * 1e3);
    if (st.entries != static_cast<std::uint64_t>(entries)) std::exit(3);
  }
  auto cache = must(Cache::open(config_at(root)), "open");
  const std::uint64_t budget = static_cast<std::uint64_t>(entries) * 4096 / 10 * 9;
  auto t0 = Clock::now();
  auto report = must(cache->gc(budget), "gc");
  const double evict_s = seconds_since(t0);
  // Baseline for eviction: the file unlinks alone that evicting real objects needs.
  const int unlinks = 2000;
  std::filesystem::create_directories(dir + "/unlink");
  for (int i = 0; i < unlinks; ++i) bare_write(dir + "/unlink/" + std::to_string(i), "x");
  t0 = Clock::now();
  for (int i = 0; i < unlinks; ++i) ::unlink((dir + "/unlink/" + std::to_string(i)).c_str());
  const double unlink_us = seconds_since(t0) / unlinks * 1e6;
  const double per_entry_us = evict_s / static_cast<double>(report.evicted_entries) * 1e6;
  row(detail::str_format("open, %d entries (median)", entries), "ms", median(open_ms), "(target)", 100.0,
      median(open_ms) / 100.0, "< 100 ms");
  const auto evicted = static_cast<unsigned long long>(report.evicted_entries);
  row(detail::str_format("evict 10%% (%llu entries), per entry", evicted), "us", per_entry_us,
      "unlink of one small file", unlink_us, per_entry_us / unlink_us, "(no target)");
  std::printf("\n  eviction of %llu entries took %.2f s in total (index work plus unlink attempts)\n",
              static_cast<unsigned long long>(report.evicted_entries), evict_s);
}

// 5. Framework bookkeeping per run: integrity check before + sync after, on
//    N recorded framework entries that did not change (the warm-run case).
void bench_framework_bookkeeping(const std::string& dir, int entries) {
  const std::string root = dir + "/fw";
  auto cache = must(Cache::open(config_at(root)), "open");
  const DeviceClass part = DeviceClass::cpu(CpuIsa::kAvx2);
  const std::string ind = framework_dirs(root, part)[0].path;
  for (int i = 0; i < entries; ++i) {
    const std::string key = blake3(std::to_string(i)).to_hex().substr(0, 20);
    const std::string d = detail::concat(ind, "/fxgraph/", key.substr(0, 2), "/f", key);
    std::filesystem::create_directories(d);
    bare_write(d + "/entry", random_bytes(1024, static_cast<std::uint64_t>(i)));
  }
  auto t0 = Clock::now();
  must(cache->sync_frameworks(part), "sync");
  const double first_s = seconds_since(t0);
  std::vector<double> check_ms, sync_ms, rescan_ms;
  // A warm run as `mithril run` sees it: the watcher reports 100 entries
  // opened (hits) and nothing written.
  FrameworkActivity warm;
  warm.changes_known = true;
  for (const auto& e : std::filesystem::recursive_directory_iterator(ind)) {
    if (e.is_regular_file() && warm.opened.size() < 100) warm.opened.push_back(e.path().string());
  }
  for (int r = 0; r < 5; ++r) {
    t0 = Clock::now();
    must(cache->check_frameworks(part), "check");
    check_ms.push_back(seconds_since(t0) * 1e3);
    t0 = Clock::now();
    must(cache->sync_frameworks(part, warm), "sync");
    sync_ms.push_back(seconds_since(t0) * 1e3);
    t0 = Clock::now();
    must(cache->sync_frameworks(part, {}), "rescan");
    rescan_ms.push_back(seconds_since(t0) * 1e3);
  }
  // Baseline: stat-ing the same files (what any integrity check must do).
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(ind)) {
    if (e.is_regular_file()) paths.push_back(e.path().string());
  }
  t0 = Clock::now();
  for (const auto& p : paths) {
    struct stat st {};
    ::stat(p.c_str(), &st);
  }
  const double stat_ms = seconds_since(t0) * 1e3;
  const double total = median(check_ms) + median(sync_ms);
  row(detail::str_format("run bookkeeping, %d entries", entries), "ms", total, "stat of every file", stat_ms,
      total / stat_ms, "< 50 ms");
  std::printf("\n  first sync (hashing %d new files) took %.2f s; per warm run: check %.1f ms + sync %.1f ms"
              " (a full rescan, used when no watcher ran, takes %.1f ms)\n",
              entries, first_s, median(check_ms), median(sync_ms), median(rescan_ms));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int entries = 1'000'000;
  int hits = 20'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--entries") entries = std::stoi(argv[i + 1]);
    else if (a == "--hits") hits = std::stoi(argv[i + 1]);
  }
  const bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/mithril-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  std::printf("mithril benchmarks (BLAKE3 path: %s, dir: %s)\n\n", blake3_simd_path(), dir.c_str());
  std::printf("| %-34s | %16s | %-26s | %16s | %7s | %-22s |\n", "measure", "mithril", "baseline (same run)",
              "baseline", "ratio", "target");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(18, '-').c_str(),
              std::string(28, '-').c_str(), std::string(18, '-').c_str(), std::string(9, '-').c_str(),
              std::string(24, '-').c_str());
  bench_hit_latency(dir, 10'000, hits);
  bench_throughput(dir, 4096, 2000);
  bench_throughput(dir, 1 << 20, 100);
  bench_throughput(dir, 64u << 20, 7);
  bench_keys();
  bench_index(dir, entries);
  bench_framework_bookkeeping(dir, 10'000);
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
