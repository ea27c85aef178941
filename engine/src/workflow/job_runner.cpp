#include "workflow/job_runner.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "model/json_writer.hpp"
#include "posting/document.hpp"
#include "rules/outcome.hpp"
#include "workflow/receipts.hpp"

namespace lb::workflow {

const char* to_string(ReexportPolicy policy) {
  switch (policy) {
    case ReexportPolicy::report_existing: return "report_existing";
    case ReexportPolicy::post_again: return "post_again";
    case ReexportPolicy::fail: return "fail";
  }
  return "report_existing";
}

namespace {

std::string now_iso() {
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
}

// The run of one job. Every method that returns false has set summary.stopped: the job stays
// in_progress and the next run resumes it.
class JobRun {
 public:
  JobRun(CompanyRun& run, const model::ExportJob& job, JobSummary& summary)
      : run_(run), job_(job), s_(summary), ledger_(*run.ledger), pleo_(*run.pleo), sink_(*run.sink) {}

  void execute() {
    s_.job_id = job_.id;
    if (!claim()) return;
    if (!prevalidate()) return;
    if (!recover()) return;
    run_.rules->set_directory(&sink_.directory());
    if (!read_control_layer()) return;
    if (!process_items()) return;
    if (!flush()) return;
    finish();
  }

 private:
  struct Report {
    std::string id;
    std::string status;  // successful | failed
    std::optional<std::string> external_id;
  };

  bool stop(std::string why) {
    s_.stopped = std::move(why);
    spdlog::warn("job {}: stopped: {}", job_.id, s_.stopped);
    return false;
  }
  bool ledger_ok(const Status& st, std::string_view what) {
    if (st.ok()) return true;
    // A ledger that cannot record stops everything: nothing may reach the ERP or Pleo that
    // the ledger does not hold (DESIGN §5).
    return stop(fmt::format("ledger: {}: {}", what, st.message()));
  }
  template <typename T>
  bool ledger_ok(const lb::Result<T>& r, std::string_view what) {
    if (r.ok()) return true;
    return stop(fmt::format("ledger: {}: {}", what, r.error().message));
  }

  // §1.3: `started` exactly once. The intent is recorded first so that a crash between the
  // event and its acknowledgement is recognised as our claim on restart.
  bool claim() {
    if (!ledger_ok(ledger_.record_job(job_.id, job_.companyId.empty() ? run_.company_id : job_.companyId),
                   "record job"))
      return false;
    if (job_.status != "pending") {
      // run_company resumes an in_progress job only when this ledger holds our claim or our
      // intent to claim (a crash between Pleo's 202 and mark_job_claimed). Either way it is
      // ours now: record it, or mark_job_final_sent would refuse the final event later.
      s_.resumed = true;
      return ledger_ok(ledger_.mark_job_claimed(job_.id), "claimed (resumed)");
    }
    if (!ledger_ok(ledger_.mark_job_claiming(job_.id), "claim")) return false;
    auto st = pleo_.post_job_event({.jobId = job_.id, .event = "started"});
    if (!st) {
      if (st.error().kind == pleo::ErrorKind::conflict_422) {
        s_.not_ours = true;
        return stop("another integration has claimed this job (422 on started)");
      }
      return stop("started: " + st.error().to_string());
    }
    s_.claimed_here = true;
    return ledger_ok(ledger_.mark_job_claimed(job_.id), "claimed");
  }

  // §1.4 / §2.11: the ERP must be reachable and accept our credentials before any item.
  bool prevalidate() {
    auto r = sink_.check();
    if (const auto* e = std::get_if<erp::SinkError>(&r)) {
      const char* type = e->kind == erp::ErrorKind::auth ? "accounting_system_authentication_failure"
                         : e->kind == erp::ErrorKind::unreachable || e->kind == erp::ErrorKind::timeout
                             ? "accounting_system_unreachable"
                             : "invalid_configuration";
      fail_job(fmt::format("The accounting system ({}) cannot be used: {}", sink_.name(), e->message), type);
      return false;
    }
    return true;
  }

