// mithril_cache._core: the Python face of the C++ engine.
//
// The only place where Result<T> errors become Python exceptions:
// ErrorCode -> MithrilError subclass (see python/mithril_cache/__init__.py).
// Digests are 64-character hex strings in Python. The GIL is released
// around every call that does I/O.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <mithril/cache.h>
#include <mithril/hooks.h>
#include <mithril/remote.h>
#include <mithril/session.h>
#include <mithril/version.h>

#include <array>

namespace py = pybind11;
using namespace mithril;

namespace {

// Indexed by ErrorCode (0: the base class), filled by _register_errors from
// the classes kErrorTable names.
std::array<py::object, std::size(kErrorTable) + 1> g_errors;

// Raises the Python exception mapped to `e`'s code. REQUIRES: the GIL is held.
[[noreturn]] void raise_error(const Error& e) {
  const auto code = static_cast<std::size_t>(error_info(e.code).code);
  py::object cls = g_errors.at(code) ? g_errors.at(code) : g_errors[0];
  PyErr_SetString(cls.ptr(), e.message.c_str());
  throw py::error_already_set();
}

template <typename T>
T unwrap(Result<T> r) {
  if (!r) raise_error(r.error());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

// Runs `f` (returning Result<T>) with the GIL released, then unwraps it
// (raising the mapped Python exception on error) with the GIL held again.
template <typename F>
auto released(F&& f) {
  std::optional<decltype(f())> r;
  {
    py::gil_scoped_release release;
    r.emplace(f());
  }
  return unwrap(std::move(*r));
}

Digest parse_digest(const std::string& hex) {
  auto d = Digest::from_hex(hex);
  if (!d) throw py::value_error("not a digest (64 hex characters): " + hex);
  return *d;
}

// `mithril stats --json`'s document as a dict: the library renders it once
// for the CLI and Python (stats_json_text).
py::object stats_dict(Cache& c) {
  const std::string text = released([&] { return stats_json_text(c); });
  return py::module_::import("json").attr("loads")(text);
}

py::dict framework_dict(const FrameworkReport& r) {
  py::dict d;
  d["entries"] = r.entries;
  d["new_entries"] = r.new_entries;
  d["updated_entries"] = r.updated_entries;
  d["removed_entries"] = r.removed_entries;
  d["accessed_entries"] = r.accessed_entries;
  d["files_hashed"] = r.files_hashed;
  d["quarantined_entries"] = r.quarantined_entries;
  d["quarantined_files"] = r.quarantined_files;
  d["skipped_busy"] = r.skipped_busy;
  d["compile_ns_new"] = r.compile_ns_new;
  d["compile_ns_saved"] = r.compile_ns_saved;
  return d;
}

py::dict bundle_dict(const BundleReport& r) {
  py::dict d;
  d["partition"] = r.partition;
  d["files"] = r.files;
  d["bytes"] = r.bytes;
  d["skipped_existing"] = r.skipped_existing;
  return d;
}

py::dict sync_dict(const SyncReport& r) {
  py::dict d;
  d["entries_local"] = r.entries_local;
  d["entries_remote"] = r.entries_remote;
  d["entries_transferred"] = r.entries_transferred;
  d["entries_present"] = r.entries_present;
  d["objects_transferred"] = r.objects_transferred;
  d["objects_deduplicated"] = r.objects_deduplicated;
  d["wire_bytes"] = r.wire_bytes;
  d["logical_bytes"] = r.logical_bytes;
  d["errors"] = r.errors;
  d["timeouts"] = r.timeouts;
  d["rejected"] = r.rejected;
  d["skipped"] = r.skipped;
  d["remote_gave_up"] = r.remote_gave_up;
  d["first_problem"] = r.first_problem;
  d["seconds"] = r.seconds;
  return d;
}

CacheKey make_key(const py::object& graph_hash, const std::vector<InputSpec>& inputs, const DeviceClass& device,
                  const std::string& salt) {
  std::string g = py::isinstance<py::bytes>(graph_hash) ? std::string(graph_hash.cast<py::bytes>())
                                                         : graph_hash.cast<std::string>();
  CacheKey key(std::move(g), inputs, device, salt);
  unwrap(key.validate());
  return key;
}

py::dict gc_dict(const GcReport& g) {
  py::dict d;
  d["evicted_entries"] = g.evicted_entries;
  d["evicted_bytes"] = g.evicted_bytes;
  d["size_before"] = g.stored_before;
  d["size_after"] = g.stored_after;
  d["temp_files_removed"] = g.temp_files_removed;
  return d;
}

template <typename T, typename F>
py::object optional_dict(const std::optional<T>& v, F&& to_dict) {
  if (!v) return py::none();
  return to_dict(*v);
}

// RunSession for Python: warnings are collected (the GIL is released while
// the session works) and returned, and mithril_cache turns them into
// MithrilWarning. Python sets the returned variables in os.environ itself.
class PySession {
 public:
  PySession(const CacheConfig& config, bool progress)
      : m_session(config, [this](const std::string& w) { m_warnings.push_back(w); }, SessionOptions{progress, false}) {}
  py::dict prepare() {
    PrepareReport r;
    {
      py::gil_scoped_release release;
      r = m_session.prepare();
    }
    py::dict d;
    py::dict env;
    for (const auto& [var, dir] : r.env) env[py::str(var)] = dir;
    d["env"] = env;
    d["check"] = optional_dict(r.checked, framework_dict);
    d["pull"] = optional_dict(r.pulled, sync_dict);
    d["warnings"] = take_warnings();
    return d;
  }
  py::dict finish() {
    FinishReport r;
    {
      py::gil_scoped_release release;
      r = m_session.finish();
    }
    py::dict d;
    d["synced"] = optional_dict(r.synced, framework_dict);
    d["push"] = optional_dict(r.pushed, sync_dict);
    d["warnings"] = take_warnings();
    return d;
  }
  CacheConfig config() const { return m_session.config(); }
  DeviceClass partition() const { return m_session.partition(); }

 private:
  py::list take_warnings() {
    py::list out;
    for (const auto& w : m_warnings) out.append(w);
    m_warnings.clear();
    return out;
  }

  std::vector<std::string> m_warnings;  // before m_session: its sink appends here
  RunSession m_session;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "mithril-cache C++ core";
  m.attr("__version__") = kVersion;
  // The one error table (kErrorTable): (code, name, description, exit code, exception class name) rows.
  m.def("_error_table", [] {
    py::list rows;
    for (const auto& r : kErrorTable) {
      rows.append(py::make_tuple(static_cast<int>(r.code), r.name, r.description, r.exit_code, r.python_class));
    }
    return rows;
  });
  m.def("_register_errors", [](const py::object& base, const py::dict& by_code) {
    g_errors[0] = base;
    for (auto [k, v] : by_code) {
      const auto code = k.cast<std::size_t>();
      if (code == 0 || code >= g_errors.size()) throw py::value_error("not an ErrorCode: " + std::to_string(code));
      g_errors.at(code) = py::reinterpret_borrow<py::object>(v);
    }
  });

  py::class_<CacheConfig>(m, "CacheConfig")
      .def(py::init<>())
      .def_readwrite("root", &CacheConfig::root)
      .def_readwrite("max_size", &CacheConfig::max_size)
      .def_readwrite("compression", &CacheConfig::compression)
      .def_readwrite("compression_level", &CacheConfig::compression_level)
      .def_readwrite("fsync", &CacheConfig::fsync)
      .def_readwrite("verify_on_read", &CacheConfig::verify_on_read)
      .def_readwrite("allow_shared_root", &CacheConfig::allow_shared_root)
      .def_readwrite("temp_max_age_s", &CacheConfig::temp_max_age_s)
      .def_readwrite("remote", &CacheConfig::remote)
      .def("sources", [](const CacheConfig& c) {
        py::dict d;
        for (const auto& [k, v] : c.sources) d[py::str(k)] = config_source_name(v);
        return d;
      })
      .def("__repr__", [](const CacheConfig& c) {
        return "CacheConfig(root='" + c.root + "', max_size=" + std::to_string(c.max_size) + ")";
      });
  m.def("load_config", [](const std::map<std::string, std::string>& overrides) {
    return unwrap(load_config(overrides));
  }, py::arg("overrides") = std::map<std::string, std::string>{});
  m.def("parse_size", [](const std::string& s) { return unwrap(parse_size(s)); });
  m.def("format_size", &format_size);
  // Exposed so tests can check mithril's signer against botocore's.
  m.def("sigv4_authorization",
        [](const std::string& method, const std::string& path, const std::map<std::string, std::string>& query,
           const std::map<std::string, std::string>& headers, const std::string& payload_sha256,
           const std::string& access_key, const std::string& secret_key, const std::string& region,
           const std::string& service, const std::string& amz_date) {
          return sigv4_authorization({method, path, query, headers, payload_sha256},
                                     {access_key, secret_key, ""}, region, service, amz_date);
        },
        py::arg("method"), py::arg("path"), py::arg("query"), py::arg("headers"), py::arg("payload_sha256"),
        py::arg("access_key"), py::arg("secret_key"), py::arg("region"), py::arg("service"), py::arg("amz_date"));
  m.def("blake3_hex", [](const py::bytes& data) { return blake3(std::string(data)).to_hex(); });

  py::class_<DeviceClass>(m, "DeviceClass")
      .def_static("cpu", [](const std::string& isa) {
        auto parsed = cpu_isa_from_name(isa);
        if (!parsed) throw py::value_error("unknown CPU ISA level: " + isa);
        return DeviceClass::cpu(*parsed);
      }, py::arg("isa") = "DEFAULT")
      .def_static("cuda_any", &DeviceClass::cuda_any)
      .def_static("cuda_compute", &DeviceClass::cuda_compute, py::arg("major"), py::arg("minor"))
      .def_static("cuda_host", [](int major, int minor, int driver_major, const std::string& isa) {
        auto parsed = cpu_isa_from_name(isa);
        if (!parsed) throw py::value_error("unknown CPU ISA level: " + isa);
        return unwrap(DeviceClass::cuda_host(major, minor, driver_major, *parsed));
      }, py::arg("major"), py::arg("minor"), py::arg("driver_major"), py::arg("isa") = "DEFAULT")
      .def_static("parse", [](const std::string& s) { return unwrap(DeviceClass::parse(s)); })
      .def_static("detect", []() { return detect_partition(); })
      .def("can_serve", &DeviceClass::can_serve)
      .def("__str__", &DeviceClass::to_string)
      .def("__repr__", [](const DeviceClass& d) { return "DeviceClass('" + d.to_string() + "')"; })
      .def("__eq__", [](const DeviceClass& a, const DeviceClass& b) { return a == b; });

  py::class_<InputSpec>(m, "InputSpec")
      .def(py::init([](std::vector<std::int64_t> shape, const std::string& dtype) {
             auto dt = dtype_from_name(dtype);
             if (!dt) throw py::value_error("unknown dtype: " + dtype);
             return InputSpec{std::move(shape), *dt};
           }), py::arg("shape"), py::arg("dtype") = "float32")
      .def_readonly("shape", &InputSpec::shape)
      .def_property_readonly("dtype", [](const InputSpec& s) { return std::string(dtype_name(s.dtype)); });

  py::class_<CacheKey>(m, "CacheKey")
      .def(py::init(&make_key), py::arg("graph_hash"), py::arg("inputs") = std::vector<InputSpec>{},
           py::arg("device") = DeviceClass::cpu(CpuIsa::kDefault), py::arg("salt") = "")
      .def("digest", [](const CacheKey& k) { return k.digest().to_hex(); })
      .def("serialize", [](const CacheKey& k) { return py::bytes(k.serialize()); })
      .def_static("deserialize", [](const py::bytes& b) { return unwrap(CacheKey::deserialize(std::string(b))); })
      .def("debug_dump", &CacheKey::debug_dump)
      .def_property_readonly("device", &CacheKey::device)
      .def("__eq__", [](const CacheKey& a, const CacheKey& b) { return a == b; });

  py::class_<Cache>(m, "Cache")
      .def_static("open", [](const CacheConfig& c) {
        return released([&] { return Cache::open(c); });
      })
      .def_property_readonly("config", &Cache::config)
      .def("put_blob", [](Cache& c, const py::bytes& data) {
        std::string copy(data);
        return released([&] { return c.put_blob(copy); }).digest.to_hex();
      })
      .def("put_file", [](Cache& c, const std::string& path) {
        return released([&] { return c.put_blob_file(path); }).digest.to_hex();
      })
      .def("get_blob", [](Cache& c, const std::string& hex) -> py::object {
        const Digest d = parse_digest(hex);
        auto v = released([&] { return c.get_blob(d); });
        if (!v) return py::none();
        return py::bytes(*v);
      })
      .def("put_entry", [](Cache& c, const CacheKey& key, const std::map<std::string, py::bytes>& files) {
        std::vector<EntryFile> copy;
        copy.reserve(files.size());
        for (const auto& [name, data] : files) copy.push_back(EntryFile{name, std::string(data)});
        return released([&] { return c.put_entry(key, copy); }).to_hex();
      })
      .def("get_entry", [](Cache& c, const CacheKey& key) -> py::object {
        std::optional<std::map<std::string, std::string>> files;
        Error err;
        bool failed = false;
        {
          py::gil_scoped_release release;
          auto e = c.get_entry(key);
          if (!e) {
            failed = true;
            err = e.error();
          } else if (*e) {
            files.emplace();
            for (const auto& f : (*e)->files) {
              auto data = c.read_entry_file(**e, f.name);
              if (!data) {
                failed = true;
                err = data.error();
                break;
              }
              if (!*data) {  // evicted meanwhile: the whole entry is a miss
                files.reset();
                break;
              }
              (*files)[f.name] = std::move(**data);
            }
          }
        }
        if (failed) unwrap(Result<void>(std::unexpected(err)));
        if (!files) return py::none();
        py::dict out;
        for (const auto& [name, data] : *files) out[py::str(name)] = py::bytes(data);
        return out;
      })
      .def("remove", [](Cache& c, const std::string& hex) { return unwrap(c.remove(parse_digest(hex))); })
      .def("gc", [](Cache& c, std::optional<std::uint64_t> max_size) {
        return gc_dict(released([&] { return c.gc(max_size); }));
      }, py::arg("max_size") = py::none())
      .def("verify", [](Cache& c, bool repair) {
        const auto v = released([&] { return c.verify(repair); });
        py::dict d;
        d["objects_checked"] = v.objects_checked;
        d["corrupt"] = v.corrupt;
        d["missing"] = v.missing;
        d["entries_dropped"] = v.entries_dropped;
        d["orphans"] = v.orphans;
        d["orphans_removed"] = v.orphans_removed;
        d["index_rebuilt"] = v.index_rebuilt;
        d["framework_files_checked"] = v.framework_files_checked;
        d["framework_corrupt"] = v.framework_corrupt;
        d["framework_missing"] = v.framework_missing;
        d["framework_entries_quarantined"] = v.framework_entries_quarantined;
        return d;
      }, py::arg("repair") = false)
      .def("stats", [](Cache& c) { return stats_dict(c); })
      .def("flush", [](Cache& c) { unwrap(c.flush()); })
      .def("pack_frameworks", [](Cache& c, const DeviceClass& p, const std::string& path) {
        return bundle_dict(released([&] { return c.pack_frameworks(p, path); }));
      }, py::arg("partition"), py::arg("path"))
      .def("unpack_frameworks", [](Cache& c, const std::string& path) {
        return bundle_dict(released([&] { return c.unpack_frameworks(path); }));
      }, py::arg("path"))
      .def("push", [](Cache& c, const DeviceClass& p, const std::string& url, const std::string& tag) {
        SyncOptions o = sync_options_from(c.config(), false);
        o.tag = tag;
        return sync_dict(released([&] { return push_frameworks(c, p, url, o); }));
      }, py::arg("partition"), py::arg("url"), py::arg("tag") = "")
      .def("pull", [](Cache& c, const DeviceClass& p, const std::string& url, const std::string& tag,
                      bool bounded) {
        SyncOptions o = sync_options_from(c.config(), bounded);
        o.tag = tag;
        return sync_dict(released([&] { return pull_frameworks(c, p, url, o); }));
      }, py::arg("partition"), py::arg("url"), py::arg("tag") = "", py::arg("bounded") = false)
      .def("check_frameworks", [](Cache& c, const DeviceClass& p) {
        return framework_dict(released([&] { return c.check_frameworks(p); }));
      })
      .def("sync_frameworks", [](Cache& c, const DeviceClass& p, const std::vector<std::string>& opened,
                                 const std::optional<std::vector<std::string>>& changed) {
        FrameworkActivity activity;
        activity.opened = opened;
        activity.changed = changed.value_or(std::vector<std::string>{});
        activity.changes_known = changed.has_value();
        return framework_dict(released([&] { return c.sync_frameworks(p, activity); }));
      }, py::arg("partition"), py::arg("opened") = std::vector<std::string>{}, py::arg("changed") = py::none());

  py::class_<ContentStore>(m, "ContentStore")
      .def_static("open", [](const std::string& dir, bool compress, bool fsync, bool verify_on_read) {
        StoreOptions o;
        o.compress = compress;
        o.fsync = fsync;
        o.verify_on_read = verify_on_read;
        return unwrap(ContentStore::open(dir, o));
      }, py::arg("dir"), py::arg("compress") = false, py::arg("fsync") = false, py::arg("verify_on_read") = true)
      .def("put", [](ContentStore& s, const py::bytes& data) {
        std::string copy(data);
        return released([&] { return s.put_bytes(copy); }).digest.to_hex();
      })
      .def("put_file", [](ContentStore& s, const std::string& path) {
        return released([&] { return s.put_file(path); }).digest.to_hex();
      })
      .def("get", [](ContentStore& s, const std::string& hex) -> py::object {
        const Digest d = parse_digest(hex);
        auto v = released([&] { return s.get(d); });
        if (!v) return py::none();
        return py::bytes(*v);
      })
      .def("has", [](ContentStore& s, const std::string& hex) {
        return unwrap(s.stat(parse_digest(hex))).has_value();
      })
      .def("remove", [](ContentStore& s, const std::string& hex) { return unwrap(s.remove(parse_digest(hex))); })
      .def("verify", [](ContentStore& s, const std::string& hex) {
        const Digest d = parse_digest(hex);
        return released([&] { return s.verify(d, true); });
      })
      .def_property_readonly("dir", &ContentStore::dir);

  py::class_<PySession>(m, "RunSession")
      .def(py::init([](const CacheConfig& config, bool progress) {
             py::gil_scoped_release release;  // detects the partition (NVML or nvidia-smi)
             return std::make_unique<PySession>(config, progress);
           }), py::arg("config"), py::arg("progress") = false)
      .def("prepare", &PySession::prepare)
      .def("finish", &PySession::finish)
      .def_property_readonly("config", &PySession::config)
      .def_property_readonly("partition", &PySession::partition);

  m.def("sync_and_gc", [](Cache& c, const DeviceClass& p, std::optional<std::uint64_t> max_size) {
    return gc_dict(released([&] { return sync_and_gc(c, p, max_size); }));
  }, py::arg("cache"), py::arg("partition"), py::arg("max_size") = py::none());

  m.def("framework_dirs", [](const std::string& root, const DeviceClass& p) {
    py::dict d;
    for (const auto& dir : framework_dirs(root, p)) d[py::str(dir.env_var)] = dir.path;
    return d;
  });
}
