#include "output.h"

#include <cstdio>
#include <ctime>
#include <sstream>
#include "util/format.h"

namespace mithril::cli {
namespace {

std::string row(const std::string& label, const std::string& value) {
  return detail::str_format("%-22s %s\n", (label + ":").c_str(), value.c_str());
}

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

const char* kind_name(EntryKind k) { return k == EntryKind::kBlob ? "blob" : "entry"; }

}  // namespace

std::string iso_time(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};  // a time_t past year 2^31
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {buf, n};
}

nlohmann::json stats_json(const Stats& s) {
  nlohmann::json counters = nlohmann::json::object();
  for (int i = 0; i < kCounterCount; ++i) counters[counter_name(static_cast<Counter>(i))] = s.counters[i];
  return {
      {"schema_version", 1},
      {"root", s.root},
      {"entries", s.entries},
      {"objects", s.objects},
      {"stored_bytes", s.stored_bytes},
      {"logical_bytes", s.logical_bytes},
      {"framework_entries", s.framework_entries},
      {"framework_bytes", s.framework_bytes},
      {"total_bytes", s.stored_bytes + s.framework_bytes},
      {"max_size", s.max_size},
      {"index_bytes", s.index_bytes},
      {"quarantined_files", s.quarantined},
      {"hit_rate", s.hit_rate()},
      {"counters", counters},
      {"frameworks", [&] {
         nlohmann::json kinds = nlohmann::json::object();
         for (const auto& k : s.framework_kinds) {
           kinds[k.kind] = {{"entries", k.entries},         {"bytes", k.bytes},
                            {"hits", k.hits},               {"compile_ms_saved", k.compile_ms_saved},
                            {"evictions", k.evictions},     {"evicted_bytes", k.evicted_bytes},
                            {"quarantined", k.quarantined}, {"compiled", k.compiled}};
         }
         return kinds;
       }()},
  };
}

