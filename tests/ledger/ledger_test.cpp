// The ledger (engine/src/ledger): state transitions and their order, resume queries, re-export
// detection, schema migration, and storage faults (read-only, full) as clean errors.
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "ledger/ledger.hpp"
#include "ledger_test_util.hpp"
#include "posting/builder.hpp"

using lb::ledger::Failure;
using lb::ledger::Ledger;
using lb::ledger::Options;
using lb::ledger::PostedBy;
using lb::ledger::State;
using lb::testing::journal;
using lb::testing::ScratchDir;

namespace {

// A clock that ticks one second per call: timestamps are distinct and ordered.
Options ticking() {
  Options o;
  o.clock = [n = 0]() mutable {
    const int t = n++;
    return fmt::format("2026-01-01T{:02}:{:02}:{:02}.000Z", t / 3600, t / 60 % 60, t % 60);
  };
  return o;
}

std::unique_ptr<Ledger> open_ok(const std::string& path, Options options = ticking()) {
  auto l = Ledger::open(path, std::move(options));
  INFO((l ? "" : l.error().message));
  REQUIRE(l.ok());
  return std::move(l).value();
}

void require_ok(const lb::Status& st) {
  INFO(st.message());
  REQUIRE(st.ok());
}

std::string require_error(const lb::Status& st) {
  REQUIRE_FALSE(st.ok());
  return st.message();
}

State entry_state(Ledger& l, const std::string& job, const std::string& id) {
  auto e = l.entry(job, id);
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  return (*e)->state;
}

lb::posting::Document payment_of(const std::string& id) {
  auto d = journal(id, 40000, "2000", "5810");
  d.kind = lb::posting::DocumentKind::ap_payment;
  d.externalKey = id + "/payment";
  d.vendor = "V1001";
  return d;
}

}  // namespace

TEST_CASE("ledger: an entry goes decided -> posting -> posted -> reported", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  CHECK(l->schema_version() == lb::ledger::kSchemaVersion);
  require_ok(l->record_job("job-1", "company-1"));

  auto invoice = journal("e1");
  invoice.kind = lb::posting::DocumentKind::ap_invoice;
  invoice.vendor = "V1001";
  require_ok(l->record_decided("job-1", "e1", R"({"status":"decided"})", {invoice, payment_of("e1")}));
  CHECK(entry_state(*l, "job-1", "e1") == State::decided);

  require_ok(l->mark_posting("job-1", "e1"));
  CHECK(entry_state(*l, "job-1", "e1") == State::posting);
  require_ok(l->mark_posted("job-1", "e1", "INV-000001", "https://erp/INV-000001"));
  // Half of the item is in the ERP: still in flight.
  CHECK(entry_state(*l, "job-1", "e1") == State::posting);
  require_ok(l->mark_posting("job-1", "e1/payment"));
  require_ok(l->mark_posted("job-1", "e1/payment", "PAY-000002"));
  CHECK(entry_state(*l, "job-1", "e1") == State::posted);

  require_ok(l->mark_reported("job-1", "e1", "successful", "INV-000001"));
  auto e = l->entry("job-1", "e1");
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  const auto& rec = **e;
  CHECK(rec.state == State::reported);
  CHECK(rec.reportedStatus == "successful");
  CHECK(rec.reportedExternalId == "INV-000001");
  CHECK(rec.outcomeJson == R"({"status":"decided"})");
  REQUIRE(rec.documents.size() == 2);
  CHECK(rec.documents[0].externalKey == "e1");
  CHECK(rec.documents[0].externalId == "INV-000001");
  CHECK(rec.documents[0].url == "https://erp/INV-000001");
  CHECK(rec.documents[0].postedBy == PostedBy::sink);
  CHECK(rec.documents[0].attempts == 1);
  CHECK(rec.documents[0].documentJson == lb::posting::document_json(invoice));
  CHECK(rec.documents[0].documentHash == lb::posting::document_hash(invoice));
  CHECK(rec.documents[1].kind == "ap_payment");
  CHECK(rec.documents[1].url == std::nullopt);
  CHECK(rec.documents[0].postingAt < rec.documents[0].postedAt);

  // Reporting the same status again is a no-op; a different one is refused (one final status).
  require_ok(l->mark_reported("job-1", "e1", "successful"));
  CHECK_THAT(require_error(l->mark_reported("job-1", "e1", "failed")),
             Catch::Contains("already reported as successful"));
}

