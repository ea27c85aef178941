// One journal entry per export job (domain brief §2.4 mode 3; the pack setting
// posting.one_entry_per_job) through the whole workflow, over the simulated Pleo and a SQLite
// ERP (workflow_test_util.hpp): one ERP journal entry per currency for the job's journal items,
// AP documents one per item, every member reported with the job entry's external id once it is
// posted, an ERP refusal failing every member, and resumption after a stop or a crash at each
// step around the job entry (DESIGN §5: never posted twice, never reported before posted).
#include <catch2/catch.hpp>

#include "erp/pdf_merge.hpp"
#include "workflow_test_util.hpp"

using namespace lb;
using namespace lb::workflow;
using namespace lb::workflow::test;
using nlohmann::json;

namespace {

const json kOneEntryPerJob = {{"posting", {{"one_entry_per_job", true}}}};

sim::PleoServerConfig world(int companies, int items) {
  sim::PleoServerConfig c;
  c.seed = 11;
  c.companies = companies;
  c.jobs_per_company = 1;
  c.items_per_job = items;
  return c;
}

bool is_journal(const json& item) {
  return item.contains("bookkeeping") && item["bookkeeping"].is_object() &&
         item["bookkeeping"].value("method", "") == "journal" && item.value("type", "") == "card_purchase" &&
         !item["accountingEntryLines"].empty();
}

// §2.11: a line without a category fails the item in the rules (missing_configuration).
std::string without_line_accounts(json item) {
  for (auto& line : item["accountingEntryLines"]) line["account"] = nullptr;
  return item.dump();
}

// Pleo's view of the job as the workflow sees it (for run_job on a job added with add_job).
model::ExportJob listed_job(World& w, size_t company, const std::string& job_id) {
  auto jobs = w.client_for(company)->list_export_jobs(w.company(company).info.id, {"pending", "in_progress"});
  REQUIRE(jobs.ok());
  for (const auto& j : *jobs)
    if (j.id == job_id) return j;
  FAIL("job " << job_id << " is not listed");
  return {};
}

std::vector<erp::DocumentSummary> erp_documents(World& w, size_t company) {
  auto listed = w.company(company).erp->list();
  REQUIRE(listed.ok());
  return *listed;
}

// The job entries (journal entries keyed job:...) the ERP holds.
std::vector<erp::DocumentSummary> erp_job_entries(World& w, size_t company) {
  std::vector<erp::DocumentSummary> out;
  for (auto& d : erp_documents(w, company))
    if (d.externalKey.rfind("job:", 0) == 0) out.push_back(d);
  return out;
}

// An ERP in front of the company's SQLite ERP that misbehaves only for job entries (keys job:...):
// refuses them for good, is unreachable before writing, or "dies" (throws Killed, as SIGKILL
// would end the process mid-call) before or after the write.
struct Killed {};
class JobEntryErp final : public ForwardingSink {
 public:
  using ForwardingSink::ForwardingSink;
  bool refuse = false;            // ErrorKind::validation, nothing written
  int unreachable = 0;            // the next N job-entry posts fail before anything is written
  bool kill_before_write = false;
  bool kill_after_write = false;
  bool timeout_after_write = false;  // written, then the answer is lost
  int unreachable_lookups = 0;
  std::function<void()> after_write{};  // runs once the ERP holds the job entry
  int job_entry_posts = 0;              // calls that reached the ERP for a job entry
  int refused_all = -1;                 // >= 0: every post (AP too) refused for good

