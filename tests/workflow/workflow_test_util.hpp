#pragma once
// The workflow's integration tests run the real thing over loopback: the simulated Pleo
// (engine/sim/pleo_server.hpp) in-process, the Pleo client over real HTTP, a real SQLite
// ledger and one real SQLite ERP per simulated company (seeded with the simulated world's
// master data, as `ledgerbridge run --pleo sim` does), and the real rules/pleo-sim pack.
// Only time is fake: the client's retries and rate limiter sleep through a ManualClock, so a
// fault storm costs no wall time (DESIGN §6: no timed tests).
//
// The checks at the bottom state what "exactly once" means end to end (DESIGN §5; domain
// brief §3, §4.3) and are shared by every test, the crash test included.
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../ledger/ledger_test_util.hpp"
#include "erp/directory_content.hpp"
#include "erp/sqlite_erp.hpp"
#include "ledger/ledger.hpp"
#include "pleo/auth.hpp"
#include "pleo/client.hpp"
#include "pleo/clock.hpp"
#include "pleo/http.hpp"
#include "pleo/rate_limiter.hpp"
#include "rules/evaluator.hpp"
#include "rules/pack.hpp"
#include "sim/generate.hpp"
#include "sim/pleo_server.hpp"
#include "workflow/job_runner.hpp"
#include "workflow/minimum_requests.hpp"

namespace lb::workflow::test {

using lb::testing::ScratchDir;

inline std::filesystem::path sim_pack_dir() { return std::filesystem::path(LB_RULES_DIR) / "pleo-sim"; }

// Everything logged anywhere (spdlog's default logger, which the workflow, the transport and
// the simulator use), at trace level, kept in memory while the object lives.
class LogCapture {
 public:
  LogCapture() : stream_(std::make_shared<std::ostringstream>()), previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*stream_);
    auto logger = std::make_shared<spdlog::logger>("workflow-test", sink);
    logger->set_level(spdlog::level::trace);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const {
    spdlog::default_logger()->flush();
    return stream_->str();
  }

 private:
  std::shared_ptr<std::ostringstream> stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

// The simulated world's ERP master data (what seed_sim_erps in run_cmd.cpp seeds).
inline erp::DirectoryContent world_directory(const ScratchDir& dir) {
  const std::string path = dir.file("world-directory.yaml");
  {
    std::ofstream out(path);
    sim::write_directory(out);
  }
  auto content = erp::read_directory_content(path);
  if (!content) throw std::runtime_error(content.error().message);
  return std::move(*content);
}

inline std::unique_ptr<erp::SqliteErp> seeded_erp(const std::string& path, const erp::DirectoryContent& content) {
  auto erp = erp::SqliteErp::open(path, {.create = true});
  if (!erp) throw std::runtime_error(erp.error().message);
  if (auto st = (*erp)->seed(content); !st) throw std::runtime_error(st.message());
  return std::move(*erp);
}

struct Company {
  sim::SimCompany info;
  std::unique_ptr<erp::SqliteErp> erp;
  std::unique_ptr<rules::Evaluator> rules;
};

// One installation (ledger) serving every company of one simulated Pleo.
class World {
 public:
  // `settings` is merged over the pack's, as a customer pack would (e.g. posting.one_entry_per_job).
  explicit World(sim::PleoServerConfig config, const std::string& tag = "wf",
                 nlohmann::json settings = nlohmann::json::object())
      : dir_(tag), server_(std::make_unique<sim::PleoServer>(std::move(config))) {
    if (auto st = server_->start(); !st) throw std::runtime_error(st.message());
    const auto content = world_directory(dir_);
    auto pack = rules::Pack::load(sim_pack_dir());
    if (!pack) throw std::runtime_error(pack.error().message);
    pack_ = *pack;
    for (const auto& c : server_->companies()) {
      Company company{c, seeded_erp(dir_.file("erp-" + c.id.substr(0, 8) + ".sqlite"), content), nullptr};
      rules::EvalOptions eval;
      eval.directory = &company.erp->directory();
      eval.settings_override = settings;
      auto evaluator = rules::Evaluator::create(pack_, eval);
      if (!evaluator) throw std::runtime_error(evaluator.error().message);
      company.rules = std::move(*evaluator);
      companies_.push_back(std::move(company));
    }
    reopen_ledger();
  }

