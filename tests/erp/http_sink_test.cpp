// The HTTP ERP sink against a scripted cpp-httplib server: the canonical document with its
// Idempotency-Key, lookup by external key (404 = not posted), attachments, the error kinds the
// workflow decides on (a timeout after sending is uncertain, not retried), and the shared retry
// policy through a ManualClock.
#include <catch2/catch.hpp>

#include <atomic>
#include <nlohmann/json.hpp>

#include "erp/http_sink.hpp"
#include "pleo/redact.hpp"
#include "../pleo/pleo_test_util.hpp"

using namespace lb;
using lb::pleo::test::LogCapture;
using lb::pleo::test::TestServer;
using std::chrono::milliseconds;

namespace {

posting::Document sample_document() {
  posting::Document d;
  d.kind = posting::DocumentKind::journal_entry;
  d.externalKey = "59540ed2-0d68-4e36-9e31-58223975d9e9";
  d.accountingEntryId = d.externalKey;
  d.reference = "B-1001";
  d.documentDate = "2025-12-10";
  d.postingDate = "2025-12-10";
  d.currency = "GBP";
  d.description = "Lunch";
  posting::Line expense;
  expense.account = "6010";
  expense.debit = 6366;
  expense.currency = "GBP";
  posting::Line counter;
  counter.role = posting::LineRole::counter;
  counter.account = "1930";
  counter.credit = 6366;
  counter.currency = "GBP";
  d.lines = {expense, counter};
  return d;
}

erp::HttpSinkOptions sink_options(const std::string& url, pleo::ManualClock& clock, const LogCapture& log) {
  erp::HttpSinkOptions o;
  o.url = url + "/documents";
  o.directory_file = std::string(LB_TEST_DATA_DIR) + "/../../examples/data/directory.yaml";
  o.authorization = "Bearer erp-token-Gh5Tz8Lq2Wm4";
  o.clock = &clock;
  o.random = [] { return 0.5; };
  o.retry = pleo::RetryPolicy{.max_attempts = 3, .base = milliseconds(100), .cap = milliseconds(1000)};
  o.transport.logger = log.logger;
  o.transport.total_timeout = std::chrono::seconds(10);
  return o;
}

}  // namespace

TEST_CASE("http sink posts the canonical document with its Idempotency-Key", "[erp-http]") {
  TestServer server;
  std::string body, key, auth;
  server.http.Post("/documents", [&](const httplib::Request& req, httplib::Response& res) {
    body = req.body;
    key = req.get_header_value("Idempotency-Key");
    auth = req.get_header_value("Authorization");
    res.status = 201;
    res.set_content(R"({"externalId":"JE-77","url":"https://erp.example.com/je/77"})", "application/json");
  });
  server.start();
  pleo::ManualClock clock;
  LogCapture log;
  auto sink = erp::HttpSink::create(sink_options(server.url(), clock, log));
  REQUIRE(sink.ok());
  const auto doc = sample_document();
  auto posted = (*sink)->post(doc);
  REQUIRE(std::holds_alternative<erp::Posted>(posted));
  CHECK(std::get<erp::Posted>(posted).externalId == "JE-77");
  CHECK(std::get<erp::Posted>(posted).url == "https://erp.example.com/je/77");
  CHECK(body == posting::document_json(doc));
  CHECK(key == doc.externalKey);
  CHECK(auth == "Bearer erp-token-Gh5Tz8Lq2Wm4");
  // The directory file was loaded.
  CHECK((*sink)->directory().account("6010").has_value());
  CHECK_FALSE((*sink)->directory().account("no-such-account").has_value());
  CHECK(log.text().find("erp POST ") != std::string::npos);
  CHECK(log.text().find("erp-token-Gh5Tz8Lq2Wm4") == std::string::npos);
}

TEST_CASE("http sink lookup: found, and 404 as not posted", "[erp-http]") {
  TestServer server;
  std::string asked;
  server.http.Get("/documents", [&](const httplib::Request& req, httplib::Response& res) {
    asked = req.get_param_value("externalKey");
    if (asked == "known/payment") {
      res.set_content(R"({"externalId":"AP-9","url":""})", "application/json");
    } else {
      res.status = 404;
    }
  });
  server.start();
  pleo::ManualClock clock;
  LogCapture log;
  auto sink = erp::HttpSink::create(sink_options(server.url(), clock, log));
  REQUIRE(sink.ok());
  auto found = (*sink)->lookup("known/payment");
  REQUIRE(std::holds_alternative<std::optional<erp::Posted>>(found));
  CHECK(asked == "known/payment");
  REQUIRE(std::get<std::optional<erp::Posted>>(found).has_value());
  CHECK(std::get<std::optional<erp::Posted>>(found)->externalId == "AP-9");
  auto missing = (*sink)->lookup("unknown");
  REQUIRE(std::holds_alternative<std::optional<erp::Posted>>(missing));
  CHECK_FALSE(std::get<std::optional<erp::Posted>>(missing).has_value());
}

TEST_CASE("http sink classifies ERP errors and retries only what is safe", "[erp-http]") {
  TestServer server;
  std::atomic<int> calls{0};
  std::string mode;
  server.http.Post("/documents", [&](const httplib::Request&, httplib::Response& res) {
    const int n = ++calls;
    if (mode == "422") {
      res.status = 422;
      res.set_content(R"({"message":"period 2025-12 is closed"})", "application/json");
    } else if (mode == "401") {
      res.status = 401;
    } else if (mode == "409") {
      res.status = 409;
    } else if (mode == "503-then-ok") {
      if (n == 1) {
        res.status = 503;
        res.set_header("Retry-After", "3");
        return;
      }
      res.set_content(R"({"externalId":"JE-78"})", "application/json");
    } else if (mode == "429") {
      res.status = 429;
      res.set_header("Retry-After", "2");
    } else if (mode == "garbage") {
      res.set_content("OK", "text/plain");
    }
  });
  server.start();
  pleo::ManualClock clock;
  LogCapture log;
  auto sink = erp::HttpSink::create(sink_options(server.url(), clock, log));
  REQUIRE(sink.ok());
  auto kind_of = [&](const std::string& m) {
    mode = m;
    calls = 0;
    auto r = (*sink)->post(sample_document());
    REQUIRE(std::holds_alternative<erp::SinkError>(r));
    return std::get<erp::SinkError>(r);
  };
  SECTION("validation is not retried") {
    auto e = kind_of("422");
    CHECK(e.kind == erp::ErrorKind::validation);
    CHECK(e.message.find("period 2025-12 is closed") != std::string::npos);
    CHECK(calls == 1);
  }
  SECTION("auth and conflict") {
    CHECK(kind_of("401").kind == erp::ErrorKind::auth);
    CHECK(kind_of("409").kind == erp::ErrorKind::conflict);
    CHECK(calls == 1);
  }
  SECTION("429 exhausts the policy, honouring Retry-After") {
    auto e = kind_of("429");
    CHECK(e.kind == erp::ErrorKind::rate_limit);
    CHECK(e.retry_after == milliseconds(2000));
    CHECK(calls == 3);
    CHECK(clock.sleeps() == std::vector<milliseconds>{milliseconds(2000), milliseconds(2000)});
  }
  SECTION("a 2xx without an externalId is uncertain") {
    CHECK(kind_of("garbage").kind == erp::ErrorKind::timeout);
  }
  SECTION("503 then success") {
    mode = "503-then-ok";
    auto r = (*sink)->post(sample_document());
    REQUIRE(std::holds_alternative<erp::Posted>(r));
    CHECK(std::get<erp::Posted>(r).externalId == "JE-78");
    CHECK(clock.sleeps() == std::vector<milliseconds>{milliseconds(3000)});
  }
}

TEST_CASE("http sink: a timeout after sending is ErrorKind::timeout and is not retried", "[erp-http]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.http.Post("/documents", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // longer than the client waits
    res.set_content(R"({"externalId":"late"})", "application/json");
  });
  server.start();
  pleo::ManualClock clock;
  LogCapture log;
  auto options = sink_options(server.url(), clock, log);
  options.transport.total_timeout = milliseconds(200);
  auto sink = erp::HttpSink::create(options);
  REQUIRE(sink.ok());
  auto r = (*sink)->post(sample_document());
  REQUIRE(std::holds_alternative<erp::SinkError>(r));
  CHECK(std::get<erp::SinkError>(r).kind == erp::ErrorKind::timeout);
  CHECK(calls == 1);
}