TEST_CASE("ledger: order constraints are enforced and named", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));

  // No job, no decision.
  CHECK_THAT(require_error(l->record_decided("job-1", "e1", "{}", {journal("e1")})),
             Catch::Contains("job job-1 is not recorded"));
  require_ok(l->record_job("job-1", "company-1"));
  CHECK_THAT(require_error(l->record_job("job-1", "company-2")), Catch::Contains("recorded for company company-1"));
  require_ok(l->record_decided("job-1", "e1", "{}", {journal("e1")}));

  SECTION("posted needs posting first") {
    const auto message = require_error(l->mark_posted("job-1", "e1", "GL-1"));
    CHECK_THAT(message, Catch::Contains("ledger " + dir.file("ledger.sqlite") + ": mark posted:"));
    CHECK_THAT(message, Catch::Contains("is decided") && Catch::Contains("mark_posting before the ERP call"));
    CHECK(entry_state(*l, "job-1", "e1") == State::decided);
    CHECK_FALSE(l->fault());  // a caller's mistake does not stop the ledger
  }
  SECTION("found by lookup may skip posting") {
    require_ok(l->mark_posted("job-1", "e1", "GL-1", "", PostedBy::lookup));
    CHECK(entry_state(*l, "job-1", "e1") == State::posted);
    CHECK_THAT(require_error(l->mark_posting("job-1", "e1")), Catch::Contains("already posted as GL-1"));
    CHECK_THAT(require_error(l->mark_posted("job-1", "e1", "GL-2", "", PostedBy::lookup)),
               Catch::Contains("already posted as GL-1, not GL-2"));
    require_ok(l->mark_posted("job-1", "e1", "GL-1", "", PostedBy::lookup));  // same answer: no-op
  }
  SECTION("reported needs a final state") {
    CHECK_THAT(require_error(l->mark_reported("job-1", "e1", "successful")), Catch::Contains("needs posted"));
    CHECK_THAT(require_error(l->mark_reported("job-1", "e1", "in_progress")),
               Catch::Contains("not a final item status"));
    require_ok(l->mark_posting("job-1", "e1"));
    CHECK_THAT(require_error(l->mark_reported("job-1", "e1", "successful")), Catch::Contains("is posting"));
  }
  SECTION("unknown documents and entries") {
    CHECK_THAT(require_error(l->mark_posting("job-1", "nope")), Catch::Contains("no document nope in job job-1"));
    CHECK_THAT(require_error(l->mark_failed("job-1", "nope", {"unexpected_failure", "x"})),
               Catch::Contains("no entry nope"));
  }
  SECTION("nothing is posted again after the entry was reported") {
    require_ok(l->mark_failed("job-1", "e1", {"account_unknown", "Account 6010 does not exist"}));
    require_ok(l->mark_reported("job-1", "e1", "failed"));
    CHECK_THAT(require_error(l->mark_posting("job-1", "e1")), Catch::Contains("already reported"));
  }
  SECTION("an external key is used once per job") {
    auto other = journal("e2");
    other.externalKey = "e1";
    other.accountingEntryId = "e2";
    CHECK_THAT(require_error(l->record_decided("job-1", "e2", "{}", {other})),
               Catch::Contains("external key e1 is already used by entry e1"));
    // The refused decision left nothing behind (one transaction).
    auto e = l->entry("job-1", "e2");
    REQUIRE(e.ok());
    CHECK_FALSE(e->has_value());
  }
}

TEST_CASE("ledger: failures, retries and uncertain documents", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  require_ok(l->record_job("job-1", "c"));
  auto invoice = journal("e1");
  require_ok(l->record_decided("job-1", "e1", "{}", {invoice, payment_of("e1")}));
  require_ok(l->mark_posting("job-1", "e1"));

  SECTION("an uncertain document blocks failing the entry") {
    CHECK_THAT(require_error(l->mark_failed("job-1", "e1", {"accounting_system_timeout", "timed out"})),
               Catch::Contains("document e1 of entry e1 is uncertain (posting)"));
    CHECK(entry_state(*l, "job-1", "e1") == State::posting);
  }
  SECTION("the refused document fails, the unsent one too, and the entry reports failed") {
    require_ok(l->mark_failed("job-1", "e1", {"accounting_system_validation_failure", "period closed"}, "e1"));
    auto e = l->entry("job-1", "e1");
    REQUIRE(e.ok());
    CHECK((*e)->state == State::failed);
    CHECK((*e)->failureType == "accounting_system_validation_failure");
    CHECK((*e)->documents[0].state == State::failed);
    CHECK((*e)->documents[1].state == State::failed);
    CHECK((*e)->documents[1].failureMessage == "period closed");
    CHECK_THAT(require_error(l->mark_reported("job-1", "e1", "successful")), Catch::Contains("needs posted"));
    require_ok(l->mark_reported("job-1", "e1", "failed"));
  }
  SECTION("a transient failure not yet reported may be retried; the failure is cleared") {
    require_ok(l->mark_failed("job-1", "e1", {"accounting_system_unreachable", "down"}, "e1"));
    require_ok(l->mark_posting("job-1", "e1"));
    auto e = l->entry("job-1", "e1");
    REQUIRE(e.ok());
    CHECK((*e)->state == State::posting);
    CHECK_FALSE((*e)->failureType);
    CHECK((*e)->documents[0].attempts == 2);
  }
  SECTION("a posted invoice stays posted when its payment is refused") {
    require_ok(l->mark_posted("job-1", "e1", "INV-1"));
    require_ok(l->mark_posting("job-1", "e1/payment"));
    require_ok(l->mark_failed("job-1", "e1", {"vendor_unknown", "blocked"}, "e1/payment"));
    auto e = l->entry("job-1", "e1");
    REQUIRE(e.ok());
    CHECK((*e)->state == State::failed);
    CHECK((*e)->documents[0].state == State::posted);
    CHECK((*e)->documents[0].externalId == "INV-1");
    CHECK((*e)->documents[1].state == State::failed);
  }
}

