// The simulated Pleo (engine/sim/pleo_server.hpp) over real loopback HTTP: the contract of
// ../shared/pleo-api/pleo-export-openapi.yml as the engine's client will meet it — auth, the job
// state machine, item updates, pagination, the rate limit, expiry, missing contra accounts,
// OAuth rotation, seeded faults, master data and attachment files.
#include <catch2/catch.hpp>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "sim/generate.hpp"
#include "sim/pleo_server.hpp"

using namespace lb;
using nlohmann::json;
using sim::PleoServer;

namespace {

// A tiny client: Basic (API key, empty password) or Bearer.
struct Api {
  std::string base;
  std::string key;
  std::string bearer;

  httplib::Client client() const {
    httplib::Client c(base);
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    if (!bearer.empty()) c.set_bearer_token_auth(bearer.c_str());
    else if (!key.empty()) c.set_basic_auth(key.c_str(), "");
    return c;
  }
  httplib::Result get(const std::string& path) const { return client().Get(path.c_str()); }
  httplib::Result put(const std::string& path, const json& body) const {
    return client().Put(path.c_str(), body.dump(), "application/json");
  }
  httplib::Result post(const std::string& path, const json& body) const {
    return client().Post(path.c_str(), body.dump(), "application/json");
  }
};

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}

std::string all_key(const PleoServer& s) {
  for (const auto& k : s.api_keys())
    if (k.companies.empty()) return k.key;
  FAIL("no all-companies key");
  return {};
}

Api api_for(const PleoServer& s) { return Api{s.base_url(), all_key(s), ""}; }

json event(const std::string& job, const std::string& ev) { return json{{"jobId", job}, {"event", ev}}; }

json success(const std::string& entry, const std::string& external = "JE-1") {
  return json{{"accountingEntryId", entry}, {"status", "successful"}, {"externalId", external},
              {"exportedAt", "2026-01-15T10:00:00Z"}};
}

std::vector<std::string> entry_ids(const PleoServer& s, const std::string& job) {
  std::vector<std::string> ids;
  const auto view = s.job(job);
  REQUIRE(view);
  for (const auto& it : view->items) ids.push_back(it.accounting_entry_id);
  return ids;
}