  // DESIGN §5: a document left in `posting` may or may not be in the ERP. Ask it.
  bool recover() {
    auto uncertain = ledger_.uncertain(job_.id);
    if (!ledger_ok(uncertain, "uncertain documents")) return false;
    for (const auto& doc : *uncertain) {
      auto r = sink_.lookup(doc.externalKey);
      if (const auto* e = std::get_if<erp::SinkError>(&r))
        return stop(fmt::format("ERP lookup of uncertain document {}: {}", doc.externalKey, e->message));
      const auto& found = std::get<std::optional<erp::Posted>>(r);
      if (found) {
        spdlog::info("job {}: {} was posted before the interruption as {}: recorded, not posted again", job_.id,
                     doc.externalKey, found->externalId);
        if (!ledger_ok(ledger_.mark_posted(job_.id, doc.externalKey, found->externalId, found->url,
                                           ledger::PostedBy::lookup),
                       "recovered"))
          return false;
        ++s_.documents_recovered;
      } else {
        spdlog::info("job {}: {} is not in the ERP: it will be posted", job_.id, doc.externalKey);
      }
    }
    return true;
  }

  // §1.5: the control layer says which items still need a status.
  bool read_control_layer() {
    auto st = pleo_.for_each_job_item_page(job_.id, std::nullopt, [&](std::vector<model::ExportJobItem>& page) {
      for (auto& item : page) {
        if (item.status == "pending" || item.status == "in_progress") {
          to_process_.insert(item.accountingEntryId);
        } else {
          ++s_.already_final;
          if (item.status == "failed") any_failed_ = true;
          if (item.status == "successful") any_successful_ = true;
        }
      }
      return true;
    });
    if (!st) return stop("reading job items: " + st.error().to_string());
    total_ = static_cast<int64_t>(to_process_.size());
    return true;
  }

  bool process_items() {
    bool ok = true;
    auto st = pleo_.for_each_export_item_page(job_.id, [&](pleo::ExportItemsPage& page) {
      for (const auto& bad : page.bad) {
        if (bad.accountingEntryId.empty() || !to_process_.count(bad.accountingEntryId)) {
          spdlog::error("job {}: an export item could not be read and names no entry of this job: {}", job_.id,
                        bad.to_string());
          continue;
        }
        seen_.insert(bad.accountingEntryId);
        if (!(ok = fail_item(bad.accountingEntryId, "{}", "validation_failure",
                             "Pleo sent data ledgerbridge cannot read: " + bad.to_string())))
          return false;
      }
      for (const auto& item : page.items) {
        if (run_.cancel && run_.cancel->load()) {
          ok = stop("cancelled");
          return false;
        }
        if (!to_process_.count(item.accountingEntryId) || seen_.count(item.accountingEntryId)) continue;
        seen_.insert(item.accountingEntryId);
        if (!(ok = process_item(item))) return false;
        if (static_cast<int>(reports_.size()) >= run_.report_batch && !(ok = flush())) return false;
      }
      return true;
    });
    if (!ok) return false;
    if (!st) {
      if (st.error().kind == pleo::ErrorKind::missing_contra_accounts) {
        std::string currencies;
        for (const auto& c : st.error().currencies) currencies += (currencies.empty() ? "" : ", ") + c;
        fail_job(fmt::format("Contra accounts are missing for {}: map a wallet account for each currency in Pleo.",
                             currencies.empty() ? "some currencies" : currencies),
                 "missing_configuration");
        return false;
      }
      return stop("reading export items: " + st.error().to_string());
    }
    // §1.9: every item of the job gets a final status, even one Pleo sent no data for.
    for (const auto& id : to_process_) {
      if (seen_.count(id)) continue;
      if (!fail_item(id, "{}", "unexpected_failure", "Pleo returned no export item data for this entry.")) return false;
      if (static_cast<int>(reports_.size()) >= run_.report_batch && !flush()) return false;
    }
    return true;
  }

