#pragma once
// The Pleo Export API v3 client (issue #4; domain brief §1, §3, §4; pleo-export-openapi.yml).
// Every call goes: credential (Auth) → shared rate limiter → HTTP transport, with bounded
// retries for network errors, 5xx and 429, one token refresh on 401, and Pleo's errors turned
// into typed Error values. Nothing here throws.
//
//   auto key = pleo::resolve_secret("env:PLEO_API_KEY");          // Result<std::string>
//   pleo::ClientOptions o;
//   o.base_url = "https://external.pleo.io";
//   o.auth = std::make_shared<pleo::ApiKeyAuth>(*key);
//   o.limiter = pleo::shared_rate_limiter(company_id);             // one budget per credential
//   pleo::Client client(o);
//   auto jobs = client.list_export_jobs(company_id, {"pending"});
//
// Thread-safety: a Client serialises its calls on one keep-alive connection (see http.hpp);
// use one Client per worker thread, sharing the Auth and the RateLimiter.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/decode.hpp"
#include "model/export_item.hpp"
#include "pleo/auth.hpp"
#include "pleo/clock.hpp"
#include "pleo/error.hpp"
#include "pleo/http.hpp"
#include "pleo/master_data.hpp"
#include "pleo/rate_limiter.hpp"
#include "pleo/retry.hpp"

namespace lb::pleo {

struct ClientOptions {
  std::string base_url{"https://external.pleo.io"};  // no trailing slash needed
  std::shared_ptr<Auth> auth{};                      // required
  std::shared_ptr<RateLimiter> limiter{};            // null = a private 500/min limiter
  RetryPolicy retry{};
  TransportOptions transport{};
  Clock* clock = nullptr;                            // null = system_clock()
  std::function<double()> random{};                  // backoff jitter; null = PRNG
  // §1.11: the spec documents no maximum page size [GAP]; we ask for this many and follow
  // endCursor whatever the server returns. Lower it if Pleo starts refusing the value.
  int page_limit = 1000;
};

// POST /v3/export-job-events body (CreateExportJobEvent).
struct JobEvent {
  std::string jobId;
  std::string event;  // started | completed | completed_with_errors | failed
  // §3.3: only with `failed`, and then both are required; failureReasonType must be one of
  // ExportJobFailureReasonType (model::kJobFailureReasonTypes).
  std::optional<std::string> failureReason{};
  std::optional<std::string> failureReasonType{};
};

// One element of the PUT /v3/export-jobs/{jobId}/items body (UpdateExportJobItemV3).
struct JobItemUpdate {
  std::string accountingEntryId;
  std::string status;  // successful | failed | in_progress | ...
  std::optional<std::string> exportedAt{};
  std::optional<std::string> externalId{};
  std::optional<std::string> externalUrl{};
  std::optional<std::string> failureReason{};
  std::optional<std::string> failureReasonType{};  // ExportJobItemFailureReasonType
};

struct JobItemUpdateError {  // ExportJobItemUpdateErrorV3
  std::string accountingEntryId;
  std::string type;  // ACCOUNTING_ENTRY_DOES_NOT_EXIST | EXPORT_ENTRY_STATUS_UPDATE_FAILED | ...
  std::string message;
};

struct JobItemsUpdateResult {  // ExportJobItemUpdateV3
  std::vector<model::ExportJobItem> data;
  std::vector<JobItemUpdateError> errors;  // §1.9: a 200 can still reject single items
};

// One page of GET /v3/export-items, decoded. A bad item is reported in `bad` (with its
// accountingEntryId and JSON path) and the rest of the page is kept (DESIGN §6).
struct ExportItemsPage {
  std::size_t number = 0;  // 0-based page index
  std::vector<model::ExportItem> items;
  std::vector<model::DecodeError> bad;
};

// Page callbacks get each page as it arrives (so a big job never sits in memory) and return
// false to stop early (then the call returns ok).
template <typename T>
using PageCallback = std::function<bool(std::vector<T>& page)>;
using ExportItemsCallback = std::function<bool(ExportItemsPage& page)>;

class Client {
 public:
  static constexpr std::size_t kMaxItemUpdates = 100;  // §1.9, 413 beyond

  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // --- control layer (§1.1–§1.5, §1.9, §1.10) ---
  // GET /v3/export-jobs?company_id=&statuses=... (all pages).
  Status for_each_export_job_page(const std::string& company_id,
                                  const std::vector<std::string>& statuses,
                                  const PageCallback<model::ExportJob>& on_page);
  Result<std::vector<model::ExportJob>> list_export_jobs(const std::string& company_id,
                                                         const std::vector<std::string>& statuses);
  // GET /v3/export-jobs/{jobId}; 404 → not_found.
  Result<model::ExportJob> get_export_job(const std::string& job_id);
  // POST /v3/export-job-events (202); 422 → conflict_422 (INVALID_EXPORT_JOB_STATUS_CHANGE).
  // Refuses (invalid_argument, nothing sent) an unknown event, failure fields on a non-failed
  // event, a failed event without both fields, or a reason type outside the job enum.
  Status post_job_event(const JobEvent& event);
  // GET /v3/export-jobs/{jobId}/items[?status=] (all pages).
  Status for_each_job_item_page(const std::string& job_id, const std::optional<std::string>& status,
                                const PageCallback<model::ExportJobItem>& on_page);
  // PUT /v3/export-jobs/{jobId}/items. At most kMaxItemUpdates per call: more is refused with
  // invalid_argument before anything is sent; the caller batches.
  Result<JobItemsUpdateResult> update_job_items(const std::string& job_id,
                                                const std::vector<JobItemUpdate>& updates);