// Every page of a list, following endCursor while hasNextPage.
std::vector<json> all_pages(const Api& api, const std::string& path, int& pages) {
  std::vector<json> out;
  std::string cursor;
  pages = 0;
  for (;;) {
    const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    const auto r = api.get(path + (cursor.empty() ? "" : sep + "after=" + cursor));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const json page = json::parse(r->body);
    ++pages;
    for (const auto& e : page["data"]) out.push_back(e);
    if (!page["pagination"]["hasNextPage"].get<bool>()) break;
    cursor = page["pagination"]["endCursor"];
    REQUIRE(pages < 1000);
  }
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("sim pleo: every request needs credentials; a company key sees only its company", "[sim-pleo]") {
  PleoServer server;
  REQUIRE(server.start().ok());
  const auto& companies = server.companies();
  REQUIRE(companies.size() == 3);

  const auto none = Api{server.base_url(), "", ""}.get("/v3/export-jobs");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(json::parse(none->body)["type"] == "UNAUTHORIZED");
  CHECK(none->has_header("WWW-Authenticate"));
  CHECK(Api{server.base_url(), "not-a-key", ""}.get("/v3/export-jobs")->status == 401);
  CHECK(Api{server.base_url(), "", "not-a-token"}.get("/v3/export-items")->status == 401);
  {
    httplib::Client c(server.base_url());
    c.set_basic_auth(companies[0].api_key.c_str(), "a-password");  // §6.2: the password is empty
    CHECK(c.Get("/v3/export-jobs")->status == 401);
  }
  CHECK(server.counters().auth_refused == 4);

  const json all = body_of(api_for(server).get("/v3/export-jobs?statuses=pending"));
  CHECK(all["data"].size() == 6);
  for (const auto& j : all["data"]) CHECK(j["status"] == "pending");
  CHECK(all["pagination"]["hasNextPage"] == false);

  const Api own{server.base_url(), companies[1].api_key, ""};
  const json mine = body_of(own.get("/v3/export-jobs"));
  REQUIRE(mine["data"].size() == 2);
  for (const auto& j : mine["data"]) CHECK(j["companyId"] == companies[1].id);
  CHECK(own.get("/v3/export-jobs?company_id=" + companies[0].id)->status == 403);
  const std::string other_job = all["data"][0]["companyId"] == companies[1].id ? all["data"][1]["id"] : all["data"][0]["id"];
  CHECK(own.get("/v3/export-jobs/" + other_job)->status == 403);
  CHECK(server.counters().requests.at(PleoServer::kOpListJobs) == 6);
}

TEST_CASE("sim pleo: seeded data is deterministic and consistent with each job's company", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.seed = 42;
  cfg.items_per_job = 12;
  PleoServer a(cfg), b(cfg);
  cfg.seed = 43;
  PleoServer c(cfg);
  REQUIRE(a.start().ok());
  REQUIRE(b.start().ok());
  REQUIRE(c.start().ok());
  CHECK(a.job_ids() == b.job_ids());
  CHECK(a.job_ids() != c.job_ids());

  std::set<std::string> types;
  for (const auto& job_id : a.job_ids()) {
    int pages = 0;
    const auto items_a = all_pages(api_for(a), "/v3/export-items?job_id=" + job_id, pages);
    const auto items_b = all_pages(api_for(b), "/v3/export-items?job_id=" + job_id, pages);
    REQUIRE(items_a.size() == 12);
    const auto job = a.job(job_id);
    std::string currency;
    for (const auto& co : a.companies())
      if (co.id == job->company_id) currency = co.currency;
    for (size_t i = 0; i < items_a.size(); ++i) {
      const json& it = items_a[i];
      // Same seed, same item (file URLs differ only by port).
      CHECK(it["accountingEntryId"] == items_b[i]["accountingEntryId"]);
      CHECK(it["accountingEntryLines"] == items_b[i]["accountingEntryLines"]);
      CHECK(it["accountingEntryId"] == job->items[i].accounting_entry_id);  // data layer joins control layer
      CHECK(it["companyId"] == job->company_id);
      CHECK(it["amount"]["inWalletCurrency"]["currency"] == currency);
      if (!it["contraAccount"].is_null()) CHECK(it["contraAccount"]["name"] == "Pleo " + currency + " Account");
      if (it["files"].is_array())
        for (const auto& f : it["files"]) CHECK(f["url"].get<std::string>().rfind(a.base_url() + "/files/", 0) == 0);
      types.insert(it["type"].get<std::string>());
    }
  }
  CHECK(types.size() == std::size(sim::kItemTypes));  // every ExportItemTypeV3 appears
}

TEST_CASE("sim pleo: the job state machine and its 422s", "[sim-pleo]") {
  PleoServer server;
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const auto jobs = server.job_ids();
  const std::string job = jobs[0];
  const auto ids = entry_ids(server, job);

  // Only an in_progress job can complete or fail; a pending one cannot.
  CHECK(api.post("/v3/export-job-events", event(job, "completed"))->status == 422);
  // Items cannot be reported before the job is claimed.
  CHECK(api.put("/v3/export-jobs/" + job + "/items", json::array({success(ids[0])}))->status == 422);

  const auto started = api.post("/v3/export-job-events", event(job, "started"));
  REQUIRE(started);
  CHECK(started->status == 202);
  CHECK(started->body.empty());
  const json again = body_of(api.post("/v3/export-job-events", event(job, "started")));  // someone else's claim
  CHECK(again["type"] == "INVALID_EXPORT_JOB_STATUS_CHANGE");
  const json got = body_of(api.get("/v3/export-jobs/" + job));
  CHECK(got["data"]["status"] == "in_progress");
  CHECK(got["data"]["startedAt"].is_string());
  CHECK(got["data"]["expiresIn"] == 3600);

  // Bad bodies are 400, not state changes.
  CHECK(api.post("/v3/export-job-events", json{{"jobId", job}, {"event", "finished"}})->status == 400);
  CHECK(api.post("/v3/export-job-events", json{{"event", "started"}})->status == 400);
  CHECK(api.post("/v3/export-job-events", event("00000000-0000-4000-8000-000000000000", "started"))->status == 404);
  // failed needs a reason and a job-level reason type (§3.3).
  CHECK(api.post("/v3/export-job-events", event(job, "failed"))->status == 422);
  auto item_level = event(job, "failed");
  item_level["failureReason"] = "x";
  item_level["failureReasonType"] = "accounting_system_validation_failure";  // item enum, not job enum
  CHECK(api.post("/v3/export-job-events", item_level)->status == 400);
  // Not every item is final yet: neither completion is accepted (§1.10).
  CHECK(api.post("/v3/export-job-events", event(job, "completed"))->status == 422);
  CHECK(api.post("/v3/export-job-events", event(job, "completed_with_errors"))->status == 422);

  json batch = json::array();
  for (const auto& id : ids) batch.push_back(success(id, "JE-" + id.substr(0, 8)));
  REQUIRE(api.put("/v3/export-jobs/" + job + "/items", batch)->status == 200);
  CHECK(api.post("/v3/export-job-events", event(job, "completed_with_errors"))->status == 422);  // none failed
  CHECK(api.post("/v3/export-job-events", event(job, "completed"))->status == 202);
  CHECK(api.post("/v3/export-job-events", event(job, "failed"))->status == 422);

  // Finished: no more updates, no more export items.
  const json late = body_of(api.put("/v3/export-jobs/" + job + "/items", json::array({success(ids[0])})));
  CHECK(late["type"] == "EXPORT_JOB_STATUS_UNPROCESSABLE");
  CHECK(api.get("/v3/export-items?job_id=" + job)->status == 422);

  const auto view = server.job(job);
  CHECK(view->status == "completed");
  std::vector<std::pair<std::string, int>> events;
  for (const auto& e : view->events) events.emplace_back(e.event, e.http_status);
  CHECK(events == std::vector<std::pair<std::string, int>>{{"completed", 422}, {"started", 202}, {"started", 422},
                                                           {"failed", 422}, {"completed", 422},
                                                           {"completed_with_errors", 422},
                                                           {"completed_with_errors", 422}, {"completed", 202},
                                                           {"failed", 422}});
  for (const auto& it : view->items) {
    CHECK(it.status == "successful");
    CHECK(it.final_sets == 1);
    CHECK(it.external_id == "JE-" + it.accounting_entry_id.substr(0, 8));
  }

  // A failed job: reason and type recorded, unfinished items abandoned.
  const std::string second = jobs[1];
  REQUIRE(api.post("/v3/export-job-events", event(second, "started"))->status == 202);
  auto failed = event(second, "failed");
  failed["failureReason"] = "ERP unreachable";
  failed["failureReasonType"] = "accounting_system_unreachable";
  CHECK(api.post("/v3/export-job-events", failed)->status == 202);
  const auto second_view = server.job(second);
  CHECK(second_view->status == "failed");
  CHECK(second_view->failure_reason_type == "accounting_system_unreachable");
  for (const auto& it : second_view->items) CHECK(it.status == "abandoned");
}

TEST_CASE("sim pleo: item updates: at most 100, per-item errors, validated statuses", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 120;
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string job = server.job_ids()[0];
  const auto ids = entry_ids(server, job);
  const std::string path = "/v3/export-jobs/" + job + "/items";
  REQUIRE(api.post("/v3/export-job-events", event(job, "started"))->status == 202);

  json too_many = json::array();
  for (size_t i = 0; i < 101; ++i) too_many.push_back(success(ids[i]));
  const auto r413 = api.put(path, too_many);
  REQUIRE(r413);
  CHECK(r413->status == 413);
  CHECK(json::parse(r413->body)["type"] == "EXPORT_JOB_ITEMS_UPDATE_LIMIT");
  CHECK(server.job(job)->items[0].updates == 0);  // nothing applied

  // A malformed element fails the whole request.
  json bad_enum = json::array({success(ids[0]), {{"accountingEntryId", ids[1]}, {"status", "failed"},
                                                 {"failureReasonType", "not_a_reason"}}});
  CHECK(api.put(path, bad_enum)->status == 400);
  CHECK(api.put(path, json::array({{{"accountingEntryId", "nope"}, {"status", "successful"}}}))->status == 400);
  CHECK(api.put(path, json{{"accountingEntryId", ids[0]}})->status == 400);  // not an array
  CHECK(server.job(job)->items[0].updates == 0);

  json mixed = json::array();
  mixed.push_back(success(ids[0], "AP-7"));
  mixed.push_back({{"accountingEntryId", ids[1]}, {"status", "failed"}, {"failureReasonType", "vendor_unknown"},
                   {"failureReason", "Vendor V1001 does not exist"}});
  mixed.push_back({{"accountingEntryId", "00000000-0000-4000-8000-000000000000"}, {"status", "successful"}});
  mixed.push_back({{"accountingEntryId", ids[2]}, {"status", "failed"}});  // no failureReasonType
  mixed.push_back({{"accountingEntryId", ids[3]}, {"status", "abandoned"}});
  mixed.push_back({{"accountingEntryId", ids[4]}, {"status", "in_progress"}});
  const json res = body_of(api.put(path, mixed));
  REQUIRE(res["data"].size() == 3);
  CHECK(res["data"][0]["externalId"] == "AP-7");
  CHECK(res["data"][1]["failureReasonType"] == "vendor_unknown");
  CHECK(res["data"][2]["status"] == "in_progress");
  REQUIRE(res["errors"].size() == 3);
  CHECK(res["errors"][0]["type"] == "ACCOUNTING_ENTRY_DOES_NOT_EXIST");
  CHECK(res["errors"][1]["accountingEntryId"] == ids[2]);
  CHECK(res["errors"][1]["type"] == "ACCOUNTING_ENTRY_UPDATE_FAILED");
  CHECK(res["errors"][2]["type"] == "ACCOUNTING_ENTRY_UPDATE_FAILED");

  // Sending the same final status twice is accepted but counted: exactly-once tests read it.
  REQUIRE(api.put(path, json::array({success(ids[0], "AP-7")}))->status == 200);
  const auto view = server.job(job);
  CHECK(view->items[0].final_sets == 2);
  CHECK(view->items[1].final_sets == 1);
  CHECK(view->items[1].failure_reason == "Vendor V1001 does not exist");
  CHECK(view->items[2].status == "pending");
  CHECK(view->items[4].status == "in_progress");
  CHECK(view->items[4].final_sets == 0);

  // The control layer shows the updates, filtered by status.
  const json failed = body_of(api.get(path + "?status=failed"));
  REQUIRE(failed["data"].size() == 1);
  CHECK(failed["data"][0]["accountingEntryId"] == ids[1]);
  CHECK(failed["data"][0]["exportJobId"] == job);
  CHECK(api.get(path + "?status=done")->status == 400);
  CHECK(api.put("/v3/export-jobs/00000000-0000-4000-8000-000000000000/items", json::array())->status == 404);
}

TEST_CASE("sim pleo: cursor pagination follows endCursor to the end and the page cap holds", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 23;
  cfg.page_cap = 5;
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  CHECK(server.page_cap() == 5);
  const Api api = api_for(server);
  const std::string job = server.job_ids()[0];
  const auto ids = entry_ids(server, job);

  const json first = body_of(api.get("/v3/export-items?job_id=" + job + "&limit=100"));
  CHECK(first["data"].size() == 5);  // asked for 100, capped
  CHECK(first["pagination"]["hasNextPage"] == true);
  CHECK(first["pagination"]["hasPreviousPage"] == false);
  CHECK(first["pagination"]["total"] == 23);
  CHECK(first["pagination"]["currentRequestPagination"]["parameters"]["job_id"] == json::array({job}));
  const std::string end = first["pagination"]["endCursor"];
  CHECK(std::all_of(end.begin(), end.end(), [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= '2' && ch <= '7') || ch == '='; }));

  int pages = 0;
  const auto items = all_pages(api, "/v3/export-items?job_id=" + job + "&limit=4", pages);
  CHECK(pages == 6);
  REQUIRE(items.size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) CHECK(items[i]["accountingEntryId"] == ids[i]);
  const auto job_items = all_pages(api, "/v3/export-jobs/" + job + "/items", pages);
  CHECK(pages == 5);
  CHECK(job_items.size() == 23);

  // before=startCursor walks back; offset works; the three are exclusive; cursors are checked.
  const json second = body_of(api.get("/v3/export-items?job_id=" + job + "&after=" + end));
  const json back = body_of(api.get("/v3/export-items?job_id=" + job + "&before=" +
                                    second["pagination"]["startCursor"].get<std::string>()));
  CHECK(back["data"] == first["data"]);
  CHECK(back["pagination"]["hasNextPage"] == true);
  const json offset = body_of(api.get("/v3/export-items?job_id=" + job + "&offset=20"));
  CHECK(offset["data"].size() == 3);
  CHECK(offset["data"][0]["accountingEntryId"] == ids[20]);
  CHECK(offset["pagination"]["hasNextPage"] == false);
  CHECK(api.get("/v3/export-items?job_id=" + job + "&offset=1&after=" + end)->status == 400);
  CHECK(api.get("/v3/export-items?job_id=" + job + "&after=not-a-cursor")->status == 400);
  CHECK(api.get("/v3/export-items?job_id=" + job + "&limit=-1")->status == 400);
}

