// mithril_stress ROOT SECONDS THREADS SEED MAX_SIZE
// Many threads of one process doing a random mix of put / get / gc / verify /
// stats on one root, for a bounded time. Run several processes at once
// (tests/system/test_stress.py). Every get is checked against the bytes the
// key was generated from (a torn or wrong read is counted, never ignored).
// Prints one JSON line of per-operation counts, errors and bad reads.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <mithril/cache.h>

namespace {

// The content of object `id`: self-describing, 1-64 KiB.
std::string content_of(std::uint64_t id) {
  std::mt19937_64 rng(id);
  std::string s = "object " + std::to_string(id) + ":";
  s.resize(1024 + rng() % (63 * 1024));
  for (std::size_t i = 16; i < s.size(); i += 8) s[i] = static_cast<char>(rng());
  return s;
}

struct Counts {
  std::atomic<std::int64_t> puts{0}, gets{0}, hits{0}, misses{0}, gcs{0}, verifies{0}, stats{0};
  std::atomic<std::int64_t> errors{0}, bad_reads{0};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: mithril_stress ROOT SECONDS THREADS SEED MAX_SIZE\n");
    return 2;
  }
  mithril::CacheConfig config;
  config.root = argv[1];
  const double seconds = std::atof(argv[2]);
  const int threads = std::atoi(argv[3]);
  const std::uint64_t seed = std::strtoull(argv[4], nullptr, 10);
  config.max_size = std::strtoull(argv[5], nullptr, 10);
  auto cache = mithril::Cache::open(config);
  if (!cache) {
    std::fprintf(stderr, "open: %s\n", cache.error().to_string().c_str());
    return 1;
  }
  Counts c;
  std::string first_error;
  std::mutex error_mu;
  const auto note = [&](const mithril::Error& e) {
    ++c.errors;
    std::lock_guard lock(error_mu);
    if (first_error.empty()) first_error = e.to_string();
  };
  // Run for SECONDS, then on until every kind of operation happened at least
  // once (a busy machine may be slow, never wrong), bounded by a hard cap.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  const auto hard_cap = deadline + std::chrono::seconds(120);
  const auto keep_going = [&] {
    const auto now = std::chrono::steady_clock::now();
    if (now < deadline) return true;
    const bool all_kinds = c.puts > 0 && c.hits > 0 && c.misses > 0 && c.gcs > 0 && c.verifies > 0 && c.stats > 0;
    return !all_kinds && now < hard_cap;
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(t));
      while (keep_going()) {
        const auto roll = rng() % 100;
        const std::uint64_t id = rng() % 400;  // shared by every process: contention on the same objects
        if (roll < 45) {
          auto r = (*cache)->put_blob(content_of(id));
          r ? void(++c.puts) : note(r.error());
        } else if (roll < 90) {
          const std::string want = content_of(id);
          auto r = (*cache)->get_blob(mithril::blake3(want));
          ++c.gets;
          if (!r) {
            note(r.error());
          } else if (!*r) {
            ++c.misses;
          } else {
            ++c.hits;
            if (**r != want) ++c.bad_reads;
          }
        } else if (roll < 94) {
          auto r = (*cache)->gc();
          r ? void(++c.gcs) : note(r.error());
        } else if (roll < 97) {
          auto r = (*cache)->verify(false);
          if (!r) {
            note(r.error());
          } else {
            ++c.verifies;
            if (r->corrupt > 0) c.bad_reads += static_cast<std::int64_t>(r->corrupt);
          }
        } else {
          auto r = (*cache)->stats();
          r ? void(++c.stats) : note(r.error());
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  if (auto f = (*cache)->flush(); !f) note(f.error());
  std::printf(
      "{\"puts\":%lld,\"gets\":%lld,\"hits\":%lld,\"misses\":%lld,\"gcs\":%lld,\"verifies\":%lld,\"stats\":%lld,"
      "\"errors\":%lld,\"bad_reads\":%lld,\"first_error\":\"%s\"}\n",
      static_cast<long long>(c.puts), static_cast<long long>(c.gets), static_cast<long long>(c.hits),
      static_cast<long long>(c.misses), static_cast<long long>(c.gcs), static_cast<long long>(c.verifies),
      static_cast<long long>(c.stats), static_cast<long long>(c.errors), static_cast<long long>(c.bad_reads),
      first_error.c_str());
  return 0;
}
