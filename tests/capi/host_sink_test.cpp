// The C ABI's host ERP as the engine's erp::Sink (what the workflow will post to), with the
// host's callbacks written in C (sink_host.c).
#include <catch2/catch.hpp>

#include "host_sink.hpp"
#include "sink_host.h"

namespace {

lb::posting::Document document(std::string key, std::string description = "Printer ink") {
  lb::posting::Document d;
  d.kind = lb::posting::DocumentKind::journal_entry;
  d.externalKey = key;
  d.accountingEntryId = key;
  d.documentDate = d.postingDate = "2025-12-10";
  d.currency = "GBP";
  d.description = std::move(description);
  d.lines = {{.role = lb::posting::LineRole::expense, .account = "6010", .debit = 6366, .currency = "GBP"},
             {.role = lb::posting::LineRole::counter, .account = "1810", .credit = 6366, .currency = "GBP"}};
  return d;
}

struct Erp {
  sink_host& host;
  ledgerbridge_erp* handle = nullptr;
  explicit Erp(sink_host& h, bool with_callbacks = true) : host(h) {
    REQUIRE(ledgerbridge_erp_new(nullptr, with_callbacks ? sink_host_post : nullptr,
                                 with_callbacks ? sink_host_lookup : nullptr, with_callbacks ? sink_host_upload : nullptr,
                                 sink_host_release, &host, &handle, nullptr) == LEDGERBRIDGE_OK);
  }
  ~Erp() { ledgerbridge_erp_free(handle); }
};

}  // namespace

TEST_CASE("host sink: post, then lookup finds the document by its external key", "[capi]") {
  sink_host host{};
  Erp erp(host);
  auto sink = lb::capi::make_sink(*erp.handle);
  CHECK(sink->name() == "host");
  auto posted = sink->post(document("59540ed2-0d68-4e36-9e31-58223975d9e9"));
  REQUIRE(std::holds_alternative<lb::erp::Posted>(posted));
  CHECK(std::get<lb::erp::Posted>(posted).externalId == "V-1");
  CHECK(std::get<lb::erp::Posted>(posted).url == "https://erp.test/V-1");
  CHECK(std::string(erp.host.keys[0]) == "59540ed2-0d68-4e36-9e31-58223975d9e9");

  auto found = sink->lookup("59540ed2-0d68-4e36-9e31-58223975d9e9");
  REQUIRE(std::holds_alternative<std::optional<lb::erp::Posted>>(found));
  REQUIRE(std::get<std::optional<lb::erp::Posted>>(found).has_value());
  CHECK(std::get<std::optional<lb::erp::Posted>>(found)->externalId == "V-1");
  auto none = sink->lookup("never-posted");
  REQUIRE(std::holds_alternative<std::optional<lb::erp::Posted>>(none));
  CHECK_FALSE(std::get<std::optional<lb::erp::Posted>>(none).has_value());
}

TEST_CASE("host sink: the host's error kind, message and retry-after come through", "[capi]") {
  sink_host host{};
  Erp erp(host);
  auto sink = lb::capi::make_sink(*erp.handle);
  auto refused = sink->post(document("a", "REFUSE"));
  REQUIRE(std::holds_alternative<lb::erp::SinkError>(refused));
  CHECK(std::get<lb::erp::SinkError>(refused).kind == lb::erp::ErrorKind::validation);
  CHECK(std::get<lb::erp::SinkError>(refused).message == "account 9999 does not exist");

  auto slow = sink->post(document("b", "SLOW DOWN"));
  REQUIRE(std::holds_alternative<lb::erp::SinkError>(slow));
  CHECK(std::get<lb::erp::SinkError>(slow).kind == lb::erp::ErrorKind::rate_limit);
  CHECK(std::get<lb::erp::SinkError>(slow).retry_after == std::chrono::milliseconds(1500));

  // Failing without a reason, or answering nonsense: unreachable (retried), never "posted".
  auto silent = sink->post(document("c", "SILENT"));
  REQUIRE(std::holds_alternative<lb::erp::SinkError>(silent));
  CHECK(std::get<lb::erp::SinkError>(silent).kind == lb::erp::ErrorKind::unreachable);
  CHECK(std::get<lb::erp::SinkError>(silent).message == "the host's post callback failed (callback)");
  auto garbage = sink->post(document("d", "GARBAGE"));
  REQUIRE(std::holds_alternative<lb::erp::SinkError>(garbage));
  CHECK(std::get<lb::erp::SinkError>(garbage).kind == lb::erp::ErrorKind::unreachable);
  CHECK(erp.host.count == 0);
}