TEST_CASE("ledger: a restart finds uncertain documents and resumes a job without a second started", "[ledger]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("ledger.sqlite");
  {
    auto l = open_ok(path);
    require_ok(l->record_job("job-1", "c"));
    require_ok(l->mark_job_claiming("job-1"));
    require_ok(l->mark_job_claimed("job-1"));
    for (const char* id : {"a", "b", "c", "d"}) require_ok(l->record_decided("job-1", id, "{}", {journal(id)}));
    require_ok(l->record_decided("job-1", "skipped", R"({"status":"skipped"})", {}));
    require_ok(l->mark_posting("job-1", "a"));
    require_ok(l->mark_posted("job-1", "a", "GL-1"));
    require_ok(l->mark_posting("job-1", "b"));  // the crash happens during this ERP call
    require_ok(l->mark_posting("job-1", "c"));
    require_ok(l->mark_posted("job-1", "c", "GL-3"));
    require_ok(l->mark_reported("job-1", "c", "successful"));
  }  // "crash": the object goes away; every commit above is on disk

  auto l = open_ok(path);
  auto job = l->job("job-1");
  REQUIRE(job.ok());
  REQUIRE(job->has_value());
  CHECK((*job)->claimedAt.has_value());  // resume: do not send `started` again
  CHECK_FALSE((*job)->finalEvent);

  auto uncertain = l->uncertain("job-1");
  REQUIRE(uncertain.ok());
  REQUIRE(uncertain->size() == 1);
  CHECK((*uncertain)[0].externalKey == "b");
  CHECK((*uncertain)[0].documentJson == lb::posting::document_json(journal("b")));
  auto all = l->uncertain();
  REQUIRE(all.ok());
  CHECK(all->size() == 1);

  auto by_state = [&](State s) {
    auto r = l->entries("job-1", s);
    REQUIRE(r.ok());
    std::string ids;
    for (const auto& e : *r) ids += e.accountingEntryId + " ";
    return ids;
  };
  CHECK(by_state(State::decided) == "d skipped ");
  CHECK(by_state(State::posting) == "b ");
  CHECK(by_state(State::posted) == "a ");
  CHECK(by_state(State::reported) == "c ");
  auto everything = l->entries("job-1");
  REQUIRE(everything.ok());
  CHECK(everything->size() == 5);

  // Re-deciding the same documents on resume is a no-op; a skipped item reports without posting.
  require_ok(l->record_decided("job-1", "a", "{}", {journal("a")}));
  CHECK(entry_state(*l, "job-1", "a") == State::posted);
  require_ok(l->mark_reported("job-1", "skipped", "successful"));

  // Final event: once, after the claim.
  require_ok(l->mark_job_final_sent("job-1", "completed_with_errors"));
  require_ok(l->mark_job_final_sent("job-1", "completed_with_errors"));
  CHECK_THAT(require_error(l->mark_job_final_sent("job-1", "completed")),
             Catch::Contains("already sent its final event completed_with_errors"));
  require_ok(l->record_job("job-2", "c"));
  CHECK_THAT(require_error(l->mark_job_final_sent("job-2", "failed")), Catch::Contains("never claimed"));
  CHECK_THAT(require_error(l->mark_job_claimed("job-3")), Catch::Contains("job job-3 is not recorded"));
}

// Which in_progress jobs are ours to resume (domain brief §1.1, §1.3; DESIGN §5). Bug fixed:
// the ledger could not record that Pleo refused our `started`, so the intent written before it
// stayed and the next run took the other integration's job over.
TEST_CASE("ledger: a claim Pleo refused, or that never reached Pleo, is not ours to resume", "[ledger]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("ledger.sqlite");
  {
    auto l = open_ok(path);
    // Accepted (202): ours.
    require_ok(l->record_job("accepted", "c"));
    require_ok(l->mark_job_claiming("accepted"));
    require_ok(l->mark_job_claimed("accepted"));
    // Sent, no answer recorded (a crash, or the answer was lost): ours until Pleo says otherwise.
    require_ok(l->record_job("in-flight", "c"));
    require_ok(l->mark_job_claiming("in-flight"));
    // Refused (422 to a `started` no earlier attempt of ours could have made moot, §1.3).
    require_ok(l->record_job("refused", "c"));
    require_ok(l->mark_job_claiming("refused"));
    require_ok(l->mark_job_claim_refused("refused"));
    require_ok(l->mark_job_claim_refused("refused"));  // idempotent
    // Never reached Pleo (every attempt refused before it was applied, e.g. 429): withdrawn.
    require_ok(l->record_job("withdrawn", "c"));
    require_ok(l->mark_job_claiming("withdrawn"));
    require_ok(l->withdraw_job_claim("withdrawn"));
    // Seen, never claimed.
    require_ok(l->record_job("seen", "c"));

    // A refusal cannot undo a claim Pleo accepted, nor can a withdrawal.
    CHECK_THAT(require_error(l->mark_job_claim_refused("accepted")), Catch::Contains("Pleo accepted our claim"));
    CHECK_THAT(require_error(l->withdraw_job_claim("accepted")), Catch::Contains("Pleo accepted our claim"));
    // A refused job never gets a final event from us.
    CHECK_THAT(require_error(l->mark_job_final_sent("refused", "failed")), Catch::Contains("never claimed"));
    CHECK_THAT(require_error(l->mark_job_claim_refused("nope")), Catch::Contains("job nope is not recorded"));
    CHECK_THAT(require_error(l->withdraw_job_claim("nope")), Catch::Contains("job nope is not recorded"));
  }
  auto l = open_ok(path);  // what the next run sees
  auto job = [&](const char* id) {
    auto j = l->job(id);
    REQUIRE(j.ok());
    REQUIRE(j->has_value());
    return **j;
  };
  CHECK(job("accepted").claim_is_ours());
  CHECK(job("in-flight").claim_is_ours());
  CHECK_FALSE(job("in-flight").claimRefusedAt);
  CHECK_FALSE(job("refused").claim_is_ours());
  CHECK(job("refused").claimRefusedAt.has_value());
  CHECK(job("refused").claimingAt.has_value());  // the history stays: we did try
  CHECK_FALSE(job("withdrawn").claim_is_ours());
  CHECK_FALSE(job("withdrawn").claimingAt);
  CHECK_FALSE(job("seen").claim_is_ours());
}

TEST_CASE("ledger: a changed decision replaces the old one only while nothing was sent", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  require_ok(l->record_job("job-1", "c"));
  require_ok(l->record_decided("job-1", "e1", "{\"v\":1}", {journal("e1", 100)}));
  require_ok(l->record_decided("job-1", "e1", "{\"v\":2}", {journal("e1", 200)}));
  auto e = l->entry("job-1", "e1");
  REQUIRE(e.ok());
  CHECK((*e)->outcomeJson == "{\"v\":2}");
  CHECK((*e)->documents.at(0).documentHash == lb::posting::document_hash(journal("e1", 200)));

  require_ok(l->mark_posting("job-1", "e1"));
  CHECK_THAT(require_error(l->record_decided("job-1", "e1", "{\"v\":3}", {journal("e1", 300)})),
             Catch::Contains("was already sent to the ERP (posting)"));
  require_ok(l->record_decided("job-1", "e1", "{\"v\":2}", {journal("e1", 200)}));  // same: fine
}