  erp::SinkResult<erp::Posted> post(const posting::Document& d) override {
    if (refused_all >= 0) {
      ++refused_all;
      return erp::SinkError{erp::ErrorKind::validation, "the period is closed (test)"};
    }
    if (d.externalKey.rfind("job:", 0) != 0) return inner_.post(d);
    if (refuse) return erp::SinkError{erp::ErrorKind::validation, "account 1810 is blocked (test)"};
    if (unreachable > 0) {
      --unreachable;
      return erp::SinkError{erp::ErrorKind::unreachable, "connection refused (test outage)"};
    }
    if (kill_before_write) throw Killed{};
    ++job_entry_posts;
    auto r = inner_.post(d);
    if (after_write) after_write();
    if (kill_after_write) throw Killed{};
    if (timeout_after_write) return erp::SinkError{erp::ErrorKind::timeout, "no answer in time (test)"};
    return r;
  }
  erp::SinkResult<std::optional<erp::Posted>> lookup(std::string_view key) override {
    if (unreachable_lookups > 0) {
      --unreachable_lookups;
      return erp::SinkError{erp::ErrorKind::unreachable, "connection refused (test outage)"};
    }
    return inner_.lookup(key);
  }
};

}  // namespace

TEST_CASE("workflow: §2.4 mode 3 — one ERP journal entry per currency, AP per item, members reported with its id",
          "[workflow][one_entry_per_job]") {
  LogCapture log;
  World w(world(2, 30), "wf-onejob", kOneEntryPerJob);
  REQUIRE(w.company(0).info.currency != w.company(1).info.currency);
  // One job of company 0 holding both companies' items: two wallet currencies in one export job,
  // journal and AP items, and three journal items the rules fail (a line without a category).
  std::vector<std::string> items;
  int spoiled = 0;
  std::set<std::string> spoiled_ids;
  for (size_t c = 0; c < 2; ++c)
    for (const auto& raw : w.raw_items(c, w.pleo().job_ids().at(c))) {
      json item = json::parse(raw);
      if (c == 0 && spoiled < 3 && is_journal(item)) {
        ++spoiled;
        spoiled_ids.insert(item["accountingEntryId"].get<std::string>());
        items.push_back(without_line_accounts(item));
      } else {
        items.push_back(raw);
      }
    }
  REQUIRE(spoiled == 3);
  auto job_id = w.pleo().add_job(w.company(0).info.id, items);
  REQUIRE(job_id.ok());

  const JobSummary s = w.with_run(0, [&](CompanyRun& r) { return run_job(r, listed_job(w, 0, *job_id)); });
  INFO(log.text());
  CHECK(s.stopped.empty());
  CHECK(s.final_event == "completed_with_errors");
  CHECK(s.successful + s.failed == 60);

  // The ERP: one job entry per wallet currency, no journal entry of a single item, AP per item.
  const auto docs = erp_documents(w, 0);
  std::map<std::string, erp::DocumentSummary> job_entries;
  int ap = 0;
  for (const auto& d : docs) {
    INFO(d.externalKey << " " << d.kind);
    if (d.kind == "journal_entry") {
      CHECK(d.externalKey == "job:" + *job_id + ":" + d.currency);
      CHECK(job_entries.emplace(d.currency, d).second);
    } else {
      CHECK(d.externalKey.rfind("job:", 0) == std::string::npos);
      ++ap;
    }
  }
  CHECK(job_entries.size() == 2);
  CHECK(job_entries.count(w.company(0).info.currency) == 1);
  CHECK(job_entries.count(w.company(1).info.currency) == 1);
  CHECK(ap > 0);
  CHECK(s.documents_posted == static_cast<int64_t>(docs.size()));

  // The ledger: each job entry with its members; every member reported once with its id.
  auto recorded = w.ledger().aggregates(*job_id);
  REQUIRE(recorded.ok());
  REQUIRE(recorded->size() == 2);
  std::map<std::string, std::string> member_of;  // accountingEntryId -> job entry key
  for (const auto& a : *recorded) {
    CHECK(a.state == ledger::State::posted);
    REQUIRE(a.externalId);
    CHECK(*a.externalId == job_entries.at(a.currency).externalId);
    for (const auto& m : a.members) member_of[m] = a.externalKey;
    // Traceability: the header names the job; each line names its item; the members are exactly
    // the items the lines name.
    auto stored = w.company(0).erp->find(a.externalKey);
    REQUIRE(stored.ok());
    REQUIRE(stored->has_value());
    const posting::Document& doc = (*stored)->document;
    CHECK(doc.reference == *job_id);
    std::set<std::string> named;
    for (const auto& line : doc.lines) {
      const auto id = line.text.substr(0, line.text.find(' '));
      named.insert(id);
      if (line.role == posting::LineRole::expense) CHECK(line.accountingEntryLineId.has_value());
    }
    CHECK(named == std::set<std::string>(a.members.begin(), a.members.end()));
    // §2.8: every member's receipts are attached to the job entry, under their own keys.
    std::set<std::string> attached, receipts;
    for (const auto& f : (*stored)->files) attached.insert(f.key);
    const auto recorded_doc = posting::parse_document_json(a.documentJson);
    REQUIRE(recorded_doc.ok());
    for (const auto& r : recorded_doc->attachments) receipts.insert(r.key);
    CHECK_FALSE(receipts.empty());
    CHECK(attached == receipts);
  }
  CHECK(s.job_entry_members == static_cast<int64_t>(member_of.size()));
  const auto job = w.pleo().job(*job_id);
  REQUIRE(job);
  std::vector<posting::Document> item_documents;  // what each item would have posted alone
  for (const auto& item : job->items) {
    INFO("item " << item.accounting_entry_id << " " << item.status);
    CHECK(item.final_sets == 1);
    auto e = w.ledger().entry(*job_id, item.accounting_entry_id);
    REQUIRE(e.ok());
    REQUIRE(e->has_value());
    if (spoiled_ids.count(item.accounting_entry_id)) {  // failed by the rules: not in any job entry
      CHECK(item.status == "failed");
      CHECK(item.failure_reason_type == "missing_configuration");
      CHECK(member_of.count(item.accounting_entry_id) == 0);
    }
    if (const auto m = member_of.find(item.accounting_entry_id); m != member_of.end()) {
      CHECK(item.status == "successful");
      const auto& a = *std::find_if(recorded->begin(), recorded->end(),
                                    [&](const ledger::AggregateRecord& r) { return r.externalKey == m->second; });
      CHECK(item.external_id == a.externalId);
    }
    if (item.status == "successful")
      for (const auto& d : (*e)->documents) {
        auto doc = posting::parse_document_json(d.documentJson);
        REQUIRE(doc.ok());
        item_documents.push_back(std::move(*doc));
      }
  }
  // The trial balance is the sum of the items, per currency.
  auto tb = w.company(0).erp->trial_balance();
  REQUIRE(tb.ok());
  CHECK(tb->balanced());
  CHECK(trial_balance_debits(*tb) == debits_by_currency(item_documents));
  check_exactly_once(w, 0, {.jobs = {*job_id}});
}

