#pragma once
// The fewest Export API requests one run of a company can make (domain brief §4.2 "avoid
// redundant calls"), which the workflow tests and `ledgerbridge bench --e2e` hold the workflow
// to: the listing of pending and in_progress jobs (one page per `page_size` jobs), and per job
// its control-layer pages (§1.5) and data-layer pages (§1.6) at the largest page the server
// serves, one item update per `update_batch` items (§1.9: at most 100 each), and two events
// (`started`, §1.3, and the final one, §1.10). The workflow reads master data from the ERP's
// directory, not from Pleo, and fetches receipts from presigned URLs outside the Export API
// (§2.8), so neither is counted here.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace lb::workflow {

struct MinimumRequests {
  int64_t listing = 0;
  int64_t control_pages = 0;
  int64_t data_pages = 0;
  int64_t updates = 0;
  int64_t events = 0;
  int64_t total() const { return listing + control_pages + data_pages + updates + events; }
};

// `items_per_job`: the item count of each of the company's jobs. A page is requested even
// when it comes back empty, so every list costs at least one.
inline MinimumRequests minimum_requests(const std::vector<int64_t>& items_per_job, int64_t page_size,
                                        int64_t update_batch = 100) {
  const auto pages = [](int64_t n, int64_t per) { return std::max<int64_t>(1, (n + per - 1) / per); };
  page_size = std::max<int64_t>(1, page_size);
  update_batch = std::max<int64_t>(1, update_batch);
  MinimumRequests m;
  m.listing = pages(static_cast<int64_t>(items_per_job.size()), page_size);
  for (const int64_t n : items_per_job) {
    m.control_pages += pages(n, page_size);
    m.data_pages += pages(n, page_size);
    m.updates += (n + update_batch - 1) / update_batch;
    m.events += 2;
  }
  return m;
}

}  // namespace lb::workflow
