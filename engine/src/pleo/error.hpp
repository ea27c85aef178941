#pragma once
// Errors of the Pleo client as values (DESIGN §6): a kind the workflow can switch on, plus what
// support needs to find the call again (HTTP status, Pleo's ExceptionInfo.type, request-id,
// endpoint). Nothing in an Error is secret: messages pass through the transport's redactor.
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace lb::pleo {

enum class ErrorKind {
  network,                  // connection refused, DNS, TLS, reset: retried, then reported
  timeout,                  // no answer within the configured time: retried, then reported
  auth,                     // 401 that one refresh did not cure, or an API key Pleo refuses
  forbidden,                // 403: missing access or scope (§4.1)
  not_found,                // 404 EXPORT_NOT_FOUND, EXPORT_ENTRY_NOT_FOUND
  bad_request,              // 400 other than MISSING_CONTRA_ACCOUNTS
  conflict_409,             // 409 EXPORT_ALREADY_IN_PROGRESS, vendor conflicts
  conflict_422,             // 422 INVALID_EXPORT_JOB_STATUS_CHANGE, EXPORT_JOB_STATUS_UNPROCESSABLE
  payload_too_large_413,    // 413 EXPORT_JOB_ITEMS_UPDATE_LIMIT
  rate_limited,             // 429 after the retry budget (retry_after set when Pleo said)
  server,                   // 5xx after the retry budget
  bad_response,             // a 2xx whose body does not match the contract, or an unexpected status
  cursor_repeated,          // pagination handed back a cursor it had already given (§1.11)
  reconnect_required,       // OAuth refresh token revoked/expired (invalid_grant): the user must reconnect (§6.1)
  missing_contra_accounts,  // 400 MISSING_CONTRA_ACCOUNTS on export items (§1.6); currencies named
  invalid_argument,         // the caller asked for something the contract forbids (e.g. >100 updates)
  config,                   // bad configuration: unset environment variable, unreadable token file
  token_store,              // new OAuth tokens could not be persisted, so they are not used (§6.1)
};
const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::network;
  std::string message;          // for people; redacted
  int http_status = 0;          // 0 when no response arrived
  std::string type;             // ExceptionInfo.type from Pleo's body, when it sent one
  std::string request_id;       // Pleo's request-id response header (§4.2: quote it to support)
  std::string endpoint;         // "GET /v3/export-jobs/{id}" style: method and path, no query
  std::optional<std::chrono::milliseconds> retry_after{};  // 429/503 Retry-After, when given
  std::vector<std::string> currencies{};  // missing_contra_accounts: the currencies Pleo named
  std::string company_id{};     // reconnect_required: which company must reconnect
  // network/timeout only: the connection was up when the call failed, so the server may have
  // received the request. A non-idempotent write must then be treated as uncertain.
  bool may_have_reached_server = false;

  // One line: "<endpoint>: <kind> (HTTP 404 EXPORT_NOT_FOUND, request-id r-1): <message>".
  std::string to_string() const;
};

// Result<T>: a value or an Error; never throws across the module boundary.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  Error& error() { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace lb::pleo