TEST_CASE("workflow: §2.4 mode 3 — a job whose items all fail posts no job entry and ends failed",
          "[workflow][one_entry_per_job]") {
  LogCapture log;
  World w(world(1, 40), "wf-onejob", kOneEntryPerJob);
  const std::string job_id = w.pleo().job_ids().at(0);

  SECTION("the rules fail every item") {
    std::vector<std::string> items;
    for (const auto& raw : w.raw_items(0, job_id)) {
      const json item = json::parse(raw);
      if (is_journal(item)) items.push_back(without_line_accounts(item));
    }
    REQUIRE(items.size() >= 3);
    auto spoiled = w.pleo().add_job(w.company(0).info.id, items);
    REQUIRE(spoiled.ok());
    const JobSummary s = w.with_run(0, [&](CompanyRun& r) { return run_job(r, listed_job(w, 0, *spoiled)); });
    CHECK(s.stopped.empty());
    CHECK(s.final_event == "failed");
    CHECK(s.failed == static_cast<int64_t>(items.size()));
    CHECK(s.failures.at("missing_configuration") == static_cast<int64_t>(items.size()));
    auto recorded = w.ledger().aggregates(*spoiled);
    REQUIRE(recorded.ok());
    CHECK(recorded->empty());
    CHECK(erp_documents(w, 0).empty());
    check_exactly_once(w, 0, {.job_statuses = {"failed"}, .jobs = {*spoiled}});
  }
  SECTION("the ERP refuses the job entry and every AP document: every member fails with the ERP's reason") {
    JobEntryErp erp(*w.company(0).erp);
    erp.refused_all = 0;
    const RunSummary s = w.run(0, ReexportPolicy::report_existing, &erp);
    REQUIRE(s.jobs.size() == 1);
    CHECK(s.jobs[0].stopped.empty());
    CHECK(s.jobs[0].final_event == "failed");
    CHECK(s.jobs[0].successful == 0);
    CHECK(erp_documents(w, 0).empty());
    auto recorded = w.ledger().aggregates(job_id);
    REQUIRE(recorded.ok());
    REQUIRE(recorded->size() == 1);
    const auto& a = recorded->front();
    CHECK(a.state == ledger::State::failed);
    REQUIRE(a.members.size() >= 2);
    const auto job = w.pleo().job(job_id);
    REQUIRE(job);
    CHECK(job->status == "failed");
    for (const auto& item : job->items) {
      if (std::find(a.members.begin(), a.members.end(), item.accounting_entry_id) == a.members.end()) continue;
      INFO(item.accounting_entry_id);
      CHECK(item.status == "failed");
      CHECK(item.failure_reason_type == "accounting_system_validation_failure");
      REQUIRE(item.failure_reason);
      CHECK_THAT(*item.failure_reason, Catch::Contains(a.externalKey) && Catch::Contains("the period is closed"));
    }
    check_exactly_once(w, 0, {.job_statuses = {"failed"}});
  }
}