TEST_CASE("sim pleo: the rate limit answers 429 with Retry-After, per credential", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.rate_limit_per_minute = 5;
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  for (int i = 0; i < 5; ++i) CHECK(api.get("/v3/export-jobs")->status == 200);
  const auto limited = api.get("/v3/export-jobs");
  REQUIRE(limited);
  CHECK(limited->status == 429);
  const int retry = std::stoi(limited->get_header_value("Retry-After"));
  CHECK(retry >= 1);
  CHECK(retry <= 60);
  CHECK(server.counters().rate_limited == 1);
  // Another credential has its own window.
  CHECK(Api{server.base_url(), server.companies()[0].api_key, ""}.get("/v3/export-jobs")->status == 200);
  server.advance_clock(std::chrono::seconds(61));
  CHECK(api.get("/v3/export-jobs")->status == 200);
}

TEST_CASE("sim pleo: an in_progress job with no action expires", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.job_expiry = std::chrono::seconds(60);
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string job = server.job_ids()[0];
  const auto ids = entry_ids(server, job);
  REQUIRE(api.post("/v3/export-job-events", event(job, "started"))->status == 202);
  server.advance_clock(std::chrono::seconds(45));
  // An item update is an action on the job: the clock restarts.
  REQUIRE(api.put("/v3/export-jobs/" + job + "/items", json::array({success(ids[0])}))->status == 200);
  server.advance_clock(std::chrono::seconds(45));
  CHECK(server.job(job)->status == "in_progress");
  server.advance_clock(std::chrono::seconds(20));
  const json expired = body_of(api.get("/v3/export-jobs/" + job));
  CHECK(expired["data"]["status"] == "failed");
  CHECK(expired["data"]["failureReasonType"] == "job_expired");
  CHECK(expired["data"]["expiredAt"].is_string());
  const auto view = server.job(job);
  CHECK(view->items[0].status == "successful");
  CHECK(view->items[1].status == "abandoned");
  CHECK(body_of(api.put("/v3/export-jobs/" + job + "/items", json::array({success(ids[1])})))["type"] ==
        "EXPORT_JOB_STATUS_UNPROCESSABLE");
  CHECK(api.post("/v3/export-job-events", event(job, "completed"))->status == 422);
  // Pending jobs do not expire.
  CHECK(server.job(server.job_ids()[1])->status == "pending");
}

