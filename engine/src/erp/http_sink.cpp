#include "erp/http_sink.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <variant>

#include "pleo/redact.hpp"

namespace lb::erp {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string error_text(const pleo::HttpResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  std::string text;
  if (body.is_object()) {
    for (const char* key : {"message", "error_description", "error", "detail", "title"})
      if (body.contains(key) && body[key].is_string()) {
        text = body[key].get<std::string>();
        break;
      }
  }
  if (text.empty()) text = r.body.substr(0, 300);
  std::string out = fmt::format("HTTP {}", r.status);
  if (!text.empty()) out += ": " + text;
  const std::string rid = r.request_id();
  if (!rid.empty()) out += " (request-id " + rid + ")";
  return pleo::redact(out);
}

std::optional<Posted> read_posted(const std::string& text) {
  json body = json::parse(text, nullptr, false);
  if (!body.is_object() || !body.contains("externalId") || !body["externalId"].is_string() ||
      body["externalId"].get<std::string>().empty())
    return std::nullopt;
  Posted p{body["externalId"].get<std::string>()};
  if (body.contains("url") && body["url"].is_string()) p.url = body["url"].get<std::string>();
  return p;
}

}  // namespace

struct HttpSink::Outcome {
  std::optional<pleo::HttpResponse> response;  // any status that ended the retries
  std::optional<SinkError> error;              // no usable response
};

Result<std::unique_ptr<HttpSink>> HttpSink::create(HttpSinkOptions options) {
  if (options.url.empty()) return Error{"http sink: no url configured"};
  model::MemoryDirectory directory;
  if (!options.directory_file.empty()) {
    auto loaded = model::load_directory(options.directory_file, directory);
    if (!loaded) return Error{"http sink: " + loaded.message()};
  }
  if (!options.authorization.empty()) {
    // The header value and its credential part never reach a log line.
    pleo::register_secret(options.authorization);
    if (auto space = options.authorization.find(' '); space != std::string::npos)
      pleo::register_secret(options.authorization.substr(space + 1));
  }
  return std::make_unique<HttpSink>(std::move(options), std::move(directory));
}

HttpSink::HttpSink(HttpSinkOptions options, model::MemoryDirectory directory)
    : options_(std::move(options)), directory_(std::move(directory)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
  if (options_.transport.log_name == "pleo") options_.transport.log_name = "erp";
  transport_ = std::make_unique<pleo::HttpTransport>(options_.transport);
}

HttpSink::Outcome HttpSink::send(pleo::HttpRequest request, bool write) {
  pleo::Clock& clock = options_.clock ? *options_.clock : pleo::system_clock();
  if (!options_.authorization.empty()) request.headers.emplace_back("Authorization", options_.authorization);
  request.headers.emplace_back("Accept", "application/json");
  pleo::Backoff backoff(options_.retry, clock, options_.random);
  for (;;) {
    auto response = transport_->perform(request);
    if (!response) {
      const auto& e = response.error();
      // A write that may have reached the ERP must not be repeated blindly (DESIGN §5).
      if (write && (e.kind == pleo::ErrorKind::timeout || e.may_have_reached_server))
        return {std::nullopt, SinkError{ErrorKind::timeout, "no answer from the ERP after sending: " + e.message}};
      if (backoff.wait()) continue;
      return {std::nullopt, SinkError{e.kind == pleo::ErrorKind::timeout ? ErrorKind::timeout : ErrorKind::unreachable,
                                      e.message}};
    }
    const long status = response->status;
    std::optional<milliseconds> retry_after;
    if (auto ra = response->header("retry-after")) retry_after = pleo::parse_retry_after(*ra, clock.wall_now());
    // §4.2 applied to the ERP: 429 and 5xx are transient. The Idempotency-Key makes a repeated
    // POST safe on an ERP that honours it; one that does not is caught by lookup on recovery.
    if ((status == 429 || status >= 500) && backoff.wait(retry_after)) continue;
    return {std::move(*response), std::nullopt};
  }
}

SinkResult<Posted> HttpSink::post(const posting::Document& document) {
  pleo::HttpRequest request;
  request.method = "POST";
  request.url = options_.url;
  request.log_path = options_.url;
  request.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", document.externalKey}};
  request.body = posting::document_json(document);
  auto outcome = send(std::move(request), /*write=*/true);
  if (outcome.error) return *outcome.error;
  const auto& r = *outcome.response;
  if (r.status >= 200 && r.status < 300) {
    if (auto posted = read_posted(r.body)) return *posted;
    // The ERP took the document but its answer is unreadable: the entry exists, we do not
    // know its id. Uncertain, like a timeout: recovery looks it up.
    return SinkError{ErrorKind::timeout, "the ERP accepted " + document.externalKey +
                                             " but its answer has no externalId: " + error_text(r)};
  }
  SinkError e{ErrorKind::validation, error_text(r)};
  if (r.status == 401 || r.status == 403) e.kind = ErrorKind::auth;
  else if (r.status == 409) e.kind = ErrorKind::conflict;
  else if (r.status == 429) e.kind = ErrorKind::rate_limit;
  else if (r.status >= 500) e.kind = ErrorKind::unreachable;
  if (auto ra = r.header("retry-after"))
    e.retry_after = pleo::parse_retry_after(*ra, (options_.clock ? *options_.clock : pleo::system_clock()).wall_now());
  return e;
}

SinkResult<std::optional<Posted>> HttpSink::lookup(std::string_view external_key) {
  pleo::HttpRequest request;
  request.method = "GET";
  request.url = options_.url + "?externalKey=" + pleo::url_encode(external_key);
  request.log_path = options_.url;
  auto outcome = send(std::move(request), /*write=*/false);
  if (outcome.error) return *outcome.error;
  const auto& r = *outcome.response;
  if (r.status == 404) return std::optional<Posted>{};
  if (r.status >= 200 && r.status < 300) {
    if (auto posted = read_posted(r.body)) return std::optional<Posted>{*posted};
    return SinkError{ErrorKind::unreachable, "the ERP's lookup answer has no externalId: " + error_text(r)};
  }
  SinkError e{ErrorKind::unreachable, error_text(r)};
  if (r.status == 401 || r.status == 403) e.kind = ErrorKind::auth;
  else if (r.status == 429) e.kind = ErrorKind::rate_limit;
  else if (r.status < 500) e.kind = ErrorKind::validation;
  return e;
}

SinkResult<std::monostate> HttpSink::upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                                       std::string_view bytes) {
  pleo::HttpRequest request;
  request.method = "POST";
  request.url = options_.url + "/" + pleo::url_encode(document.externalId) + "/attachments";
  request.log_path = options_.url + "/{externalId}/attachments";
  request.headers = {{"Content-Type", attachment.type.empty() ? "application/octet-stream" : attachment.type},
                     {"Idempotency-Key", attachment.key}};
  request.body = std::string(bytes);
  auto outcome = send(std::move(request), /*write=*/true);
  if (outcome.error) return *outcome.error;
  const auto& r = *outcome.response;
  if (r.status >= 200 && r.status < 300) return std::monostate{};
  SinkError e{ErrorKind::attachment, error_text(r)};  // 400/413/415/422: the file was refused
  if (r.status == 401 || r.status == 403) e.kind = ErrorKind::auth;
  else if (r.status == 409) return std::monostate{};  // already attached under this key
  else if (r.status == 429) e.kind = ErrorKind::rate_limit;
  else if (r.status >= 500) e.kind = ErrorKind::unreachable;
  return e;
}

}  // namespace lb::erp
