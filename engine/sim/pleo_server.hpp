#pragma once
// The simulated Pleo: a stateful Export API v3 (plus the master data and attachment files the
// rules need, and an OAuth token endpoint) over HTTP on loopback, for the tests, the demo and
// `ledgerbridge sim`. It follows ../shared/pleo-api/pleo-export-openapi.yml: paths, query
// parameters, field names, envelopes, ExceptionInfo error bodies and status codes. Where the
// contract is silent the choice made is documented next to the code (pleo_server.cpp) and in
// the test file (tests/sim/pleo_server_test.cpp).
//
// Data is seeded: the same config gives the same companies, jobs, items, master data and files.
// Faults are seeded too: the same sequence of requests meets the same faults.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/result.hpp"

namespace lb::sim {

// Per-request fault probabilities (0..1), drawn independently for every request.
// When each one strikes relative to the state change (so that a fault never leaves the state
// half-changed):
//   server_error   before: 500/502/503 with an ExceptionInfo body; nothing changed.
//   rate_limit     before: a burst of `burst_length` 429s (Retry-After: 1) for this credential.
//   latency        before: the request waits `latency_ms` and then runs normally.
//   drop           before: the connection is closed without any response; nothing changed.
//   lost_response  after:  the write is applied, then the connection is closed without a
//                          response (the client cannot know it succeeded: exactly-once tests).
//   truncate       after:  the write is applied; the body is cut: either Content-Length
//                          promises more than is sent before the connection closes, or the
//                          JSON itself is cut with a matching Content-Length (alternating).
struct FaultProfile {
  double server_error = 0;
  double rate_limit = 0;
  double latency = 0;
  double drop = 0;
  double lost_response = 0;
  double truncate = 0;
  int burst_length = 3;
  int latency_ms = 150;
  // At most this many requests meet a failure mode (drop, server_error, rate_limit,
  // lost_response, truncate) from this profile; later ones are served normally (latency still
  // applies). -1: no limit. A rate_limit strike counts once; its burst follows it. For tests
  // that need one fault at one point, e.g. only the first `started` loses its answer. The
  // count starts again at set_faults().
  int limit = -1;

  // `p` spread over the failure modes (server_error, rate_limit, drop, lost_response,
  // truncate get p/5 each) plus latency with probability p: the CLI's --faults.
  static FaultProfile uniform(double p);
};

struct Faults {
  FaultProfile all;                                 // every endpoint without its own entry
  std::map<std::string, FaultProfile> by_endpoint;  // key: operation name (see PleoServer::kOp*)
  std::optional<uint64_t> seed;                     // default: the server's seed
};

// An API key (HTTP Basic, key as user name, empty password; domain brief §6.2).
struct ApiKeyConfig {
  std::string key;
  std::vector<std::string> companies;  // company ids it may access; empty: all
};

// An OAuth client (domain brief §6.1). Each gets one authorization at start-up whose refresh
// token PleoServer::refresh_token() returns (as if the user had completed the consent flow).
struct OAuthClientConfig {
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> companies;  // empty: all
};

struct PleoServerConfig {
  uint64_t seed = 1;
  int companies = 3;         // 1..20 from the fixed world (engine/sim/world.hpp), currencies spread
  int jobs_per_company = 2;  // pending jobs created at start-up
  int items_per_job = 25;
  int page_cap = 100;        // most items a page returns, whatever `limit` asks for
  int rate_limit_per_minute = 600;  // per credential, sliding 60 s window; 0: no limit (§4.2)
  std::chrono::seconds job_expiry{3600};  // in_progress job with no action for this long (§1.11)
  std::chrono::seconds access_token_ttl{3600};
  // Jobs may only be completed once every item has a final status (completed: all successful;
  // completed_with_errors: all final, at least one failed) (§1.10, §3.3). Off: any of the three
  // final events is accepted from in_progress, as the bare spec would.
  bool strict_completion = true;
  // Company id -> wallet currencies whose contra account is not configured: GET export-items
  // of a job with such items is refused with 400 MISSING_CONTRA_ACCOUNTS (§1.0, §1.6). An empty
  // list means the company's own wallet currency.
  std::map<std::string, std::vector<std::string>> missing_contra_accounts;
  Faults faults;
  std::vector<ApiKeyConfig> api_keys;          // empty: one key per company plus one for all
  std::vector<OAuthClientConfig> oauth_clients;  // empty: one client for all companies
  int port = 0;  // 0: an ephemeral port
};

// Test-facing view of the state (copies, taken under the server's lock).
struct SimJobEvent {
  std::string event;
  std::string failure_reason;       // "" when absent
  std::string failure_reason_type;  // "" when absent
  int http_status = 0;              // what the server answered (202, 422, ...)
};

struct SimJobItem {
  std::string accounting_entry_id;
  std::string status;  // ExportJobItemStatus
  std::optional<std::string> external_id, external_url, exported_at, failure_reason, failure_reason_type;
  int final_sets = 0;  // how many accepted updates set a final status (successful/failed)
  int updates = 0;     // accepted updates of any status
};

struct SimJob {
  std::string id;
  std::string company_id;
  std::string status;  // ExportJobStatus
  std::optional<std::string> failure_reason, failure_reason_type;
  std::vector<SimJobEvent> events;  // every job event posted for this job, in arrival order
  std::vector<SimJobItem> items;    // in the job's order
};

struct SimCompany {
  std::string id;
  std::string country;
  std::string currency;  // the wallet's
  std::string api_key;   // the generated per-company key ("" when keys were configured)
};

struct SimCounters {
  std::map<std::string, int> requests;  // by operation name, every request that arrived
  int auth_refused = 0;                 // 401s for missing or bad credentials
  int rate_limited = 0;                 // 429s from the rate limit
  int faults_server_error = 0, faults_rate_limit = 0, faults_latency = 0, faults_drop = 0,
      faults_lost_response = 0, faults_truncate = 0;
};

// Requests to the Export API proper (jobs, job events, job items, export items): what the
// workflow's request budget counts (workflow/minimum_requests.hpp). Master data, OAuth tokens
// and receipt files are not among them.
int export_api_requests(const SimCounters& counters);

class PleoServer {
 public:
  // Operation names (the spec's operationIds), for request counts and per-endpoint faults.
  static constexpr const char* kOpListJobs = "getExportJobsListV3";
  static constexpr const char* kOpCreateJob = "createExportJobV3";
  static constexpr const char* kOpGetJob = "getExportJobByIdV3";
  static constexpr const char* kOpJobEvent = "createExportJobEventV3";
  static constexpr const char* kOpListJobItems = "getExportJobItemsV3";
  static constexpr const char* kOpUpdateJobItems = "updateExportJobItemsV3";
  static constexpr const char* kOpExportItems = "getExportItemsV3";
  static constexpr const char* kOpToken = "oauthToken";
  static constexpr const char* kOpFile = "getFile";
  static constexpr const char* kOpTaxCodes = "getTaxCodes";  // and getTaxCode
  static constexpr const char* kOpTags = "tags";             // tag groups and tags
  static constexpr const char* kOpAccounts = "searchAccountsV1";  // and getAccountV1
  static constexpr const char* kOpVendors = "searchVendors";      // and getVendorById