TEST_CASE("ledger: re-export detection finds what an earlier job posted", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  for (const char* job : {"job-1", "job-2", "job-3"}) require_ok(l->record_job(job, "c"));

  require_ok(l->record_decided("job-1", "e1", "{}", {journal("e1")}));
  require_ok(l->mark_posting("job-1", "e1"));
  require_ok(l->mark_posted("job-1", "e1", "GL-7", "u"));
  require_ok(l->mark_reported("job-1", "e1", "successful"));
  // e2 failed in job 1 without reaching the ERP: not a prior posting.
  require_ok(l->record_decided("job-1", "e2", "{}", {journal("e2")}));
  require_ok(l->mark_failed("job-1", "e2", {"account_unknown", "no account"}));

  auto none_in_same_job = l->posted_in_earlier_job("e1", "job-1");
  REQUIRE(none_in_same_job.ok());
  CHECK_FALSE(none_in_same_job->has_value());
  auto never_posted = l->posted_in_earlier_job("e2", "job-2");
  REQUIRE(never_posted.ok());
  CHECK_FALSE(never_posted->has_value());

  auto prior = l->posted_in_earlier_job("e1", "job-2");
  REQUIRE(prior.ok());
  REQUIRE(prior->has_value());
  CHECK((*prior)->jobId == "job-1");
  REQUIRE((*prior)->documents.size() == 1);
  CHECK((*prior)->documents[0].externalId == "GL-7");

  // Job 2 reuses the earlier document (skip-and-succeed, §4.3.3); job 3 then finds job 2's,
  // the newest, with the same external id.
  require_ok(l->record_decided("job-2", "e1", "{}", {journal("e1")}));
  require_ok(l->mark_posted("job-2", "e1", "GL-7", "u", PostedBy::earlier_job));
  auto again = l->posted_in_earlier_job("e1", "job-3");
  REQUIRE(again.ok());
  REQUIRE(again->has_value());
  CHECK((*again)->jobId == "job-2");
  CHECK((*again)->documents.at(0).externalId == "GL-7");
  CHECK((*again)->documents.at(0).postedBy == PostedBy::earlier_job);
}

// An AP card purchase is two documents: the invoice (key e1) and its payment (e1/payment).
static std::vector<lb::posting::Document> invoice_and_payment(const std::string& id) {
  lb::posting::Document invoice = lb::testing::ap_invoice(id);
  lb::posting::Document payment = journal(id, 40000, "2000", "5810");
  payment.kind = lb::posting::DocumentKind::ap_payment;
  payment.externalKey = id + "/payment";
  return {invoice, payment};
}

TEST_CASE("ledger §4.3.3: an entry counts as posted by an earlier job only when all its documents were",
          "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  for (const char* job : {"job-1", "job-2", "job-3"}) require_ok(l->record_job(job, "c"));

  // Job 1: the invoice reached the ERP, the ERP refused the payment; the item failed.
  require_ok(l->record_decided("job-1", "e1", "{}", invoice_and_payment("e1")));
  require_ok(l->mark_posting("job-1", "e1"));
  require_ok(l->mark_posted("job-1", "e1", "INV-1", "u1"));
  require_ok(l->mark_posting("job-1", "e1/payment"));
  require_ok(l->mark_failed("job-1", "e1", {"accounting_system_validation_failure", "closed period"}, "e1/payment"));

  auto prior = l->posted_in_earlier_job("e1", "job-2");
  REQUIRE(prior.ok());
  CHECK_FALSE(prior->has_value());  // half an entry is not the entry posted
  auto partial = l->earlier_posted_documents("e1", "job-2");
  REQUIRE(partial.ok());
  REQUIRE(partial->size() == 1);
  CHECK(partial->at(0).externalKey == "e1");
  CHECK(partial->at(0).externalId == "INV-1");
  CHECK(partial->at(0).jobId == "job-1");
  CHECK(l->earlier_posted_documents("e1", "job-1")->empty());  // the current job's own do not count

  // Job 2 (the re-export) reuses the invoice and posts the payment: now the entry is posted.
  require_ok(l->record_decided("job-2", "e1", "{}", invoice_and_payment("e1")));
  require_ok(l->mark_posted("job-2", "e1", "INV-1", "u1", PostedBy::earlier_job));
  auto half = l->posted_in_earlier_job("e1", "job-3");
  REQUIRE(half.ok());
  CHECK_FALSE(half->has_value());  // job 2 has the invoice only, so far
  require_ok(l->mark_posting("job-2", "e1/payment"));
  require_ok(l->mark_posted("job-2", "e1/payment", "PAY-1"));
  auto full = l->posted_in_earlier_job("e1", "job-3");
  REQUIRE(full.ok());
  REQUIRE(full->has_value());
  CHECK((*full)->jobId == "job-2");
  REQUIRE((*full)->documents.size() == 2);
  CHECK((*full)->documents[0].externalId == "INV-1");
  CHECK((*full)->documents[1].externalId == "PAY-1");
  // Per key, the newest: the invoice as job 2 recorded it (reused), the payment.
  auto both = l->earlier_posted_documents("e1", "job-3");
  REQUIRE(both.ok());
  REQUIRE(both->size() == 2);
  CHECK(both->at(0).jobId == "job-2");
  CHECK(both->at(0).postedBy == PostedBy::earlier_job);
  CHECK(both->at(1).externalKey == "e1/payment");
}