TEST_CASE("workflow: §2.4 mode 3 — the ERP refusing only the job entry fails its members, AP items succeed",
          "[workflow][one_entry_per_job]") {
  LogCapture log;
  World w(world(1, 30), "wf-onejob", kOneEntryPerJob);
  JobEntryErp erp(*w.company(0).erp);
  erp.refuse = true;
  const RunSummary s = w.run(0, ReexportPolicy::report_existing, &erp);
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].stopped.empty());
  CHECK(s.jobs[0].final_event == "completed_with_errors");
  CHECK(erp_job_entries(w, 0).empty());
  CHECK_FALSE(erp_documents(w, 0).empty());  // the AP documents
  auto recorded = w.ledger().aggregates(w.pleo().job_ids().at(0));
  REQUIRE(recorded.ok());
  REQUIRE(recorded->size() == 1);
  CHECK(s.jobs[0].failures.at("accounting_system_validation_failure") >=
        static_cast<int64_t>(recorded->front().members.size()));
  check_exactly_once(w, 0);
}

TEST_CASE("workflow: §2.4 mode 3 — a stop or crash around the job entry is resumed: posted once, reported once",
          "[workflow][one_entry_per_job]") {
  LogCapture log;
  World w(world(1, 24), "wf-onejob", kOneEntryPerJob);
  const std::string job_id = w.pleo().job_ids().at(0);
  JobEntryErp erp(*w.company(0).erp);
  auto first_run = [&] { return w.run(0, ReexportPolicy::report_existing, &erp); };
  auto job_entry = [&]() -> ledger::AggregateRecord {
    auto r = w.ledger().aggregates(job_id);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    return r->front();
  };
  auto member_updates = [&] {
    int n = 0;
    const auto members = job_entry().members;
    const auto job = w.pleo().job(job_id);
    REQUIRE(job);
    for (const auto& item : job->items)
      if (std::find(members.begin(), members.end(), item.accounting_entry_id) != members.end()) n += item.updates;
    return n;
  };
  int64_t posted_again = -1, recovered_again = -1;

  SECTION("ERP unreachable for the job entry (stopped before the write)") {
    erp.unreachable = 1;
    const RunSummary first = first_run();
    REQUIRE(first.jobs.size() == 1);
    CHECK_THAT(first.jobs[0].stopped, Catch::Contains("job:" + job_id));
    CHECK(job_entry().state == ledger::State::posting);  // the intent, and nothing in the ERP
    CHECK(erp_job_entries(w, 0).empty());
    CHECK(member_updates() == 0);  // nothing reported before it is posted
    posted_again = 1;
    recovered_again = 0;
  }
  SECTION("killed before the ERP write") {
    erp.kill_before_write = true;
    CHECK_THROWS_AS(first_run(), Killed);
    CHECK(job_entry().state == ledger::State::posting);
    CHECK(erp_job_entries(w, 0).empty());
    CHECK(member_updates() == 0);
    posted_again = 1;
    recovered_again = 0;
  }
  SECTION("killed after the ERP write, before the ledger knew") {
    erp.kill_after_write = true;
    CHECK_THROWS_AS(first_run(), Killed);
    CHECK(job_entry().state == ledger::State::posting);
    CHECK(erp_job_entries(w, 0).size() == 1);  // the ERP has it; the ledger is not sure
    CHECK(member_updates() == 0);
    posted_again = 0;
    recovered_again = 1;  // found by its key on resume
  }
  SECTION("a timeout after the ERP write, and the lookup fails too: stopped uncertain") {
    erp.timeout_after_write = true;
    erp.unreachable_lookups = 1;
    const RunSummary first = first_run();
    REQUIRE(first.jobs.size() == 1);
    CHECK_THAT(first.jobs[0].stopped, Catch::Contains("job:" + job_id));
    CHECK(job_entry().state == ledger::State::posting);
    CHECK(erp_job_entries(w, 0).size() == 1);
    CHECK(member_updates() == 0);
    posted_again = 0;
    recovered_again = 1;
  }
  SECTION("killed after the job entry was posted, before any member was reported") {
    bool posted = false;
    erp.after_write = [&] { posted = true; };
    auto r = [&] {
      return w.with_run(
          0,
          [&](CompanyRun& run) {
            run.on_progress = [&](const Progress&) {
              if (posted) throw Killed{};
            };
            return run_company(run);
          },
          ReexportPolicy::report_existing, &erp);
    };
    CHECK_THROWS_AS(r(), Killed);
    CHECK(job_entry().state == ledger::State::posted);
    CHECK(erp_job_entries(w, 0).size() == 1);
    CHECK(member_updates() == 0);
    posted_again = 0;
    recovered_again = 0;
  }
  SECTION("Pleo took the members' statuses but the answer was lost, and the job items could not be read") {
    // The state a kill right after Pleo's 200 leaves: Pleo holds the statuses, the ledger does
    // not know it reported them.
    erp.after_write = [&] {
      sim::Faults f;
      f.by_endpoint[sim::PleoServer::kOpUpdateJobItems] = sim::FaultProfile{.lost_response = 1.0};
      f.by_endpoint[sim::PleoServer::kOpListJobItems] = sim::FaultProfile{.server_error = 1.0};
      w.pleo().set_faults(f);
    };
    const RunSummary first = first_run();
    REQUIRE(first.jobs.size() == 1);
    CHECK_FALSE(first.jobs[0].stopped.empty());
    CHECK(first.jobs[0].final_event.empty());
    CHECK(job_entry().state == ledger::State::posted);
    CHECK(member_updates() == static_cast<int>(job_entry().members.size()));  // applied once
    for (const auto& m : job_entry().members) {
      auto e = w.ledger().entry(job_id, m);
      REQUIRE(e.ok());
      CHECK((*e)->state == ledger::State::posted);  // not recorded as reported
    }
    w.pleo().set_faults({});
    posted_again = 0;
    recovered_again = 0;
  }

  // The next run, with a healthy ERP and Pleo, finishes the job.
  JobEntryErp healthy(*w.company(0).erp);
  const RunSummary second = w.run(0, ReexportPolicy::report_existing, &healthy);
  REQUIRE(second.jobs.size() == 1);
  CHECK(second.jobs[0].resumed);
  CHECK(second.jobs[0].stopped.empty());
  CHECK_FALSE(second.jobs[0].final_event.empty());
  CHECK(healthy.job_entry_posts == posted_again);
  CHECK(second.jobs[0].documents_recovered == recovered_again);
  const auto entries_in_erp = erp_job_entries(w, 0);
  REQUIRE(entries_in_erp.size() == 1);
  const auto a = job_entry();
  CHECK(a.state == ledger::State::posted);
  CHECK(a.externalId == entries_in_erp[0].externalId);
  const auto job = w.pleo().job(job_id);
  REQUIRE(job);
  for (const auto& item : job->items) {
    if (std::find(a.members.begin(), a.members.end(), item.accounting_entry_id) == a.members.end()) continue;
    INFO(item.accounting_entry_id);
    CHECK(item.status == "successful");
    CHECK(item.external_id == a.externalId);
    CHECK(item.updates == 1);  // never re-sent
  }
  check_exactly_once(w, 0);
}

