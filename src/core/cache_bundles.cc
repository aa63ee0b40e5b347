// Bundles: one portable file holding a partition's framework cache
// (pack/unpack), for baking into a container image or passing between jobs.
// Format (docs/bundles.md): a tar (pax) compressed with zstd, whose first
// member is mithril-bundle.json and whose other members are files/<path>.
#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>
#include <set>

#include <mithril/env.h>
#include <mithril/hooks.h>

#include "cas/object_io.h"
#include "core/cache_impl.h"
#include "env/staged_files.h"
#include "frameworks/importer.h"
#include "manifest/codec.h"
#include "util/format.h"

namespace mithril {
namespace {

constexpr const char* kManifestName = "mithril-bundle.json";
constexpr std::string_view kFilesPrefix = "files/";
constexpr std::uint64_t kMaxManifest = 64ull << 20;

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

Error archive_error(archive* a, const std::string& what) {
  const char* msg = a != nullptr ? archive_error_string(a) : nullptr;
  return Error{ErrorCode::kIoError, what + ": " + (msg ? msg : "archive error"), 0};
}

struct ManifestFile {
  std::uint64_t size = 0;
  Digest digest;
};

struct Manifest {
  std::string partition;
  std::map<std::string, ManifestFile> files;  // path relative to fw/<partition>/
};

Result<Manifest> parse_bundle_manifest(const std::string& text) {
  const auto& format = manifest::kBundle;
  manifest::Limits limits;
  limits.tree = true;
  MITHRIL_ASSIGN(manifest::Decoded doc, manifest::decode(format, text, limits));
  Manifest m;
  MITHRIL_ASSIGN(m.partition, doc.text(format, "partition"));
  auto dev = DeviceClass::parse(m.partition);
  if (!dev || dev->to_string() != m.partition) {
    return manifest::reject(format, "names an unknown partition '" + m.partition + "'");
  }
  for (auto& f : doc.files) m.files.emplace(std::move(f.path), ManifestFile{f.size, f.digest});
  return m;
}

ArchivePtr open_reader(const std::string& path, Error* err) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_filter_none(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    *err = archive_error(a.get(), "cannot read bundle " + path);
    return ArchivePtr(nullptr, archive_read_free);
  }
  return a;
}

// Reads the manifest member (which must come first).
Result<Manifest> read_manifest(archive* a) {
  archive_entry* e = nullptr;
  if (archive_read_next_header(a, &e) != ARCHIVE_OK) return std::unexpected(archive_error(a, "bundle"));
  if (std::string(archive_entry_pathname(e)) != kManifestName || archive_entry_filetype(e) != AE_IFREG ||
      archive_entry_size(e) < 0 || static_cast<std::uint64_t>(archive_entry_size(e)) > kMaxManifest) {
    return fail(ErrorCode::kInvalidArgument, std::string("refusing bundle: first member is not ") + kManifestName);
  }
  std::string text(static_cast<std::size_t>(archive_entry_size(e)), '\0');
  const la_ssize_t n = archive_read_data(a, text.data(), text.size());
  if (n < 0 || static_cast<std::size_t>(n) != text.size()) return std::unexpected(archive_error(a, "bundle"));
  return parse_bundle_manifest(text);
}

// Pass 1: every member must be a regular file the manifest lists, once, with
// the listed size; every listed file must be present; the total must fit the
// budget. Nothing is written.
Result<void> validate_members(archive* a, const Manifest& m, std::uint64_t budget) {
  std::set<std::string> seen;
  std::uint64_t total = 0;
  for (;;) {
    archive_entry* e = nullptr;
    const int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return std::unexpected(archive_error(a, "bundle"));
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    const auto refuse = [&](const std::string& why) {
      return fail(ErrorCode::kInvalidArgument, detail::concat("refusing bundle: member '", name, "' ", why));
    };
    if (archive_entry_filetype(e) == AE_IFDIR) continue;
    if (archive_entry_hardlink(e) != nullptr || archive_entry_symlink(e) != nullptr) return refuse("is a link");
    if (archive_entry_filetype(e) != AE_IFREG) return refuse("is not a regular file");
    if (!name.starts_with(kFilesPrefix)) return refuse("is outside files/");
    const std::string rel = name.substr(kFilesPrefix.size());
    if (auto ok = validate_entry_path(rel); !ok) return refuse("has an unsafe path");
    auto it = m.files.find(rel);
    if (it == m.files.end()) return refuse("is not in the manifest");
    if (!seen.insert(rel).second) return refuse("appears twice");
    if (archive_entry_size(e) < 0 || static_cast<std::uint64_t>(archive_entry_size(e)) != it->second.size) {
      return refuse("has a size other than the manifest's");
    }
    total += it->second.size;
    if (total > budget) return fail(ErrorCode::kInvalidArgument, "refusing bundle: larger than the cache budget");
  }
  if (seen.size() != m.files.size()) {
    return fail(ErrorCode::kInvalidArgument, "refusing bundle: files listed in the manifest are missing");
  }
  return {};
}

// Extracts the current member of `a` into a file staged by `batch`,
// verifying size and digest. nullopt when a regular file is already there
// (kept). Anything not ours in the way refuses the bundle. Returns the bytes
// written.
Result<std::optional<std::uint64_t>> stage_member(Env& env, archive* a, const std::string& rel,
                                                  const ManifestFile& want, frameworks::Importer::Batch& batch) {
  auto staged = batch.stage(rel);
  if (!staged && staged.error().code == ErrorCode::kInvalidArgument) {
    return fail(ErrorCode::kInvalidArgument, "refusing bundle: " + staged.error().message);
  }
  if (!staged) return std::unexpected(staged.error());
  const std::optional<int>& created = *staged;
  if (!created) return std::optional<std::uint64_t>{};
  const int fd = *created;
  Hasher hasher;
  std::uint64_t got = 0;
  Result<void> ok;
  std::string buf(1 << 16, '\0');
  for (;;) {
    const la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) {
      ok = std::unexpected(archive_error(a, "bundle"));
      break;
    }
    if (n == 0) break;
    hasher.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    got += static_cast<std::uint64_t>(n);
    ok = write_all(env, fd, buf.data(), static_cast<std::size_t>(n));
    if (!ok) break;
  }
  (void)env.close(fd);
  if (ok && (got != want.size || hasher.finalize() != want.digest)) {
    ok = fail(ErrorCode::kCorruption, "refusing bundle: " + rel + " does not match its manifest digest");
  }
  if (!ok) return std::unexpected(ok.error());
  return std::optional<std::uint64_t>(got);
}