  sim::PleoServer& pleo() { return *server_; }
  const ScratchDir& dir() const { return dir_; }
  std::vector<Company>& companies() { return companies_; }
  Company& company(size_t i) { return companies_.at(i); }
  ledger::Ledger& ledger() { return *ledger_; }
  std::string ledger_path() const { return dir_.file("ledger.sqlite"); }
  pleo::ManualClock& clock() { return clock_; }

  // Closes the ledger and opens it again (a new process would), with `options`.
  void reopen_ledger(ledger::Options options = {}) {
    ledger_.reset();
    auto l = ledger::Ledger::open(ledger_path(), std::move(options));
    if (!l) throw std::runtime_error(l.error().message);
    ledger_ = std::move(*l);
  }
  // A ledger the run uses instead of the world's (e.g. a full or read-only one); null: the world's.
  void use_ledger(ledger::Ledger* other) { override_ledger_ = other; }

  // A client as run_once builds one (API key, one limiter per credential), on the ManualClock.
  std::unique_ptr<pleo::Client> client_for(size_t i) {
    pleo::ClientOptions o;
    o.base_url = server_->base_url();
    o.auth = std::make_shared<pleo::ApiKeyAuth>(companies_.at(i).info.api_key);
    o.clock = &clock_;
    o.random = [] { return 0.5; };
    o.limiter = std::make_shared<pleo::RateLimiter>(pleo::RateLimiter::kDefaultPerMinute, clock_);
    o.transport.total_timeout = std::chrono::seconds(20);
    return std::make_unique<pleo::Client>(o);
  }

  void close_ledger() { ledger_.reset(); }

  // Calls f(CompanyRun&) with company i wired as run_once wires it: a fresh client, the
  // company's ERP (or `sink`), the ledger, the rules.
  template <typename F>
  auto with_run(size_t i, F&& f, ReexportPolicy reexport = ReexportPolicy::report_existing,
                erp::Sink* sink = nullptr) {
    auto client = client_for(i);
    pleo::HttpTransport downloads(pleo::TransportOptions{.log_name = "receipts"});
    CompanyRun run{.company_id = companies_.at(i).info.id,
                   .pleo = client.get(),
                   .sink = sink ? sink : companies_.at(i).erp.get(),
                   .ledger = override_ledger_ ? override_ledger_ : ledger_.get(),
                   .rules = companies_.at(i).rules.get(),
                   .reexport = reexport,
                   .downloads = &downloads};
    return f(run);
  }

  // One `run` of company i: every pending job, and every in_progress job this ledger claimed.
  RunSummary run(size_t i, ReexportPolicy reexport = ReexportPolicy::report_existing, erp::Sink* sink = nullptr) {
    return with_run(i, [](CompanyRun& r) { return run_company(r); }, reexport, sink);
  }

  // The raw ExportItemV3 objects of a live job, as Pleo serves them (for add_job re-exports).
  std::vector<std::string> raw_items(size_t i, const std::string& job_id) {
    auto client = client_for(i);
    std::vector<std::string> out;
    auto r = client->call(
        {.method = "GET", .path = "/v3/export-items", .query = {{"job_id", job_id}, {"limit", "1000"}}});
    if (!r) throw std::runtime_error(r.error().to_string());
    const auto page = nlohmann::json::parse(r->body);
    for (const auto& item : page.at("data")) out.push_back(item.dump());
    return out;
  }

  // Pleo's jobs of company i, oldest first.
  std::vector<sim::SimJob> jobs(size_t i) const {
    std::vector<sim::SimJob> out;
    for (const auto& id : server_->job_ids()) {
      auto job = server_->job(id);
      if (job && job->company_id == companies_.at(i).info.id) out.push_back(std::move(*job));
    }
    return out;
  }

