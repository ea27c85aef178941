// A write whose answer is lost must reach Pleo once (domain brief §1.9, §4.3; DESIGN §5): Pleo
// has no idempotency key. Against the simulated Pleo, whose lost_response fault applies a write
// and then closes the connection without an answer.
//
// Bug fixed (found by the workflow's 20%-fault test): with keep-alive, libcurl itself re-sends a
// request when the *reused* connection it went out on dies before any answer, so a client with
// max_attempts = 1 still applied an item update twice, and a lost `started` came back as a 422
// for our own claim. TransportOptions::fresh_connection stops that.
#include <catch2/catch.hpp>

#include "pleo_test_util.hpp"
#include "sim/pleo_server.hpp"

using namespace lb;
using namespace lb::pleo;
using namespace lb::pleo::test;

TEST_CASE("a write whose answer is lost on a kept-alive connection goes out once only with fresh_connection",
          "[pleo]") {
  sim::PleoServerConfig cfg;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 2;
  cfg.faults.by_endpoint[sim::PleoServer::kOpJobEvent] = sim::FaultProfile{.lost_response = 1.0, .limit = 1};
  sim::PleoServer server(cfg);
  REQUIRE(server.start().ok());
  const std::string job = server.job_ids().at(0);
  ManualClock clock;
  LogCapture log;
  ClientOptions o = options_for(server.base_url(), clock, log,
                                std::make_shared<ApiKeyAuth>(server.companies().at(0).api_key));
  o.retry.max_attempts = 1;  // as the workflow sends `started` and item updates
  const bool fresh = GENERATE(false, true);
  o.transport.fresh_connection = fresh;
  INFO("fresh_connection " << fresh);
  Client client(o);
  // A first call leaves a connection to reuse, as in a run (listing, then `started`).
  REQUIRE(client.list_export_jobs(server.companies().at(0).id, {"pending"}).ok());

  const auto started = client.post_job_event({.jobId = job, .event = "started"});
  const auto events = server.job(job)->events;
  CHECK(server.job(job)->status == "in_progress");  // applied, whatever the client heard
  CHECK(server.counters().faults_lost_response == 1);
  if (fresh) {
    CHECK(events.size() == 1);  // sent once
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().kind == ErrorKind::network);
    CHECK(started.error().may_have_reached_server);  // the caller knows to settle it
  } else {
    // libcurl 7.88's transparent re-send: the second copy meets the first one's state, and the
    // client reports a 422 for a claim that was its own.
    CHECK(events.size() == 2);
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().kind == ErrorKind::conflict_422);
  }
}