TEST_CASE("sim pleo: export items refused with MISSING_CONTRA_ACCOUNTS naming the currencies", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  PleoServer probe(cfg);
  const auto company = probe.companies()[0];
  cfg.missing_contra_accounts[company.id] = {};
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  std::string own_job, other_job;
  for (const auto& id : server.job_ids()) (server.job(id)->company_id == company.id ? own_job : other_job) = id;
  const auto refused = api.get("/v3/export-items?job_id=" + own_job);
  REQUIRE(refused);
  CHECK(refused->status == 400);
  const json err = json::parse(refused->body);
  CHECK(err["type"] == "MISSING_CONTRA_ACCOUNTS");
  CHECK_THAT(err["message"].get<std::string>(), Catch::Contains(company.currency));
  CHECK(api.get("/v3/export-items?job_id=" + other_job)->status == 200);
  server.clear_missing_contra_accounts(company.id);
  CHECK(api.get("/v3/export-items?job_id=" + own_job)->status == 200);
}

TEST_CASE("sim pleo: OAuth refresh tokens rotate; reuse, expiry and revocation are refused", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.access_token_ttl = std::chrono::seconds(300);
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const auto client = server.oauth_clients().at(0);
  const std::string first_refresh = *server.refresh_token(client.client_id);
  httplib::Client http(server.base_url());
  http.set_basic_auth(client.client_id.c_str(), client.client_secret.c_str());
  auto refresh = [&](const std::string& token) {
    return http.Post("/oauth/token", "grant_type=refresh_token&refresh_token=" + token, "application/x-www-form-urlencoded");
  };
  const auto r1 = refresh(first_refresh);
  REQUIRE(r1);
  REQUIRE(r1->status == 200);
  const json t1 = json::parse(r1->body);
  CHECK(t1["token_type"] == "Bearer");
  CHECK(t1["expires_in"] == 300);
  CHECK(t1["refresh_token"] != first_refresh);
  const Api bearer{server.base_url(), "", t1["access_token"]};
  CHECK(bearer.get("/v3/export-jobs")->status == 200);

  // Access tokens expire.
  server.advance_clock(std::chrono::seconds(301));
  CHECK(bearer.get("/v3/export-jobs")->status == 401);
  const json t2 = json::parse(refresh(t1["refresh_token"])->body);
  const Api bearer2{server.base_url(), "", t2["access_token"]};
  CHECK(bearer2.get("/v3/export-jobs")->status == 200);
  server.expire_access_tokens();
  CHECK(bearer2.get("/v3/export-jobs")->status == 401);

  // Replaying a rotated-out refresh token is invalid_grant and revokes the authorization.
  const auto replay = refresh(first_refresh);
  CHECK(replay->status == 400);
  CHECK(json::parse(replay->body)["error"] == "invalid_grant");
  CHECK(refresh(t2["refresh_token"])->status == 400);
  CHECK_FALSE(server.refresh_token(client.client_id));

  // A new consent works until the user disconnects.
  const auto fresh = server.authorize_oauth(client.client_id);
  REQUIRE(fresh);
  const json t3 = json::parse(refresh(*fresh)->body);
  const Api bearer3{server.base_url(), "", t3["access_token"]};
  CHECK(bearer3.get("/v3/export-jobs")->status == 200);
  server.revoke_oauth(client.client_id);
  CHECK(bearer3.get("/v3/export-jobs")->status == 401);
  CHECK(refresh(t3["refresh_token"])->status == 400);

  httplib::Client wrong(server.base_url());
  wrong.set_basic_auth(client.client_id.c_str(), "wrong-secret");
  const auto bad_client = wrong.Post("/oauth/token", "grant_type=refresh_token&refresh_token=x", "application/x-www-form-urlencoded");
  CHECK(bad_client->status == 401);
  CHECK(json::parse(bad_client->body)["error"] == "invalid_client");
}

