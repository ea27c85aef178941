// Credentials (domain brief §6): env/file resolution, OAuth refresh-token rotation with one
// refresh in flight, tokens persisted before use, invalid_grant → reconnect_required, and no
// secret in any log line or error.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "pleo/auth.hpp"
#include "pleo/client.hpp"
#include "pleo/redact.hpp"
#include "pleo_test_util.hpp"

using namespace lb;
using namespace lb::pleo;
using namespace lb::pleo::test;

namespace {
const std::string kCompany = "12abc3d4-e567-890e-1234-abc56e78fabc";
const std::string kJob = "8eb648ab-464b-42a0-ba17-eda703657e33";
const std::string kJobBody = R"({"data":{"id":")" + kJob + R"(","companyId":")" + kCompany +
                             R"(","status":"pending","createdAt":"2026-04-22T10:02:11Z","expiresIn":3600,"isInteractive":true,"numberOfItems":2,"vendorBasedBookkeeping":false}})";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("lb-pleo-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

// A Pleo API + OAuth token endpoint with real rotation: each refresh token works once.
struct OAuthWorld {
  TestServer server;
  std::mutex mutex;
  // The access token in the file (acc-1) has expired on the server: only refreshed ones work.
  std::string access = "no-valid-access-token-yet";
  std::string refresh = "ref-1-Hk3Jd7Qm5TsY";
  int generation = 1;
  std::atomic<int> token_calls{0};
  std::atomic<int> api_calls{0};
  std::atomic<bool> used_before_persisted{false};
  bool revoke = false;
  std::filesystem::path token_file;

  explicit OAuthWorld(std::filesystem::path file) : token_file(std::move(file)) {
    server.http.Post("/oauth/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++token_calls;
      // Slow enough that concurrent callers pile up behind the one refresh.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::lock_guard lock(mutex);
      // (No CHECK here: Catch2 assertions are not thread-safe; a wrong request fails the refresh.)
      if (req.get_param_value("grant_type") != "refresh_token" || req.get_param_value("client_id") != "client-1" ||
          req.get_param_value("client_secret") != "cs-Wn4Rt8Yp2Kd6") {
        res.status = 400;
        res.set_content(R"({"error":"invalid_request"})", "application/json");
        return;
      }
      if (revoke || req.get_param_value("refresh_token") != refresh) {
        res.status = 400;
        // A careless server that echoes the token it refused.
        res.set_content(R"({"error":"invalid_grant","error_description":"refresh token )" +
                            req.get_param_value("refresh_token") + R"( is not valid"})",
                        "application/json");
        return;
      }
      ++generation;
      access = "acc-" + std::to_string(generation) + "-Zq8Lw2Xv9PnR";
      refresh = "ref-" + std::to_string(generation) + "-Hk3Jd7Qm5TsY";
      res.set_content(nlohmann::json{{"access_token", access}, {"refresh_token", refresh},
                                     {"expires_in", 3600}, {"token_type", "bearer"}}
                          .dump(),
                      "application/json");
    });
    server.http.Get(R"(/v3/export-jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++api_calls;
      std::string current;
      {
        std::lock_guard lock(mutex);
        current = access;
      }
      if (req.get_header_value("Authorization") != "Bearer " + current) {
        res.status = 401;
        res.set_content(R"({"type":"UNAUTHORIZED","message":"token )" + req.get_header_value("Authorization") +
                            R"( expired"})",
                        "application/json");
        return;
      }
      // §6.1: the token in use must already be on disk.
      if (read_file(token_file).find(current) == std::string::npos) used_before_persisted = true;
      res.set_content(kJobBody, "application/json");
    });
    server.start();
    std::ofstream(token_file) << nlohmann::json{{"access_token", "acc-1-Zq8Lw2Xv9PnR"}, {"refresh_token", refresh}}.dump();
  }

  OAuthOptions options(ManualClock& clock, const LogCapture& log) {
    OAuthOptions o;
    o.token_url = server.url() + "/oauth/token";
    o.client_id = "client-1";
    o.client_secret = "cs-Wn4Rt8Yp2Kd6";
    o.company_id = kCompany;
    o.clock = &clock;
    o.random = [] { return 0.5; };
    o.transport.logger = log.logger;
    return o;
  }
};
}  // namespace