 private:
  ScratchDir dir_;
  std::unique_ptr<sim::PleoServer> server_;
  std::shared_ptr<const rules::Pack> pack_;
  std::vector<Company> companies_;
  std::unique_ptr<ledger::Ledger> ledger_;
  ledger::Ledger* override_ledger_ = nullptr;
  pleo::ManualClock clock_;
};

// Forwards every call to `inner`: a test's ERP overrides only the calls it interferes with.
class ForwardingSink : public erp::Sink {
 public:
  explicit ForwardingSink(erp::Sink& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  erp::Capabilities capabilities() const override { return inner_.capabilities(); }
  erp::SinkResult<erp::Posted> post(const posting::Document& d) override { return inner_.post(d); }
  erp::SinkResult<std::optional<erp::Posted>> lookup(std::string_view key) override { return inner_.lookup(key); }
  erp::SinkResult<std::monostate> upload_attachment(const erp::Posted& p, const posting::Attachment& a,
                                                    std::string_view bytes) override {
    return inner_.upload_attachment(p, a, bytes);
  }
  const model::Directory& directory() const override { return inner_.directory(); }
  erp::SinkResult<std::monostate> check() override { return inner_.check(); }

 protected:
  erp::Sink& inner_;
};

// An ERP whose connection drops after `fail_after` successful posts: every later post is
// refused before anything is written (unreachable), until fail_after is set back to -1.
class FlakySink final : public ForwardingSink {
 public:
  using ForwardingSink::ForwardingSink;
  int fail_after = -1;  // successful posts allowed before the outage; -1: no outage
  int posts = 0;        // successful posts so far
  int refused = 0;

