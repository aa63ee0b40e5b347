#include "serve_command.h"

#include <httplib.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <thread>

#include <mithril/cache.h>
#include <mithril/format.h>

#include "output.h"

namespace mithril::cli {
namespace {

constexpr std::size_t kWorkers = 64;
constexpr time_t kIoTimeoutS = 2;
constexpr std::size_t kKeepAliveRequests = 100;
constexpr std::size_t kMaxRequestBody = 4096;

bool parse_listen(const std::string& text, std::string* host, int* port) {
  const auto colon = text.rfind(':');
  *host = colon == std::string::npos ? "127.0.0.1" : text.substr(0, colon);
  const std::string p = colon == std::string::npos ? text : text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), *port);
  return ec == std::errc{} && end == p.data() + p.size() && *port > 0 && *port < 65536 && !host->empty();
}

}  // namespace

int serve_metrics(const CacheConfig& config, const std::string& listen) {
  std::string host;
  int port = 0;
  if (!parse_listen(listen, &host, &port)) {
    detail::print_to(stderr, "mithril: error: --metrics expects PORT or HOST:PORT, not '%s'\n", listen.c_str());
    return 2;
  }
  auto cache = Cache::open(config);
  if (!cache) {
    detail::print_to(stderr, "mithril: error: %s\n", cache.error().to_string().c_str());
    return 1;
  }
  httplib::Server server;
  // Slow or idle clients must not starve scrapes: many workers (each idle
  // or trickling connection holds one), short read/write and keep-alive
  // timeouts, and tiny requests only.
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  server.set_read_timeout(kIoTimeoutS, 0);
  server.set_write_timeout(kIoTimeoutS, 0);
  server.set_keep_alive_timeout(kIoTimeoutS);
  server.set_keep_alive_max_count(kKeepAliveRequests);
  server.set_payload_max_length(kMaxRequestBody);
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    auto s = (*cache)->stats();
    if (!s) {
      res.status = 500;
      res.set_content("mithril: " + s.error().to_string() + "\n", "text/plain");
      return;
    }
    res.set_content(stats_prometheus(*s), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("mithril metrics for " + config.root + ": GET /metrics\n", "text/plain");
  });
  // SIGINT/SIGTERM are taken by sigwait() below, in this thread only.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  if (!server.bind_to_port(host, port)) {
    detail::print_to(stderr, "mithril: error: cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  std::thread worker([&] { server.listen_after_bind(); });
  detail::print_to(stderr, "mithril: serving metrics of %s on http://%s:%d/metrics\n", config.root.c_str(), host.c_str(),
               port);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  worker.join();
  return 0;
}

}  // namespace mithril::cli
