// open_remote(): picks the backend by scheme and enforces the URL's mode.
#include <cstdlib>

#include "remote/stores.h"

namespace mithril {
namespace {

// Refuses the operations the mode forbids, with a clear error.
class ModeGuard final : public RemoteStore {
 public:
  explicit ModeGuard(std::unique_ptr<RemoteStore> inner) : RemoteStore(inner->url()), m_inner(std::move(inner)) {}

  Result<std::optional<std::string>> get(const std::string& key, std::uint64_t max_bytes) override {
    MITHRIL_TRY(allow_read());
    return m_inner->get(key, max_bytes);
  }
  Result<bool> get_to(const std::string& key, std::uint64_t max_bytes, const ByteSink& sink) override {
    MITHRIL_TRY(allow_read());
    return m_inner->get_to(key, max_bytes, sink);
  }
  Result<void> put(const std::string& key, std::string_view data) override {
    MITHRIL_TRY(allow_write());
    return m_inner->put(key, data);
  }
  Result<bool> exists(const std::string& key) override { return m_inner->exists(key); }
  Result<bool> remove(const std::string& key) override {
    MITHRIL_TRY(allow_write());
    return m_inner->remove(key);
  }
  Result<std::vector<std::string>> list(const std::string& prefix) override { return m_inner->list(prefix); }
  void set_deadline(RemoteDeadline deadline) override {
    RemoteStore::set_deadline(deadline);
    m_inner->set_deadline(deadline);
  }

 private:
  Result<void> allow_read() const {
    if (url().mode != RemoteMode::kWriteOnly) return {};
    return fail(ErrorCode::kInvalidArgument, url().redacted + " is write-only (mode=wo)");
  }
  Result<void> allow_write() const {
    if (url().mode != RemoteMode::kReadOnly) return {};
    return fail(ErrorCode::kInvalidArgument, url().redacted + " is read-only (mode=ro)");
  }
  std::unique_ptr<RemoteStore> m_inner;
};

}  // namespace

Result<std::unique_ptr<RemoteStore>> open_remote(std::string_view text, const RemoteOptions& options,
                                                 const GetEnvFn& getenv_in, Env& env) {
  const GetEnvFn getenv = getenv_in ? getenv_in : [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  };
  MITHRIL_ASSIGN(const RemoteUrl url, parse_remote_url(text));
  Result<std::unique_ptr<RemoteStore>> store = std::unexpected(Error{});
  if (url.scheme == "s3") {
    store = remote::open_s3(url, options, getenv, env);
  } else if (url.scheme == "redis") {
    store = remote::open_redis(url, options);
  } else {
    store = remote::open_file(url, env);
  }
  if (!store) return store;
  if (url.mode == RemoteMode::kReadWrite) return store;
  return std::unique_ptr<RemoteStore>(new ModeGuard(std::move(*store)));
}

}  // namespace mithril