TEST_CASE("ledger DESIGN §5: documents another job left uncertain are listed per entry", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  for (const char* job : {"job-1", "job-2"}) require_ok(l->record_job(job, "c"));
  require_ok(l->record_decided("job-1", "e1", "{}", invoice_and_payment("e1")));
  require_ok(l->mark_posting("job-1", "e1"));  // then job 1 stopped, and Pleo expired it
  require_ok(l->record_decided("job-1", "e2", "{}", {journal("e2")}));
  require_ok(l->mark_posting("job-1", "e2"));

  auto other = l->uncertain_of_entry("e1", "job-2");
  REQUIRE(other.ok());
  REQUIRE(other->size() == 1);
  CHECK(other->at(0).jobId == "job-1");
  CHECK(other->at(0).externalKey == "e1");
  CHECK(l->uncertain_of_entry("e1", "job-1")->empty());  // the job's own: recover() handles those
  CHECK(l->uncertain_of_entry("e3", "job-2")->empty());

  // Found in the ERP: recorded in job 1, where it was left; then it is an earlier posting.
  require_ok(l->mark_posted("job-1", "e1", "INV-9", "", PostedBy::lookup));
  CHECK(l->uncertain_of_entry("e1", "job-2")->empty());
  CHECK(l->earlier_posted_documents("e1", "job-2")->size() == 1);
  CHECK_FALSE(l->posted_in_earlier_job("e1", "job-2")->has_value());  // the payment never went out
}

TEST_CASE("ledger: attachment keys are recorded once per document", "[ledger]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  require_ok(l->mark_attachment_uploaded("job-1", "e1", "e1/1"));
  require_ok(l->mark_attachment_uploaded("job-1", "e1", "e1/0"));
  require_ok(l->mark_attachment_uploaded("job-2", "e1", "e1/0"));  // a later job: still one
  require_ok(l->mark_attachment_uploaded("job-1", "e2", "e2/0"));
  auto done = l->attachments_done("e1");
  REQUIRE(done.ok());
  CHECK(*done == std::vector<std::string>{"e1/0", "e1/1"});
  CHECK_FALSE(l->mark_attachment_uploaded("job-1", "e1", "").ok());
}

// The v1 schema exactly as build 1 wrote it: a frozen copy, so the test keeps checking the
// real upgrade path even after ledger.cpp gains more steps.
static const char* kV1Schema = R"sql(
CREATE TABLE jobs (job_id TEXT PRIMARY KEY, company_id TEXT NOT NULL, first_seen_at TEXT NOT NULL,
  claiming_at TEXT, claimed_at TEXT, final_event TEXT, final_sent_at TEXT);
CREATE TABLE entries (seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL, accounting_entry_id TEXT NOT NULL,
  state TEXT NOT NULL, outcome_json TEXT NOT NULL, failure_type TEXT, failure_message TEXT, reported_status TEXT,
  reported_external_id TEXT, decided_at TEXT NOT NULL, reported_at TEXT, updated_at TEXT NOT NULL,
  UNIQUE (job_id, accounting_entry_id));
CREATE TABLE documents (job_id TEXT NOT NULL, accounting_entry_id TEXT NOT NULL, external_key TEXT NOT NULL,
  idx INTEGER NOT NULL, kind TEXT NOT NULL, document_json TEXT NOT NULL, document_hash TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, external_id TEXT, url TEXT, posted_by TEXT,
  failure_type TEXT, failure_message TEXT, decided_at TEXT NOT NULL, posting_at TEXT, posted_at TEXT,
  updated_at TEXT NOT NULL, PRIMARY KEY (job_id, external_key),
  FOREIGN KEY (job_id, accounting_entry_id) REFERENCES entries (job_id, accounting_entry_id));
INSERT INTO jobs VALUES ('old-job', 'c', '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', '2025-01-01T00:00:02Z',
  'completed', '2025-01-01T00:10:00Z');
INSERT INTO entries (job_id, accounting_entry_id, state, outcome_json, reported_status, decided_at, updated_at)
  VALUES ('old-job', 'e1', 'reported', '{}', 'successful', '2025-01-01T00:00:03Z', '2025-01-01T00:00:09Z');
INSERT INTO documents (job_id, accounting_entry_id, external_key, idx, kind, document_json, document_hash, state,
  attempts, external_id, posted_by, decided_at, posting_at, posted_at, updated_at)
  VALUES ('old-job', 'e1', 'e1', 0, 'journal_entry', '{}', 'h', 'posted', 1, 'GL-000042', 'sink',
  '2025-01-01T00:00:03Z', '2025-01-01T00:00:04Z', '2025-01-01T00:00:05Z', '2025-01-01T00:00:05Z');
PRAGMA user_version = 1;
)sql";

static void write_raw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

TEST_CASE("ledger: a v1 file is migrated on open and keeps its history", "[ledger]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("v1.sqlite");
  write_raw(path, kV1Schema);

  auto l = open_ok(path);
  CHECK(l->schema_version() == lb::ledger::kSchemaVersion);
  // v1 data is there and the v2 features work on it.
  auto prior = l->posted_in_earlier_job("e1", "new-job");
  REQUIRE(prior.ok());
  REQUIRE(prior->has_value());
  CHECK((*prior)->documents.at(0).externalId == "GL-000042");
  require_ok(l->mark_attachment_uploaded("old-job", "e1", "e1/0"));
  auto done = l->attachments_done("e1");
  REQUIRE(done.ok());
  CHECK(done->size() == 1);
  l.reset();

  // Opening again does not migrate twice.
  auto again = open_ok(path);
  CHECK(again->schema_version() == lb::ledger::kSchemaVersion);
  // v3 (§2.4 mode 3): the old document books nothing in a job entry; a new job can have one.
  auto old = again->entry("old-job", "e1");
  REQUIRE(old.ok());
  CHECK_FALSE((*old)->documents.at(0).aggregateKey);
  require_ok(again->record_job("new-job", "c"));
  require_ok(again->record_decided("new-job", "e2", "{}", {journal("e2")}));
  std::vector<lb::posting::Document> docs{journal("e2")};
  const auto agg = lb::posting::aggregate_journal_entries(docs, "new-job", "2025-06-10", "job");
  require_ok(again->record_aggregate("new-job", agg.at(0), {"e2"}));
  require_ok(again->mark_aggregate_posting("new-job", "job:new-job:DKK"));
  require_ok(again->mark_aggregate_posted("new-job", "job:new-job:DKK", "GL-1"));
  CHECK(entry_state(*again, "new-job", "e2") == State::posted);
}

