#pragma once
// The HTTP transport (libcurl) under the Pleo client and the ERP HTTP sink (DESIGN §1, §3).
// - Keep-alive: one CURL easy handle per transport, reused for every call, so connections and
//   TLS sessions are reused (except with fresh_connection, for writes that must go out once). perform() serialises calls on that handle with a mutex: a
//   transport (and the Client above it) may be shared between threads, but calls on it run one
//   at a time; give each worker its own Client for parallel calls (they can share one
//   RateLimiter and one Auth).
// - TLS peer and host verification are always on; `ca_file` adds a CA bundle, never turns
//   verification off. Redirects are not followed (an Authorization header must not travel on).
// - Every call is logged once (spdlog) with method, path, status, duration and the server's
//   `request-id` header (§4.2). Headers and bodies are never logged; messages pass redact().
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pleo/error.hpp"

namespace spdlog {
class logger;
}

namespace lb::pleo {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};
  std::string ca_file{};                         // extra CA bundle (PEM); empty = system store
  std::string user_agent{"ledgerbridge/0.1"};
  std::string log_name{"pleo"};                  // first word of each log line
  std::shared_ptr<spdlog::logger> logger{};      // null = spdlog's default logger
  // Every request on a new connection, closed after it. For writes that must not be sent twice:
  // when a *reused* connection dies before any answer, libcurl silently sends the request again
  // on a new one (7.88 has no option to stop it), so a write Pleo applied and whose answer was
  // lost would be applied again. libcurl never re-sends on a fresh connection.
  bool fresh_connection = false;
};

struct HttpRequest {
  std::string method{"GET"};
  std::string url{};       // absolute, query included
  std::string log_path{};  // what the log shows: the path without query (set by the caller)
  Headers headers{};       // e.g. Authorization; never logged
  std::string body{};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  Headers headers;  // names lower-cased
  std::chrono::milliseconds duration{0};

  // Case-insensitive header look-up.
  std::optional<std::string> header(std::string_view name) const;
  // Pleo's request-id (§4.2), or x-request-id, or empty.
  std::string request_id() const;
};

class HttpTransport {
 public:
  explicit HttpTransport(TransportOptions options = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // A response with any status is a value; only "no response" is an Error (kind network or
  // timeout, endpoint = "<method> <log_path>").
  Result<HttpResponse> perform(const HttpRequest& request);

  const TransportOptions& options() const { return options_; }
  spdlog::logger& logger() const;

 private:
  TransportOptions options_;
  std::mutex mutex_;
  void* curl_ = nullptr;  // CURL*, kept out of the header
};

// RFC 3986 percent-encoding for query values and path segments.
std::string url_encode(std::string_view value);

}  // namespace lb::pleo