namespace {

// What a client sees for each request: the status, -1 for no response, -2 for a body that is
// not JSON (a truncated one).
std::vector<int> outcomes(PleoServer& server, int n) {
  const Api api = api_for(server);
  std::vector<int> seen;
  for (int i = 0; i < n; ++i) {
    const auto r = api.get("/v3/export-jobs");
    if (!r) seen.push_back(-1);
    else if (r->status == 200 && json::parse(r->body, nullptr, false).is_discarded()) seen.push_back(-2);
    else seen.push_back(r->status);
  }
  return seen;
}

}  // namespace

TEST_CASE("sim pleo: injected faults are deterministic per seed", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.faults.all = sim::FaultProfile::uniform(0.5);
  cfg.faults.all.latency = 0;
  cfg.faults.all.burst_length = 2;
  PleoServer a(cfg), b(cfg);
  cfg.faults.seed = 99;
  PleoServer c(cfg);
  REQUIRE(a.start().ok());
  REQUIRE(b.start().ok());
  REQUIRE(c.start().ok());
  const auto seen_a = outcomes(a, 40);
  CHECK(seen_a == outcomes(b, 40));
  CHECK(seen_a != outcomes(c, 40));
  const std::set<int> kinds(seen_a.begin(), seen_a.end());
  CHECK(kinds.count(200));
  CHECK(kinds.count(429));
  CHECK(kinds.count(-1));  // dropped / lost / truncated-by-length
  CHECK((kinds.count(500) + kinds.count(502) + kinds.count(503)) > 0);
  const auto n = a.counters();
  CHECK(n.faults_drop + n.faults_lost_response + n.faults_truncate + n.faults_server_error + n.faults_rate_limit > 0);
  CHECK(n.requests.at(PleoServer::kOpListJobs) == 40);
}