  bool process_item(const model::ExportItem& item) {
    const std::string& id = item.accountingEntryId;
    auto existing = ledger_.entry(job_.id, id);
    if (!ledger_ok(existing, "entry")) return false;
    std::vector<posting::Document> documents;
    std::string outcome_json = "{}";
    const ledger::EntryRecord* entry = existing->has_value() ? &**existing : nullptr;

    if (entry) {
      // Resuming: what the ledger already knows decides what happens; nothing is decided twice.
      switch (entry->state) {
        case ledger::State::reported:
          return queue({id, entry->reportedStatus.value_or("successful"), entry->reportedExternalId},
                       entry->failureType, entry->failureMessage);
        case ledger::State::posted:
          return queue({id, "successful", first_external_id(*entry)});
        case ledger::State::failed:
          count_failure(entry->failureType.value_or("unexpected_failure"));
          return queue({id, "failed", std::nullopt}, entry->failureType, entry->failureMessage);
        case ledger::State::decided:
        case ledger::State::posting:
          for (const auto& d : entry->documents) {
            auto parsed = posting::parse_document_json(d.documentJson);
            if (!parsed) return stop("ledger holds an unreadable document " + d.externalKey);
            documents.push_back(std::move(*parsed));
          }
          outcome_json = entry->outcomeJson;
          break;
      }
    }

    if (!entry) {
      // DESIGN §5: what an earlier job left uncertain (e.g. a job Pleo expired before it was
      // resumed) is looked up first, so that it counts as posted if the ERP has it.
      if (!resolve_earlier_uncertain(id)) return false;
      // §4.3: an entry an earlier job already posted (every one of its documents).
      auto prior = ledger_.posted_in_earlier_job(id, job_.id);
      if (!ledger_ok(prior, "earlier postings")) return false;
      if (prior->has_value() && run_.reexport != ReexportPolicy::post_again) return reexport(id, **prior);

      rules::Outcome outcome = run_.rules->evaluate(item, false);
      outcome_json.clear();
      rules::write_outcome_json(outcome, outcome_json);
      if (outcome.status == rules::OutcomeStatus::failed)
        return fail_item(id, outcome_json, outcome.failure.type, outcome.failure.message);
      if (outcome.status == rules::OutcomeStatus::skipped) {
        if (!ledger_ok(ledger_.record_decided(job_.id, id, outcome_json, {}), "decided")) return false;
        ++s_.skipped;
        return queue({id, "successful", std::nullopt});
      }
      documents = std::move(outcome.documents);
      if (prior->has_value()) {
        // post_again: a new ERP document, so a key of its own.
        for (auto& d : documents) d.externalKey += "@" + job_.id;
        ++s_.reexports;
      }
    }
    // §4.3.3: documents of this entry an earlier job got into the ERP (an AP invoice whose
    // payment did not follow) are reused, not posted again; only the missing ones are posted.
    auto earlier_docs = ledger_.earlier_posted_documents(id, job_.id);
    if (!ledger_ok(earlier_docs, "earlier documents")) return false;
    std::map<std::string, const ledger::DocumentRecord*> earlier;
    for (const auto& d : *earlier_docs) earlier[d.externalKey] = &d;
    if (!entry) {
      for (auto& doc : documents) {
        const auto it = earlier.find(doc.externalKey);
        if (it == earlier.end()) continue;
        // The ledger keeps what the ERP holds, not today's decision for it.
        if (auto parsed = posting::parse_document_json(it->second->documentJson)) doc = std::move(*parsed);
      }
    }
    if (documents.empty()) {
      if (!ledger_ok(ledger_.record_decided(job_.id, id, outcome_json, {}), "decided")) return false;
      ++s_.skipped;
      return queue({id, "successful", std::nullopt});
    }

    // §2.8: receipts are fetched before anything is posted, so a required receipt that cannot
    // be had fails the item with nothing in the ERP.
    // Merged into one PDF here when the sink takes one file per document (workflow/receipts).
    std::vector<Receipt> receipts;
    if (run_.attachments && !documents.front().attachments.empty()) {
      FetchedReceipts fetched = fetch_receipts(documents.front(), sink_.capabilities(), run_.downloads);
      if (fetched.failure) {
        if (run_.attachments_required) return fail_item(id, outcome_json, fetched.failure->type, fetched.failure->message);
        spdlog::warn("job {}: entry {}: {} (posted without it)", job_.id, id, fetched.failure->message);
      }
      receipts = std::move(fetched.files);
    }

    if (!entry && !ledger_ok(ledger_.record_decided(job_.id, id, outcome_json, documents), "decided")) return false;

    std::vector<erp::Posted> posted(documents.size());
    std::set<std::string> already;
    if (entry)
      for (const auto& d : entry->documents)
        if (d.state == ledger::State::posted && d.externalId) already.insert(d.externalKey);
    for (size_t i = 0; i < documents.size(); ++i) {
      const posting::Document& doc = documents[i];
      if (already.count(doc.externalKey)) {
        for (const auto& d : entry->documents)
          if (d.externalKey == doc.externalKey) posted[i] = {*d.externalId, d.url.value_or("")};
        continue;
      }
      if (const auto it = earlier.find(doc.externalKey); it != earlier.end()) {
        const ledger::DocumentRecord& d = *it->second;
        posted[i] = {*d.externalId, d.url.value_or("")};
        spdlog::info("job {}: {} was posted by job {} as {}: reused, not posted again", job_.id, doc.externalKey,
                     d.jobId, posted[i].externalId);
        if (!ledger_ok(ledger_.mark_posted(job_.id, doc.externalKey, posted[i].externalId, posted[i].url,
                                           ledger::PostedBy::earlier_job),
                       "posted (earlier job)"))
          return false;
        continue;
      }
      bool failed = false;
      if (!post_document(id, doc, posted[i], failed)) return false;
      if (failed) return true;  // the item is failed and queued
    }
    const UploadResult up = upload_receipts(sink_, ledger_, job_.id, posted.front(), documents.front(), receipts);
    for (const auto& f : up.failed)
      spdlog::warn("job {}: receipt not attached to {}: {}", job_.id, posted.front().externalId, f);
    return queue({id, "successful", posted.front().externalId}, std::nullopt, std::nullopt, posted.front().url);
  }

