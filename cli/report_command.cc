#include "report_command.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include <mithril/cache.h>
#include <mithril/format.h>

#include "output.h"

namespace mithril::cli {
using detail::iso_time;
namespace {

// Colours the charts use; tests look for them in a screenshot.
constexpr const char* kLineColour = "#1f77b4";
constexpr const char* kBudgetColour = "#d62728";

std::string esc(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

using detail::str_format;


struct Series {
  std::string name;
  const char* colour;
  std::vector<double> y;  // one value per history point (x = its index)
};

// A line chart as inline SVG: no script, no external resource.
std::string chart(const std::string& title, const std::string& unit, const std::vector<Series>& series) {
  constexpr double kW = 560, kH = 220, kLeft = 60, kBottom = 30, kTop = 30;
  double ymax = 0;
  std::size_t n = 0;
  for (const auto& s : series) {
    for (const double v : s.y) ymax = std::max(ymax, v);
    n = std::max(n, s.y.size());
  }
  if (ymax <= 0) ymax = 1;
  std::string out = "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + str_format("%.0f", kW) + "\" height=\"" +
                    str_format("%.0f", kH) + "\" role=\"img\" aria-label=\"" + esc(title) + "\">";
  out += "<text x=\"" + str_format("%.0f", kLeft) + "\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" + esc(title) + "</text>";
  const double plot_w = kW - kLeft - 10, plot_h = kH - kTop - kBottom;
  out += "<line x1=\"" + str_format("%.0f", kLeft) + "\" y1=\"" + str_format("%.0f", kTop + plot_h) + "\" x2=\"" +
         str_format("%.0f", kLeft + plot_w) + "\" y2=\"" + str_format("%.0f", kTop + plot_h) + "\" stroke=\"#888\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double v = ymax * i / 4, y = kTop + plot_h - plot_h * i / 4;
    out += "<text x=\"" + str_format("%.0f", kLeft - 6) + "\" y=\"" + str_format("%.0f", y + 4) +
           "\" font-size=\"10\" text-anchor=\"end\">" + str_format(v >= 100 ? "%.0f" : "%.1f", v) + "</text>";
    out += "<line x1=\"" + str_format("%.0f", kLeft) + "\" y1=\"" + str_format("%.1f", y) + "\" x2=\"" + str_format("%.0f", kLeft + plot_w) +
           "\" y2=\"" + str_format("%.1f", y) + "\" stroke=\"#eee\"/>";
  }
  out += "<text x=\"" + str_format("%.0f", kLeft) + "\" y=\"" + str_format("%.0f", kH - 8) + "\" font-size=\"10\">" + esc(unit) +
         ", over " + std::to_string(n) + " recorded runs and gc passes</text>";
  for (const auto& s : series) {
    std::string points;
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = kLeft + (n > 1 ? plot_w * static_cast<double>(i) / static_cast<double>(n - 1) : plot_w / 2);
      const double y = kTop + plot_h - plot_h * s.y[i] / ymax;
      points += str_format("%.1f", x) + "," + str_format("%.1f", y) + " ";
    }
    out += "<polyline fill=\"none\" stroke-width=\"3\" stroke=\"" + std::string(s.colour) + "\" points=\"" + points +
           "\"><title>" + esc(s.name) + "</title></polyline>";
  }
  out += "</svg><figcaption>";
  for (const auto& s : series) {
    out += "<span style=\"color:" + std::string(s.colour) + "\">&#9632; " + esc(s.name) + "</span> ";
  }
  return out + "</figcaption></figure>";
}

std::string size_text(std::uint64_t b) { return esc(format_size(b)); }

std::string summary_table(const Stats& s) {
  const auto row = [](const std::string& k, const std::string& v) {
    return "<tr><th>" + esc(k) + "</th><td>" + v + "</td></tr>";
  };
  const std::int64_t fw_hits = s.get(Counter::kFrameworkHits), fw_new = s.get(Counter::kFrameworkNewEntries);
  std::string out = "<table class=\"summary\">";
  out += row("Cache directory", esc(s.root));
  out += row("Size / budget", size_text(s.stored_bytes + s.framework_bytes) + " / " + size_text(s.max_size));
  out += row("Framework entries", std::to_string(s.framework_entries) + " (" + size_text(s.framework_bytes) + ")");
  out += row("Framework hits / compilations", std::to_string(fw_hits) + " / " + std::to_string(fw_new));
  out += row("Compile time saved", str_format("~%.1f s", static_cast<double>(s.get(Counter::kCompileMsSaved)) / 1000) +
                                       str_format(" (spent compiling ~%.1f s)",
                                           static_cast<double>(s.get(Counter::kCompileMsSpent)) / 1000));
  out += row("Store hits / misses", std::to_string(s.get(Counter::kHits)) + " / " + std::to_string(s.get(Counter::kMisses)));
  out += row("Evictions", std::to_string(s.get(Counter::kEvictions)) + " (" +
                              size_text(static_cast<std::uint64_t>(s.get(Counter::kEvictedBytes))) + ")");
  out += row("Corruptions quarantined", std::to_string(s.get(Counter::kCorruptions)));
  out += row("Remote pulled / pushed", std::to_string(s.get(Counter::kRemotePulled)) + " / " +
                                           std::to_string(s.get(Counter::kRemotePushed)));
  out += row("Remote errors / timeouts / rejected", std::to_string(s.get(Counter::kRemoteErrors)) + " / " +
                                                        std::to_string(s.get(Counter::kRemoteTimeouts)) + " / " +
                                                        std::to_string(s.get(Counter::kRemoteRejected)));
  return out + "</table>";
}

std::string charts(const std::vector<HistoryPoint>& h) {
  Series hit_rate{"framework hit rate of each run (%)", kLineColour, {}};
  std::uint64_t biggest = 1;
  for (const auto& p : h) biggest = std::max(biggest, p.bytes);
  const auto [unit_name, unit] = biggest >= (1ull << 30)   ? std::pair{"GiB", double(1ull << 30)}
                                 : biggest >= (1ull << 20) ? std::pair{"MiB", double(1ull << 20)}
                                                           : std::pair{"KiB", 1024.0};
  Series size{std::string("cache size (") + unit_name + ")", kLineColour, {}};
  Series budget{std::string("budget (") + unit_name + ")", kBudgetColour, {}};
  Series saved{"compile time saved, cumulative (s)", kLineColour, {}};
  for (std::size_t i = 0; i < h.size(); ++i) {
    const auto& p = h[i];
    const std::int64_t hits = p.framework_hits - (i > 0 ? h[i - 1].framework_hits : 0);
    const std::int64_t news = p.framework_new - (i > 0 ? h[i - 1].framework_new : 0);
    hit_rate.y.push_back(hits + news > 0 ? 100.0 * static_cast<double>(hits) / static_cast<double>(hits + news)
                                         : (hit_rate.y.empty() ? 0 : hit_rate.y.back()));
    size.y.push_back(static_cast<double>(p.bytes) / unit);
    budget.y.push_back(static_cast<double>(p.max_size) / unit);
    saved.y.push_back(static_cast<double>(p.compile_ms_saved) / 1000);
  }
  // The budget line only when it is in view (a 10 GiB budget would flatten a 1 MiB cache).
  const double size_max = size.y.empty() ? 0 : *std::max_element(size.y.begin(), size.y.end());
  std::vector<Series> size_series{size};
  if (!budget.y.empty() && budget.y.back() <= 4 * std::max(size_max, 1e-9)) size_series.push_back(budget);
  return chart("Hit rate", "percent of framework entries reused", {hit_rate}) +
         chart("Cache size", unit_name, size_series) + chart("Compile time saved", "seconds", {saved});
}

std::string largest_table(const std::vector<EntrySummary>& entries) {
  std::string out = "<table><tr><th>entry</th><th>kind</th><th>size</th><th>hits</th><th>compile time</th>"
                    "<th>last used (UTC)</th></tr>";
  for (const auto& e : entries) {
    out += "<tr><td class=\"name\">" + esc(e.name) + "</td><td>" + esc(e.kind) + "</td><td>" + size_text(e.size) +
           "</td><td>" + std::to_string(e.hits) + "</td><td>" +
           (e.compile_ms > 0 ? str_format("%.2f s", static_cast<double>(e.compile_ms) / 1000) : std::string("-")) +
           "</td><td>" + iso_time(e.last_access_ns) + "</td></tr>";
  }
  return out + "</table>";
}

std::string evictions_table(const std::vector<EvictionRecord>& ev) {
  if (ev.empty()) return "<p>No evictions recorded.</p>";
  std::string out = "<table><tr><th>when (UTC)</th><th>entry</th><th>kind</th><th>size</th><th>reason</th></tr>";
  for (const auto& e : ev) {
    out += "<tr><td>" + iso_time(e.t_ns) + "</td><td class=\"name\">" + esc(e.name) + "</td><td>" + esc(e.kind) +
           "</td><td>" + size_text(e.size) + "</td><td>" + esc(e.reason) + "</td></tr>";
  }
  return out + "</table>";
}

}  // namespace

Result<std::string> render_report(Cache& cache) {
  MITHRIL_ASSIGN(const Stats s, cache.stats());
  MITHRIL_ASSIGN(const auto history, cache.history());
  MITHRIL_ASSIGN(const auto largest, cache.largest_framework_entries(20));
  MITHRIL_ASSIGN(const auto evictions, cache.evictions(50));
  std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mithril cache report</title><style>"
      "body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
      "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
      "td.name{font-family:monospace;max-width:520px;overflow-wrap:anywhere}figure{display:inline-block;margin:8px}"
      "figcaption{font-size:12px}</style></head><body>";
  html += "<h1>mithril cache report</h1>";
  html += "<p>Root <code>" + esc(s.root) + "</code>; " + std::to_string(history.size()) + " history points.</p>";
  html += "<h2>Summary</h2>" + summary_table(s);
  html += "<h2>Over time</h2>" + (history.empty() ? std::string("<p>No runs recorded yet.</p>") : charts(history));
  html += "<h2>Largest framework entries</h2>" + largest_table(largest);
  html += "<h2>Eviction history (newest first)</h2>" + evictions_table(evictions);
  return html + "</body></html>\n";
}

}  // namespace mithril::cli