TEST_CASE("sim pleo: a lost response leaves the write applied; a 5xx leaves nothing", "[sim-pleo]") {
  PleoServer server;
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string job = server.job_ids()[0];
  const auto ids = entry_ids(server, job);
  REQUIRE(api.post("/v3/export-job-events", event(job, "started"))->status == 202);
  const std::string path = "/v3/export-jobs/" + job + "/items";

  sim::Faults lost;
  lost.by_endpoint[PleoServer::kOpUpdateJobItems].lost_response = 1.0;
  server.set_faults(lost);
  CHECK_FALSE(api.put(path, json::array({success(ids[0])})));  // no response at all
  CHECK(server.job(job)->items[0].status == "successful");      // ... but it was applied
  CHECK(server.counters().faults_lost_response == 1);

  sim::Faults broken;
  broken.by_endpoint[PleoServer::kOpUpdateJobItems].server_error = 1.0;
  server.set_faults(broken);
  const auto r = api.put(path, json::array({success(ids[1])}));
  REQUIRE(r);
  CHECK(r->status >= 500);
  CHECK(json::parse(r->body).contains("type"));
  CHECK(server.job(job)->items[1].status == "pending");

  sim::Faults dropped;
  dropped.by_endpoint[PleoServer::kOpUpdateJobItems].drop = 1.0;
  server.set_faults(dropped);
  CHECK_FALSE(api.put(path, json::array({success(ids[2])})));
  CHECK(server.job(job)->items[2].status == "pending");

  sim::Faults truncated;
  truncated.by_endpoint[PleoServer::kOpExportItems].truncate = 1.0;
  server.set_faults(truncated);
  int broken_bodies = 0;
  for (int i = 0; i < 4; ++i) {
    const auto t = api.get("/v3/export-items?job_id=" + job);
    if (!t || json::parse(t->body, nullptr, false).is_discarded()) ++broken_bodies;
  }
  CHECK(broken_bodies == 4);
  server.set_faults({});
  CHECK(api.get("/v3/export-items?job_id=" + job)->status == 200);
}