TEST_CASE("resolve_secret reads env: and file: references and names only the variable", "[pleo]") {
  ::setenv("LB_TEST_PLEO_KEY", "key-from-env-123456", 1);
  auto v = resolve_secret("env:LB_TEST_PLEO_KEY");
  REQUIRE(v.ok());
  CHECK(*v == "key-from-env-123456");
  ::unsetenv("LB_TEST_PLEO_KEY_MISSING");
  auto missing = resolve_secret("env:LB_TEST_PLEO_KEY_MISSING");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::config);
  CHECK(missing.error().message.find("LB_TEST_PLEO_KEY_MISSING") != std::string::npos);

  TempDir dir;
  std::ofstream(dir.path / "key") << "key-from-file-987654\n";
  auto f = resolve_secret("file:" + (dir.path / "key").string());
  REQUIRE(f.ok());
  CHECK(*f == "key-from-file-987654");
  CHECK(resolve_secret("literal-key-555555").value() == "literal-key-555555");
  // Resolved values are known to the redactor from then on.
  CHECK(redact("x key-from-env-123456 y") == "x [redacted] y");
}

TEST_CASE("FileTokenStore writes 0600 and replaces the file whole", "[pleo]") {
  TempDir dir;
  FileTokenStore store((dir.path / "tokens.json").string());
  REQUIRE(store.save({"acc-A-123456", "ref-A-123456"}).ok());
  struct stat st {};
  REQUIRE(::stat((dir.path / "tokens.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(store.save({"acc-B-123456", "ref-B-123456", std::chrono::system_clock::time_point{} + std::chrono::seconds(1800000000)}).ok());
  auto loaded = store.load();
  REQUIRE(loaded.ok());
  CHECK(loaded->access_token == "acc-B-123456");
  CHECK(loaded->refresh_token == "ref-B-123456");
  CHECK(loaded->expires_at.has_value());
  CHECK_FALSE(std::filesystem::exists(dir.path / "tokens.json.tmp"));
}

TEST_CASE("concurrent 401s cause exactly one refresh; new tokens are persisted before use", "[pleo]") {
  TempDir dir;
  OAuthWorld world(dir.path / "tokens.json");
  ManualClock clock;
  LogCapture log;
  auto auth = OAuthAuth::create(world.options(clock, log),
                                std::make_shared<FileTokenStore>(world.token_file.string()));
  REQUIRE(auth.ok());
  std::shared_ptr<Auth> shared = *auth;
  auto limiter = std::make_shared<RateLimiter>(600, clock);

  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> ok(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto o = options_for(world.server.url(), clock, log, shared);
      o.limiter = limiter;
      Client client(o);  // one client per worker, one Auth for the credential
      ok[t] = client.get_export_job(kJob).ok() ? 1 : 0;
    });
  for (auto& t : threads) t.join();
  CHECK(ok == std::vector<int>(kThreads, 1));
  CHECK(world.token_calls == 1);
  CHECK((*auth)->refresh_count() == 1);
  CHECK_FALSE(world.used_before_persisted);
  auto on_disk = nlohmann::json::parse(read_file(world.token_file));
  CHECK(on_disk["access_token"] == "acc-2-Zq8Lw2Xv9PnR");
  CHECK(on_disk["refresh_token"] == "ref-2-Hk3Jd7Qm5TsY");
  CHECK(on_disk.contains("expires_at"));
}

TEST_CASE("an access token about to expire is refreshed before the call", "[pleo]") {
  TempDir dir;
  OAuthWorld world(dir.path / "tokens.json");
  ManualClock clock;
  LogCapture log;
  // expires 30 s from the manual clock's now, inside the 60 s margin
  std::ofstream(world.token_file) << nlohmann::json{{"access_token", "acc-1-Zq8Lw2Xv9PnR"},
                                                    {"refresh_token", world.refresh},
                                                    {"expires_at", 1767225600 + 30}}
                                         .dump();
  auto auth = OAuthAuth::create(world.options(clock, log),
                                std::make_shared<FileTokenStore>(world.token_file.string()));
  REQUIRE(auth.ok());
  Client client(options_for(world.server.url(), clock, log, *auth));
  REQUIRE(client.get_export_job(kJob).ok());
  CHECK(world.token_calls == 1);
  CHECK(world.api_calls == 1);  // no 401 round trip
}

TEST_CASE("invalid_grant is a reconnect_required error naming the company, never the token", "[pleo]") {
  TempDir dir;
  OAuthWorld world(dir.path / "tokens.json");
  world.revoke = true;
  ManualClock clock;
  LogCapture log;
  auto auth = OAuthAuth::create(world.options(clock, log),
                                std::make_shared<FileTokenStore>(world.token_file.string()));
  REQUIRE(auth.ok());
  Client client(options_for(world.server.url(), clock, log, *auth));
  auto job = client.get_export_job(kJob);
  REQUIRE_FALSE(job.ok());
  CHECK(job.error().kind == ErrorKind::reconnect_required);
  CHECK(job.error().company_id == kCompany);
  const std::string text = job.error().to_string();
  CHECK(text.find(kCompany) != std::string::npos);
  CHECK(text.find("ref-1") == std::string::npos);
  CHECK(text.find("acc-1") == std::string::npos);
  // No second refresh: a stale refresh token presented again would revoke the others (§6.1).
  auto again = client.get_export_job(kJob);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::reconnect_required);
  CHECK(world.token_calls == 1);
  CHECK(world.api_calls == 1);
  CHECK(log.text().find("ref-1-Hk3Jd7Qm5TsY") == std::string::npos);
}

TEST_CASE("no secret reaches a log line or an error, even when the server echoes it", "[pleo]") {
  const std::string key = "sk-live-Pq7Vb3Nc9Xe1Ra5";
  TestServer server;
  server.http.Get(R"(/v3/export-jobs/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    res.status = 401;
    res.set_header("request-id", "req-echo");
    res.set_content(R"({"type":"UNAUTHORIZED","message":"rejected Authorization: )" +
                        req.get_header_value("Authorization") + " (key " + key + R"x()"})x",
                    "application/json");
  });
  server.http.Get("/v3/export-jobs", [&](const httplib::Request& req, httplib::Response& res) {
    res.status = 400;
    res.set_content("plain text echo " + req.get_header_value("Authorization"), "text/plain");
  });
  server.start();

  // Capture spdlog's default logger too, so a stray spdlog::info somewhere would be caught.
  LogCapture log, global;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(global.logger);
  std::vector<std::string> errors;
  {
    ManualClock clock;
    auto options = options_for(server.url(), clock, log, std::make_shared<ApiKeyAuth>(key));
    Client client(options);
    auto job = client.get_export_job(kJob);
    REQUIRE_FALSE(job.ok());
    CHECK(job.error().kind == ErrorKind::auth);
    errors.push_back(job.error().to_string());
    auto jobs = client.list_export_jobs(kCompany, {"pending"});
    REQUIRE_FALSE(jobs.ok());
    errors.push_back(jobs.error().to_string());
    // the transport's default logger path as well
    options.transport.logger = nullptr;
    Client quiet(options);
    (void)quiet.get_export_job(kJob);
  }
  spdlog::set_default_logger(previous);

  const std::string b64 = base64_encode(key + ":");
  std::string all = log.text() + global.text();
  for (const auto& e : errors) all += e + "\n";
  CHECK(all.find("req-echo") != std::string::npos);  // the capture did see the calls
  CHECK(all.find(key) == std::string::npos);
  CHECK(all.find(b64) == std::string::npos);
  CHECK(all.find("[redacted]") != std::string::npos);
}