  // --- data layer (§1.6) ---
  // GET /v3/export-items?job_id= (all pages), decoded with model::decode_export_item.
  // 400 MISSING_CONTRA_ACCOUNTS → missing_contra_accounts with Error::currencies filled;
  // 422 → conflict_422 (EXPORT_JOB_STATUS_UNPROCESSABLE).
  Status for_each_export_item_page(const std::string& job_id, const ExportItemsCallback& on_page);

  // --- master data (§2.13); see MasterDataCache for the cached form ---
  Result<std::vector<TaxCode>> list_tax_codes(const std::string& company_id);    // POST /v0/tax-codes:search
  Result<std::vector<TagGroup>> list_tag_groups(const std::string& company_id);  // GET /v0/tag-groups
  Result<std::vector<Tag>> list_tags(const std::string& group_id, bool include_archived = false);  // GET /v0/tag-groups/{id}/tags
  Result<std::vector<LedgerAccount>> list_accounts(const std::string& company_id);  // POST /v1/chart-of-accounts:search
  Result<std::vector<PleoVendor>> list_vendors(const std::string& company_id);      // POST /v1/vendors:search

  // --- the generic call under all of the above ---
  struct Call {
    std::string method{"GET"};
    std::string path;                                          // "/v3/export-jobs/<id>"
    std::string log_path;                                      // "/v3/export-jobs/{jobId}"; empty = path
    std::vector<std::pair<std::string, std::string>> query{};  // repeated keys allowed
    std::string body{};                                        // JSON; empty = none
  };
  // A 2xx response, or the typed Error (after retries, refresh, rate-limit pauses).
  Result<HttpResponse> call(const Call& call);

  const ClientOptions& options() const { return options_; }

 private:
  struct PageInfo {
    bool has_next = false;
    std::string end_cursor;
  };
  // Follows endCursor while hasNextPage; `on_page` parses one body and returns its PageInfo
  // (or an Error); `stop` set by on_page ends the loop early.
  Status paginate(Call call, const std::function<Result<PageInfo>(const HttpResponse&, bool& stop)>& on_page);

  ClientOptions options_;
  std::unique_ptr<HttpTransport> transport_;
  Clock& clock_;
};

}  // namespace lb::pleo
