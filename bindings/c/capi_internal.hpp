#pragma once
// What the C ABI's translation units share: the host ERP built from C callbacks, seen as the
// public C++ API's Directory (for rule packs) and, through host_sink.hpp, as the engine's
// erp::Sink (for the workflow).
#include <ledgerbridge/ledgerbridge.hpp>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledgerbridge.h"

struct ledgerbridge_reply {
  bool has_json = false;
  std::string json;
  bool has_error = false;
  ledgerbridge_erp_error kind = LEDGERBRIDGE_ERP_UNREACHABLE;
  int64_t retry_after_ms = 0;
  std::string message;
};

struct ledgerbridge_engine {
  ledgerbridge::EngineOptions options;
};

namespace lb::capi {

// malloc'd so that ledgerbridge_free is plain free() whatever allocated it; when even that
// fails, the status still tells what happened.
// Never throws (it runs in guard()'s handlers): NULL when out of memory.
inline char* copy_string(const char* text, size_t size) noexcept {
  auto* p = static_cast<char*>(std::malloc(size + 1));
  if (p) {
    std::memcpy(p, text, size);
    p[size] = '\0';
  }
  return p;
}

inline void set_error(char** error, const char* message) noexcept {
  if (error) *error = copy_string(message, std::strlen(message));
}

inline ledgerbridge_status from(ledgerbridge::ErrorCode code) {
  switch (code) {
    case ledgerbridge::ErrorCode::invalid_argument: return LEDGERBRIDGE_ERROR_ARGUMENT;
    case ledgerbridge::ErrorCode::bad_input: return LEDGERBRIDGE_ERROR_INPUT;
    case ledgerbridge::ErrorCode::not_found: return LEDGERBRIDGE_ERROR_NOT_FOUND;
    case ledgerbridge::ErrorCode::bad_pack: return LEDGERBRIDGE_ERROR_PACK;
    case ledgerbridge::ErrorCode::bad_directory: return LEDGERBRIDGE_ERROR_DIRECTORY;
    case ledgerbridge::ErrorCode::callback: return LEDGERBRIDGE_ERROR_CALLBACK;
    case ledgerbridge::ErrorCode::internal: return LEDGERBRIDGE_ERROR_INTERNAL;
  }
  return LEDGERBRIDGE_ERROR_INTERNAL;
}

// A failure of the C ABI's own with a status of its choosing (thrown inside guard()).
struct Failure : std::exception {
  Failure(ledgerbridge_status s, std::string m) : status(s), message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
  ledgerbridge_status status;
  std::string message;
};

// Runs f, turning every exception into a status and *error: nothing crosses into C.
template <typename F>
ledgerbridge_status guard(char** error, F&& f) noexcept {
  if (error) *error = nullptr;
  try {
    f();
    return LEDGERBRIDGE_OK;
  } catch (const Failure& e) {
    set_error(error, e.what());
    return e.status;
  } catch (const ledgerbridge::Error& e) {
    set_error(error, e.what());
    return from(e.code());
  } catch (const std::bad_alloc&) {
    set_error(error, "out of memory");
    return LEDGERBRIDGE_ERROR_MEMORY;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    return LEDGERBRIDGE_ERROR_INTERNAL;
  } catch (...) {
    set_error(error, "unknown error");
    return LEDGERBRIDGE_ERROR_INTERNAL;
  }
}

inline ledgerbridge_status argument(char** error, const char* message) {
  if (error) *error = nullptr;
  set_error(error, message);
  return LEDGERBRIDGE_ERROR_ARGUMENT;
}

// An enum as the int the caller passed. Hosts (ctypes, JNA, P/Invoke) may pass any int, and in
// C++ loading an enum outside its range is undefined: read the bits, then range-check the int.
template <typename E>
int raw(E e) {
  static_assert(sizeof(E) == sizeof(int));
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

struct Callbacks {
  ledgerbridge_directory_fn directory = nullptr;
  ledgerbridge_post_fn post = nullptr;
  ledgerbridge_lookup_fn lookup = nullptr;
  ledgerbridge_upload_fn upload = nullptr;
  ledgerbridge_release_fn release = nullptr;
  void* user_data = nullptr;
};

// The host's ERP. Shared by the handle and every pack (and sink) using it; the last owner's
// destructor calls the host's release callback.
class HostErp final : public ledgerbridge::Directory {
 public:
  explicit HostErp(Callbacks callbacks) : cb_(callbacks) {}
  ~HostErp() override;
  HostErp(const HostErp&) = delete;
  HostErp& operator=(const HostErp&) = delete;

  const Callbacks& callbacks() const { return cb_; }

  // What the host ERP takes as attachments (ledgerbridge_erp_set_capabilities; §2.8).
  struct Attachments {
    bool single = false;                              // one file per document: receipts merged into one PDF
    int64_t max_bytes = 30 * 1024 * 1024;
    std::vector<std::string> types;                   // MIME types; empty = any
  };
  void set_attachments(Attachments a) {
    std::lock_guard lock(mu_);
    attachments_ = std::move(a);
  }
  Attachments attachments() const {
    std::lock_guard lock(mu_);
    return attachments_;
  }

  std::optional<ledgerbridge::Account> account(std::string_view code) override;
  std::optional<ledgerbridge::Vendor> vendor_by_code(std::string_view code) override;
  std::optional<ledgerbridge::Vendor> vendor_by_external_id(std::string_view id) override;
  std::optional<ledgerbridge::Vendor> vendor_by_tax_number(std::string_view tax_number) override;
  std::optional<ledgerbridge::TaxCode> tax_code(std::string_view code) override;
  std::optional<ledgerbridge::DimensionValue> dimension_value(std::string_view dimension,
                                                              std::string_view code) override;
  bool period_open(std::string_view date) override;
  std::optional<std::string> next_open_date(std::string_view date) override;

 private:
  // The callback's JSON answer; nullopt for "nothing" or null. Throws std::runtime_error when
  // the callback failed or replied with something that is not JSON.
  std::optional<nlohmann::json> query(ledgerbridge_directory_query query, std::string_view key,
                                      const std::string* key2 = nullptr);
  Callbacks cb_;
  mutable std::mutex mu_;
  Attachments attachments_;
};

// ledgerbridge_status_name for an int that may be out of the enum's range.
const char* status_name(int status);

// Parses a callback's reply text; throws std::runtime_error naming `what` when it is not JSON.
nlohmann::json parse_reply(const ledgerbridge_reply& reply, const char* what);

}  // namespace lb::capi

struct ledgerbridge_erp {
  std::shared_ptr<lb::capi::HostErp> erp;
};