  // DESIGN §5 across jobs: documents of this entry that another job left in `posting` (it
  // stopped, and Pleo expired or failed the job before a run resumed it). Found in the ERP:
  // recorded as posted in that job, so the re-export checks below see them. Not found: left as
  // they are, and this job posts the entry itself. An ERP that cannot answer stops the job, as
  // recover() does: posting without knowing could post twice.
  bool resolve_earlier_uncertain(const std::string& id) {
    auto uncertain = ledger_.uncertain_of_entry(id, job_.id);
    if (!ledger_ok(uncertain, "uncertain documents of earlier jobs")) return false;
    for (const auto& doc : *uncertain) {
      auto r = sink_.lookup(doc.externalKey);
      if (const auto* e = std::get_if<erp::SinkError>(&r))
        return stop(fmt::format("ERP lookup of {}, left uncertain by job {}: {}", doc.externalKey, doc.jobId, e->message));
      const auto& found = std::get<std::optional<erp::Posted>>(r);
      if (!found) {
        spdlog::info("job {}: {} (left uncertain by job {}) is not in the ERP: this job posts the entry", job_.id,
                     doc.externalKey, doc.jobId);
        continue;
      }
      spdlog::info("job {}: {} (left uncertain by job {}) is in the ERP as {}: recorded there, not posted again",
                   job_.id, doc.externalKey, doc.jobId, found->externalId);
      if (!ledger_ok(ledger_.mark_posted(doc.jobId, doc.externalKey, found->externalId, found->url,
                                         ledger::PostedBy::lookup),
                     "recovered (earlier job)"))
        return false;
      ++s_.documents_recovered;
    }
    return true;
  }

