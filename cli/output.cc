#include "output.h"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <sstream>

#include <mithril/format.h>

#include "table.h"

namespace mithril::cli {
using detail::iso_time;
namespace {

std::string percent(double part, double whole) {
  return detail::str_format("%.2f %%", whole > 0 ? 100.0 * part / whole : 0.0);
}

// "12.3 s", "4 min 05 s", "2 h 10 min" from milliseconds.
std::string seconds(std::int64_t ms) {
  const double s = static_cast<double>(ms) / 1000.0;
  if (s < 60) return detail::str_format("%.1f s", s);
  if (s < 3600) return detail::str_format("%d min %02d s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return detail::str_format("%d h %02d min", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
}

std::string num(std::int64_t n) { return std::to_string(n); }
std::string num(std::uint64_t n) { return std::to_string(n); }
std::string size_of(std::int64_t n) { return format_size(static_cast<std::uint64_t>(n)); }

const char* kind_name(EntryKind k) { return k == EntryKind::kBlob ? "blob" : "entry"; }

// "92.31 % (24 read, 2 compiled)", or "-" when nothing was read or compiled.
std::string framework_rate(std::int64_t hits, std::int64_t compiled) {
  if (hits + compiled == 0) return "- (no framework entry read or compiled yet)";
  return percent(static_cast<double>(hits), static_cast<double>(hits + compiled)) + " (" + num(hits) +
         " entries read from the cache, " + num(compiled) + " compiled)";
}

// A Prometheus sample value: integers exactly, ratios in the shortest form
// that reads back to the same double.
std::string sample(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}
std::string sample(std::int64_t v) { return std::to_string(v); }
std::string sample(std::uint64_t v) { return std::to_string(v); }

std::string prometheus_label(const std::string& root) {
  std::string label = "{root=\"";
  for (char c : root) {
    if (c == '\\' || c == '"') label += '\\';
    if (c == '\n') {
      label += "\\n";
      continue;
    }
    label += c;
  }
  return label + "\"}";
}

constexpr const char* kCounterHelp[kCounterCount] = {
    "Lookups that returned a verified entry.", "Lookups that found nothing usable.", "Entries stored.",
    "Entries evicted by the size budget.", "Uncompressed bytes offered to put.",
    "Uncompressed bytes returned by hits.", "Objects or files that failed verification and were quarantined.",
    "Operations that failed with an error.", "Bytes freed by eviction.",
    "Objects a put did not write because they were already stored.",
    "Framework cache entries a run read (torch/Triton cache hits).",
    "Framework cache entries a run created (compilations).",
    "Framework cache entries downloaded from a remote.", "Framework cache entries uploaded to a remote.",
    "Remote operations that failed.", "Remote operations that timed out.",
    "Remote entries refused (digest, size, path or signature wrong).", "Wire bytes received from remotes.",
    "Wire bytes sent to remotes.",
    "Estimated compile time saved by framework cache hits, in ms.",
    "Estimated compile time spent producing new framework entries, in ms.",
};

// The general rows: framework view first, then what concerns the whole root.
void add_overview(LabelTable& t, const Stats& s, const std::optional<RunSummary>& last_run) {
  t.add("Framework hit rate, last run",
        last_run ? framework_rate(last_run->framework_hits, last_run->framework_new) + ", " + iso_time(last_run->t_ns)
                 : "- (no run recorded yet)");
  t.add("Framework hit rate, lifetime",
        framework_rate(s.get(Counter::kFrameworkHits), s.get(Counter::kFrameworkNewEntries)));
  t.add("Framework entries", num(s.framework_entries) + " (" + format_size(s.framework_bytes) + ")");
  const std::uint64_t total = s.stored_bytes + s.framework_bytes;
  t.add("Cache size", format_size(total) + " / " + format_size(s.max_size) + " (" +
                          percent(static_cast<double>(total), static_cast<double>(s.max_size)) + ")");
  const std::string last = last_run ? detail::concat(", last run ~", seconds(last_run->compile_ms_saved)) : "";
  t.add("Compile time saved", detail::concat("~", seconds(s.get(Counter::kCompileMsSaved)), last,
                                             " (spent compiling: ~", seconds(s.get(Counter::kCompileMsSpent)), ")"));
  t.add("Evictions", num(s.get(Counter::kEvictions)) + " (" + size_of(s.get(Counter::kEvictedBytes)) + ")");
  t.add("Corruptions", num(s.get(Counter::kCorruptions)) + " (" + num(s.quarantined) + " files in quarantine)");
  t.add("Errors", num(s.get(Counter::kErrors)));
}

bool remote_used(const Stats& s) {
  for (Counter c : {Counter::kRemotePulled, Counter::kRemotePushed, Counter::kRemoteErrors, Counter::kRemoteTimeouts,
                    Counter::kRemoteRejected}) {
    if (s.get(c) != 0) return true;
  }
  return false;
}

void add_root_rows(LabelTable& t, const Stats& s) {
  if (remote_used(s)) {
    t.add("Remote", num(s.get(Counter::kRemotePulled)) + " pulled, " + num(s.get(Counter::kRemotePushed)) +
                        " pushed, " + num(s.get(Counter::kRemoteErrors)) + " errors, " +
                        num(s.get(Counter::kRemoteTimeouts)) + " timeouts, " +
                        num(s.get(Counter::kRemoteRejected)) + " rejected");
  }
  t.add("Cache directory", s.root);
  t.add("Index size", format_size(s.index_bytes));
}

std::string kinds_text(const std::vector<FrameworkKindStats>& kinds) {
  if (kinds.empty()) return "";
  Table t({Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
           Align::kRight},
          2);
  t.add_row({"KIND", "ENTRIES", "SIZE", "HITS", "COMPILED", "SAVED", "EVICTED", "QUARANTINED"});
  for (const auto& k : kinds) {
    t.add_row({k.kind, num(k.entries), format_size(k.bytes), num(k.hits), num(k.compiled),
               seconds(k.compile_ms_saved), num(k.evictions), num(k.quarantined)});
  }
  return "\nFramework entries by kind:\n" + t.render();
}

std::string top_text(const std::vector<EntrySummary>& top) {
  if (top.empty()) return "";
  Table t({Align::kRight, Align::kRight, Align::kLeft}, 2);
  t.add_row({"SIZE", "HITS", "NAME"});
  for (const auto& e : top) t.add_row({format_size(e.size), num(e.hits), e.name});
  return "\nLargest entries:\n" + t.render();
}

// Shown only when the keyed store (put/get, put_entry) holds something.
std::string keyed_text(const Stats& s) {
  if (s.entries == 0 && s.objects == 0) return "";
  const std::int64_t hits = s.get(Counter::kHits);
  const std::int64_t lookups = hits + s.get(Counter::kMisses);
  LabelTable t(2);
  t.add("Entries", num(s.entries) + " (" + num(s.objects) + " objects, " + format_size(s.stored_bytes) + ")");
  t.add("Hits", num(hits) + " / " + num(lookups) + " (" +
                    percent(static_cast<double>(hits), static_cast<double>(lookups)) + ")");
  t.add("Misses", num(s.get(Counter::kMisses)));
  t.add("Puts", num(s.get(Counter::kPuts)) + " (" + num(s.get(Counter::kDedupObjects)) + " objects deduplicated)");
  t.add("Bytes in / out", size_of(s.get(Counter::kBytesIn)) + " / " + size_of(s.get(Counter::kBytesOut)));
  t.add("Uncompressed size", format_size(s.logical_bytes));
  return "\nKeyed store (mithril put/get and the Python API):\n" + t.render();
}

}  // namespace

std::string stats_prometheus(const Stats& s) {
  const std::string label = prometheus_label(s.root);
  std::ostringstream out;
  const auto metric = [&](const std::string& name, const char* type, const char* help, const std::string& value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << label << " " << value << "\n";
  };
  for (int i = 0; i < kCounterCount; ++i) {
    std::string name = std::string("mithril_") + counter_name(static_cast<Counter>(i));
    if (!name.ends_with("_bytes")) name += "_total";
    else name = name.substr(0, name.size() - 6) + "_bytes_total";
    metric(name, "counter", kCounterHelp[i], sample(s.counters[i]));
  }
  metric("mithril_entries", "gauge", "Entries in the keyed store.", sample(s.entries));
  metric("mithril_framework_entries", "gauge", "Framework cache entries tracked.", sample(s.framework_entries));
  metric("mithril_stored_bytes", "gauge", "Bytes of stored objects.", sample(s.stored_bytes));
  metric("mithril_framework_bytes", "gauge", "Bytes of tracked framework files.", sample(s.framework_bytes));
  metric("mithril_max_size_bytes", "gauge", "The size budget.", sample(s.max_size));
  metric("mithril_quarantined_files", "gauge", "Files in quarantine.", sample(s.quarantined));
  metric("mithril_hit_ratio", "gauge", "Keyed store: hits / (hits + misses).", sample(s.hit_rate()));
  metric("mithril_framework_hit_ratio", "gauge",
         "Framework entries read / (read + compiled), lifetime.", sample(s.framework_hit_rate()));
  return out.str();
}

std::string stats_text(const Stats& s, const std::optional<RunSummary>& last_run,
                       const std::vector<EntrySummary>& top) {
  LabelTable t;
  add_overview(t, s, last_run);
  add_root_rows(t, s);
  return t.render() + kinds_text(s.framework_kinds) + top_text(top) + keyed_text(s);
}

ListedEntry listed_entry(const EntrySummary& e) {
  return ListedEntry{e.kind, e.name, e.size, e.hits, e.last_access_ns, e.compile_ms, std::nullopt};
}

ListedEntry listed_entry(const EntryRecord& e) {
  return ListedEntry{kind_name(e.kind), e.key.to_hex(), e.size, e.hits, e.last_access_ns, 0, e};
}

nlohmann::json listed_json(const ListedEntry& e) {
  nlohmann::json j = {{"store", e.keyed ? "keyed" : "framework"}, {"kind", e.kind},  {"name", e.name},
                      {"size", e.size}, {"hits", e.hits}, {"last_access", iso_time(e.last_access_ns)}};
  if (!e.keyed) {
    j["compile_ms"] = e.compile_ms;
    return j;
  }
  j["key"] = e.keyed->key.to_hex();
  j["root"] = e.keyed->root.to_hex();
  j["namespace"] = e.keyed->name_space;
  j["device"] = e.keyed->device;
  j["created"] = iso_time(e.keyed->created_ns);
  return j;
}

std::string listed_table(const std::vector<ListedEntry>& entries) {
  Table t({Align::kLeft, Align::kRight, Align::kRight, Align::kLeft, Align::kRight, Align::kLeft});
  t.add_row({"KIND", "SIZE", "HITS", "LAST USE", "COMPILE", "NAME"});
  for (const auto& e : entries) {
    const std::string compile = e.keyed ? "-" : e.compile_ms > 0 ? seconds(e.compile_ms) : "?";
    t.add_row({e.kind, format_size(e.size), num(e.hits), iso_time(e.last_access_ns), compile, e.name});
  }
  return t.render();
}

nlohmann::json verify_json(const VerifyReport& r) {
  return {{"objects_checked", r.objects_checked}, {"corrupt", r.corrupt},
          {"missing", r.missing},                 {"entries_dropped", r.entries_dropped},
          {"orphans", r.orphans},                 {"orphans_removed", r.orphans_removed},
          {"temp_files_removed", r.temp_files_removed}, {"index_rebuilt", r.index_rebuilt},
          {"framework_files_checked", r.framework_files_checked}, {"framework_corrupt", r.framework_corrupt},
          {"framework_missing", r.framework_missing},
          {"framework_entries_quarantined", r.framework_entries_quarantined}};
}

std::string verify_text(const VerifyReport& r) {
  LabelTable t;
  t.add("Objects checked", num(r.objects_checked));
  t.add("Corrupt (quarantined)", num(r.corrupt));
  t.add("Missing", num(r.missing));
  t.add("Entries dropped", num(r.entries_dropped));
  t.add("Orphan objects", num(r.orphans) + " (" + num(r.orphans_removed) + " removed)");
  t.add("Temp files removed", num(r.temp_files_removed));
  t.add("Framework files checked", num(r.framework_files_checked));
  t.add("Framework entries corrupt", num(r.framework_corrupt) + " (+" + num(r.framework_missing) + " with a file missing; " +
                                         num(r.framework_entries_quarantined) + " quarantined)");
  if (r.index_rebuilt) t.add("Index", "damaged; rebuilt from the objects");
  return t.render();
}

nlohmann::json gc_json(const GcReport& r) {
  return {{"evicted_entries", r.evicted_entries}, {"evicted_bytes", r.evicted_bytes},
          {"stored_before", r.stored_before},     {"stored_after", r.stored_after},
          {"temp_files_removed", r.temp_files_removed}};
}

std::string gc_text(const GcReport& r) {
  LabelTable t;
  t.add("Evicted entries", num(r.evicted_entries) + " (" + format_size(r.evicted_bytes) + ")");
  t.add("Cache size", format_size(r.stored_before) + " -> " + format_size(r.stored_after));
  t.add("Temp files removed", num(r.temp_files_removed));
  return t.render();
}

}  // namespace mithril::cli