// v2 as build 2 wrote it (v1 plus this step), frozen like kV1Schema, with a claim intent that
// never got its answer recorded.
static const char* kV2Step = R"sql(
CREATE TABLE attachments (external_key TEXT NOT NULL, attachment_key TEXT NOT NULL, job_id TEXT NOT NULL,
  uploaded_at TEXT NOT NULL, PRIMARY KEY (external_key, attachment_key));
CREATE INDEX documents_by_entry ON documents (accounting_entry_id, external_id);
CREATE INDEX documents_by_state ON documents (state);
INSERT INTO jobs (job_id, company_id, first_seen_at, claiming_at) VALUES ('in-flight', 'c', '2025-02-01T00:00:00Z',
  '2025-02-01T00:00:01Z');
PRAGMA user_version = 2;
)sql";

TEST_CASE("ledger: a v2 file gains the claim refusal and keeps its claims", "[ledger]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("v2.sqlite");
  write_raw(path, kV1Schema);
  write_raw(path, kV2Step);

  auto l = open_ok(path);
  CHECK(l->schema_version() == lb::ledger::kSchemaVersion);
  auto old = l->job("old-job");
  REQUIRE(old.ok());
  REQUIRE(old->has_value());
  CHECK((*old)->claim_is_ours());
  CHECK((*old)->finalEvent == "completed");
  auto in_flight = l->job("in-flight");
  REQUIRE(in_flight.ok());
  REQUIRE(in_flight->has_value());
  // An intent from before the refusal was recorded is still taken for ours (as build 2 did):
  // nothing in the file says otherwise.
  CHECK((*in_flight)->claim_is_ours());
  CHECK_FALSE((*in_flight)->claimRefusedAt);
  require_ok(l->mark_job_claim_refused("in-flight"));
  in_flight = l->job("in-flight");
  REQUIRE(in_flight.ok());
  CHECK_FALSE((*in_flight)->claim_is_ours());
}

TEST_CASE("ledger: files it cannot use are refused with the file named", "[ledger]") {
  ScratchDir dir("ledger");
  SECTION("a newer schema") {
    const auto path = dir.file("future.sqlite");
    write_raw(path, "CREATE TABLE t (x); PRAGMA user_version = 99;");
    auto l = Ledger::open(path);
    REQUIRE_FALSE(l.ok());
    CHECK_THAT(l.error().message, Catch::Contains(path) && Catch::Contains("schema version 99 is newer"));
  }
  SECTION("not a database") {
    const auto path = dir.file("text.sqlite");
    std::ofstream(path) << "this is not a database, just text that is long enough to have a header ......";
    auto l = Ledger::open(path);
    REQUIRE_FALSE(l.ok());
    CHECK_THAT(l.error().message, Catch::Contains(path) && Catch::Contains("not a database"));
  }
  SECTION("a read-only open of an old file cannot migrate it") {
    const auto path = dir.file("v1.sqlite");
    write_raw(path, kV1Schema);
    Options o;
    o.read_only = true;
    auto l = Ledger::open(path, o);
    REQUIRE_FALSE(l.ok());
    CHECK_THAT(l.error().message,
               Catch::Contains(fmt::format("needs migrating to {}", lb::ledger::kSchemaVersion)));
  }
}

TEST_CASE("ledger: a read-only ledger stops cleanly", "[ledger]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("ledger.sqlite");
  {
    auto l = open_ok(path);
    require_ok(l->record_job("job-1", "c"));
    require_ok(l->record_decided("job-1", "e1", "{}", {journal("e1")}));
  }

  SECTION("opened read-only: reads work, the first write stops it, later writes are refused at once") {
    Options o = ticking();
    o.read_only = true;
    auto l = open_ok(path, o);
    auto e = l->entry("job-1", "e1");
    REQUIRE(e.ok());
    CHECK(e->has_value());
    CHECK_FALSE(l->fault());
    const auto message = require_error(l->mark_posting("job-1", "e1"));
    CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("mark posting") && Catch::Contains("readonly"));
    CHECK_THAT(message, Catch::Contains("stop the job cleanly"));
    REQUIRE(l->fault().has_value());
    CHECK_THAT(require_error(l->mark_posted("job-1", "e1", "GL-1")), Catch::Contains("refused: the ledger stopped"));
  }

  SECTION("the file's permissions forbid writing") {
    if (::geteuid() == 0) {
      WARN("running as root: file permissions do not stop root, only the read-only open is tested");
      return;
    }
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::group_read);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    auto l = Ledger::open(path, ticking());
    REQUIRE_FALSE(l.ok());
    CHECK_THAT(l.error().message, Catch::Contains(path) && Catch::Contains("read-only"));
  }
}

TEST_CASE("ledger: a full disk stops the ledger and loses nothing already committed", "[ledger]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("ledger.sqlite");
  {
    auto l = open_ok(path);
    require_ok(l->record_job("job-1", "c"));
    require_ok(l->record_decided("job-1", "e1", "{}", {journal("e1")}));
  }
  Options o = ticking();
  o.max_page_count = 1;  // SQLite raises it to the current size: any growth is "disk full"
  auto l = open_ok(path, o);
  const std::string big(64 * 1024, 'x');
  const auto message = require_error(l->record_decided("job-1", "e2", "{\"pad\":\"" + big + "\"}", {journal("e2")}));
  CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("record decided") &&
                          Catch::Contains("full", Catch::CaseSensitive::No));
  REQUIRE(l->fault().has_value());
  CHECK_THAT(*l->fault(), Catch::Contains("full", Catch::CaseSensitive::No));
  // Small writes that might still fit are refused too: the workflow must stop, not limp on.
  CHECK_THAT(require_error(l->mark_posting("job-1", "e1")), Catch::Contains("refused: the ledger stopped"));
  l.reset();

  auto reopened = open_ok(path);
  auto e1 = reopened->entry("job-1", "e1");
  REQUIRE(e1.ok());
  CHECK(e1->has_value());
  CHECK((*e1)->state == State::decided);
  auto e2 = reopened->entry("job-1", "e2");
  REQUIRE(e2.ok());
  CHECK_FALSE(e2->has_value());  // the failed transaction left nothing half-written
}