  // Intent, call, result (DESIGN §5). Returns false to stop the job; sets `failed` when the
  // ERP refused the document for good (the item is then failed and queued).
  bool post_document(const std::string& id, const posting::Document& doc, erp::Posted& out, bool& failed) {
    if (!ledger_ok(ledger_.mark_posting(job_.id, doc.externalKey), "posting intent")) return false;
    auto r = sink_.post(doc);
    if (auto* ok = std::get_if<erp::Posted>(&r)) {
      out = *ok;
      ++s_.documents_posted;
      return ledger_ok(ledger_.mark_posted(job_.id, doc.externalKey, ok->externalId, ok->url), "posted");
    }
    const erp::SinkError& e = std::get<erp::SinkError>(r);
    if (e.kind == erp::ErrorKind::validation || e.kind == erp::ErrorKind::attachment) {
      failed = true;
      const ledger::Failure f{erp::failure_reason_type(e), fmt::format("The accounting system refused {}: {}",
                                                                        posting::to_string(doc.kind), e.message)};
      if (!ledger_ok(ledger_.mark_failed(job_.id, id, f, doc.externalKey), "failed")) return false;
      count_failure(f.type);
      return queue({id, "failed", std::nullopt}, f.type, f.message);
    }
    // Conflict, timeout, unreachable: the ERP may hold the document. Only a lookup can tell.
    auto found = sink_.lookup(doc.externalKey);
    if (auto* hit = std::get_if<std::optional<erp::Posted>>(&found); hit && *hit) {
      out = **hit;
      ++s_.documents_recovered;
      return ledger_ok(ledger_.mark_posted(job_.id, doc.externalKey, out.externalId, out.url, ledger::PostedBy::lookup),
                       "posted (found by lookup)");
    }
    // Not found or not known: the document stays uncertain in the ledger, and the job stops
    // here; the next run asks the ERP again before posting (recover()).
    return stop(fmt::format("ERP {} posting {}: {}", erp::to_string(e.kind), doc.externalKey, e.message));
  }

  bool reexport(const std::string& id, const ledger::PriorPosting& prior) {
    ++s_.reexports;
    std::string keys;
    std::vector<posting::Document> documents;
    for (const auto& d : prior.documents) {
      keys += (keys.empty() ? "" : ", ") + d.externalId.value_or(d.externalKey);
      if (auto parsed = posting::parse_document_json(d.documentJson)) documents.push_back(std::move(*parsed));
    }
    const std::string note = fmt::format(R"({{"reexportOf":"{}"}})", prior.jobId);
    if (run_.reexport == ReexportPolicy::fail)
      return fail_item(id, note, "accounting_system_validation_failure",
                       fmt::format("Already posted by export job {} as {}; re-export is set to fail.", prior.jobId, keys));
    spdlog::info("job {}: entry {} was posted by job {} as {}: reported with the existing id, not posted again",
                 job_.id, id, prior.jobId, keys);
    if (!ledger_ok(ledger_.record_decided(job_.id, id, note, documents), "decided (re-export)")) return false;
    for (const auto& d : prior.documents)
      if (!ledger_ok(ledger_.mark_posted(job_.id, d.externalKey, d.externalId.value_or(""), d.url.value_or(""),
                                         ledger::PostedBy::earlier_job),
                     "posted (re-export)"))
        return false;
    return queue({id, "successful", prior.documents.front().externalId}, std::nullopt, std::nullopt,
                 prior.documents.front().url);
  }

  bool fail_item(const std::string& id, const std::string& outcome_json, const std::string& type,
                 const std::string& message) {
    if (!ledger_ok(ledger_.record_decided(job_.id, id, outcome_json, {}), "decided")) return false;
    if (!ledger_ok(ledger_.mark_failed(job_.id, id, {type, message}), "failed")) return false;
    count_failure(type);
    return queue({id, "failed", std::nullopt}, type, message);
  }

  void count_failure(const std::string& type) {
    ++s_.failures[type];
    any_failed_ = true;
  }

  static std::optional<std::string> first_external_id(const ledger::EntryRecord& e) {
    for (const auto& d : e.documents)
      if (d.externalId) return d.externalId;
    return std::nullopt;
  }

  bool queue(Report report, std::optional<std::string> failure_type = std::nullopt,
             std::optional<std::string> failure_reason = std::nullopt,
             std::optional<std::string> external_url = std::nullopt) {
    pleo::JobItemUpdate u{.accountingEntryId = report.id, .status = report.status};
    if (report.status == "successful") {
      u.exportedAt = now_iso();
      u.externalId = report.external_id;
      if (external_url && !external_url->empty()) u.externalUrl = external_url;
      ++s_.successful;
      any_successful_ = true;
    } else {
      any_failed_ = true;
      u.failureReasonType = failure_type.value_or("unexpected_failure");
      u.failureReason = failure_reason.value_or("The entry could not be exported.");
      ++s_.failed;
    }
    updates_.push_back(std::move(u));
    reports_.push_back(std::move(report));
    ++done_;
    if (run_.on_progress) run_.on_progress({run_.company_id, job_.id, done_, total_});
    return true;
  }