TEST_CASE("sim pleo: a fault profile with a limit strikes only that many requests", "[sim-pleo]") {
  PleoServer server;
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string job = server.job_ids()[0];

  // One lost answer, then normal service: the first `started` is applied and its answer never
  // arrives; a second `started` meets the state the first one left (422).
  sim::Faults once;
  once.by_endpoint[PleoServer::kOpJobEvent] = sim::FaultProfile{.lost_response = 1.0, .limit = 1};
  server.set_faults(once);
  CHECK_FALSE(api.post("/v3/export-job-events", event(job, "started")));
  CHECK(server.job(job)->status == "in_progress");
  const auto again = api.post("/v3/export-job-events", event(job, "started"));
  REQUIRE(again);
  CHECK(again->status == 422);
  CHECK(server.counters().faults_lost_response == 1);

  // set_faults starts counting again; other endpoints are untouched.
  sim::Faults twice;
  twice.by_endpoint[PleoServer::kOpGetJob] = sim::FaultProfile{.server_error = 1.0, .limit = 2};
  server.set_faults(twice);
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    const auto r = api.get("/v3/export-jobs/" + job);
    REQUIRE(r);
    statuses.push_back(r->status >= 500 ? 500 : r->status);
  }
  CHECK(statuses == std::vector<int>{500, 500, 200, 200});
  CHECK(server.counters().faults_server_error == 2);
  CHECK(api.get("/v3/export-jobs")->status == 200);
}

TEST_CASE("sim pleo: master data and attachment files match the items", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 40;
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string company = server.companies()[0].id;
  const std::string job = server.job_ids()[0];
  int pages = 0;
  const auto items = all_pages(api, "/v3/export-items?job_id=" + job, pages);

  std::set<std::string> account_ids, tax_ids, tag_ids, vendor_ids;
  std::vector<json> files;
  for (const auto& it : items) {
    for (const auto& line : it["accountingEntryLines"]) {
      if (line["account"].is_object()) account_ids.insert(line["account"]["id"].get<std::string>());
      if (line["tax"].is_object() && line["tax"]["code"].is_string()) tax_ids.insert(line["tax"]["id"].get<std::string>());
      for (const auto& t : line["tags"]) tag_ids.insert(t["id"].get<std::string>());
    }
    if (it["contraAccount"].is_object()) account_ids.insert(it["contraAccount"]["id"].get<std::string>());
    if (it["vendor"].is_object()) vendor_ids.insert(it["vendor"]["id"].get<std::string>());
    if (it["files"].is_array())
      for (const auto& f : it["files"]) files.push_back(f);
  }
  REQUIRE_FALSE(account_ids.empty());
  REQUIRE_FALSE(tax_ids.empty());
  REQUIRE_FALSE(tag_ids.empty());
  REQUIRE_FALSE(vendor_ids.empty());
  REQUIRE_FALSE(files.empty());

  std::set<std::string> known;
  for (const auto& t : all_pages(api, "/v0/tags?company_id=" + company, pages)) known.insert(t["id"].get<std::string>());
  for (const auto& id : tag_ids) CHECK(known.count(id));
  const json groups = body_of(api.get("/v0/tag-groups?company_id=" + company));
  CHECK(groups["data"].size() == 4);
  const json dept = body_of(api.get("/v0/tag-groups/" + groups["data"][0]["id"].get<std::string>() + "/tags"));
  CHECK(dept["data"][0]["groupId"] == groups["data"][0]["id"]);
  CHECK(api.get("/v0/tag-groups")->status == 400);  // company_id or organization_id is required

  const json taxes = body_of(httplib::Client(server.base_url()).Post(("/v0/tax-codes:search?company_id=" + company).c_str(),
                                                                      httplib::Headers{{"Authorization", "Bearer x"}}, "{}", "application/json"));
  CHECK(taxes["type"] == "UNAUTHORIZED");
  json tax_search = body_of(api.post("/v0/tax-codes:search?company_id=" + company,
                                     json{{"taxCodeIds", std::vector<std::string>(tax_ids.begin(), tax_ids.end())}}));
  CHECK(tax_search["data"].size() == tax_ids.size());
  CHECK(tax_search["data"][0]["companyId"] == company);

  const json accounts = body_of(api.post("/v1/chart-of-accounts:search",
                                         json{{"companyId", company}, {"excludeIfAssignedToCategory", false},
                                              {"excludeIfAssignedToContraAccount", false},
                                              {"ids", std::vector<std::string>(account_ids.begin(), account_ids.end())}}));
  CHECK(accounts["data"].size() == account_ids.size());
  const json vendors = body_of(api.post("/v1/vendors:search?company_id=" + company,
                                        json{{"ids", std::vector<std::string>(vendor_ids.begin(), vendor_ids.end())}}));
  CHECK(vendors["data"].size() == vendor_ids.size());
  CHECK(api.post("/v1/vendors:search", json::object())->status == 400);  // company_id is required
  const std::string vendor_id = *vendor_ids.begin();
  CHECK(body_of(api.get("/v1/vendors/" + vendor_id))["data"]["id"] == vendor_id);

  // Files: no API credentials (a pre-signed URL), the stated type and size, the same bytes twice.
  for (const auto& f : files) {
    const std::string url = f["url"];
    const std::string path = url.substr(server.base_url().size());
    httplib::Client http(server.base_url());
    const auto r = http.Get(path.c_str());
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == f["type"].get<std::string>());
    CHECK(static_cast<int64_t>(r->body.size()) == f["size"].get<int64_t>());
    if (f["type"] == "application/pdf") CHECK(r->body.rfind("%PDF-", 0) == 0);
    if (f["type"] == "image/png") CHECK(r->body.rfind("\x89PNG", 0) == 0);
    if (f["type"] == "image/jpeg") CHECK(r->body.rfind("\xFF\xD8", 0) == 0);
    CHECK(http.Get(path.c_str())->body == r->body);
  }
  CHECK(httplib::Client(server.base_url()).Get("/files/unknown")->status == 404);
}

