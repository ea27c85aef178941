#pragma once
// A sink for an ERP (or middleware) that takes documents over HTTP (DESIGN §1, §5):
//   POST <url>                      body: posting::document_json, header Idempotency-Key: <externalKey>
//                                   answer 2xx {"externalId": "...", "url": "..."}
//   GET  <url>?externalKey=<key>    200 {"externalId", "url"} | 404 = not posted (recovery, §4.3)
//   POST <url>/<externalId>/attachments   body: the file's bytes, Content-Type: its MIME type,
//                                   Idempotency-Key: <attachment.key> (never attached twice, §2.8)
// Transport, TLS, logging, redaction and the retry policy are the Pleo client's (pleo/http.hpp,
// pleo/retry.hpp), so both sides of a job behave alike. The ERP's master data comes from a
// directory file (model::load_directory).
#include <functional>
#include <memory>
#include <string>

#include "erp/sink.hpp"
#include "model/directory.hpp"
#include "model/result.hpp"
#include "pleo/clock.hpp"
#include "pleo/http.hpp"
#include "pleo/retry.hpp"

namespace lb::erp {

struct HttpSinkOptions {
  std::string url;             // the documents endpoint, e.g. https://erp.example.com/api/documents
  std::string directory_file;  // YAML/JSON file or CSV folder (model::load_directory)
  std::string authorization{};  // Authorization header value, resolved (pleo::resolve_secret); empty = none
  std::string name{"http"};
  Capabilities capabilities{};
  pleo::RetryPolicy retry{};
  pleo::TransportOptions transport{};
  pleo::Clock* clock = nullptr;       // null = system clock
  std::function<double()> random{};   // backoff jitter; null = PRNG
};

class HttpSink final : public Sink {
 public:
  // Loads the directory; an unreadable one is an error naming the file.
  static Result<std::unique_ptr<HttpSink>> create(HttpSinkOptions options);

  std::string_view name() const override { return options_.name; }
  Capabilities capabilities() const override { return options_.capabilities; }
  // Retries 429, 5xx and connection failures that never reached the ERP. A timeout or a
  // connection lost after sending is ErrorKind::timeout and is NOT retried: the write may have
  // happened, so the workflow asks lookup() before posting again (DESIGN §5).
  SinkResult<Posted> post(const posting::Document& document) override;
  SinkResult<std::optional<Posted>> lookup(std::string_view external_key) override;
  SinkResult<std::monostate> upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                               std::string_view bytes) override;
  const model::Directory& directory() const override { return directory_; }

  HttpSink(HttpSinkOptions options, model::MemoryDirectory directory);

 private:
  struct Outcome;
  Outcome send(pleo::HttpRequest request, bool write);

  HttpSinkOptions options_;
  model::MemoryDirectory directory_;
  std::unique_ptr<pleo::HttpTransport> transport_;
};

}  // namespace lb::erp