  // §1.9: at most 100 per request; the response's errors[] rejects single items.
  bool flush() {
    for (size_t begin = 0; begin < updates_.size(); begin += pleo::Client::kMaxItemUpdates) {
      if (!report_batch(begin, std::min(updates_.size(), begin + pleo::Client::kMaxItemUpdates))) return false;
    }
    updates_.clear();
    reports_.clear();
    return true;
  }

  // One PUT of updates_[begin, end). §1.9: "never re-send updates for items already accepted",
  // and Pleo has no idempotency key, so a PUT whose answer was lost (it may have been applied)
  // must not simply be sent again, which is what the client's own retry would do. The PUT goes
  // out once per attempt; after a failure that may have reached Pleo, the control layer says
  // which items Pleo now holds final, and only the others are sent again (§4.3).
  bool report_batch(size_t begin, size_t end) {
    std::vector<size_t> todo;
    for (size_t i = begin; i < end; ++i) todo.push_back(i);
    const pleo::ClientOptions& o = pleo_.options();
    pleo::Backoff backoff(o.retry, o.clock ? *o.clock : pleo::system_clock(), o.random);
    for (;;) {
      std::vector<pleo::JobItemUpdate> batch;
      for (size_t i : todo) batch.push_back(updates_[i]);
      auto r = single_attempt().update_job_items(job_.id, batch);
      if (r) {
        std::set<std::string> rejected;
        for (const auto& e : r->errors) {
          rejected.insert(e.accountingEntryId);
          spdlog::warn("job {}: Pleo refused the status of {}: {} {}", job_.id, e.accountingEntryId, e.type, e.message);
        }
        for (size_t i : todo) {
          const Report& rep = reports_[i];
          if (rejected.count(rep.id)) continue;
          if (!ledger_ok(ledger_.mark_reported(job_.id, rep.id, rep.status, rep.external_id), "reported")) return false;
        }
        unreported_ += static_cast<int64_t>(rejected.size());
        return true;
      }
      const pleo::Error& e = r.error();
      const bool maybe_applied =
          e.kind == pleo::ErrorKind::server || e.kind == pleo::ErrorKind::bad_response ||
          ((e.kind == pleo::ErrorKind::network || e.kind == pleo::ErrorKind::timeout) && e.may_have_reached_server);
      const bool transient = maybe_applied || e.kind == pleo::ErrorKind::network ||
                             e.kind == pleo::ErrorKind::timeout || e.kind == pleo::ErrorKind::rate_limited;
      if (!transient || !backoff.wait(e.retry_after)) return stop("reporting item statuses: " + e.to_string());
      if (maybe_applied && !drop_applied(todo)) return false;
      if (todo.empty()) return true;
    }
  }

  // After a PUT that may have been applied: the items Pleo now holds final are not sent again;
  // those holding the status we sent are recorded as reported.
  bool drop_applied(std::vector<size_t>& todo) {
    std::map<std::string, std::string> final_status;
    auto st = pleo_.for_each_job_item_page(job_.id, std::nullopt, [&](std::vector<model::ExportJobItem>& page) {
      for (const auto& item : page)
        if (item.status == "successful" || item.status == "failed") final_status[item.accountingEntryId] = item.status;
      return true;
    });
    if (!st) return stop("reading job items after an unanswered status update: " + st.error().to_string());
    std::vector<size_t> left;
    for (size_t i : todo) {
      const Report& rep = reports_[i];
      const auto it = final_status.find(rep.id);
      if (it == final_status.end()) {
        left.push_back(i);
      } else if (it->second == rep.status) {
        if (!ledger_ok(ledger_.mark_reported(job_.id, rep.id, rep.status, rep.external_id), "reported")) return false;
      } else {
        // Not ours to overwrite; the job is not completed in this run.
        spdlog::warn("job {}: Pleo holds {} for {}, not {}: left as it is", job_.id, it->second, rep.id, rep.status);
        ++unreported_;
      }
    }
    todo = std::move(left);
    return true;
  }

  // The client for calls that must not be repeated blindly (report_batch).
  pleo::Client& single_attempt() {
    if (!single_attempt_) {
      pleo::ClientOptions o = pleo_.options();
      o.retry.max_attempts = 1;
      single_attempt_ = std::make_unique<pleo::Client>(o);
    }
    return *single_attempt_;
  }

