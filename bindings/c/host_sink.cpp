#include "host_sink.hpp"

#include <fmt/format.h>

#include "api/host_directory.hpp"
#include "capi_internal.hpp"

namespace lb::capi {
namespace {

erp::ErrorKind kind_of(ledgerbridge_erp_error kind) {
  switch (kind) {
    case LEDGERBRIDGE_ERP_VALIDATION: return erp::ErrorKind::validation;
    case LEDGERBRIDGE_ERP_UNREACHABLE: return erp::ErrorKind::unreachable;
    case LEDGERBRIDGE_ERP_AUTH: return erp::ErrorKind::auth;
    case LEDGERBRIDGE_ERP_RATE_LIMIT: return erp::ErrorKind::rate_limit;
    case LEDGERBRIDGE_ERP_TIMEOUT: return erp::ErrorKind::timeout;
    case LEDGERBRIDGE_ERP_CONFLICT: return erp::ErrorKind::conflict;
    case LEDGERBRIDGE_ERP_ATTACHMENT: return erp::ErrorKind::attachment;
  }
  return erp::ErrorKind::unreachable;
}

// A failed callback: its own error when it gave one. One that failed without saying why is
// taken as unreachable, the kind that is retried and never fails an item on its own.
erp::SinkError error_of(const ledgerbridge_reply& reply, int status, const char* what) {
  erp::SinkError e;
  if (reply.has_error) {
    e.kind = kind_of(reply.kind);
    e.message = reply.message;
    if (reply.retry_after_ms > 0) e.retry_after = std::chrono::milliseconds(reply.retry_after_ms);
  }
  if (e.message.empty()) e.message = fmt::format("the host's {} callback failed ({})", what, status_name(status));
  return e;
}

// A reply {"externalId", "url"?}; anything else is the host's bug, reported as unreachable with
// what was wrong, since the write may or may not have happened.
erp::SinkResult<erp::Posted> posted_of(const ledgerbridge_reply& reply, const char* what) {
  try {
    const auto j = parse_reply(reply, what);
    const auto id = j.is_object() ? j.find("externalId") : j.end();
    if (!j.is_object() || id == j.end() || !id->is_string() || id->get<std::string>().empty())
      return erp::SinkError{.kind = erp::ErrorKind::unreachable,
                            .message = fmt::format("{} reply must be {{\"externalId\": \"...\", \"url\": \"...\"}}", what)};
    erp::Posted p{.externalId = id->get<std::string>()};
    if (auto url = j.find("url"); url != j.end() && url->is_string()) p.url = url->get<std::string>();
    return p;
  } catch (const std::exception& e) {
    return erp::SinkError{.kind = erp::ErrorKind::unreachable, .message = e.what()};
  }
}

class HostSink final : public erp::Sink {
 public:
  explicit HostSink(std::shared_ptr<HostErp> erp) : erp_(erp), directory_(erp) {}

  std::string_view name() const override { return "host"; }
  erp::Capabilities capabilities() const override {
    const HostErp::Attachments a = erp_->attachments();
    erp::Capabilities caps;
    caps.single_attachment = a.single;
    caps.max_attachment_bytes = a.max_bytes;
    caps.attachment_types = a.types;
    return caps;
  }

  erp::SinkResult<erp::Posted> post(const posting::Document& document) override {
    const auto& cb = erp_->callbacks();
    if (!cb.post) return erp::SinkError{.kind = erp::ErrorKind::unreachable, .message = "the host ERP has no post callback"};
    const std::string json = posting::document_json(document);
    ledgerbridge_reply reply;
    const auto st = cb.post(cb.user_data, json.c_str(), &reply);
    if (raw(st) != LEDGERBRIDGE_OK) return error_of(reply, raw(st), "post");
    if (!reply.has_json) return erp::SinkError{.kind = erp::ErrorKind::unreachable, .message = "post reply is empty"};
    return posted_of(reply, "post");
  }

  erp::SinkResult<std::optional<erp::Posted>> lookup(std::string_view external_key) override {
    const auto& cb = erp_->callbacks();
    if (!cb.lookup) return erp::SinkError{.kind = erp::ErrorKind::unreachable, .message = "the host ERP has no lookup callback"};
    const std::string key(external_key);
    ledgerbridge_reply reply;
    const auto st = cb.lookup(cb.user_data, key.c_str(), &reply);
    if (raw(st) != LEDGERBRIDGE_OK) return error_of(reply, raw(st), "lookup");
    if (!reply.has_json || reply.json == "null") return std::optional<erp::Posted>{};
    auto p = posted_of(reply, "lookup");
    if (auto* e = std::get_if<erp::SinkError>(&p)) return *e;
    return std::optional<erp::Posted>(std::get<erp::Posted>(std::move(p)));
  }

  erp::SinkResult<std::monostate> upload_attachment(const erp::Posted& document, const posting::Attachment& attachment,
                                                    std::string_view bytes) override {
    const auto& cb = erp_->callbacks();
    if (!cb.upload) return erp::SinkError{.kind = erp::ErrorKind::attachment, .message = "the host ERP takes no attachments"};
    const std::string posted = nlohmann::json{{"externalId", document.externalId}, {"url", document.url}}.dump();
    const std::string att = nlohmann::json{{"key", attachment.key}, {"url", attachment.url},
                                           {"type", attachment.type}, {"size", attachment.size}}
                                .dump();
    ledgerbridge_reply reply;
    const auto st = cb.upload(cb.user_data, posted.c_str(), att.c_str(), reinterpret_cast<const uint8_t*>(bytes.data()),
                              bytes.size(), &reply);
    if (raw(st) != LEDGERBRIDGE_OK) return error_of(reply, raw(st), "upload_attachment");
    return std::monostate{};
  }

  const model::Directory& directory() const override { return directory_; }

 private:
  std::shared_ptr<HostErp> erp_;
  api::HostDirectory directory_;
};

}  // namespace

std::unique_ptr<erp::Sink> make_sink(const ledgerbridge_erp& erp) { return std::make_unique<HostSink>(erp.erp); }

}  // namespace lb::capi