  erp::SinkResult<erp::Posted> post(const posting::Document& d) override {
    if (fail_after >= 0 && posts >= fail_after) {
      ++refused;
      return erp::SinkError{erp::ErrorKind::unreachable, "connection refused (test outage)"};
    }
    auto r = inner_.post(d);
    if (std::holds_alternative<erp::Posted>(r)) ++posts;
    return r;
  }
};

inline int requests(const sim::SimCounters& c, const char* op) {
  const auto it = c.requests.find(op);
  return it == c.requests.end() ? 0 : it->second;
}
using sim::export_api_requests;

// Events Pleo accepted (202) for a job, by name.
inline std::map<std::string, int> accepted_events(const sim::SimJob& job) {
  std::map<std::string, int> out;
  for (const auto& e : job.events)
    if (e.http_status == 202) ++out[e.event];
  return out;
}

// Debits per currency of a set of documents (minor units). A balanced document has equal
// credits, so this is also the credit total.
inline std::map<std::string, int64_t> debits_by_currency(const std::vector<posting::Document>& docs) {
  std::map<std::string, int64_t> out;
  for (const auto& d : docs)
    for (const auto& l : d.lines) out[l.currency] += l.debit;
  return out;
}

inline std::map<std::string, int64_t> trial_balance_debits(const erp::TrialBalance& tb) {
  std::map<std::string, int64_t> out;
  for (const auto& t : tb.totals)
    if (t.debit != 0 || t.credit != 0) out[t.currency] = t.debit;
  return out;
}


struct Expect {
  std::set<std::string> job_statuses{"completed", "completed_with_errors"};
  // The crash test's one legitimate re-report (see crash_test.cpp): Pleo accepted a batch and
  // the process died before the ledger recorded it. The status must not change.
  int max_final_sets = 1;
  // The ledger records the final event Pleo accepted. Only a crash between Pleo's 202 and that
  // record may leave it out (the job is final, so no later run revisits it).
  bool final_event_recorded = true;
  // Only these jobs of the company (empty: all). The ERP must then hold only their documents.
  std::set<std::string> jobs{};
};

struct Totals {
  int64_t items = 0, successful = 0, failed = 0, documents = 0;
};

// Exactly once, end to end, for company i (DESIGN §5; domain brief §3.1, §3.3, §4.3):
//  - every job is in a final state Pleo accepted once, after exactly one `started`;
//  - every item of a finished job has one final status, set once (final_sets);
//  - a successful item's externalId is the id the ledger recorded for its first document;
//    booked in a job entry (§2.4 mode 3), that is the job entry's external id;
//  - the ERP holds exactly the documents the ledger says were posted (by key, none twice): a
//    job entry's members are not ERP documents, the job entry is;
//  - the ERP's trial balance balances and, per currency, equals the posted documents' sums.
inline Totals check_exactly_once(World& w, size_t i, const Expect& expect = {}) {
  Totals totals;
  std::map<std::string, posting::Document> posted;  // externalKey -> document
  for (const auto& job : w.jobs(i)) {
    if (!expect.jobs.empty() && !expect.jobs.count(job.id)) continue;
    INFO("company " << w.company(i).info.id << " job " << job.id << " (" << job.status << ")");
    CHECK(expect.job_statuses.count(job.status) == 1);
    auto events = accepted_events(job);
    CHECK(events["started"] == 1);
    CHECK(events["completed"] + events["completed_with_errors"] + events["failed"] == 1);
    if (expect.final_event_recorded) {
      auto record = w.ledger().job(job.id);
      REQUIRE(record.ok());
      if (record->has_value()) CHECK((*record)->finalEvent == job.status);
    }
    auto entries = w.ledger().entries(job.id);
    REQUIRE(entries.ok());
    auto job_entries = w.ledger().aggregates(job.id);
    REQUIRE(job_entries.ok());
    std::map<std::string, const ledger::AggregateRecord*> job_entry_of;  // member -> its job entry
    for (const auto& a : *job_entries)
      for (const auto& m : a.members) job_entry_of[m] = &a;
    std::map<std::string, const ledger::EntryRecord*> by_id;
    for (const auto& e : *entries) by_id[e.accountingEntryId] = &e;
    for (const auto& item : job.items) {
      INFO("item " << item.accounting_entry_id << " " << item.status);
      ++totals.items;
      if (job.status == "failed") {
        CHECK(item.final_sets <= expect.max_final_sets);
        continue;
      }
      CHECK((item.status == "successful" || item.status == "failed"));
      CHECK(item.final_sets >= 1);
      CHECK(item.final_sets <= expect.max_final_sets);
      const auto it = by_id.find(item.accounting_entry_id);
      REQUIRE(it != by_id.end());
      const ledger::EntryRecord& e = *it->second;
      if (item.status == "successful") {
        ++totals.successful;
        std::optional<std::string> first;
        for (const auto& d : e.documents)
          if (d.externalId) {
            first = d.externalId;
            break;
          }
        CHECK(item.external_id == first);
        for (const auto& d : e.documents) CHECK(d.state == ledger::State::posted);
        if (const auto a = job_entry_of.find(item.accounting_entry_id); a != job_entry_of.end()) {
          CHECK(a->second->state == ledger::State::posted);
          CHECK(item.external_id == a->second->externalId);
        }
      } else {
        // (A failed item may still have a posted document: an AP invoice whose payment the ERP
        // refused stays in the ERP. It is counted with the posted documents below.)
        ++totals.failed;
        CHECK(item.failure_reason_type.has_value());
        CHECK(e.state != ledger::State::posted);
      }
      if (e.reportedStatus) CHECK(*e.reportedStatus == item.status);
    }
    for (const auto& e : *entries)
      for (const auto& d : e.documents) {
        if (d.state != ledger::State::posted || d.postedBy == ledger::PostedBy::earlier_job) continue;
        if (d.aggregateKey) {  // §2.4 mode 3: in the ERP as part of its job entry, not on its own
          CHECK(d.postedBy == ledger::PostedBy::aggregate);
          continue;
        }
        auto doc = posting::parse_document_json(d.documentJson);
        REQUIRE(doc.ok());
        INFO("document " << d.externalKey);
        CHECK(posted.count(d.externalKey) == 0);  // posted by one job only
        posted.emplace(d.externalKey, std::move(*doc));
      }
    for (const auto& a : *job_entries) {
      if (a.state != ledger::State::posted) continue;
      auto doc = posting::parse_document_json(a.documentJson);
      REQUIRE(doc.ok());
      INFO("job entry " << a.externalKey);
      CHECK(posted.count(a.externalKey) == 0);
      posted.emplace(a.externalKey, std::move(*doc));
    }
  }
  auto& erp = *w.company(i).erp;
  auto listed = erp.list();
  REQUIRE(listed.ok());
  std::set<std::string> in_erp;
  for (const auto& d : *listed) {
    INFO("ERP document " << d.externalId << " " << d.externalKey);
    CHECK(in_erp.insert(d.externalKey).second);  // never twice
    CHECK(posted.count(d.externalKey) == 1);     // only what the ledger says was posted
  }
  std::set<std::string> expected;
  for (const auto& [key, doc] : posted) expected.insert(key);
  CHECK(in_erp == expected);
  totals.documents = static_cast<int64_t>(in_erp.size());
  auto tb = erp.trial_balance();
  REQUIRE(tb.ok());
  CHECK(tb->balanced());
  CHECK(tb->documents == totals.documents);
  std::vector<posting::Document> docs;
  for (auto& [key, doc] : posted) docs.push_back(doc);
  CHECK(trial_balance_debits(*tb) == debits_by_currency(docs));
  return totals;
}

}  // namespace lb::workflow::test