  explicit PleoServer(PleoServerConfig config = {});
  ~PleoServer();  // stops
  PleoServer(const PleoServer&) = delete;
  PleoServer& operator=(const PleoServer&) = delete;

  // Listens on 127.0.0.1 (config.port, or an ephemeral one) in a background thread.
  Status start();
  void stop();
  std::string base_url() const;  // "http://127.0.0.1:<port>", once started
  int port() const;
  int page_cap() const;

  const std::vector<SimCompany>& companies() const;
  // The configured or generated API keys, and the current refresh token of each OAuth client.
  std::vector<ApiKeyConfig> api_keys() const;
  std::vector<OAuthClientConfig> oauth_clients() const;
  std::optional<std::string> refresh_token(const std::string& client_id) const;
  // A new authorization for the client (the user consented again); returns its refresh token.
  std::optional<std::string> authorize_oauth(const std::string& client_id);

  // Adds a pending job of `company_id` whose export items are `item_jsons` (ExportItemV3
  // objects, e.g. tests/data/pleo/*.json). Their companyId is set to the job's company and their
  // files[].url to this server; nothing else is touched. Returns the job id.
  Result<std::string> add_job(const std::string& company_id, const std::vector<std::string>& item_jsons);

  // Inspection.
  std::vector<std::string> job_ids() const;  // creation order (oldest first)
  std::optional<SimJob> job(const std::string& job_id) const;
  SimCounters counters() const;

  // Control.
  void advance_clock(std::chrono::seconds by);  // the server's clock: expiry, tokens, rate limit
  void set_faults(Faults faults);               // resets the fault RNG to the faults' seed
  void set_missing_contra_accounts(const std::string& company_id, std::vector<std::string> currencies);
  void clear_missing_contra_accounts(const std::string& company_id);
  // The data layer stops serving this entry's ExportItemV3 (its job item stays): Pleo sent no
  // data for it, e.g. the expense was deleted after the export began.
  void withhold_item_data(const std::string& accounting_entry_id);
  void revoke_oauth(const std::string& client_id);  // the user disconnected: every token dies
  void expire_access_tokens();                      // every access token is expired now

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lb::sim
