#include "pleo/http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "pleo/redact.hpp"

namespace lb::pleo {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Collect {
  HttpResponse* response;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* c = static_cast<Collect*>(user);
  c->response->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* c = static_cast<Collect*>(user);
  std::string_view line(data, size * count);
  // A new status line (after 100-continue or a proxy CONNECT) starts a new header set.
  if (line.rfind("HTTP/", 0) == 0) {
    c->response->headers.clear();
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  c->response->headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
  return size * count;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return std::nullopt;
}

std::string HttpResponse::request_id() const {
  if (auto v = header("request-id")) return *v;
  if (auto v = header("x-request-id")) return *v;
  return {};
}

HttpTransport::HttpTransport(TransportOptions options) : options_(std::move(options)) {
  static CurlGlobal global;  // curl_global_init is not thread-safe: once, before any handle
  curl_ = curl_easy_init();
}

HttpTransport::~HttpTransport() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

spdlog::logger& HttpTransport::logger() const {
  return options_.logger ? *options_.logger : *spdlog::default_logger_raw();
}

Result<HttpResponse> HttpTransport::perform(const HttpRequest& request) {
  std::lock_guard lock(mutex_);
  const std::string endpoint = request.method + " " + request.log_path;
  auto* curl = static_cast<CURL*>(curl_);
  if (!curl) return Error{ErrorKind::network, "could not create a libcurl handle", 0, {}, {}, endpoint};

  // Reset drops options but keeps the connection cache: keep-alive survives between calls.
  curl_easy_reset(curl);
  HttpResponse response;
  Collect collect{&response};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &collect);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &collect);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  // §6.2: credentials only over verified TLS. Never switched off; a CA file can be added.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // any encoding libcurl can decode
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  if (options_.fresh_connection) {  // see TransportOptions::fresh_connection
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  }

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers)
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method != "DELETE" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(curl);
  response.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  curl_slist_free_all(headers);

  if (code != CURLE_OK) {
    const bool timed_out = code == CURLE_OPERATION_TIMEDOUT;
    std::string message = errbuf[0] ? errbuf : curl_easy_strerror(code);
    message = redact(message);
    logger().warn("{} {} failed after {}ms: {}", options_.log_name, endpoint,
                  response.duration.count(), message);
    Error e{timed_out ? ErrorKind::timeout : ErrorKind::network, message, 0, {}, {}, endpoint};
    // Pre-transfer time is set once the connection (and TLS) is up and sending starts.
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    e.may_have_reached_server = pretransfer > 0;
    return e;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  const std::string rid = response.request_id();
  // Every call with Pleo's request-id (§4.2): at debug level when it succeeded, so an export of
  // thousands of items does not bury the warnings; failures are logged at warn by the caller.
  logger().log(response.status >= 400 ? spdlog::level::info : spdlog::level::debug, "{} {} -> {} in {}ms request-id={}",
               options_.log_name, endpoint, response.status, response.duration.count(),
               rid.empty() ? "-" : redact(rid));
  return response;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace lb::pleo