TEST_CASE("host sink: attachments reach the host with their key and bytes", "[capi]") {
  sink_host host{};
  Erp erp(host);
  auto sink = lb::capi::make_sink(*erp.handle);
  const lb::erp::Posted posted{.externalId = "V-7", .url = "https://erp.test/V-7"};
  const lb::posting::Attachment receipt{.key = "59540ed2/0", .url = "https://pleo/r.jpg", .type = "image/jpeg", .size = 5};
  auto ok = sink->upload_attachment(posted, receipt, "JFIF!");
  CHECK(std::holds_alternative<std::monostate>(ok));
  CHECK(erp.host.uploads == 1);
  CHECK(std::string(erp.host.last_upload) ==
        R"({"externalId":"V-7","url":"https://erp.test/V-7"} {"key":"59540ed2/0","size":5,"type":"image/jpeg","url":"https://pleo/r.jpg"} JFIF!)");
  auto big = sink->upload_attachment(posted, receipt, std::string(100, 'x'));
  REQUIRE(std::holds_alternative<lb::erp::SinkError>(big));
  CHECK(std::get<lb::erp::SinkError>(big).kind == lb::erp::ErrorKind::attachment);
  CHECK(lb::erp::failure_reason_type(std::get<lb::erp::SinkError>(big)) != std::string());
}

TEST_CASE("host sink: missing callbacks are errors, and the sink keeps the ERP alive", "[capi]") {
  sink_host host{};
  std::unique_ptr<lb::erp::Sink> sink;
  {
    Erp erp(host, false);
    sink = lb::capi::make_sink(*erp.handle);
  }
  CHECK(host.released == 0);
  // The handle is gone; the sink still works and says what is missing.
  auto posted = sink->post(document("a"));
  REQUIRE(std::holds_alternative<lb::erp::SinkError>(posted));
  CHECK(std::get<lb::erp::SinkError>(posted).message == "the host ERP has no post callback");
  CHECK(std::holds_alternative<lb::erp::SinkError>(sink->lookup("a")));
  CHECK(std::holds_alternative<lb::erp::SinkError>(sink->upload_attachment({.externalId = "x"}, {}, "")));
  // No directory callback: the directory knows nothing.
  CHECK_FALSE(sink->directory().account("6010").has_value());
  CHECK(sink->directory().period_open("2025-12-10"));
  sink.reset();
  CHECK(host.released == 1);  // the host's release runs when the last user goes
}

TEST_CASE("host sink §2.8: the host ERP's attachment capabilities reach the workflow", "[capi][erp]") {
  sink_host host{};
  Erp erp(host);
  auto sink = lb::capi::make_sink(*erp.handle);
  CHECK_FALSE(sink->capabilities().single_attachment);  // default: several files, any type
  CHECK(sink->capabilities().attachment_types.empty());
  char* error = nullptr;
  REQUIRE(ledgerbridge_erp_set_capabilities(
              erp.handle, R"({"singleAttachment": true, "maxAttachmentBytes": 5000, "attachmentTypes": ["application/pdf"]})",
              &error) == LEDGERBRIDGE_OK);
  CHECK(error == nullptr);
  const lb::erp::Capabilities caps = sink->capabilities();  // a sink made before sees it too
  CHECK(caps.single_attachment);
  CHECK(caps.max_attachment_bytes == 5000);
  CHECK(caps.attachment_types == std::vector<std::string>{"application/pdf"});

  for (const char* bad : {"[]", R"({"singleAttachment": 1})", R"({"maxAttachmentBytes": -1})",
                          R"({"attachmentTypes": ["pdf"]})", R"({"single": true})", "not json"}) {
    INFO(bad);
    CHECK(ledgerbridge_erp_set_capabilities(erp.handle, bad, &error) == LEDGERBRIDGE_ERROR_ARGUMENT);
    REQUIRE(error != nullptr);
    CHECK(std::string(error).rfind("ledgerbridge_erp_set_capabilities: ", 0) == 0);
    ledgerbridge_free(error);
    error = nullptr;
  }
  CHECK(sink->capabilities().single_attachment);  // a refused setting changes nothing
  CHECK(ledgerbridge_erp_set_capabilities(nullptr, "{}", nullptr) == LEDGERBRIDGE_ERROR_ARGUMENT);
}
