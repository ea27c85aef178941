// The crash test (issue #5 item 6; DESIGN §5): `ledgerbridge run --config` is killed with
// SIGKILL at random moments, at least 50 times, while it works through one export job of a few
// hundred items; then one run goes uninterrupted. The simulated Pleo lives in this process and
// outlives every killed one; the children share only its URL, an API key (through the
// environment) and the files: config, ledger, SQLite ERP. Children are started with
// fork + exec (this process runs the simulator's threads, so the child must not run any of
// this process's code between fork and exec).
//
// Where the kills land: the delay before each kill is drawn (seeded) from [0, D], and D
// adapts so that the job's progress tracks the kill count: the job is still running when the
// 75th kill lands, and the kills go on until a run happens to finish it, so kills fall before
// and after the claim, ERP writes (intent, post, result), item updates and batches, and the
// final event; about a fifth of the delays are drawn from the first 100 ms (start-up: listing,
// claim, pre-validation, recovery, control and data layers). Nothing here asserts on time:
// the checks are on counts and states.
//
// Afterwards, exactly once (workflow_test_util.hpp check_exactly_once):
//  - the job is final once, `started` was sent once (never a second time on resume);
//  - every item was reported final exactly once (final_sets == 1): a resumed run reads the
//    control layer before anything else and sends nothing for items Pleo already holds final,
//    so a crash between Pleo's acceptance and the ledger's mark_reported leaves the item
//    `posted` in the ledger but does not re-send it;
//  - every ERP document is there once (unique externalKey) and exactly the ledger's posted
//    documents; the ERP's trial balance balances and equals, per currency, their sums.
// Only the ledger's record of the final event may be missing (a kill between Pleo's 202 and
// mark_job_final_sent: the job is final, no run revisits it).
//
// Registered as its own CTest (workflow.crash, tests/CMakeLists.txt), hidden from the default
// Catch run ([.]); LB_CLI names the ledgerbridge binary.
//
// A second, shorter case (workflow.crash.one_entry_per_job) runs the same with the pack setting
// posting.one_entry_per_job (§2.4 mode 3): the job's journal items become one ERP journal entry
// whose intent, post, result and member reports are each a place a kill can land. On top of
// the checks above: the ERP holds that one job entry and no journal entry of a single item.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <thread>

#include "workflow_test_util.hpp"

using namespace lb;
using namespace lb::workflow;
using namespace lb::workflow::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

fs::path ledgerbridge_binary() {
  if (const char* env = std::getenv("LB_CLI"); env && *env) return env;
  // Beside the test binary's build tree: <build>/tests/lb_tests -> <build>/engine/ledgerbridge.
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "engine" / "ledgerbridge";
}

// A child running `ledgerbridge run --config <config>`, output appended to `log`.
class Child {
 public:
  Child(const fs::path& binary, const fs::path& config, const fs::path& log, const fs::path& cwd) {
    // Everything the child needs is prepared before fork: between fork and exec it may only
    // make async-signal-safe calls.
    args_ = {binary.string(), "run", "--config", config.string()};
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = log.string();
    const std::string dir = cwd.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  pid_t pid() const { return pid_; }
  // Exit status if it has ended, without waiting.
  std::optional<int> poll() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return status;
    return std::nullopt;
  }
  int kill_and_reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    return status;
  }

 private:
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

struct CrashPlan {
  int items = 400;
  int min_kills = 50;     // issue #5: at least this many kills over one job
  int kills = 75;         // aimed at (margin for a slow machine hitting the time cap)
  int target_kills = 95;  // the progress schedule aims to finish the job around here
  int seconds = 70;       // cap on the kills' wall time
  bool one_entry_per_job = false;
};