// The manifest of a bundle of `partition`: every recorded file under
// fw/<partition>/ (collected into `files`, in order).
std::string bundle_manifest(const std::string& partition, const std::vector<FwFile>& recorded,
                            std::vector<const FwFile*>* files) {
  const std::string base = "fw/" + partition + "/";
  std::vector<manifest::FileRow> rows;
  for (const auto& f : recorded) {
    if (!f.path.starts_with(base)) continue;
    files->push_back(&f);
    rows.push_back({f.path.substr(base.size()), f.digest, f.size, std::nullopt});
  }
  return manifest::encode(manifest::kBundle, {{"partition", partition}}, rows);
}

// Writes one regular member (mode 0600) holding `data`.
bool add_member(archive* a, const std::string& name, const std::string& data) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0600);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
  return archive_write_header(a, e.get()) == ARCHIVE_OK &&
         archive_write_data(a, data.data(), data.size()) == static_cast<la_ssize_t>(data.size());
}

// Writes the bundle (manifest first, then every file, each read only as a
// regular file and checked against its record) to `fd`.
Result<void> write_bundle(Env& env, const std::string& root, int fd, const std::string& manifest,
                          const std::vector<const FwFile*>& files, const std::string& base, BundleReport& report) {
  ArchivePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_add_filter_zstd(a.get());
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) return std::unexpected(archive_error(a.get(), "bundle"));
  if (!add_member(a.get(), kManifestName, manifest)) return std::unexpected(archive_error(a.get(), "bundle"));
  for (const FwFile* f : files) {
    auto data = read_regular_file(env, root + "/" + f->path);  // never through a symlink
    if (!data && data.error().code != ErrorCode::kCorruption) return std::unexpected(data.error());
    const std::optional<std::string> bytes = data ? std::move(*data) : std::nullopt;
    if (!bytes || bytes->size() != f->size || blake3(*bytes) != f->digest) {
      return fail(ErrorCode::kBusy, f->path + " changed while packing; run again");
    }
    if (!add_member(a.get(), std::string(kFilesPrefix) + f->path.substr(base.size()), *bytes)) {
      return std::unexpected(archive_error(a.get(), "bundle"));
    }
    ++report.files;
    report.bytes += f->size;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return std::unexpected(archive_error(a.get(), "bundle"));
  return {};
}

}  // namespace