TEST_CASE("OAuth tokens and the client secret stay out of logs and errors", "[pleo]") {
  TempDir dir;
  OAuthWorld world(dir.path / "tokens.json");
  ManualClock clock;
  LogCapture log;
  auto auth = OAuthAuth::create(world.options(clock, log),
                                std::make_shared<FileTokenStore>(world.token_file.string()));
  REQUIRE(auth.ok());
  Client client(options_for(world.server.url(), clock, log, *auth));
  REQUIRE(client.get_export_job(kJob).ok());  // 401 (echoing the token), refresh, 200
  world.revoke = true;
  {
    std::lock_guard lock(world.mutex);
    world.access = "acc-9-rotated-away";  // forces a 401 and a refused refresh
  }
  auto failed = client.get_export_job(kJob);
  REQUIRE_FALSE(failed.ok());
  const std::string all = log.text() + failed.error().to_string();
  for (const char* secret : {"acc-1-Zq8Lw2Xv9PnR", "ref-1-Hk3Jd7Qm5TsY", "acc-2-Zq8Lw2Xv9PnR",
                             "ref-2-Hk3Jd7Qm5TsY", "cs-Wn4Rt8Yp2Kd6"})
    CHECK(all.find(secret) == std::string::npos);
  CHECK(all.find("GET /v3/export-jobs/{jobId} -> 401") != std::string::npos);
}