TEST_CASE("workflow: §2.4 mode 3 — a re-export of members reports the job entry's id (report_existing)",
          "[workflow][one_entry_per_job]") {
  LogCapture log;
  World w(world(1, 16), "wf-onejob", kOneEntryPerJob);
  const std::string first_job = w.pleo().job_ids().at(0);
  const auto raw = w.raw_items(0, first_job);
  REQUIRE(w.run(0).jobs.size() == 1);
  auto recorded = w.ledger().aggregates(first_job);
  REQUIRE(recorded.ok());
  REQUIRE(recorded->size() == 1);
  const auto first = recorded->front();
  REQUIRE(first.externalId);
  const size_t documents_before = erp_documents(w, 0).size();

  auto second_job = w.pleo().add_job(w.company(0).info.id, raw);
  REQUIRE(second_job.ok());
  const RunSummary s = w.run(0);
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].stopped.empty());
  CHECK(s.jobs[0].documents_posted == 0);
  CHECK(s.jobs[0].job_entry_members == 0);
  CHECK(erp_documents(w, 0).size() == documents_before);
  auto none = w.ledger().aggregates(*second_job);
  REQUIRE(none.ok());
  CHECK(none->empty());  // nothing new to book: no job entry for the re-export
  const auto job = w.pleo().job(*second_job);
  REQUIRE(job);
  int members = 0;
  for (const auto& item : job->items) {
    if (std::find(first.members.begin(), first.members.end(), item.accounting_entry_id) == first.members.end())
      continue;
    ++members;
    CHECK(item.status == "successful");
    CHECK(item.external_id == first.externalId);
  }
  CHECK(members == static_cast<int>(first.members.size()));
  check_exactly_once(w, 0);
}