Result<BundleReport> Cache::pack_frameworks(const DeviceClass& partition, const std::string& path) {
  // Records what is on disk now; its history point is "pack" (docs/frameworks.md).
  MITHRIL_TRY(sync_frameworks(partition, {}, HistoryKind::kPack));
  std::lock_guard lock(m_impl->mu);
  Impl& impl = *m_impl;
  BundleReport report;
  report.partition = partition.to_string();
  const std::string base = "fw/" + report.partition + "/";
  MITHRIL_ASSIGN(const auto recorded, impl.index->fw_files());
  std::vector<const FwFile*> files;
  const std::string text = bundle_manifest(report.partition, recorded, &files);
  // 0600: a bundle carries the cache's compiled code, private like the root.
  MITHRIL_TRY(write_output_file(
      impl.env, path,
      [&](int fd) -> Result<void> { return write_bundle(impl.env, impl.config.root, fd, text, files, base, report); },
      0600));
  return report;
}

Result<BundleReport> Cache::unpack_frameworks(const std::string& path) {
  BundleReport report;
  Manifest manifest;
  {
    Error err;
    ArchivePtr a = open_reader(path, &err);
    if (!a) return std::unexpected(err);
    MITHRIL_ASSIGN(manifest, read_manifest(a.get()));
    MITHRIL_TRY(validate_members(a.get(), manifest, m_impl->config.max_size));
  }
  report.partition = manifest.partition;
  const DeviceClass partition = *DeviceClass::parse(manifest.partition);
  // Pass 2: extract every member into a staged file, verifying its digest;
  // publish only when all of them verified (one batch: the whole bundle).
  frameworks::Importer importer(*this, partition, HistoryKind::kUnpack);
  auto batch = importer.batch();  // its temp files are removed on every early return
  Error err;
  ArchivePtr a = open_reader(path, &err);
  if (!a) return std::unexpected(err);
  archive_entry* e = nullptr;
  archive_read_next_header(a.get(), &e);  // the manifest, already read
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;  // directories (validated)
    // Re-checked: the file may have been swapped since the first pass.
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    const auto it = name.starts_with(kFilesPrefix) ? manifest.files.find(name.substr(kFilesPrefix.size()))
                                                   : manifest.files.end();
    if (it == manifest.files.end() || archive_entry_hardlink(e) != nullptr || archive_entry_symlink(e) != nullptr) {
      return fail(ErrorCode::kInvalidArgument, "refusing bundle: it changed while being read");
    }
    MITHRIL_ASSIGN(const auto got, stage_member(m_impl->env, a.get(), it->first, it->second, batch));
    if (!got) {
      ++report.skipped_existing;  // keep the local copy (it is checked before every run)
      continue;
    }
    ++report.files;
    report.bytes += *got;
  }
  MITHRIL_TRY(batch.publish());
  MITHRIL_TRY(importer.record({}, /*rescan=*/true));  // every directory, as a bundle may complete entries
  return report;
}

}  // namespace mithril