// --- §2.4 mode 3: one journal entry per export job -----------------------------------------
// The job's entry is one ERP document for many accountingEntryIds. Its intent (key and
// members) is committed before the ERP call and its result right after, and every member
// follows it: posting together, posted together with the job entry's external id, failed
// together when the ERP refuses it (DESIGN §5; domain brief §2.4, §4.3).

namespace {

lb::posting::Document job_entry(const std::vector<std::string>& ids, const std::string& job = "job-1") {
  std::vector<lb::posting::Document> docs;
  for (const auto& id : ids) docs.push_back(journal(id));
  auto merged = lb::posting::aggregate_journal_entries(docs, job, "2025-06-10", "Pleo export job " + job);
  REQUIRE(merged.size() == 1);
  return merged[0];
}

std::string members_of(Ledger& l, const std::string& job, const std::string& key) {
  auto a = l.aggregate(job, key);
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  std::string s;
  for (const auto& m : (*a)->members) s += m + " ";
  return s;
}

}  // namespace

TEST_CASE("ledger: §2.4 mode 3 — a job's entry and its members go decided -> posting -> posted together",
          "[ledger][one_entry_per_job]") {
  ScratchDir dir("ledger");
  const auto path = dir.file("ledger.sqlite");
  const auto agg = job_entry({"e1", "e2"});
  REQUIRE(agg.externalKey == "job:job-1:DKK");
  {
    auto l = open_ok(path);
    require_ok(l->record_job("job-1", "c"));
    for (const char* id : {"e1", "e2", "e3"}) require_ok(l->record_decided("job-1", id, "{}", {journal(id)}));
    require_ok(l->record_aggregate("job-1", agg, {"e1", "e2"}));
    require_ok(l->record_aggregate("job-1", agg, {"e1", "e2"}));  // the same again: a no-op
    CHECK(members_of(*l, "job-1", agg.externalKey) == "e1 e2 ");
    auto rec = l->aggregate("job-1", agg.externalKey);
    REQUIRE(rec.ok());
    CHECK((*rec)->state == State::decided);
    CHECK((*rec)->currency == "DKK");
    CHECK((*rec)->documentHash == lb::posting::document_hash(agg));
    auto e1 = l->entry("job-1", "e1");
    REQUIRE(e1.ok());
    CHECK((*e1)->documents.at(0).aggregateKey == agg.externalKey);
    CHECK_FALSE(l->entry("job-1", "e3").value()->documents.at(0).aggregateKey);

    // A member is posted only through its job entry, and cannot fail on its own.
    CHECK_THAT(require_error(l->mark_posting("job-1", "e1")), Catch::Contains("job:job-1:DKK"));
    CHECK_THAT(require_error(l->mark_posted("job-1", "e1", "GL-1", "", PostedBy::lookup)),
               Catch::Contains("job:job-1:DKK"));
    CHECK_THAT(require_error(l->mark_failed("job-1", "e1", {"account_unknown", "x"})), Catch::Contains("job:job-1:DKK"));
    CHECK_THAT(require_error(l->record_decided("job-1", "e1", "{}", {journal("e1", 999)})),
               Catch::Contains("job:job-1:DKK"));
    // posted by the sink needs the intent first
    CHECK_THAT(require_error(l->mark_aggregate_posted("job-1", agg.externalKey, "GL-9")), Catch::Contains("posting"));

    require_ok(l->mark_aggregate_posting("job-1", agg.externalKey));  // the crash happens during this ERP call
    CHECK(entry_state(*l, "job-1", "e1") == State::posting);
    CHECK(entry_state(*l, "job-1", "e2") == State::posting);
    CHECK(entry_state(*l, "job-1", "e3") == State::decided);
  }
  auto l = open_ok(path);
  // Members are not uncertain documents of their own: recovery looks up the job's entry.
  auto uncertain = l->uncertain("job-1");
  REQUIRE(uncertain.ok());
  CHECK(uncertain->empty());
  auto in_flight = l->aggregates("job-1", State::posting);
  REQUIRE(in_flight.ok());
  REQUIRE(in_flight->size() == 1);
  CHECK((*in_flight)[0].externalKey == "job:job-1:DKK");
  CHECK((*in_flight)[0].attempts == 1);
  CHECK((*in_flight)[0].documentJson == lb::posting::document_json(agg));
  CHECK_THAT(require_error(l->record_aggregate("job-1", job_entry({"e1", "e2", "e3"}), {"e1", "e2", "e3"})),
             Catch::Contains("already sent"));
  CHECK_THAT(require_error(l->mark_reported("job-1", "e1", "successful")), Catch::Contains("posting"));

  require_ok(l->mark_aggregate_posted("job-1", agg.externalKey, "GL-9", "u/GL-9", PostedBy::lookup));
  require_ok(l->mark_aggregate_posted("job-1", agg.externalKey, "GL-9", "", PostedBy::lookup));  // same answer: no-op
  CHECK_THAT(require_error(l->mark_aggregate_posted("job-1", agg.externalKey, "GL-10", "", PostedBy::lookup)),
             Catch::Contains("already posted as GL-9"));
  CHECK_THAT(require_error(l->mark_aggregate_posting("job-1", agg.externalKey)), Catch::Contains("already posted"));
  for (const char* id : {"e1", "e2"}) {
    auto e = l->entry("job-1", id);
    REQUIRE(e.ok());
    CHECK((*e)->state == State::posted);
    const auto& d = (*e)->documents.at(0);
    CHECK(d.state == State::posted);
    CHECK(d.externalId == "GL-9");
    CHECK(d.url == "u/GL-9");
    CHECK(d.postedBy == PostedBy::aggregate);
    require_ok(l->mark_reported("job-1", id, "successful", "GL-9"));
  }
  auto rec = l->aggregate("job-1", agg.externalKey);
  REQUIRE(rec.ok());
  CHECK((*rec)->state == State::posted);
  CHECK((*rec)->externalId == "GL-9");
  CHECK((*rec)->postedBy == PostedBy::lookup);

  // §4.3.3: a later job re-exporting e1 finds the job entry's external id.
  require_ok(l->record_job("job-2", "c"));
  auto prior = l->posted_in_earlier_job("e1", "job-2");
  REQUIRE(prior.ok());
  REQUIRE(prior->has_value());
  CHECK((*prior)->jobId == "job-1");
  CHECK((*prior)->documents.at(0).externalId == "GL-9");
}

