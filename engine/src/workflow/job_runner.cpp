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
#include "posting/builder.hpp"
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

Result<bool> one_entry_per_job(const nlohmann::json& settings) {
  if (!settings.is_object() || !settings.contains("posting")) return false;
  const auto& posting = settings["posting"];
  if (!posting.is_object() || !posting.contains("one_entry_per_job")) return false;
  const auto& v = posting["one_entry_per_job"];
  if (!v.is_boolean())
    return Error{fmt::format("rule pack setting posting.one_entry_per_job must be true or false, not {}", v.dump())};
  return v.get<bool>();
}

namespace {

// A write that failed this way may still have been applied by Pleo (§4.3): the request may
// have reached it and the answer was lost, cut, or an error from a proxy in front of it.
bool may_have_been_applied(const pleo::Error& e) {
  return e.kind == pleo::ErrorKind::server || e.kind == pleo::ErrorKind::bad_response ||
         ((e.kind == pleo::ErrorKind::network || e.kind == pleo::ErrorKind::timeout) && e.may_have_reached_server);
}

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
    auto mode = one_entry_per_job(run_.rules->settings());
    if (!mode) {
      stop(mode.error().message);
      return;
    }
    one_entry_per_job_ = *mode;
    if (!claim()) return;
    if (!prevalidate()) return;
    if (!recover()) return;
    run_.rules->set_directory(&sink_.directory());
    if (!read_control_layer()) return;
    if (!process_items()) return;
    if (!post_job_entries()) return;
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
      // run_company resumes an in_progress job only when the ledger's claim is ours (accepted,
      // or sent and never refused: a crash or a lost answer between Pleo's 202 and
      // mark_job_claimed). Either way it is ours now: record it, or mark_job_final_sent would
      // refuse the final event later.
      s_.resumed = true;
      return ledger_ok(ledger_.mark_job_claimed(job_.id), "claimed (resumed)");
    }
    if (!ledger_ok(ledger_.mark_job_claiming(job_.id), "claim")) return false;
    return send_started();
  }

  // Why `started` is not left to the client's automatic retry: Pleo has no idempotency key, and
  // a retried `started` whose first attempt was applied (its answer lost) gets the same 422
  // INVALID_EXPORT_JOB_STATUS_CHANGE as a claim another integration made first. The contract
  // cannot tell the two apart afterwards either: ExportJobV3 has no "started by" (startedAt is
  // a time, set by whoever claimed), and job events cannot be read back (only POST
  // /v3/export-job-events exists). So `started` goes out once per attempt, and each answer is
  // read for what it proves:
  //  - 202: ours.
  //  - 422 while no attempt of ours can have been applied: the job was not pending when Pleo got
  //    our only request(s): someone else's (§1.3). Recorded as refused, so no later run resumes it.
  //  - no usable answer after the request may have reached Pleo (lost or cut answer, 5xx, a
  //    timeout after sending), or 422 after such an attempt: the job is re-read (a GET is safe
  //    to repeat). pending: not applied, send again. in_progress: presumed ours. Our request was
  //    in flight and nothing shows it was not applied; another claim inside that window would
  //    need a second integration working this company's exports, which Pleo's model rules out
  //    (a company is connected to one accounting system, §2.12; one worker per company, §1.2).
  //    Leaving it would strand our own claim until the job expires with nothing exported.
  //    Finished: not ours to touch.
  //  - 429, or a request that never left: nothing applied; back off and send again.
  // When the claim cannot be settled the job stops. The intent stays only if an attempt may
  // have been applied (the next run then resumes an in_progress job as ours); otherwise it is
  // withdrawn, so that the job is not taken for ours once someone else has started it.
  bool send_started() {
    const pleo::ClientOptions& o = pleo_.options();
    pleo::Backoff backoff(o.retry, o.clock ? *o.clock : pleo::system_clock(), o.random);
    bool maybe_applied = false;  // an attempt of ours may have been applied without our hearing so
    for (;;) {
      auto st = single_attempt().post_job_event({.jobId = job_.id, .event = "started"});
      if (st) {
        s_.claimed_here = true;
        return ledger_ok(ledger_.mark_job_claimed(job_.id), "claimed");
      }
      const pleo::Error& e = st.error();
      if (e.kind == pleo::ErrorKind::conflict_422 && !maybe_applied)
        return claim_refused("another integration has claimed this job (422 on started)");
      if (e.kind == pleo::ErrorKind::conflict_422 || may_have_been_applied(e)) {
        maybe_applied = true;
        auto now = pleo_.get_export_job(job_.id);
        if (!now) return stop("started: no answer, and the job could not be re-read: " + now.error().to_string());
        if (now->status == "in_progress") {
          spdlog::warn("job {}: `started` got no answer ({}); the job is in_progress: taken as our claim", job_.id,
                       e.to_string());
          s_.claimed_here = true;
          return ledger_ok(ledger_.mark_job_claimed(job_.id), "claimed (answer lost)");
        }
        if (now->status != "pending") return claim_refused("the job is " + now->status + ", not ours to start");
      } else if (e.kind != pleo::ErrorKind::rate_limited && e.kind != pleo::ErrorKind::network &&
                 e.kind != pleo::ErrorKind::timeout) {
        return claim_unsettled(maybe_applied, e.to_string());
      }
      if (!backoff.wait(e.retry_after)) return claim_unsettled(maybe_applied, e.to_string());
    }
  }

  bool claim_refused(const std::string& why) {
    s_.not_ours = true;
    if (!ledger_ok(ledger_.mark_job_claim_refused(job_.id), "claim refused")) return false;
    return stop(why);
  }

  bool claim_unsettled(bool maybe_applied, const std::string& why) {
    if (!maybe_applied && !ledger_ok(ledger_.withdraw_job_claim(job_.id), "withdraw claim")) return false;
    return stop("started: " + why);
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
    // §2.4 mode 3: a job entry left in `posting`, the same question for all its members at once.
    auto in_flight = ledger_.aggregates(job_.id, ledger::State::posting);
    if (!ledger_ok(in_flight, "uncertain job entries")) return false;
    for (const auto& a : *in_flight) {
      auto r = sink_.lookup(a.externalKey);
      if (const auto* e = std::get_if<erp::SinkError>(&r))
        return stop(fmt::format("ERP lookup of uncertain job entry {}: {}", a.externalKey, e->message));
      const auto& found = std::get<std::optional<erp::Posted>>(r);
      if (!found) {
        spdlog::info("job {}: job entry {} is not in the ERP: it will be posted", job_.id, a.externalKey);
        continue;
      }
      spdlog::info("job {}: job entry {} ({} entries) was posted before the interruption as {}: recorded, not posted "
                   "again",
                   job_.id, a.externalKey, a.members.size(), found->externalId);
      if (!ledger_ok(ledger_.mark_aggregate_posted(job_.id, a.externalKey, found->externalId, found->url,
                                                   ledger::PostedBy::lookup),
                     "job entry recovered"))
        return false;
      ++s_.documents_recovered;
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
      // §2.4 mode 3: an entry booked in a job entry is reported with it, whatever Pleo sent now.
      auto existing = ledger_.entry(job_.id, id);
      if (!ledger_ok(existing, "entry")) return false;
      if (existing->has_value() && booked_in_job_entry(**existing)) continue;
      if (existing->has_value()) {
        // An earlier run of this job decided it, and may have posted it: the ledger holds all
        // that is needed to finish it (DESIGN §5), so it is finished like any resumed entry
        // rather than failed over an entry the ERP may already hold.
        model::ExportItem known;
        known.accountingEntryId = id;
        if (!process_item(known)) return false;
      } else if (!fail_item(id, "{}", "unexpected_failure", "Pleo returned no export item data for this entry.")) {
        return false;
      }
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
      // §2.4 mode 3: booked in a job entry; post_job_entries posts and reports it with the others.
      if (booked_in_job_entry(*entry)) return true;
      // Resuming: what the ledger already knows decides what happens; nothing is decided twice.
      switch (entry->state) {
        case ledger::State::reported:
          return queue({id, entry->reportedStatus.value_or("successful"), entry->reportedExternalId},
                       entry->failureType, entry->failureMessage);
        case ledger::State::posted:
          return resume_posted(item, *entry);
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
    // An entry an earlier run began to post on its own (the setting was off then) finishes alone.
    if (one_entry_per_job_ && joins_job_entry(documents) && (!entry || never_sent(*entry)))
      return defer(id, outcome_json, documents, entry != nullptr);

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
    return attach_and_report(id, documents.front(), posted.front(), std::move(receipts), std::nullopt);
  }

  // §2.8 after the post: the receipts go onto the first document under their deterministic keys
  // (the ledger records each, so a resumed run attaches only what is missing), then the item is
  // reported successful, as its entry is. A receipt that could not be had or attached now is
  // logged, never dropped silently (§2.8: posting without it is acceptable only because the
  // entry succeeded; Pleo is told only what the ledger holds, and it holds the entry as posted).
  bool attach_and_report(const std::string& id, const posting::Document& doc, const erp::Posted& posted,
                         std::vector<Receipt> receipts, std::optional<ReceiptFailure> failure) {
    if (failure)
      spdlog::warn("job {}: entry {} is posted as {} without its receipt: {}", job_.id, id, posted.externalId,
                   failure->message);
    const UploadResult up = upload_receipts(sink_, ledger_, job_.id, posted, doc, receipts);
    for (const auto& f : up.failed)
      spdlog::warn("job {}: receipt not attached to {}: {}", job_.id, posted.externalId, f);
    return queue({id, "successful", posted.externalId}, std::nullopt, std::nullopt, posted.url);
  }

  // Resuming an entry the ERP already holds (the run stopped between its post and its report):
  // receipts not attached yet are fetched again from the item's fresh links (Pleo's links last
  // 24 hours; the ledger's copy may be older) and attached, then it is reported.
  bool resume_posted(const model::ExportItem& item, const ledger::EntryRecord& entry) {
    const std::string& id = item.accountingEntryId;
    const ledger::DocumentRecord& first = entry.documents.front();
    const erp::Posted posted{first.externalId.value_or(""), first.url.value_or("")};
    auto doc = posting::parse_document_json(first.documentJson);
    if (!doc) return stop("ledger holds an unreadable document " + first.externalKey);
    if (!run_.attachments || doc->attachments.empty()) return attach_and_report(id, *doc, posted, {}, std::nullopt);
    auto done = ledger_.attachments_done(doc->externalKey);
    if (!ledger_ok(done, "attachments")) return false;
    bool missing = sink_.capabilities().single_attachment ? done->empty() : false;
    for (const auto& a : doc->attachments)
      if (!sink_.capabilities().single_attachment && std::find(done->begin(), done->end(), a.key) == done->end())
        missing = true;
    if (!missing) return attach_and_report(id, *doc, posted, {}, std::nullopt);
    if (item.files)
      for (size_t i = 0; i < doc->attachments.size() && i < item.files->size(); ++i)
        doc->attachments[i].url = (*item.files)[i].url;
    FetchedReceipts fetched = fetch_receipts(*doc, sink_.capabilities(), run_.downloads);
    return attach_and_report(id, *doc, posted, std::move(fetched.files), std::move(fetched.failure));
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

  // --- one entry per export job (§2.4 mode 3) ---------------------------------------------

  static bool booked_in_job_entry(const ledger::EntryRecord& e) {
    for (const auto& d : e.documents)
      if (d.aggregateKey) return true;
    return false;
  }

  static bool never_sent(const ledger::EntryRecord& e) {
    for (const auto& d : e.documents)
      if (d.attempts > 0 || d.externalId) return false;
    return e.state == ledger::State::decided;
  }

  // Only journal entries join; an item is all journal entries in one currency, or posts alone.
  static bool joins_job_entry(const std::vector<posting::Document>& documents) {
    for (const auto& d : documents)
      if (d.kind != posting::DocumentKind::journal_entry || d.currency != documents.front().currency) return false;
    return !documents.empty();
  }

  // The item waits for the job entry of its currency, posted once every item was decided. A
  // receipt the item cannot do without fails it now, while nothing of it is in the ERP; the
  // receipts are fetched again and attached once the job entry is posted (post_job_entry), so
  // a job's receipts are never all held in memory at once.
  bool defer(const std::string& id, const std::string& outcome_json, std::vector<posting::Document>& documents,
             bool recorded) {
    if (!recorded) {
      if (run_.attachments && run_.attachments_required && !documents.front().attachments.empty()) {
        const FetchedReceipts fetched = fetch_receipts(documents.front(), sink_.capabilities(), run_.downloads);
        if (fetched.failure) return fail_item(id, outcome_json, fetched.failure->type, fetched.failure->message);
      }
      if (!ledger_ok(ledger_.record_decided(job_.id, id, outcome_json, documents), "decided")) return false;
    }
    deferred_.push_back({id, std::move(documents)});
    return true;
  }

  // After every item: this run's waiting items become job entries (recorded with their members
  // before any ERP call), then every job entry of the job the ledger holds is posted if it is
  // not yet, and its members still pending in Pleo are queued with its outcome.
  bool post_job_entries() {
    if (!record_job_entries()) return false;
    auto all = ledger_.aggregates(job_.id);
    if (!ledger_ok(all, "job entries")) return false;
    for (ledger::AggregateRecord& a : *all) {
      if (run_.cancel && run_.cancel->load()) return stop("cancelled");
      if ((a.state == ledger::State::decided || a.state == ledger::State::posting) && !post_job_entry(a)) return false;
      if (!report_members(a)) return false;
    }
    return true;
  }

  bool record_job_entries() {
    std::vector<std::string> currencies;  // in order of first appearance
    std::map<std::string, std::vector<const Deferred*>> by_currency;
    for (const Deferred& d : deferred_) {
      auto& group = by_currency[d.documents.front().currency];
      if (group.empty()) currencies.push_back(d.documents.front().currency);
      group.push_back(&d);
    }
    for (const auto& currency : currencies) {
      const auto& group = by_currency[currency];
      std::vector<posting::Document> documents;
      std::vector<std::string> members;
      std::string date;  // the latest member's: each was checked open by the rules (§2.9)
      for (const Deferred* d : group) {
        members.push_back(d->id);
        for (const auto& doc : d->documents) {
          date = std::max(date, doc.postingDate);
          documents.push_back(doc);
        }
      }
      auto merged = posting::aggregate_journal_entries(
          documents, job_.id, date, fmt::format("Pleo export job {} ({} entries)", job_.id, members.size()));
      if (merged.size() != 1) return stop("job entry for " + currency + ": merging gave " + std::to_string(merged.size()));
      posting::Document& entry = merged.front();
      // An earlier run's job entry of this currency keeps its key and its members: a later one
      // (items a stopped run had not reached yet) takes the next free key.
      const std::string base = entry.externalKey;
      for (int n = 2;; ++n) {
        auto existing = ledger_.aggregate(job_.id, entry.externalKey);
        if (!ledger_ok(existing, "job entry")) return false;
        if (!existing->has_value()) break;
        entry.externalKey = entry.accountingEntryId = fmt::format("{}:{}", base, n);
      }
      if (auto st = posting::check_invariants(entry); !st)
        return stop(fmt::format("job entry {}: {}", entry.externalKey, st.message()));
      if (!ledger_ok(ledger_.record_aggregate(job_.id, entry, members), "job entry decided")) return false;
      spdlog::info("job {}: {} entries join job entry {} ({} lines)", job_.id, members.size(), entry.externalKey,
                   entry.lines.size());
    }
    deferred_.clear();
    return true;
  }

  // Intent, call, result (DESIGN §5), for the job entry and all its members at once. Returns
  // false to stop the job; an ERP refusal fails every member (§2.4) and returns true.
  bool post_job_entry(ledger::AggregateRecord& a) {
    auto doc = posting::parse_document_json(a.documentJson);
    if (!doc) return stop("ledger holds an unreadable job entry " + a.externalKey);
    if (!ledger_ok(ledger_.mark_aggregate_posting(job_.id, a.externalKey), "job entry intent")) return false;
    auto r = sink_.post(*doc);
    erp::Posted posted;
    ledger::PostedBy by = ledger::PostedBy::sink;
    if (auto* ok = std::get_if<erp::Posted>(&r)) {
      posted = *ok;
      ++s_.documents_posted;
    } else {
      const erp::SinkError& e = std::get<erp::SinkError>(r);
      if (e.kind == erp::ErrorKind::validation || e.kind == erp::ErrorKind::attachment) {
        const ledger::Failure f{
            erp::failure_reason_type(e),
            fmt::format("The accounting system refused the export job's journal entry {} ({} entries, one entry per "
                        "export job: one refusal fails every entry): {}",
                        a.externalKey, a.members.size(), e.message)};
        spdlog::error("job {}: {}", job_.id, f.message);
        if (!ledger_ok(ledger_.mark_aggregate_failed(job_.id, a.externalKey, f), "job entry failed")) return false;
        a.state = ledger::State::failed;
        return true;
      }
      // Conflict, timeout, unreachable: the ERP may hold it. Only a lookup can tell.
      auto found = sink_.lookup(a.externalKey);
      auto* hit = std::get_if<std::optional<erp::Posted>>(&found);
      if (!hit || !*hit)
        return stop(fmt::format("ERP {} posting job entry {}: {}", erp::to_string(e.kind), a.externalKey, e.message));
      posted = **hit;
      by = ledger::PostedBy::lookup;
      ++s_.documents_recovered;
    }
    if (!ledger_ok(ledger_.mark_aggregate_posted(job_.id, a.externalKey, posted.externalId, posted.url, by),
                   "job entry posted"))
      return false;
    a.state = ledger::State::posted;
    a.externalId = posted.externalId;
    a.url = posted.url;
    return true;
  }

  // Queues the members Pleo still waits for, with the job entry's outcome as the ledger holds it.
  bool report_members(const ledger::AggregateRecord& a) {
    bool receipts_done = false;
    for (const auto& id : a.members) {
      if (!to_process_.count(id) || queued_.count(id)) continue;
      auto e = ledger_.entry(job_.id, id);
      if (!ledger_ok(e, "entry")) return false;
      if (!e->has_value()) return stop(fmt::format("job entry {}: member {} is not in the ledger", a.externalKey, id));
      const ledger::EntryRecord& entry = **e;
      switch (entry.state) {
        case ledger::State::reported:
          queue({id, entry.reportedStatus.value_or("successful"), entry.reportedExternalId}, entry.failureType,
                entry.failureMessage);
          break;
        case ledger::State::posted:
          if (!receipts_done && a.externalId) {
            // Also after a crash between the post and the uploads: the ledger knows what is attached.
            upload_job_entry_receipts({*a.externalId, a.url.value_or("")}, a);
            receipts_done = true;
          }
          ++s_.job_entry_members;
          queue({id, "successful", a.externalId}, std::nullopt, std::nullopt, a.url);
          break;
        case ledger::State::failed:
          count_failure(entry.failureType.value_or("unexpected_failure"));
          queue({id, "failed", std::nullopt}, entry.failureType, entry.failureMessage);
          break;
        case ledger::State::decided:
        case ledger::State::posting:
          return stop(fmt::format("job entry {} is {} but its member {} is {}", a.externalKey, to_string(a.state), id,
                                  to_string(entry.state)));
      }
      if (static_cast<int>(reports_.size()) >= run_.report_batch && !flush()) return false;
    }
    return true;
  }

  // §2.8 for a job entry: each member's receipts, one at a time, so that a job's receipts are
  // never all held in memory at once (deterministic keys; what the ledger records as uploaded is
  // not sent again). A sink that takes one file per document gets them merged into one PDF
  // (workflow/receipts). A receipt that cannot be had now is a warning: the entry is posted, and
  // the items were checked before it was (defer).
  void upload_job_entry_receipts(const erp::Posted& posted, const ledger::AggregateRecord& a) {
    if (!run_.attachments) return;
    auto doc = posting::parse_document_json(a.documentJson);
    if (!doc || doc->attachments.empty()) return;
    const erp::Capabilities caps = sink_.capabilities();
    auto done = ledger_.attachments_done(doc->externalKey);
    const auto attached = [&](const std::string& key) {
      return done && std::find(done->begin(), done->end(), key) != done->end();
    };
    std::vector<posting::Document> batches;
    if (caps.single_attachment) {
      if (done && !done->empty()) return;  // its one file is there
      batches.push_back(*doc);
    } else {
      for (const auto& attachment : doc->attachments) {
        if (attached(attachment.key)) continue;
        posting::Document one;
        one.externalKey = doc->externalKey;
        one.accountingEntryId = doc->accountingEntryId;
        one.attachments = {attachment};
        batches.push_back(std::move(one));
      }
    }
    for (const auto& batch : batches) {
      const FetchedReceipts fetched = fetch_receipts(batch, caps, run_.downloads);
      if (fetched.failure) {
        spdlog::warn("job {}: {} (job entry {} is posted without it)", job_.id, fetched.failure->message,
                     doc->externalKey);
        continue;
      }
      const UploadResult up = upload_receipts(sink_, ledger_, job_.id, posted, batch, fetched.files);
      for (const auto& f : up.failed)
        spdlog::warn("job {}: receipt not attached to job entry {}: {}", job_.id, posted.externalId, f);
    }
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
    queued_.insert(report.id);
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
    std::vector<size_t> unsent;
    for (size_t i = begin; i < end; ++i) unsent.push_back(i);
    const pleo::ClientOptions& o = pleo_.options();
    pleo::Backoff backoff(o.retry, o.clock ? *o.clock : pleo::system_clock(), o.random);
    for (;;) {
      std::vector<pleo::JobItemUpdate> batch;
      for (size_t i : unsent) batch.push_back(updates_[i]);
      auto r = single_attempt().update_job_items(job_.id, batch);
      if (r) {
        std::set<std::string> rejected;
        for (const auto& e : r->errors) {
          rejected.insert(e.accountingEntryId);
          spdlog::warn("job {}: Pleo refused the status of {}: {} {}", job_.id, e.accountingEntryId, e.type, e.message);
        }
        for (size_t i : unsent) {
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
      if (maybe_applied && !drop_applied(unsent)) return false;
      if (unsent.empty()) return true;
    }
  }

  // After a PUT that may have been applied: the items Pleo now holds final are not sent again;
  // those holding the status we sent are recorded as reported.
  bool drop_applied(std::vector<size_t>& unsent) {
    std::map<std::string, std::string> final_status;
    auto st = pleo_.for_each_job_item_page(job_.id, std::nullopt, [&](std::vector<model::ExportJobItem>& page) {
      for (const auto& item : page)
        if (item.status == "successful" || item.status == "failed") final_status[item.accountingEntryId] = item.status;
      return true;
    });
    if (!st) return stop("reading job items after an unanswered status update: " + st.error().to_string());
    std::vector<size_t> left;
    for (size_t i : unsent) {
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
    unsent = std::move(left);
    return true;
  }

  // The client for calls that must not be repeated blindly (send_started, report_batch): no
  // retry of its own, and no silent re-send by libcurl either (fresh_connection).
  pleo::Client& single_attempt() {
    if (!single_attempt_) {
      pleo::ClientOptions o = pleo_.options();
      o.retry.max_attempts = 1;
      o.transport.fresh_connection = true;
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
  struct Deferred {
    std::string id;
    std::vector<posting::Document> documents;
  };

  std::set<std::string> to_process_;
  std::set<std::string> seen_;
  std::set<std::string> queued_;  // items with a status queued in this run
  bool one_entry_per_job_ = false;
  std::vector<Deferred> deferred_;  // §2.4 mode 3: items waiting for their job entry
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
      if (!record || !record->has_value() || !(*record)->claim_is_ours()) {
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