TEST_CASE("sim pleo: a test adds a job from saved item payloads", "[sim-pleo]") {
  PleoServer server;
  REQUIRE(server.start().ok());
  const std::filesystem::path dir = std::filesystem::path(LB_TEST_DATA_DIR) / "pleo";
  const std::string company = server.companies()[1].id;
  const auto job = server.add_job(company, {read_file(dir / "card_purchase_journal.json"), read_file(dir / "invoice_ap.json")});
  REQUIRE(job.ok());
  CHECK_FALSE(server.add_job(company, {"[1,2]"}).ok());
  const Api api = api_for(server);
  const json items = body_of(api.get("/v3/export-items?job_id=" + *job));
  REQUIRE(items["data"].size() == 2);
  CHECK(items["data"][0]["accountingEntryId"] == "59540ed2-0d68-4e36-9e31-58223975d9e9");
  CHECK(items["data"][0]["companyId"] == company);
  const std::string url = items["data"][0]["files"][0]["url"];
  CHECK(url.rfind(server.base_url() + "/files/", 0) == 0);
  CHECK(httplib::Client(server.base_url()).Get(url.substr(server.base_url().size()).c_str())->body.size() == 13010);
  const json listed = body_of(api.get("/v3/export-jobs?statuses=pending&statuses=in_progress&company_id=" + company));
  CHECK(listed["data"].back()["id"] == *job);
  CHECK(listed["data"].back()["numberOfItems"] == 2);
}

TEST_CASE("sim pleo: a re-export creates a new job over the same entries; one live job per company", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 3;
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string company = server.companies()[0].id;
  const std::string job = server.job_ids()[0];
  const auto ids = entry_ids(server, job);
  const json create{{"companyId", company}, {"accountingEntryIds", {ids[0], ids[2]}}};
  CHECK(body_of(api.post("/v3/export-jobs", create))["type"] == "EXPORT_ALREADY_IN_PROGRESS");
  REQUIRE(api.post("/v3/export-job-events", event(job, "started"))->status == 202);
  json batch = json::array();
  for (const auto& id : ids) batch.push_back(success(id));
  REQUIRE(api.put("/v3/export-jobs/" + job + "/items", batch)->status == 200);
  REQUIRE(api.post("/v3/export-job-events", event(job, "completed"))->status == 202);
  const auto created = api.post("/v3/export-jobs", create);
  REQUIRE(created);
  CHECK(created->status == 201);
  const json fresh = json::parse(created->body)["data"];
  CHECK(fresh["status"] == "pending");
  CHECK(fresh["numberOfItems"] == 2);
  CHECK(entry_ids(server, fresh["id"]) == std::vector<std::string>{ids[0], ids[2]});
}

TEST_CASE("sim pleo: concurrent clients see one consistent state", "[sim-pleo]") {
  sim::PleoServerConfig cfg;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 40;
  PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const Api api = api_for(server);
  const std::string job = server.job_ids()[0];
  const auto ids = entry_ids(server, job);
  REQUIRE(api.post("/v3/export-job-events", event(job, "started"))->status == 202);
  // Four workers report disjoint items one by one while a fifth keeps reading.
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (size_t w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (size_t i = w; i < ids.size(); i += 4) {
        const auto r = api.put("/v3/export-jobs/" + job + "/items", json::array({success(ids[i])}));
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  workers.emplace_back([&] {
    for (int i = 0; i < 20; ++i)
      if (const auto r = api.get("/v3/export-jobs/" + job + "/items"); !r || r->status != 200) ++failures;
  });
  for (auto& t : workers) t.join();
  CHECK(failures == 0);
  const auto view = server.job(job);
  for (const auto& it : view->items) CHECK(it.final_sets == 1);
  CHECK(api.post("/v3/export-job-events", event(job, "completed"))->status == 202);
  CHECK(server.counters().requests.at(PleoServer::kOpUpdateJobItems) == 40);
}
