#include "manifest/codec.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <set>

#include <mithril/entry.h>

#include "util/json_util.h"

namespace mithril::manifest {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

OrderedJson encode_row(const Format& format, const FileRow& f) {
  OrderedJson row;
  row[std::string(format.path_key)] = f.path;
  if (format.digest_before_size) {
    row[std::string(format.digest_key)] = f.digest.to_hex();
    row["size"] = f.size;
  } else {
    row["size"] = f.size;
    row[std::string(format.digest_key)] = f.digest.to_hex();
  }
  if (format.has_inline && f.inline_frame) row["zstd"] = base64(*f.inline_frame);
  return row;
}

// One row, validated alone. Throws nlohmann's exceptions for a missing or
// mistyped key (the caller catches them).
Result<FileRow> decode_row(const Format& format, const Json& j, const Limits& limits) {
  FileRow row;
  row.path = j.at(std::string(format.path_key)).get<std::string>();
  if (auto ok = validate_entry_path(row.path); !ok) return reject(format, "has an unsafe path: " + ok.error().message);
  auto digest = Digest::from_hex(j.at(std::string(format.digest_key)).get<std::string>());
  if (!digest) return reject(format, "has a bad digest for " + row.path);
  row.digest = *digest;
  row.size = detail::json_u64(j.at("size"));
  if (row.size > limits.max_file) return reject(format, "declares a file larger than the per-file limit: " + row.path);
  if (j.contains("zstd")) {
    if (!format.has_inline) return reject(format, "has an inline frame where the format has none: " + row.path);
    row.inline_frame = unbase64(j.at("zstd").get<std::string>(), limits.max_inline);
    if (!row.inline_frame) return reject(format, "has a bad inline frame for " + row.path);
  }
  return row;
}

Result<std::vector<FileRow>> decode_rows(const Format& format, const Json& rows, const Limits& limits) {
  if (!rows.is_array()) return reject(format, "is malformed: files is not a list");
  std::vector<FileRow> out;
  std::set<std::string> seen;
  std::uint64_t total = 0;
  for (const auto& j : rows) {
    MITHRIL_ASSIGN(FileRow row, decode_row(format, j, limits));
    if (!seen.insert(row.path).second) return reject(format, "lists " + row.path + " twice");
    total += row.size;  // each size <= max_file, so no wrap for any sane bound
    if (total > limits.max_total || total < row.size) return reject(format, "is larger than the cache budget");
    out.push_back(std::move(row));
  }
  if (limits.tree) {
    if (auto both = conflicting_path(seen)) return reject(format, "lists " + *both + " both as a file and as a directory");
  }
  return out;
}

Result<Decoded> decode_json(const Format& format, const Json& j, const Limits& limits) {
  const auto fmt = j.find("format");
  const auto version = j.find("version");
  if (fmt == j.end() || !fmt->is_string() || fmt->get<std::string>() != format.name || version == j.end() ||
      detail::json_i64(*version) != kVersion) {
    return reject(format, "has an unknown format or version");
  }
  Decoded d;
  for (const auto& [key, value] : j.items()) {
    d.keys.insert(key);
    const bool too_big = value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX;
    if (value.is_string()) {
      d.fields.emplace(key, value.get<std::string>());
    } else if (value.is_number_integer() && !too_big) {
      d.fields.emplace(key, detail::json_i64(value));
    }
  }
  MITHRIL_ASSIGN(d.files, decode_rows(format, j.at("files"), limits));
  return d;
}

}  // namespace

std::unexpected<Error> reject(const Format& format, const std::string& why) {
  return fail(format.error, std::string(format.error_prefix) + why);
}

std::string encode(const Format& format, const Header& header, const std::vector<FileRow>& files) {
  OrderedJson j;
  j["format"] = format.name;
  j["version"] = kVersion;
  for (const auto& [key, value] : header) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      j[key] = *s;
    } else {
      j[key] = std::get<std::int64_t>(value);
    }
  }
  j["files"] = OrderedJson::array();
  for (const auto& f : files) j["files"].push_back(encode_row(format, f));
  return j.dump();
}

Result<Decoded> decode(const Format& format, std::string_view text, const Limits& limits) {
  const auto j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return reject(format, "is not JSON");
  try {
    return decode_json(format, j, limits);
  } catch (const Json::exception& e) {
    return reject(format, std::string("is malformed: ") + e.what());
  }
}

Result<std::string> Decoded::text(const Format& format, std::string_view key) const {
  const auto it = fields.find(key);
  if (it == fields.end() || !std::holds_alternative<std::string>(it->second)) {
    return reject(format, "is malformed: no string '" + std::string(key) + "'");
  }
  return std::get<std::string>(it->second);
}

Result<std::int64_t> Decoded::integer(const Format& format, std::string_view key) const {
  const auto it = fields.find(key);
  if (it == fields.end() || !std::holds_alternative<std::int64_t>(it->second)) {
    return reject(format, "is malformed: no integer '" + std::string(key) + "'");
  }
  return std::get<std::int64_t>(it->second);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text, std::size_t max_chars) {
  if (text.size() % 4 != 0 || text.size() > max_chars) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  auto len = static_cast<std::size_t>(n);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) --len;  // padding
  out.resize(len);
  return out;
}

}  // namespace mithril::manifest
