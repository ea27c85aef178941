// ledgerbridge sim: the simulated Pleo (engine/sim/pleo_server.hpp) in the foreground, for
// trying the engine, a client or a demo against a Pleo that keeps state, until SIGINT/SIGTERM.
//
// The banner is the only place the simulated credentials are printed (to stdout, once); logs
// never carry them (DESIGN §6).
#include <fmt/format.h>
#include <signal.h>

#include <memory>

#include "cli/commands.hpp"
#include "sim/pleo_server.hpp"

namespace lb::cli {
namespace {

struct SimArgs {
  int port = 0;
  uint64_t seed = 1;
  int companies = 3;
  int jobs = 2;
  int items = 25;
  double faults = 0;
  int rate_limit = 600;
  int page_cap = 100;
  int job_expiry = 3600;
};

int run(const SimArgs& a) {
  // Block the stop signals before the server's threads exist (they inherit the mask), then
  // wait for one here: no async-signal-safety concerns, and the threads are never interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sim::PleoServerConfig cfg;
  cfg.port = a.port;
  cfg.seed = a.seed;
  cfg.companies = a.companies;
  cfg.jobs_per_company = a.jobs;
  cfg.items_per_job = a.items;
  cfg.rate_limit_per_minute = a.rate_limit;
  cfg.page_cap = a.page_cap;
  cfg.job_expiry = std::chrono::seconds(a.job_expiry);
  if (a.faults > 0) cfg.faults.all = sim::FaultProfile::uniform(a.faults);
  sim::PleoServer server(cfg);
  if (auto st = server.start(); !st) {
    fmt::print(stderr, "ledgerbridge sim: {}\n", st.message());
    return kExitUsage;
  }

  const std::string base = server.base_url();
  fmt::print("simulated Pleo Export API v3 at {}\n", base);
  fmt::print("  seed {}, {} jobs of {} items per company, page cap {}, rate limit {}/min per credential, "
             "job expiry {} s{}\n",
             a.seed, a.jobs, a.items, server.page_cap(), a.rate_limit, a.job_expiry,
             a.faults > 0 ? fmt::format(", faults {:.0f}%", a.faults * 100) : std::string());
  fmt::print("  companies (simulated API keys: HTTP Basic, key as user name, empty password):\n");
  for (const auto& c : server.companies())
    fmt::print("    {}  {} {}  key {}\n", c.id, c.country, c.currency, c.api_key);
  for (const auto& k : server.api_keys())
    if (k.companies.empty()) fmt::print("    every company                             key {}\n", k.key);
  for (const auto& c : server.oauth_clients()) {
    fmt::print("  OAuth: POST {}/oauth/token (grant_type=refresh_token)\n", base);
    fmt::print("    client_id {}  client_secret {}  refresh_token {}\n", c.client_id, c.client_secret,
               server.refresh_token(c.client_id).value_or("-"));
  }
  fmt::print("  e.g. curl -u '{}:' '{}/v3/export-jobs?statuses=pending'\n", server.companies().front().api_key, base);
  fmt::print("Ctrl-C stops.\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  const auto n = server.counters();
  int total = 0;
  for (const auto& [op, count] : n.requests) total += count;
  fmt::print("stopped: {} requests, {} refused for credentials, {} rate-limited\n", total, n.auth_refused, n.rate_limited);
  return kExitOk;
}

}  // namespace

void add_sim_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SimArgs>();
  auto* cmd = app.add_subcommand("sim", "Run the simulated Pleo (Export API v3, master data, files, OAuth) until Ctrl-C");
  cmd->add_option("--port", args->port, "Port on 127.0.0.1 (0: any free port)")->check(CLI::Range(0, 65535));
  cmd->add_option("--seed", args->seed, "Seed of the data and the faults (same seed, same data)");
  cmd->add_option("--companies", args->companies, "Companies (from the fixed world)")->check(CLI::Range(1, 20));
  cmd->add_option("--jobs", args->jobs, "Pending export jobs per company")->check(CLI::Range(0, 1000));
  cmd->add_option("--items", args->items, "Items per job")->check(CLI::Range(0, 100000));
  cmd->add_option("--faults", args->faults,
                  "Probability of an injected fault per request (5xx, 429 burst, dropped or lost response, "
                  "truncated body), plus the same probability of added latency")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--rate-limit", args->rate_limit, "Requests per minute per credential (0: none)")->check(CLI::Range(0, 1000000));
  cmd->add_option("--page-cap", args->page_cap, "Most items a page returns")->check(CLI::Range(1, 100000));
  cmd->add_option("--job-expiry", args->job_expiry, "Seconds without action before an in_progress job expires")
      ->check(CLI::Range(1, 86400 * 7));
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace lb::cli