TEST_CASE("workflow: posting.one_entry_per_job that is not a boolean stops before the claim", "[workflow][one_entry_per_job]") {
  LogCapture log;
  // null: an override of "yes" is refused earlier, when the evaluator is created (overrides are
  // typed like the pack's setting, here a boolean: evaluator_test.cpp), and so is never claimed.
  World w(world(1, 4), "wf-onejob", json{{"posting", {{"one_entry_per_job", nullptr}}}});
  const RunSummary s = w.run(0);
  REQUIRE(s.jobs.size() == 1);
  CHECK_THAT(s.jobs[0].stopped, Catch::Contains("posting.one_entry_per_job must be true or false, not null"));
  CHECK(w.pleo().job(w.pleo().job_ids().at(0))->status == "pending");
  CHECK(erp_documents(w, 0).empty());
}

TEST_CASE("workflow: §2.4 mode 3 — a run stopped among the items (AP post refused) leaves the decided members to the next",
          "[workflow][one_entry_per_job]") {
  LogCapture log;
  World w(world(1, 30), "wf-onejob", kOneEntryPerJob);
  const std::string job_id = w.pleo().job_ids().at(0);
  FlakySink flaky(*w.company(0).erp);
  flaky.fail_after = 1;  // the second AP document finds the ERP gone
  const RunSummary first = w.run(0, ReexportPolicy::report_existing, &flaky);
  REQUIRE(first.jobs.size() == 1);
  CHECK_FALSE(first.jobs[0].stopped.empty());
  CHECK(flaky.refused == 1);
  // Members decided before the stop wait in the ledger, in no job entry yet; nothing is reported.
  auto none = w.ledger().aggregates(job_id);
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto decided = w.ledger().entries(job_id, ledger::State::decided);
  REQUIRE(decided.ok());
  CHECK_FALSE(decided->empty());
  CHECK(erp_job_entries(w, 0).empty());

  flaky.fail_after = -1;
  const RunSummary second = w.run(0, ReexportPolicy::report_existing, &flaky);
  REQUIRE(second.jobs.size() == 1);
  CHECK(second.jobs[0].resumed);
  CHECK(second.jobs[0].stopped.empty());
  auto recorded = w.ledger().aggregates(job_id);
  REQUIRE(recorded.ok());
  REQUIRE(recorded->size() == 1);  // the first run's decided members and the rest, together
  for (const auto& e : *decided)
    if (!e.documents.empty())
      CHECK(std::count(recorded->front().members.begin(), recorded->front().members.end(), e.accountingEntryId) == 1);
  CHECK(second.jobs[0].job_entry_members == static_cast<int64_t>(recorded->front().members.size()));
  CHECK(erp_job_entries(w, 0).size() == 1);
  check_exactly_once(w, 0);
}