std::string stats_prometheus(const Stats& s) {
  std::string label = "{root=\"";
  for (char c : s.root) {
    if (c == '\\' || c == '"') label += '\\';
    if (c == '\n') {
      label += "\\n";
      continue;
    }
    label += c;
  }
  label += "\"}";
  std::ostringstream out;
  const auto metric = [&](const std::string& name, const char* type, const char* help, double value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << label << " " << value << "\n";
  };
  static constexpr const char* kHelp[kCounterCount] = {
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
  for (int i = 0; i < kCounterCount; ++i) {
    std::string name = std::string("mithril_") + counter_name(static_cast<Counter>(i));
    if (!name.ends_with("_bytes")) name += "_total";
    else name = name.substr(0, name.size() - 6) + "_bytes_total";
    metric(name, "counter", kHelp[i], static_cast<double>(s.counters[i]));
  }
  metric("mithril_entries", "gauge", "Entries in the content-addressed store.", static_cast<double>(s.entries));
  metric("mithril_framework_entries", "gauge", "Framework cache entries tracked.",
         static_cast<double>(s.framework_entries));
  metric("mithril_stored_bytes", "gauge", "Bytes of stored objects.", static_cast<double>(s.stored_bytes));
  metric("mithril_framework_bytes", "gauge", "Bytes of tracked framework files.",
         static_cast<double>(s.framework_bytes));
  metric("mithril_max_size_bytes", "gauge", "The size budget.", static_cast<double>(s.max_size));
  metric("mithril_quarantined_files", "gauge", "Files in quarantine.", static_cast<double>(s.quarantined));
  metric("mithril_hit_ratio", "gauge", "hits / (hits + misses).", s.hit_rate());
  return out.str();
}

std::string stats_table(const Stats& s) {
  const auto hits = static_cast<double>(s.get(Counter::kHits));
  const auto lookups = hits + static_cast<double>(s.get(Counter::kMisses));
  std::string out;
  out += row("Cache directory", s.root);
  out += row("Entries", std::to_string(s.entries) + " (" + std::to_string(s.objects) + " objects)");
  out += row("Hits", std::to_string(s.get(Counter::kHits)) + " / " +
                         std::to_string(static_cast<std::int64_t>(lookups)) + " (" + percent(hits, lookups) + ")");
  out += row("Misses", std::to_string(s.get(Counter::kMisses)));
  out += row("Puts", std::to_string(s.get(Counter::kPuts)) + " (" +
                         std::to_string(s.get(Counter::kDedupObjects)) + " objects deduplicated)");
  out += row("Evictions", std::to_string(s.get(Counter::kEvictions)) + " (" +
                              format_size(static_cast<std::uint64_t>(s.get(Counter::kEvictedBytes))) + ")");
  out += row("Corruptions", std::to_string(s.get(Counter::kCorruptions)) + " (" +
                                std::to_string(s.quarantined) + " files in quarantine)");
  out += row("Errors", std::to_string(s.get(Counter::kErrors)));
  out += row("Bytes in / out", format_size(static_cast<std::uint64_t>(s.get(Counter::kBytesIn))) + " / " +
                                   format_size(static_cast<std::uint64_t>(s.get(Counter::kBytesOut))));
  out += row("Framework entries", std::to_string(s.framework_entries) + " (" + format_size(s.framework_bytes) + "), " +
                                      std::to_string(s.get(Counter::kFrameworkHits)) + " hits, " +
                                      std::to_string(s.get(Counter::kFrameworkNewEntries)) + " compiled");
  for (const auto& k : s.framework_kinds) {
    out += row("  " + k.kind, std::to_string(k.entries) + " entries, " + format_size(k.bytes) + ", " +
                                  std::to_string(k.hits) + " hits, " + std::to_string(k.compiled) +
                                  " compiled, saved " + seconds(k.compile_ms_saved) + ", " +
                                  std::to_string(k.evictions) + " evicted, " + std::to_string(k.quarantined) +
                                  " quarantined");
  }
  out += row("Compile time saved", detail::str_format("~%s (spent compiling: ~%s)",
                                                     seconds(s.get(Counter::kCompileMsSaved)).c_str(),
                                                     seconds(s.get(Counter::kCompileMsSpent)).c_str()));
  out += row("Remote", std::to_string(s.get(Counter::kRemotePulled)) + " pulled, " +
                           std::to_string(s.get(Counter::kRemotePushed)) + " pushed, " +
                           std::to_string(s.get(Counter::kRemoteErrors)) + " errors, " +
                           std::to_string(s.get(Counter::kRemoteTimeouts)) + " timeouts, " +
                           std::to_string(s.get(Counter::kRemoteRejected)) + " rejected");
  const std::uint64_t total = s.stored_bytes + s.framework_bytes;
  out += row("Cache size", format_size(total) + " / " + format_size(s.max_size) + " (" +
                               percent(static_cast<double>(total), static_cast<double>(s.max_size)) + ")");
  out += row("Uncompressed size", format_size(s.logical_bytes));
  out += row("Index size", format_size(s.index_bytes));
  return out;
}

std::string top_entries_table(const std::vector<EntrySummary>& top) {
  if (top.empty()) return "";
  std::string out = "Largest entries:\n";
  for (const auto& e : top) {
    out += detail::str_format("  %10s  %4lld hits  %s\n", format_size(e.size).c_str(), static_cast<long long>(e.hits),
                              e.name.c_str());
  }
  return out;
}

nlohmann::json entry_json(const EntryRecord& e) {
  return {{"key", e.key.to_hex()},   {"kind", kind_name(e.kind)},     {"root", e.root.to_hex()},
          {"namespace", e.name_space}, {"device", e.device},          {"size", e.size},
          {"created", iso_time(e.created_ns)}, {"last_access", iso_time(e.last_access_ns)},
          {"hits", e.hits}};
}

std::string entries_table(const std::vector<EntryRecord>& entries) {
  std::ostringstream out;
  out << detail::str_format("%-64s  %-5s  %10s  %6s  %-20s  %s\n", "KEY", "KIND", "SIZE", "HITS", "LAST ACCESS",
                            "DEVICE");
  for (const auto& e : entries) {
    out << detail::str_format("%-64s  %-5s  %10s  %6lld  %-20s  %s\n", e.key.to_hex().c_str(), kind_name(e.kind),
                              format_size(e.size).c_str(), static_cast<long long>(e.hits),
                              iso_time(e.last_access_ns).c_str(), e.device.empty() ? "-" : e.device.c_str());
  }
  return out.str();
}

nlohmann::json verify_json(const VerifyReport& r) {
  return {{"objects_checked", r.objects_checked}, {"corrupt", r.corrupt},
          {"missing", r.missing},                 {"entries_dropped", r.entries_dropped},
          {"orphans", r.orphans},                 {"orphans_removed", r.orphans_removed},
          {"temp_files_removed", r.temp_files_removed}, {"index_rebuilt", r.index_rebuilt}};
}

std::string verify_text(const VerifyReport& r) {
  std::string out;
  out += row("Objects checked", std::to_string(r.objects_checked));
  out += row("Corrupt (quarantined)", std::to_string(r.corrupt));
  out += row("Missing", std::to_string(r.missing));
  out += row("Entries dropped", std::to_string(r.entries_dropped));
  out += row("Orphan objects", std::to_string(r.orphans) + " (" + std::to_string(r.orphans_removed) + " removed)");
  out += row("Temp files removed", std::to_string(r.temp_files_removed));
  if (r.index_rebuilt) out += row("Index", "damaged; rebuilt from the objects");
  return out;
}

nlohmann::json gc_json(const GcReport& r) {
  return {{"evicted_entries", r.evicted_entries}, {"evicted_bytes", r.evicted_bytes},
          {"stored_before", r.stored_before},     {"stored_after", r.stored_after},
          {"temp_files_removed", r.temp_files_removed}};
}

std::string gc_text(const GcReport& r) {
  std::string out;
  out += row("Evicted entries", std::to_string(r.evicted_entries) + " (" + format_size(r.evicted_bytes) + ")");
  out += row("Cache size", format_size(r.stored_before) + " -> " + format_size(r.stored_after));
  out += row("Temp files removed", std::to_string(r.temp_files_removed));
  return out;
}

}  // namespace mithril::cli
