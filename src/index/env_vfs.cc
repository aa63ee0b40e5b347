#include "index/env_vfs.h"

#include <sqlite3.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <string>

namespace mithril::detail {

struct EnvVfs::Box {
  sqlite3_vfs vfs{};
  sqlite3_vfs* real = nullptr;  // SQLite's default VFS
  Env* env = nullptr;
  std::string name;
};

namespace {

// An open file: our methods first, the default VFS's file right after.
struct ShimFile {
  sqlite3_file base;  // must be first: SQLite hands us &base
  Env* env;
  const char* path;  // SQLite keeps it valid until xClose
  sqlite3_file* real;
};

constexpr std::size_t kRealOffset = (sizeof(ShimFile) + 15) / 16 * 16;

ShimFile* shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* real(sqlite3_file* f) { return shim(f)->real; }
EnvVfs::Box* box(sqlite3_vfs* v) { return static_cast<EnvVfs::Box*>(v->pAppData); }

// SQLITE_OK when the Env allows the I/O; else the code SQLite should see.
int ask(Env& env, DbIo op, const char* path, int io_error) {
  auto r = env.before_db_io(op, path != nullptr ? path : "");
  if (r) return SQLITE_OK;
  return r.error().sys_errno == ENOSPC ? SQLITE_FULL : io_error;
}

int x_close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  const int rc = ask(*shim(f)->env, DbIo::kRead, shim(f)->path, SQLITE_IOERR_READ);
  return rc != SQLITE_OK ? rc : real(f)->pMethods->xRead(real(f), buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  const int rc = ask(*shim(f)->env, DbIo::kWrite, shim(f)->path, SQLITE_IOERR_WRITE);
  return rc != SQLITE_OK ? rc : real(f)->pMethods->xWrite(real(f), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  const int rc = ask(*shim(f)->env, DbIo::kTruncate, shim(f)->path, SQLITE_IOERR_TRUNCATE);
  return rc != SQLITE_OK ? rc : real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  const int rc = ask(*shim(f)->env, DbIo::kSync, shim(f)->path, SQLITE_IOERR_FSYNC);
  return rc != SQLITE_OK ? rc : real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
int x_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int x_check_reserved(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
int x_file_control(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }
// Memory-mapped reads bypass xRead: refused, so every read is an xRead
// (SQLite then reads normally; mmap is off by default anyway).
int x_fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return real(f)->pMethods->xUnfetch(real(f), off, p); }

// Our methods at the version of the wrapped file's (the shared-memory and
// fetch methods exist only from versions 2 and 3).
const sqlite3_io_methods* methods_for(int version) {
  static const sqlite3_io_methods v3 = {
      3,          x_close,         x_read,          x_write,        x_truncate,    x_sync,
      x_file_size, x_lock,         x_unlock,        x_check_reserved, x_file_control, x_sector_size,
      x_device,   x_shm_map,       x_shm_lock,      x_shm_barrier,  x_shm_unmap,   x_fetch,
      x_unfetch};
  static const sqlite3_io_methods v2 = [] {
    sqlite3_io_methods m = v3;
    m.iVersion = 2;
    m.xFetch = nullptr;
    m.xUnfetch = nullptr;
    return m;
  }();
  static const sqlite3_io_methods v1 = [] {
    sqlite3_io_methods m = v2;
    m.iVersion = 1;
    m.xShmMap = nullptr;
    m.xShmLock = nullptr;
    m.xShmBarrier = nullptr;
    m.xShmUnmap = nullptr;
    return m;
  }();
  return version >= 3 ? &v3 : version == 2 ? &v2 : &v1;
}

int x_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  EnvVfs::Box* b = box(v);
  ShimFile* s = shim(f);
  s->base.pMethods = nullptr;  // SQLite calls xClose only when this is set
  s->env = b->env;
  s->path = name;
  s->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  s->real->pMethods = nullptr;
  if (const int rc = ask(*b->env, DbIo::kOpen, name, SQLITE_CANTOPEN); rc != SQLITE_OK) {
    return rc == SQLITE_FULL ? SQLITE_CANTOPEN : rc;
  }
  const int rc = b->real->xOpen(b->real, name, s->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (s->real->pMethods != nullptr) s->real->pMethods->xClose(s->real);
    return rc;
  }
  s->base.pMethods = methods_for(s->real->pMethods->iVersion);
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  if (const int rc = ask(*box(v)->env, DbIo::kDelete, name, SQLITE_IOERR_DELETE); rc != SQLITE_OK) return rc;
  return box(v)->real->xDelete(box(v)->real, name, sync_dir);
}
int x_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return box(v)->real->xAccess(box(v)->real, name, flags, out);
}
int x_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return box(v)->real->xFullPathname(box(v)->real, name, n, out);
}
void* x_dl_open(sqlite3_vfs* v, const char* name) { return box(v)->real->xDlOpen(box(v)->real, name); }
void x_dl_error(sqlite3_vfs* v, int n, char* msg) { box(v)->real->xDlError(box(v)->real, n, msg); }
void (*x_dl_sym(sqlite3_vfs* v, void* h, const char* sym))() { return box(v)->real->xDlSym(box(v)->real, h, sym); }
void x_dl_close(sqlite3_vfs* v, void* h) { box(v)->real->xDlClose(box(v)->real, h); }
int x_randomness(sqlite3_vfs* v, int n, char* out) { return box(v)->real->xRandomness(box(v)->real, n, out); }
int x_sleep(sqlite3_vfs* v, int us) { return box(v)->real->xSleep(box(v)->real, us); }
int x_current_time(sqlite3_vfs* v, double* out) { return box(v)->real->xCurrentTime(box(v)->real, out); }
int x_last_error(sqlite3_vfs* v, int n, char* msg) { return box(v)->real->xGetLastError(box(v)->real, n, msg); }
int x_current_time64(sqlite3_vfs* v, sqlite3_int64* out) {
  return box(v)->real->xCurrentTimeInt64(box(v)->real, out);
}

std::mutex g_mu;
std::map<Env*, std::weak_ptr<EnvVfs>> g_vfs;  // guarded by g_mu
std::uint64_t g_serial = 0;                    // guarded by g_mu

}  // namespace

std::shared_ptr<EnvVfs> EnvVfs::acquire(Env& env) {
  if (&env == &Env::posix()) return nullptr;
  std::lock_guard lock(g_mu);
  if (auto it = g_vfs.find(&env); it != g_vfs.end()) {
    if (auto alive = it->second.lock()) return alive;
  }
  auto b = std::make_unique<Box>();
  b->real = sqlite3_vfs_find(nullptr);
  b->env = &env;
  b->name = "mithril-env-" + std::to_string(++g_serial);
  sqlite3_vfs& v = b->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(kRealOffset) + b->real->szOsFile;
  v.mxPathname = b->real->mxPathname;
  v.zName = b->name.c_str();
  v.pAppData = b.get();
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_last_error;
  v.xCurrentTimeInt64 = x_current_time64;
  sqlite3_vfs_register(&v, 0);
  auto handle = std::make_shared<EnvVfs>(std::move(b));
  g_vfs[&env] = handle;
  return handle;
}

EnvVfs::EnvVfs(std::unique_ptr<Box> box) : m_box(std::move(box)) {}

const char* EnvVfs::name() const { return m_box->name.c_str(); }

EnvVfs::~EnvVfs() {
  std::lock_guard lock(g_mu);
  sqlite3_vfs_unregister(&m_box->vfs);
  if (auto it = g_vfs.find(m_box->env); it != g_vfs.end() && it->second.expired()) g_vfs.erase(it);
}

}  // namespace mithril::detail
