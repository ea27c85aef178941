#pragma once
// One company's export jobs, end to end (domain brief §1, §3; DESIGN §1, §5): detect, claim,
// pre-validate, read the control layer, stream the data layer, run the rules, post through
// the ledger to the ERP, report item statuses in batches of at most 100, send the final event.
// This is the only place where Pleo and the ERP are called in the same function.
//
// Exactly once (DESIGN §5): every ERP call is preceded by the ledger's `posting` intent and
// followed by its result; Pleo is told only what the ledger holds. A run that stops for any
// reason (crash, ERP down, Pleo down, ledger full) leaves the job in_progress; the next run
// resumes it without a second `started`, first resolving every uncertain document by looking
// it up in the ERP. Across jobs (§4.3.3): an entry counts as posted by an earlier job only when
// every one of its documents was; a re-export reuses the documents an earlier job posted and
// posts the missing ones, after looking up any that a job Pleo has since expired left uncertain.
//
// One entry per export job (§2.4 mode 3; the rule pack's setting posting.one_entry_per_job,
// default false): the job's journal entries are booked as one ERP journal entry per currency,
// the job entry, keyed job:<jobId>:<currency>, posted after every item of the job was decided.
// AP invoices, payments and credit notes stay one document per item, posted as they come:
// each has a vendor, an invoice number and a reconciliation of its own (§2.5), which one merged
// document cannot carry. Items the rules fail are not in the job entry and are reported failed
// as usual. The ledger records the job entry's intent (document and member accountingEntryIds)
// before the ERP call and its answer after it; every member is reported successful with the job
// entry's external id only once it is posted, and all of them fail when the ERP refuses it
// (§2.4: one rejection fails every item). A job entry left uncertain by a crash is looked up
// by its key before anything is posted again. A later job re-exporting a member follows the
// ReexportPolicy like any posted entry (report_existing: the job entry's external id).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "erp/sink.hpp"
#include "ledger/ledger.hpp"
#include "pleo/client.hpp"
#include "rules/evaluator.hpp"

namespace lb::workflow {

// §4.3 / DESIGN §5: what to do with an entry an earlier job already posted.
enum class ReexportPolicy {
  report_existing,  // report successful with the existing external id; post nothing (default)
  post_again,       // post a new document (keyed with this job, so it is a new ERP document)
  fail,             // fail the item, naming the earlier job and document
};
const char* to_string(ReexportPolicy policy);

struct Progress {
  std::string company_id;
  std::string job_id;
  int64_t done = 0;   // items with a final status in this run
  int64_t total = 0;  // items of the job still to process when the run started
};

struct CompanyRun {
  std::string company_id;
  pleo::Client* pleo = nullptr;
  erp::Sink* sink = nullptr;
  ledger::Ledger* ledger = nullptr;
  rules::Evaluator* rules = nullptr;
  ReexportPolicy reexport = ReexportPolicy::report_existing;
  // §2.8: fetch receipts before posting (merged into one PDF when the sink takes one file per
  // document, workflow/receipts.hpp) and attach them after; whether a receipt that cannot be
  // fetched or converted fails the item (true) or is left out with a warning (false).
  bool attachments = true;
  bool attachments_required = false;
  pleo::HttpTransport* downloads = nullptr;  // receipts: presigned URLs, no Pleo credentials
  // §1.9: report at least this often while a job runs, so a long job does not expire.
  int report_batch = 100;
  std::function<void(const Progress&)> on_progress{};
  const std::atomic<bool>* cancel = nullptr;  // checked between items
};

struct JobSummary {
  std::string job_id;
  std::string final_event;  // completed | completed_with_errors | failed | "" (not finished)
  std::string stopped;      // why the run stopped before the job finished ("" when it finished)
  bool claimed_here = false;
  bool resumed = false;
  bool not_ours = false;  // Pleo refused our `started` (422): someone else's job, left alone
  int64_t successful = 0;
  int64_t failed = 0;
  int64_t skipped = 0;  // reported successful without a document (the pack skipped them)
  int64_t already_final = 0;
  int64_t documents_posted = 0;
  int64_t documents_recovered = 0;  // uncertain documents found in the ERP by lookup
  int64_t reexports = 0;
  int64_t job_entry_members = 0;  // §2.4 mode 3: items reported with a job entry's external id
  std::map<std::string, int64_t> failures;  // by failureReasonType
};

struct RunSummary {
  std::vector<JobSummary> jobs;
  int64_t jobs_skipped = 0;  // someone else's (422 on claim, or in_progress not ours)
  std::string error;         // a company-level stop (listing failed, reconnect required, ...)
};

// §2.4 mode 3: the rule pack's posting.one_entry_per_job (false when absent). A value that is
// not a boolean is an error naming the setting: the job is not started with a guessed mode.
Result<bool> one_entry_per_job(const nlohmann::json& settings);

// Every pending job of the company, plus in_progress jobs this installation claimed, oldest
// first, one at a time.
RunSummary run_company(CompanyRun& run);

// One job (claimed here if pending).
JobSummary run_job(CompanyRun& run, const model::ExportJob& job);

}  // namespace lb::workflow
