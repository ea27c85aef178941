// The Pleo client against a scripted cpp-httplib server: auth header, retries (503, 429,
// Retry-After through the ManualClock), no retry on 4xx, error mapping (§4.1), pagination
// (§1.11) and the v3 endpoints' paths, parameters and bodies.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "pleo/client.hpp"
#include "pleo_test_util.hpp"

using namespace lb;
using namespace lb::pleo;
using namespace lb::pleo::test;
using std::chrono::milliseconds;

namespace {
const std::string kCompany = "12abc3d4-e567-890e-1234-abc56e78fabc";
const std::string kJob = "8eb648ab-464b-42a0-ba17-eda703657e33";

std::string job_json(const std::string& id) {
  return R"({"id":")" + id + R"(","companyId":")" + kCompany +
         R"(","status":"pending","createdAt":"2026-04-22T10:02:11Z","expiresIn":3600,"isInteractive":true,"numberOfItems":2,"vendorBasedBookkeeping":false})";
}
}  // namespace

TEST_CASE("API key goes as Basic with an empty password; list jobs sends company and repeated statuses", "[pleo]") {
  TestServer server;
  std::string authorization, target;
  std::vector<std::string> statuses;
  server.http.Get("/v3/export-jobs", [&](const httplib::Request& req, httplib::Response& res) {
    authorization = req.get_header_value("Authorization");
    target = req.target;
    for (std::size_t i = 0; i < req.get_param_value_count("statuses"); ++i)
      statuses.push_back(req.get_param_value("statuses", i));
    res.set_header("request-id", "req-abc-1");
    res.set_content(page_json("[" + job_json(kJob) + "]", false), "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));
  auto jobs = client.list_export_jobs(kCompany, {"pending", "in_progress"});
  REQUIRE(jobs.ok());
  REQUIRE(jobs->size() == 1);
  CHECK((*jobs)[0].id == kJob);
  // base64("test-api-key-123:")
  CHECK(authorization == "Basic dGVzdC1hcGkta2V5LTEyMzo=");
  CHECK(statuses == std::vector<std::string>{"pending", "in_progress"});
  CHECK(target.find("company_id=" + kCompany) != std::string::npos);
  CHECK(target.find("limit=1000") != std::string::npos);
  // §4.2: method, path, status and Pleo's request-id are logged for every call.
  CHECK(log.text().find("GET /v3/export-jobs -> 200") != std::string::npos);
  CHECK(log.text().find("request-id=req-abc-1") != std::string::npos);
}

TEST_CASE("503 is retried with backoff; Retry-After on 429 is honoured through the clock", "[pleo]") {
  TestServer server;
  std::atomic<int> calls{0};
  std::string mode;
  server.http.Get(R"(/v3/export-jobs/([^/]+))", [&](const httplib::Request&, httplib::Response& res) {
    const int n = ++calls;
    if (n <= 2) {
      res.status = mode == "503" ? 503 : 429;
      if (mode == "429") res.set_header("Retry-After", n == 1 ? "7" : "Thu, 01 Jan 2026 00:00:12 GMT");
      res.set_content(R"({"type":"BUSY","message":"try later"})", "application/json");
      return;
    }
    res.set_content("{\"data\":" + job_json(kJob) + "}", "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  auto options = options_for(server.url(), clock, log);
  options.retry = RetryPolicy{.max_attempts = 5, .base = milliseconds(200), .cap = milliseconds(5000)};

  SECTION("503") {
    mode = "503";
    Client client(options);
    auto job = client.get_export_job(kJob);
    REQUIRE(job.ok());
    CHECK(calls == 3);
    // jitter 0.5: 200 → 150, 400 → 300
    CHECK(clock.sleeps() == std::vector<milliseconds>{milliseconds(150), milliseconds(300)});
  }
  SECTION("429 with Retry-After seconds, then as an HTTP date") {
    mode = "429";
    Client client(options);
    auto job = client.get_export_job(kJob);
    REQUIRE(job.ok());
    CHECK(calls == 3);
    // 7 s, then the date 00:00:12 seen at 00:00:07 → 5 s. The limiter's pause had expired by
    // then, so it added no sleep of its own.
    CHECK(clock.sleeps() == std::vector<milliseconds>{milliseconds(7000), milliseconds(5000)});
  }
}

TEST_CASE("a 429 pauses the limiter shared by the credential", "[pleo]") {
  TestServer server;
  server.http.Get("/v3/export-jobs", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "30");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  auto options = options_for(server.url(), clock, log);
  options.retry.max_attempts = 1;  // give up at once: the pause must outlive this call
  auto limiter = options.limiter;
  Client client(options);
  auto jobs = client.list_export_jobs(kCompany, {"pending"});
  REQUIRE_FALSE(jobs.ok());
  CHECK(jobs.error().kind == ErrorKind::rate_limited);
  CHECK(jobs.error().retry_after == milliseconds(30'000));
  CHECK(clock.total_slept() == milliseconds(0));
  limiter->acquire();  // any other user of the credential now waits out the pause
  CHECK(clock.total_slept() == milliseconds(30'000));
}

TEST_CASE("retries are bounded; network errors are retried too", "[pleo]") {
  ManualClock clock;
  LogCapture log;
  SECTION("5xx until the budget is spent") {
    TestServer server;
    std::atomic<int> calls{0};
    server.http.Get(R"(/v3/export-jobs/([^/]+))", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 502;
    });
    server.start();
    auto options = options_for(server.url(), clock, log);
    options.retry.max_attempts = 4;
    Client client(options);
    auto job = client.get_export_job(kJob);
    REQUIRE_FALSE(job.ok());
    CHECK(job.error().kind == ErrorKind::server);
    CHECK(job.error().http_status == 502);
    CHECK(calls == 4);
    CHECK(clock.sleeps().size() == 3);
  }
  SECTION("connection refused") {
    std::string dead_url;
    {
      TestServer gone;
      gone.start();
      dead_url = gone.url();
    }  // stopped: the port now refuses connections
    auto options = options_for(dead_url, clock, log);
    options.retry.max_attempts = 3;
    Client client(options);
    auto job = client.get_export_job(kJob);
    REQUIRE_FALSE(job.ok());
    CHECK(job.error().kind == ErrorKind::network);
    CHECK(job.error().endpoint == "GET /v3/export-jobs/{jobId}");
    CHECK(clock.sleeps().size() == 2);
  }
}

TEST_CASE("4xx is not retried and maps to a typed error with Pleo's type and request-id", "[pleo]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.http.Get(R"(/v3/export-jobs/([^/]+))", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 404;
    res.set_header("request-id", "req-404");
    res.set_content(R"({"type":"EXPORT_NOT_FOUND","message":"Export job not found"})", "application/json");
  });
  server.http.Put(R"(/v3/export-jobs/([^/]+)/items)", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    res.status = req.matches[1] == "too-many" ? 413 : 422;
    res.set_content(res.status == 413
                        ? R"({"type":"EXPORT_JOB_ITEMS_UPDATE_LIMIT","message":"Number of items to update is more than 100."})"
                        : R"({"type":"EXPORT_JOB_STATUS_UNPROCESSABLE","message":"Export job is finished."})",
                    "application/json");
  });
  server.http.Post("/v3/export-job-events", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 422;
    res.set_content(R"({"type":"INVALID_EXPORT_JOB_STATUS_CHANGE","message":"Export Job status change failed"})",
                    "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));

  auto job = client.get_export_job(kJob);
  REQUIRE_FALSE(job.ok());
  CHECK(job.error().kind == ErrorKind::not_found);
  CHECK(job.error().type == "EXPORT_NOT_FOUND");
  CHECK(job.error().request_id == "req-404");
  CHECK(job.error().http_status == 404);
  CHECK(job.error().endpoint == "GET /v3/export-jobs/{jobId}");
  CHECK(job.error().to_string() ==
        "GET /v3/export-jobs/{jobId}: not_found (HTTP 404 EXPORT_NOT_FOUND, request-id req-404): Export job not found");
  CHECK(calls == 1);

  std::vector<JobItemUpdate> one{{"59540ed2-0d68-4e36-9e31-58223975d9e9", "successful"}};
  auto too_large = client.update_job_items("too-many", one);
  REQUIRE_FALSE(too_large.ok());
  CHECK(too_large.error().kind == ErrorKind::payload_too_large_413);
  auto finished = client.update_job_items(kJob, one);
  REQUIRE_FALSE(finished.ok());
  CHECK(finished.error().kind == ErrorKind::conflict_422);
  CHECK(finished.error().type == "EXPORT_JOB_STATUS_UNPROCESSABLE");

  auto started = client.post_job_event({kJob, "started"});
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().kind == ErrorKind::conflict_422);
  CHECK(started.error().type == "INVALID_EXPORT_JOB_STATUS_CHANGE");
  CHECK(calls == 4);
  CHECK(clock.sleeps().empty());
}

TEST_CASE("pagination follows endCursor with the page limit and stops on a repeated cursor", "[pleo]") {
  TestServer server;
  std::vector<std::string> afters;
  std::vector<std::string> limits;
  bool loop = false;
  server.http.Get(R"(/v3/export-jobs/([^/]+)/items)", [&](const httplib::Request& req, httplib::Response& res) {
    const std::string after = req.has_param("after") ? req.get_param_value("after") : "";
    afters.push_back(after);
    limits.push_back(req.get_param_value("limit"));
    auto item = [&](const std::string& id) {
      return R"({"accountingEntryId":")" + id + R"(","exportJobId":")" + kJob + R"(","status":"pending"})";
    };
    if (after.empty())
      res.set_content(page_json("[" + item("59540ed2-0d68-4e36-9e31-58223975d9e9") + "," +
                                    item("98441fe2-6d31-4d52-8569-687de8368cb2") + "]",
                                true, "AAAA"),
                      "application/json");
    else if (after == "AAAA")
      res.set_content(page_json("[" + item("3f6a9d02-7c5b-4e81-b2d4-9e0c1a7f5b38") + "]", true, loop ? "AAAA" : "BBBB"),
                      "application/json");
    else
      res.set_content(page_json("[]", false), "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  auto options = options_for(server.url(), clock, log);
  options.page_limit = 2;
  Client client(options);

  SECTION("three pages, streamed one by one") {
    std::vector<std::size_t> sizes;
    auto s = client.for_each_job_item_page(kJob, std::nullopt, [&](std::vector<model::ExportJobItem>& page) {
      sizes.push_back(page.size());
      return true;
    });
    REQUIRE(s.ok());
    CHECK(sizes == std::vector<std::size_t>{2, 1, 0});
    CHECK(afters == std::vector<std::string>{"", "AAAA", "BBBB"});
    CHECK(limits == std::vector<std::string>{"2", "2", "2"});
  }
  SECTION("the callback can stop early") {
    int pages = 0;
    auto s = client.for_each_job_item_page(kJob, std::nullopt, [&](auto&) { return ++pages < 1; });
    REQUIRE(s.ok());
    CHECK(afters.size() == 1);
  }
  SECTION("a cursor handed out twice is an error, not an endless loop") {
    loop = true;
    auto s = client.for_each_job_item_page(kJob, std::nullopt, [&](auto&) { return true; });
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::cursor_repeated);
    CHECK(afters == std::vector<std::string>{"", "AAAA"});  // caught before asking again
  }
}

TEST_CASE("export items: decoded per page, a bad item reported and the rest kept", "[pleo]") {
  TestServer server;
  const std::string good = read_data("card_purchase_journal.json");
  std::string seen_job_id;
  bool contra_missing = false;
  server.http.Get("/v3/export-items", [&](const httplib::Request& req, httplib::Response& res) {
    seen_job_id = req.get_param_value("job_id");
    if (contra_missing) {
      res.status = 400;
      res.set_content(
          R"({"type":"MISSING_CONTRA_ACCOUNTS","message":"Contra accounts are not fully configured for SEK, NOK. Please map contra accounts in the Accounting settings."})",
          "application/json");
      return;
    }
    res.set_content(page_json("[" + good + R"(,{"accountingEntryId":"bad-1","type":12}])", false), "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));

  SECTION("good and bad items") {
    std::size_t items = 0;
    std::vector<model::DecodeError> bad;
    auto s = client.for_each_export_item_page(kJob, [&](ExportItemsPage& page) {
      items += page.items.size();
      for (auto& e : page.bad) bad.push_back(e);
      return true;
    });
    REQUIRE(s.ok());
    CHECK(seen_job_id == kJob);
    CHECK(items == 1);
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].accountingEntryId == "bad-1");
    CHECK(bad[0].where == "page 0 data[1]");
  }
  SECTION("400 MISSING_CONTRA_ACCOUNTS names the currencies") {
    contra_missing = true;
    auto s = client.for_each_export_item_page(kJob, [&](ExportItemsPage&) { return true; });
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::missing_contra_accounts);
    CHECK(s.error().currencies == std::vector<std::string>{"NOK", "SEK"});
    CHECK(clock.sleeps().empty());  // a configuration problem: not retried
  }
}

TEST_CASE("job events: exact bodies, failure fields only with failed", "[pleo]") {
  TestServer server;
  std::vector<nlohmann::json> bodies;
  server.http.Post("/v3/export-job-events", [&](const httplib::Request& req, httplib::Response& res) {
    bodies.push_back(nlohmann::json::parse(req.body));
    res.status = 202;
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));

  REQUIRE(client.post_job_event({kJob, "started"}).ok());
  REQUIRE(client.post_job_event({kJob, "failed", "Contra accounts missing for SEK", "missing_configuration"}).ok());
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0] == nlohmann::json{{"jobId", kJob}, {"event", "started"}});
  CHECK(bodies[1] == nlohmann::json{{"jobId", kJob},
                                    {"event", "failed"},
                                    {"failureReason", "Contra accounts missing for SEK"},
                                    {"failureReasonType", "missing_configuration"}});

  auto extra = client.post_job_event({kJob, "completed_with_errors", "some failed", "validation_failure"});
  CHECK(extra.error().kind == ErrorKind::invalid_argument);
  auto missing = client.post_job_event({kJob, "failed"});
  CHECK(missing.error().kind == ErrorKind::invalid_argument);
  // §3.3: an item reason is not a job reason.
  auto wrong = client.post_job_event({kJob, "failed", "x", "accounting_system_validation_failure"});
  CHECK(wrong.error().kind == ErrorKind::invalid_argument);
  auto unknown = client.post_job_event({kJob, "done"});
  CHECK(unknown.error().kind == ErrorKind::invalid_argument);
  CHECK(bodies.size() == 2);  // nothing refused was sent
}

TEST_CASE("job item updates: at most 100 per call, per-item errors returned", "[pleo]") {
  TestServer server;
  int calls = 0;
  nlohmann::json sent;
  server.http.Put(R"(/v3/export-jobs/([^/]+)/items)", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    sent = nlohmann::json::parse(req.body);
    res.set_content(R"({"data":[{"accountingEntryId":"59540ed2-0d68-4e36-9e31-58223975d9e9","exportJobId":")" + kJob +
                        R"(","status":"successful","externalId":"JE-1"}],
                        "errors":[{"accountingEntryId":"98441fe2-6d31-4d52-8569-687de8368cb2","type":"ACCOUNTING_ENTRY_DOES_NOT_EXIST","message":"no such entry"}]})",
                    "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));

  std::vector<JobItemUpdate> many(101, JobItemUpdate{"59540ed2-0d68-4e36-9e31-58223975d9e9", "successful"});
  auto refused = client.update_job_items(kJob, many);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid_argument);
  CHECK(calls == 0);

  std::vector<JobItemUpdate> two{
      {"59540ed2-0d68-4e36-9e31-58223975d9e9", "successful", "2026-04-22T10:05:00Z", "JE-1", "https://erp/JE-1"},
      {"98441fe2-6d31-4d52-8569-687de8368cb2", "failed", std::nullopt, std::nullopt, std::nullopt, "Unknown account 6800",
       "account_unknown"}};
  auto result = client.update_job_items(kJob, two);
  REQUIRE(result.ok());
  CHECK(calls == 1);
  CHECK(sent[0] == nlohmann::json{{"accountingEntryId", "59540ed2-0d68-4e36-9e31-58223975d9e9"},
                                  {"status", "successful"},
                                  {"exportedAt", "2026-04-22T10:05:00Z"},
                                  {"externalId", "JE-1"},
                                  {"externalUrl", "https://erp/JE-1"}});
  CHECK(sent[1]["failureReasonType"] == "account_unknown");
  CHECK_FALSE(sent[1].contains("externalId"));
  REQUIRE(result->data.size() == 1);
  CHECK(result->data[0].externalId == "JE-1");
  REQUIRE(result->errors.size() == 1);
  CHECK(result->errors[0].accountingEntryId == "98441fe2-6d31-4d52-8569-687de8368cb2");
  CHECK(result->errors[0].type == "ACCOUNTING_ENTRY_DOES_NOT_EXIST");

  std::vector<JobItemUpdate> hundred(100, JobItemUpdate{"59540ed2-0d68-4e36-9e31-58223975d9e9", "successful"});
  CHECK(client.update_job_items(kJob, hundred).ok());
  CHECK(sent.size() == 100);
}

TEST_CASE("master data: paths, pagination and the per-company cache with a TTL", "[pleo]") {
  TestServer server;
  std::atomic<int> tax_calls{0};
  std::string account_body, vendor_target;
  server.http.Post("/v0/tax-codes:search", [&](const httplib::Request& req, httplib::Response& res) {
    ++tax_calls;
    const bool first = !req.has_param("after");
    if (req.get_param_value("company_id") != kCompany) {
      res.status = 400;
      return;
    }
    const std::string code = first ? "01" : "02";
    res.set_content(page_json(R"([{"id":"t-)" + code + R"(","companyId":")" + kCompany + R"(","name":"VAT )" + code +
                                  R"(","rate":0.25,"type":"inclusive","archived":false,"code":")" + code +
                                  R"(","createdAt":"x","updatedAt":"x"}])",
                              first, first ? "CUR" : ""),
                    "application/json");
  });
  server.http.Get("/v0/tag-groups", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"data":[{"id":"g1","companyId":")" + kCompany +
                        R"(","code":"DEPT","name":"Department","archived":false,"metadata":{"erp":"dim1"},"createdAt":"x","updatedAt":"x"}]})",
                    "application/json");
  });
  server.http.Get("/v0/tag-groups/g1/tags", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(page_json(R"([{"id":"t1","groupId":"g1","code":"SALES","name":"Sales","archived":false,"createdAt":"x","updatedAt":"x"}])", false),
                    "application/json");
  });
  server.http.Post("/v1/chart-of-accounts:search", [&](const httplib::Request& req, httplib::Response& res) {
    account_body = req.body;
    res.set_content(page_json(R"([{"id":"a1","companyId":")" + kCompany +
                                  R"(","externalId":"6800","name":"Meals","archived":false,"code":"6800"}])", false),
                    "application/json");
  });
  server.http.Post("/v1/vendors:search", [&](const httplib::Request& req, httplib::Response& res) {
    vendor_target = req.target;
    res.set_content(page_json(R"([{"id":"v1","companyId":")" + kCompany +
                                  R"(","name":"ACME","defaultCurrency":"DKK","state":"ACTIVE","externalId":"V-100"}])", false),
                    "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));

  auto groups = client.list_tag_groups(kCompany);
  REQUIRE(groups.ok());
  CHECK((*groups)[0].metadata.at("erp") == "dim1");
  auto tags = client.list_tags("g1");
  REQUIRE(tags.ok());
  CHECK((*tags)[0].code == "SALES");
  auto accounts = client.list_accounts(kCompany);
  REQUIRE(accounts.ok());
  CHECK((*accounts)[0].externalId == "6800");
  CHECK(nlohmann::json::parse(account_body)["companyId"] == kCompany);
  auto vendors = client.list_vendors(kCompany);
  REQUIRE(vendors.ok());
  CHECK((*vendors)[0].externalId == "V-100");
  CHECK(vendor_target.find("company_id=" + kCompany) != std::string::npos);

  MasterDataCache cache(client, std::chrono::minutes(10), clock);
  auto first = cache.tax_codes(kCompany);
  REQUIRE(first.ok());
  REQUIRE((*first)->size() == 2);  // two pages
  CHECK((**first)[1].code == "02");
  CHECK(tax_calls == 2);
  auto again = cache.tax_codes(kCompany);
  REQUIRE(again.ok());
  CHECK(again->get() == first->get());
  CHECK(tax_calls == 2);  // served from the cache
  clock.advance(std::chrono::minutes(11));
  REQUIRE(cache.tax_codes(kCompany).ok());
  CHECK(tax_calls == 4);  // expired: fetched again
  cache.invalidate(kCompany);
  REQUIRE(cache.tax_codes(kCompany).ok());
  CHECK(tax_calls == 6);
}

TEST_CASE("a 2xx body that breaks the contract is a bad_response", "[pleo]") {
  TestServer server;
  server.http.Get(R"(/v3/export-jobs/([^/]+))", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"data":{"id":"x"}})", "application/json");
  });
  server.start();
  ManualClock clock;
  LogCapture log;
  Client client(options_for(server.url(), clock, log));
  auto job = client.get_export_job(kJob);
  REQUIRE_FALSE(job.ok());
  CHECK(job.error().kind == ErrorKind::bad_response);
}