  // §3.3: exactly one final event, after every item has its final status.
  void finish() {
    if (unreported_ > 0) {
      stop(fmt::format("{} item statuses were refused by Pleo; the job stays in progress", unreported_));
      return;
    }
    // §3.3: completed when every item succeeded, completed_with_errors when some failed, and
    // failed (with a reason) when every item failed: Pleo refuses completed_with_errors then.
    if (any_failed_ && !any_successful_) {
      fail_job(fmt::format("Every item of the job failed ({}); each item says why.", s_.failed + s_.already_final),
               "validation_failure");  // §3.3 [INF]: the job enum has no accounting_system_validation_failure
      return;
    }
    const std::string event = any_failed_ ? "completed_with_errors" : "completed";
    auto st = pleo_.post_job_event({.jobId = job_.id, .event = event});
    if (!st && !pleo_holds(st.error(), event)) {
      stop(event + ": " + st.error().to_string());
      return;
    }
    s_.final_event = event;
    (void)ledger_ok(ledger_.mark_job_final_sent(job_.id, event), "final event");
  }

  // A final event whose answer was lost is retried by the client and then refused with 422:
  // the job is already final. If Pleo holds exactly the state we sent, it was ours (§1.10:
  // once per final state) and is recorded as sent.
  bool pleo_holds(const pleo::Error& e, const std::string& event) {
    if (e.kind != pleo::ErrorKind::conflict_422) return false;
    auto job = pleo_.get_export_job(job_.id);
    return job && job->status == event;
  }

  void fail_job(const std::string& reason, const std::string& type) {
    auto st = pleo_.post_job_event(
        {.jobId = job_.id, .event = "failed", .failureReason = reason, .failureReasonType = type});
    if (!st && !pleo_holds(st.error(), "failed")) {
      stop("failed: " + st.error().to_string());
      return;
    }
    s_.final_event = "failed";
    s_.stopped.clear();
    spdlog::error("job {}: failed ({}): {}", job_.id, type, reason);
    (void)ledger_ok(ledger_.mark_job_final_sent(job_.id, "failed"), "final event");
  }

  CompanyRun& run_;
  const model::ExportJob& job_;
  JobSummary& s_;
  ledger::Ledger& ledger_;
  pleo::Client& pleo_;
  erp::Sink& sink_;
  std::set<std::string> to_process_;
  std::set<std::string> seen_;
  std::vector<pleo::JobItemUpdate> updates_;
  std::vector<Report> reports_;
  std::unique_ptr<pleo::Client> single_attempt_;
  bool any_failed_ = false;
  bool any_successful_ = false;  // with any_failed_: which final event (§3.3)
  int64_t unreported_ = 0;
  int64_t done_ = 0;
  int64_t total_ = 0;
};

}  // namespace

JobSummary run_job(CompanyRun& run, const model::ExportJob& job) {
  JobSummary summary;
  JobRun(run, job, summary).execute();
  return summary;
}

RunSummary run_company(CompanyRun& run) {
  RunSummary out;
  auto jobs = run.pleo->list_export_jobs(run.company_id, {"pending", "in_progress"});
  if (!jobs) {
    out.error = "listing export jobs: " + jobs.error().to_string();
    return out;
  }
  // §1.2: one job at a time, oldest first.
  std::stable_sort(jobs->begin(), jobs->end(),
                   [](const model::ExportJob& a, const model::ExportJob& b) { return a.createdAt < b.createdAt; });
  for (const auto& job : *jobs) {
    if (run.cancel && run.cancel->load()) break;
    if (job.status == "in_progress") {
      // §1.1: an in_progress job is resumed only when this installation claimed it.
      auto record = run.ledger->job(job.id);
      if (!record || !record->has_value() || !((*record)->claimedAt || (*record)->claimingAt)) {
        ++out.jobs_skipped;
        continue;
      }
    }
    JobSummary s = run_job(run, job);
    if (s.not_ours) {
      ++out.jobs_skipped;
      continue;
    }
    const bool stopped = !s.stopped.empty();
    out.jobs.push_back(std::move(s));
    if (stopped) break;  // the next run resumes it first; later jobs wait (oldest first)
  }
  return out;
}

}  // namespace lb::workflow
