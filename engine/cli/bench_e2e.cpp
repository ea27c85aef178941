// ledgerbridge bench --e2e measures the whole export instead of the process pipeline
// (bench_process.cpp), issue #4: the simulated Pleo on loopback HTTP with N jobs x M items per
// company, one SQLite ERP per company and the SQLite ledger in a temporary folder, and the real
// workflow (workflow::run_once, as `ledgerbridge run` calls it, in the measured child) with the
// shipped pleo-sim pack. It reports items per second end to end, Export API requests per job
// against the minimum (workflow/minimum_requests.hpp), the 429s Pleo answered and peak RSS.
// Those three counts are correctness, not speed, and are checked: the command exits 1 when a
// job did not finish, a request more than the minimum was made, or a 429 came.
//
// The simulated Pleo runs in this (parent) process; the workflow runs alone in the measured
// child, forked before the simulator starts, so the child's CPU time and peak RSS are the
// workflow's own (ledger, ERPs, rules, HTTP client), not the simulator's, which holds every
// job's items and serves the receipts.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/bench_common.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "pleo/rate_limiter.hpp"
#include "sim/pleo_server.hpp"
#include "workflow/minimum_requests.hpp"
#include "workflow/runner.hpp"

namespace lb::cli::bench {
namespace {

int64_t count_of(const json& by, const char* key) { return by.contains(key) ? by[key].get<int64_t>() : 0; }

// In the parent, after the fork: the simulated Pleo and the ERPs; what the child needs to run.
json start_e2e_world(const BenchArgs& a, const fs::path& rules, const fs::path& state,
                     std::unique_ptr<sim::PleoServer>& server) {
  sim::PleoServerConfig sc;
  sc.seed = a.seed;
  sc.companies = a.companies;
  sc.jobs_per_company = a.jobs;
  sc.items_per_job = a.job_items;
  // Pleo's documented limit (§4.2), enforced: the client keeps to its own lower budget, so a
  // compliant run meets no 429.
  sc.rate_limit_per_minute = pleo::RateLimiter::kPleoMaxPerMinute;
  server = std::make_unique<sim::PleoServer>(sc);
  if (auto st = server->start(); !st) return {{"error", "simulated Pleo: " + st.message()}};
  workflow::Config config;
  if (!configure_sim_companies(state, rules, *server, config)) return {{"error", "setting up the simulated companies"}};
  json companies = json::array();
  for (const auto& c : config.companies)
    companies.push_back({{"id", c.id}, {"name", c.name}, {"rules", c.rules.string()}, {"erp", c.erp_path}});
  json keys = json::object();
  for (const auto& c : server->companies()) keys[c.id] = c.api_key;
  return {{"base_url", server->base_url()}, {"api_keys", keys}, {"ledger", config.ledger.string()},
          {"companies", companies}, {"attachments", a.attachments}};
}

// In the measured child: `ledgerbridge run` over the world the parent started.
json run_e2e_measured(const json& world) {
  const rusage at_start = self_usage();
  workflow::Config config;
  config.ledger = world["ledger"].get<std::string>();
  for (const auto& c : world["companies"]) {
    workflow::CompanyConfig company;
    company.id = c["id"].get<std::string>();
    company.name = c["name"].get<std::string>();
    company.pleo = "sim";
    company.rules = c["rules"].get<std::string>();
    company.erp_kind = "sqlite";
    company.erp_path = c["erp"].get<std::string>();
    company.attachments = world["attachments"].get<bool>();
    config.companies.push_back(std::move(company));
  }
  workflow::RunOptions options;
  options.sim_base_url = world["base_url"].get<std::string>();
  for (const auto& [id, key] : world["api_keys"].items()) options.sim_api_keys[id] = key.get<std::string>();
  options.now = *parse_now(kBenchNow);

  const rusage before = self_usage();
  const auto started = Clock::now();
  const auto results = workflow::run_once(config, options);
  const double seconds = since(started);
  const rusage after = self_usage();

  json errors = json::array();
  int64_t successful = 0, failed = 0, documents = 0;
  for (const auto& r : results) {
    if (!r.error.empty()) errors.push_back(r.company_id + ": " + r.error);
    if (!r.summary.error.empty()) errors.push_back(r.company_id + ": " + r.summary.error);
    for (const auto& j : r.summary.jobs) {
      successful += j.successful;
      failed += j.failed;
      documents += j.documents_posted;
      if (!j.stopped.empty()) errors.push_back("job " + j.job_id + " stopped: " + j.stopped);
    }
    if (r.summary.jobs_skipped) errors.push_back(fmt::format("{}: {} jobs skipped", r.company_id, r.summary.jobs_skipped));
  }
  return {{"run_seconds", seconds},
          {"run_cpu_seconds", cpu_seconds(after) - cpu_seconds(before)},
          {"inherited_rss_mb", max_rss_mb(at_start)},
          {"successful", successful},
          {"failed", failed},
          {"documents", documents},
          {"errors", errors}};
}

}  // namespace

int run_e2e(const BenchArgs& a) {
  fs::path rules;
  if (a.rules_given) {
    rules = fs::absolute(a.rules);
  } else if (auto shipped = shipped_pack("pleo-sim")) {
    rules = *shipped;
  } else {
    fmt::print(stderr, "error: {}\n", shipped.error().message);
    return kExitUsage;
  }
  auto pack = load_pack_or_report(rules.string());
  if (!pack) return kExitUsage;
  const bool temporary = a.keep.empty();
  if (!temporary) {
    // The same seed makes the same job ids: a ledger left from an earlier run would take them
    // for jobs it already exported. Nothing is deleted here; the folder must start empty.
    std::error_code ec;
    if (fs::exists(a.keep, ec) && !fs::is_empty(a.keep, ec)) {
      fmt::print(stderr, "error: --keep {}: the folder is not empty; give a new or empty one\n", a.keep);
      return kExitUsage;
    }
  }
  const fs::path dir = temporary ? make_temp_dir() : fs::path(a.keep);
  if (dir.empty()) return kExitUsage;
  const Cleanup cleanup{dir, temporary};

  const int64_t planned = static_cast<int64_t>(a.companies) * a.jobs * a.job_items;
  fmt::print("ledgerbridge bench --e2e: {} compan{} x {} jobs x {} items = {} items, seed {}, rule pack '{}'\n",
             a.companies, a.companies == 1 ? "y" : "ies", a.jobs, grouped(a.job_items), grouped(planned), a.seed,
             pack->name());
  fmt::print("  machine      {}, {} hardware thread{}\n", cpu_model(), std::thread::hardware_concurrency(),
             std::thread::hardware_concurrency() == 1 ? "" : "s");
  fmt::print("  build        ledgerbridge {}, {}\n", LB_CLI_VERSION, LB_BUILD_KIND);
  fmt::print("  state        {} (ledger and SQLite ERPs{})\n", dir.string(), temporary ? ", removed afterwards" : "");
  fmt::print("  receipts     {}\n", a.attachments ? "downloaded and attached to the ERP documents (8 KB to 2.5 MB each)"
                                                  : "off (--no-attachments)");

  std::unique_ptr<sim::PleoServer> server;
  double setup_seconds = 0;
  rusage parent_before{};
  const ChildResult measured = in_child_with_input(
      [&] {
        const auto t = Clock::now();
        json world = start_e2e_world(a, rules, dir, server);
        setup_seconds = since(t);
        parent_before = self_usage();
        return world;
      },
      [](const json& world) { return run_e2e_measured(world); });
  const rusage parent_after = self_usage();
  const json& r = measured.report;
  if (r.contains("error")) {
    fmt::print(stderr, "error: {}\n", r["error"].get<std::string>());
    return kExitUsage;
  }

  // What Pleo holds and counted: the jobs' items and final states, every request.
  int64_t items = 0, jobs = 0, jobs_final = 0;
  json final_states = json::object();
  std::map<std::string, std::vector<int64_t>> items_per_job;  // by company
  for (const auto& id : server->job_ids()) {
    const auto job = server->job(id);
    if (!job) continue;
    ++jobs;
    items += static_cast<int64_t>(job->items.size());
    items_per_job[job->company_id].push_back(static_cast<int64_t>(job->items.size()));
    if (job->status == "completed" || job->status == "completed_with_errors" || job->status == "failed") {
      ++jobs_final;
      final_states[job->status] = count_of(final_states, job->status.c_str()) + 1;
    }
  }
  workflow::MinimumRequests m;
  for (const auto& [company, per_job] : items_per_job) {
    const auto one = workflow::minimum_requests(per_job, server->page_cap());
    m.listing += one.listing;
    m.control_pages += one.control_pages;
    m.data_pages += one.data_pages;
    m.updates += one.updates;
    m.events += one.events;
  }
  const sim::SimCounters c = server->counters();
  const auto op = [&](const char* name) {
    const auto it = c.requests.find(name);
    return static_cast<int64_t>(it == c.requests.end() ? 0 : it->second);
  };
  const int64_t requests = sim::export_api_requests(c);
  const int64_t minimum = m.total();
  const int64_t rate_limited = c.rate_limited + c.faults_rate_limit;
  const int64_t budget = pleo::RateLimiter::kDefaultPerMinute;

  const double wall = r["run_seconds"].get<double>();
  const double cpu = r["run_cpu_seconds"].get<double>();
  const double sim_cpu = cpu_seconds(parent_after) - cpu_seconds(parent_before);
  const int64_t done = r["successful"].get<int64_t>() + r["failed"].get<int64_t>();
  fmt::print("  setup        simulated Pleo started, ERPs seeded: {:.2f} s (not measured below)\n", setup_seconds);
  fmt::print("  run          {:.3f} s wall: {} items/s end to end; CPU {:.3f} s workflow, {:.3f} s simulated Pleo\n",
             wall, grouped(static_cast<int64_t>(wall > 0 ? static_cast<double>(done) / wall : 0)), cpu, sim_cpu);
  std::string states;
  for (const auto& [k, v] : final_states.items()) states += fmt::format("{}{} {}", states.empty() ? "" : ", ", k, v.get<int64_t>());
  fmt::print("  jobs         {} of {} final ({}); items successful {}, failed {}; {} documents posted\n", jobs_final,
             jobs, states, grouped(r["successful"].get<int64_t>()), grouped(r["failed"].get<int64_t>()),
             grouped(r["documents"].get<int64_t>()));
  for (const auto& e : r["errors"]) fmt::print("               {}\n", e.get<std::string>());
  const auto per_job = [&](int64_t n) { return jobs > 0 ? static_cast<double>(n) / static_cast<double>(jobs) : 0.0; };
  const int64_t listing = op(sim::PleoServer::kOpListJobs);
  fmt::print("  requests     Export API {} = {:.1f} per job + {} listing; minimum {} = {:.1f} per job + {} listing\n",
             grouped(requests), per_job(requests - listing), listing, grouped(minimum), per_job(minimum - m.listing),
             m.listing);
  fmt::print("               made:    control pages {}, data pages {}, item updates {}, job events {}, job reads {}\n",
             op(sim::PleoServer::kOpListJobItems), op(sim::PleoServer::kOpExportItems),
             op(sim::PleoServer::kOpUpdateJobItems), op(sim::PleoServer::kOpJobEvent), op(sim::PleoServer::kOpGetJob));
  fmt::print("               minimum: control pages {}, data pages {}, item updates {}, job events {} ({} items a page, "
             "the most the server gives; 100 updates a request)\n",
             m.control_pages, m.data_pages, m.updates, m.events, server->page_cap());
  const int64_t master = op(sim::PleoServer::kOpTaxCodes) + op(sim::PleoServer::kOpTags) +
                         op(sim::PleoServer::kOpAccounts) + op(sim::PleoServer::kOpVendors);
  fmt::print("               not Export API: master data {} (the rules read the ERP's directory), receipt downloads {}\n",
             master, grouped(op(sim::PleoServer::kOpFile)));
  // The client keeps to its budget per credential (one per company): past it, the budget paces
  // the run, not the engine, and items/s says so.
  const int64_t per_company = (requests + a.companies - 1) / a.companies;  // the companies' jobs are alike
  const std::string pacing =
      per_company <= budget ? std::string("each company's requests fit in one minute's budget: none waited")
                            : fmt::format("about {} requests a company: the budget paced the run (at least {} s of it)",
                                          grouped(per_company), (per_company - 1) / budget * 60);
  fmt::print("  rate limit   {} answered 429; the client's budget {}/min per credential, Pleo's limit {}/min; {}\n",
             rate_limited, budget, pleo::RateLimiter::kPleoMaxPerMinute, pacing);
  fmt::print("  peak RSS     {:.1f} MB, the workflow's process ({:.1f} MB of it inherited at fork; the simulated Pleo "
             "runs in another)\n",
             max_rss_mb(measured.usage), r["inherited_rss_mb"].get<double>());

  const bool all_final = jobs_final == jobs && done == items && r["errors"].empty();
  const bool at_minimum = requests == minimum;
  const bool no_429 = rate_limited == 0;
  fmt::print("  checks\n");
  fmt::print("    {:<40}{}\n", "every job final, every item reported", all_final ? "PASS" : "FAIL");
  fmt::print("    {:<40}{}  ({} made, minimum {})\n", "Export API requests == minimum", at_minimum ? "PASS" : "FAIL",
             requests, minimum);
  fmt::print("    {:<40}{}  ({})\n", "no 429 from Pleo", no_429 ? "PASS" : "FAIL", rate_limited);
  return all_final && at_minimum && no_429 ? kExitOk : kExitFailures;
}

}  // namespace lb::cli::bench