void crash_test(const CrashPlan& plan) {
  LogCapture log;
  const int kItems = plan.items;
  const int kMinKills = plan.min_kills;
  const int kKills = plan.kills;
  const int kTargetKills = plan.target_kills;
  sim::PleoServerConfig cfg;
  cfg.seed = 5;
  cfg.companies = 1;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = kItems;
  cfg.rate_limit_per_minute = 0;  // many short-lived processes, one credential: not what this tests
  World w(cfg, "wf-crash");
  w.close_ledger();  // the children write it; this process reads it only between them
  const std::string job_id = w.pleo().job_ids().at(0);
  const auto& company = w.company(0).info;

  const fs::path binary = ledgerbridge_binary();
  REQUIRE(fs::exists(binary));
  REQUIRE(::setenv("LB_CRASH_API_KEY", company.api_key.c_str(), 1) == 0);
  fs::path pack = sim_pack_dir();
  if (plan.one_entry_per_job) {
    // A customer pack as a consultant writes it: the simulated world's, with the setting on.
    pack = w.dir().path() / "one-entry-per-job";
    fs::create_directories(pack);
    std::ofstream(pack / "pack.toml") << fmt::format(
        "name = \"one-entry-per-job\"\nextends = \"{}\"\n\n[settings.posting]\none_entry_per_job = true\n",
        sim_pack_dir().string());
  }
  const fs::path config = w.dir().path() / "crash.toml";
  std::ofstream(config) << fmt::format(
      "[ledger]\npath = \"ledger.sqlite\"\n\n"
      "[[companies]]\nid = \"{}\"\npleo = \"{}\"\napi_key = \"env:LB_CRASH_API_KEY\"\n"
      "rules = \"{}\"\nerp = {{ kind = \"sqlite\", path = \"erp-{}.sqlite\" }}\nrequests_per_minute = 600\n",
      company.id, w.pleo().base_url(), pack.string(), company.id.substr(0, 8));
  const fs::path child_log = w.dir().path() / "children.log";

  auto job_status = [&] { return w.pleo().job(job_id)->status; };
  auto progress = [&]() -> double {  // share of the job's items the ledger has decided
    auto ro = ledger::Ledger::open(w.ledger_path(), {.read_only = true});
    if (!ro) return 0;
    auto entries = (*ro)->entries(job_id);
    return entries ? static_cast<double>(entries->size()) / kItems : 0;
  };

  std::mt19937_64 rng(20240611);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double window = 0.4;  // D, seconds
  int kills = 0, kills_live = 0, exited_before_kill = 0, resumes = 0, children = 0;
  // Where the kills landed, from what each killed run got done (requests Pleo saw, documents
  // the ERP got): before any request; after requests but before any new ERP document; while
  // posting (new documents, no item update yet); after an item update or the final event.
  int in_startup = 0, before_posting = 0, while_posting = 0, after_update = 0;
  auto erp_documents = [&] { return w.company(0).erp->list()->size(); };
  std::vector<double> delays;
  const auto started = Clock::now();
  auto live = [&] { return job_status() == "pending" || job_status() == "in_progress"; };
  // At least kKills kills while the job runs, and then on until a killed-at-random run happens
  // to finish it, so the last kills land around the final batches and the final event.
  while ((kills_live < kKills || live()) && children < 300 &&
         Clock::now() - started < std::chrono::seconds(plan.seconds)) {
    const std::string before = job_status();
    resumes += before == "in_progress";
    const double d = unit(rng) < 0.2 ? unit(rng) * 0.1 : unit(rng) * window;
    const auto counters_before = w.pleo().counters();
    const size_t docs_before = erp_documents();
    Child child(binary, config, child_log, w.dir().path());
    ++children;
    const auto deadline = Clock::now() + std::chrono::duration<double>(d);
    std::optional<int> ended;
    while (Clock::now() < deadline && !(ended = child.poll()))
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (ended) {
      ++exited_before_kill;
    } else {
      const bool was_live = live();
      const int status = child.kill_and_reap();
      if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
        ++kills;
        kills_live += was_live;
        delays.push_back(d);
        const auto after = w.pleo().counters();
        const int reqs = export_api_requests(after) - export_api_requests(counters_before);
        const int updates = requests(after, sim::PleoServer::kOpUpdateJobItems) -
                            requests(counters_before, sim::PleoServer::kOpUpdateJobItems);
        const int events = requests(after, sim::PleoServer::kOpJobEvent) -
                           requests(counters_before, sim::PleoServer::kOpJobEvent);
        if (reqs == 0) ++in_startup;
        else if (updates > 0 || (events > 0 && before == "in_progress")) ++after_update;
        else if (erp_documents() > docs_before) ++while_posting;
        else ++before_posting;
      }
    }
    // Keep the job's progress on schedule: finished around kill kTargetKills, not before
    // kKills (capped: one long delay must not finish it early); past kKills, let it finish.
    const double target = static_cast<double>(kills_live) / kTargetKills;
    const bool slower = kills_live < kKills && progress() >= target;
    window = std::clamp(slower ? window * 0.8 : window * 1.25, 0.05, kills_live < kKills ? 1.0 : 10.0);
  }
  const double crash_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const std::string status_after_kills = job_status();
  const double progress_after_kills = progress();

  // One run nobody interrupts (bounded: a hung child fails the test rather than CTest's timeout).
  Child last(binary, config, child_log, w.dir().path());
  std::optional<int> ended;
  const auto limit = Clock::now() + std::chrono::seconds(60);
  while (!(ended = last.poll()) && Clock::now() < limit) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!ended) last.kill_and_reap();
  REQUIRE(ended.has_value());

  std::sort(delays.begin(), delays.end());
  const auto quantile = [&](double q) {
    return delays.empty() ? 0 : delays[static_cast<size_t>(q * static_cast<double>(delays.size() - 1))];
  };
  w.reopen_ledger();
  auto entries = w.ledger().entries(job_id);
  REQUIRE(entries.ok());
  int retried = 0, recovered = 0;
  for (const auto& e : *entries)
    for (const auto& d : e.documents) {
      retried += d.attempts > 1;  // entered `posting` again after a kill
      recovered += d.postedBy == ledger::PostedBy::lookup;  // the ERP had it; the ledger did not know
    }
  const auto c = w.pleo().counters();
  const std::string where = fmt::format(
      "landed: start-up {}, before posting {}, while posting {}, after an update {}", in_startup, before_posting,
      while_posting, after_update);
  WARN("crash test: " << children + 1 << " runs, " << kills << " SIGKILLs (" << kills_live
                      << " while the job was live), " << exited_before_kill << " ended before their kill, " << resumes
                      << " resumed an in_progress job; kill delays ms p10/p50/p90/max "
                      << std::lround(quantile(0.1) * 1000) << "/" << std::lround(quantile(0.5) * 1000) << "/"
                      << std::lround(quantile(0.9) * 1000) << "/" << std::lround(quantile(1.0) * 1000) << "; "
                      << where << "; job " << status_after_kills << " with "
                      << std::lround(progress_after_kills * 100) << "% decided after the kills; "
                      << "documents re-entering posting " << retried << ", found by lookup " << recovered << "; "
                      << export_api_requests(c) << " Export API requests; " << crash_seconds << " s of kills");

  CHECK(WIFEXITED(*ended));
  CHECK(kills_live >= kMinKills);
  const auto job = w.pleo().job(job_id);
  REQUIRE(job);
  int started_events = 0;
  for (const auto& e : job->events) started_events += e.event == "started";
  CHECK(started_events == 1);  // never a second `started`, not even one Pleo refused
  const Totals t = check_exactly_once(w, 0, {.final_event_recorded = false});
  CHECK(t.items == kItems);
  CHECK(t.documents > 0);
  if (plan.one_entry_per_job) {
    auto job_entries = w.ledger().aggregates(job_id);
    REQUIRE(job_entries.ok());
    CHECK(job_entries->size() == 1);  // one wallet currency: one job entry, whatever the kills
    int journal_entries = 0;
    const auto listed = w.company(0).erp->list();
    REQUIRE(listed.ok());
    for (const auto& d : *listed) {
      if (d.kind != "journal_entry") continue;
      ++journal_entries;
      CHECK(d.externalKey == "job:" + job_id + ":" + company.currency);
    }
    CHECK(journal_entries == 1);
    WARN("one entry per job: " << job_entries->front().members.size() << " members; job entry attempts "
                               << job_entries->front().attempts << ", found by lookup "
                               << (job_entries->front().postedBy == ledger::PostedBy::lookup));
  }
  CHECK(c.auth_refused == 0);
  // No secret in anything the children wrote.
  std::ifstream in(child_log);
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(out.find(company.api_key) == std::string::npos);
}

}  // namespace

TEST_CASE("workflow crash: 50+ SIGKILLs over one job, then one clean run: every item exactly once", "[.][crash]") {
  crash_test({});
}

TEST_CASE("workflow crash: SIGKILLs around one entry per export job (§2.4 mode 3): posted once, reported once",
          "[.][crash_one_entry_per_job]") {
  crash_test({.items = 120, .min_kills = 15, .kills = 20, .target_kills = 26, .seconds = 40, .one_entry_per_job = true});
}