TEST_CASE("workflow: §2.4 mode 3 + §2.8 — a one-file ERP gets the job entry's receipts as one PDF, once",
          "[workflow][one_entry_per_job][receipts]") {
  LogCapture log;
  World w(world(1, 12), "wf-onejob-onefile", kOneEntryPerJob);
  auto single = erp::SqliteErp::open(w.company(0).erp->path(),
                                     {.capabilities = {.max_attachment_bytes = 30 * 1024 * 1024,
                                                       .attachment_types = {"application/pdf", "image/jpeg", "image/png"},
                                                       .single_attachment = true}});
  REQUIRE(single.ok());
  const RunSummary s = w.run(0, ReexportPolicy::report_existing, single->get());
  INFO(log.text());
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].stopped.empty());

  auto entries = w.ledger().aggregates(w.pleo().job_ids().at(0));
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  const ledger::AggregateRecord& a = entries->front();
  const auto doc = posting::parse_document_json(a.documentJson);
  REQUIRE(doc.ok());
  REQUIRE(doc->attachments.size() >= 2);  // several members' receipts, one file allowed

  auto stored = (*single)->find(a.externalKey);
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  REQUIRE((*stored)->files.size() == 1);
  const std::string key = a.externalKey + "/receipts.pdf";
  CHECK((*stored)->files[0].key == key);
  auto bytes = (*single)->attachment_bytes(a.externalKey, key);
  REQUIRE(bytes.ok());
  REQUIRE(bytes->has_value());
  auto pages = erp::pdf_page_count(**bytes);
  REQUIRE(pages.ok());
  CHECK(*pages >= static_cast<int>(doc->attachments.size()));  // a PDF receipt may bring several pages
  CHECK(*w.ledger().attachments_done(a.externalKey) == std::vector<std::string>{key});

  // Resumed again: nothing more is attached.
  const RunSummary again = w.run(0, ReexportPolicy::report_existing, single->get());
  CHECK(again.jobs.empty());
  CHECK((*single)->find(a.externalKey).value()->files.size() == 1);
}