TEST_CASE("http sink: connection refused is unreachable after the retries", "[erp-http]") {
  std::string dead;
  {
    TestServer gone;
    gone.start();
    dead = gone.url();
  }
  pleo::ManualClock clock;
  LogCapture log;
  auto sink = erp::HttpSink::create(sink_options(dead, clock, log));
  REQUIRE(sink.ok());
  auto r = (*sink)->post(sample_document());
  REQUIRE(std::holds_alternative<erp::SinkError>(r));
  CHECK(std::get<erp::SinkError>(r).kind == erp::ErrorKind::unreachable);
  CHECK(clock.sleeps().size() == 2);  // never reached the ERP: safe to retry
}

TEST_CASE("http sink uploads attachment bytes with their type and key", "[erp-http]") {
  TestServer server;
  std::string path, type, key, bytes;
  bool refuse = false;
  server.http.Post(R"(/documents/([^/]+)/attachments)", [&](const httplib::Request& req, httplib::Response& res) {
    path = req.target;  // as sent, before the server decodes it
    type = req.get_header_value("Content-Type");
    key = req.get_header_value("Idempotency-Key");
    bytes = req.body;
    res.status = refuse ? 413 : 201;
  });
  server.start();
  pleo::ManualClock clock;
  LogCapture log;
  auto sink = erp::HttpSink::create(sink_options(server.url(), clock, log));
  REQUIRE(sink.ok());
  posting::Attachment a{"59540ed2-0d68-4e36-9e31-58223975d9e9/0", "https://files/r.pdf", "application/pdf", 5};
  const std::string pdf("%PDF\0x", 6);
  auto r = (*sink)->upload_attachment(erp::Posted{"JE 77"}, a, pdf);
  REQUIRE(std::holds_alternative<std::monostate>(r));
  CHECK(path == "/documents/JE%2077/attachments");
  CHECK(type == "application/pdf");
  CHECK(key == a.key);
  CHECK(bytes == pdf);
  refuse = true;
  auto too_big = (*sink)->upload_attachment(erp::Posted{"JE-77"}, a, pdf);
  REQUIRE(std::holds_alternative<erp::SinkError>(too_big));
  CHECK(std::get<erp::SinkError>(too_big).kind == erp::ErrorKind::attachment);
}

TEST_CASE("http sink: a missing directory file is an error naming it", "[erp-http]") {
  pleo::ManualClock clock;
  LogCapture log;
  auto options = sink_options("http://127.0.0.1:9", clock, log);
  options.directory_file = "/nonexistent/directory.yaml";
  auto sink = erp::HttpSink::create(options);
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.error().message.find("/nonexistent/directory.yaml") != std::string::npos);
}