TEST_CASE("ledger: §2.4 mode 3 — an ERP refusal of the job's entry fails every member", "[ledger][one_entry_per_job]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  require_ok(l->record_job("job-1", "c"));
  for (const char* id : {"e1", "e2"}) require_ok(l->record_decided("job-1", id, "{}", {journal(id)}));
  const auto agg = job_entry({"e1", "e2"});
  require_ok(l->record_aggregate("job-1", agg, {"e1", "e2"}));
  require_ok(l->mark_aggregate_posting("job-1", agg.externalKey));
  require_ok(l->mark_aggregate_failed("job-1", agg.externalKey, {"accounting_system_validation_failure", "period closed"}));
  for (const char* id : {"e1", "e2"}) {
    auto e = l->entry("job-1", id);
    REQUIRE(e.ok());
    CHECK((*e)->state == State::failed);
    CHECK((*e)->failureType == "accounting_system_validation_failure");
    CHECK((*e)->failureMessage == "period closed");
    CHECK((*e)->documents.at(0).state == State::failed);
    require_ok(l->mark_reported("job-1", id, "failed"));
  }
  auto rec = l->aggregate("job-1", agg.externalKey);
  REQUIRE(rec.ok());
  CHECK((*rec)->state == State::failed);
  CHECK((*rec)->failureMessage == "period closed");
  CHECK_THAT(require_error(l->mark_aggregate_posting("job-1", agg.externalKey)), Catch::Contains("reported"));
  auto prior = l->posted_in_earlier_job("e1", "job-2");
  REQUIRE(prior.ok());
  CHECK_FALSE(prior->has_value());
}

TEST_CASE("ledger: §2.4 mode 3 — who may be a member, and a decision that changes before anything was sent",
          "[ledger][one_entry_per_job]") {
  ScratchDir dir("ledger");
  auto l = open_ok(dir.file("ledger.sqlite"));
  require_ok(l->record_job("job-1", "c"));
  require_ok(l->record_decided("job-1", "e1", "{}", {journal("e1")}));
  require_ok(l->record_decided("job-1", "e2", "{}", {journal("e2")}));
  require_ok(l->record_decided("job-1", "ap", "{}", {lb::testing::ap_invoice("ap")}));
  auto eur = journal("eur");
  eur.currency = "EUR";
  for (auto& line : eur.lines) line.currency = "EUR";
  require_ok(l->record_decided("job-1", "eur", "{}", {eur}));
  require_ok(l->record_decided("job-1", "px", "{}", {journal("px")}));
  require_ok(l->mark_posting("job-1", "px"));
  require_ok(l->mark_posted("job-1", "px", "GL-1"));
  require_ok(l->record_decided("job-1", "fx", "{}", {journal("fx")}));
  require_ok(l->mark_failed("job-1", "fx", {"account_unknown", "x"}));
  require_ok(l->record_decided("job-1", "skipped", "{}", {}));

  const auto agg = job_entry({"e1"});
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {"nope"})), Catch::Contains("no entry nope"));
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {"ap"})), Catch::Contains("ap_invoice"));
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {"eur"})), Catch::Contains("EUR"));
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {"px"})), Catch::Contains("is posted"));
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {"fx"})), Catch::Contains("is failed"));
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {"skipped"})), Catch::Contains("no documents"));
  CHECK_THAT(require_error(l->record_aggregate("job-1", agg, {})), Catch::Contains("no members"));
  CHECK_THAT(require_error(l->record_aggregate("job-2", agg, {"e1"})), Catch::Contains("not recorded"));
  auto ap_doc = lb::testing::ap_invoice("x");
  CHECK_THAT(require_error(l->record_aggregate("job-1", ap_doc, {"e1"})), Catch::Contains("journal entry"));
  // Nothing was left behind by the refusals.
  auto none = l->aggregates("job-1");
  REQUIRE(none.ok());
  CHECK(none->empty());

  // Never sent: a new decision for the job's entry replaces the old one and frees the old members.
  require_ok(l->record_aggregate("job-1", agg, {"e1"}));
  const auto both = job_entry({"e1", "e2"});
  require_ok(l->record_aggregate("job-1", both, {"e1", "e2"}));
  CHECK(members_of(*l, "job-1", both.externalKey) == "e1 e2 ");
  require_ok(l->record_aggregate("job-1", agg, {"e1"}));
  CHECK(members_of(*l, "job-1", agg.externalKey) == "e1 ");
  CHECK_FALSE(l->entry("job-1", "e2").value()->documents.at(0).aggregateKey);
  // A member of one job entry is not a member of another.
  auto other = job_entry({"e1"});
  other.externalKey = other.accountingEntryId = "job:job-1:DKK:2";
  CHECK_THAT(require_error(l->record_aggregate("job-1", other, {"e1"})), Catch::Contains("job:job-1:DKK"));
}
