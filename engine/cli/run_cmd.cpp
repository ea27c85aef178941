// ledgerbridge run: process the pending export jobs of every configured company, once or
// (--watch) on an interval. With --pleo sim the embedded simulated Pleo serves the jobs and
// each company gets a SQLite ERP seeded with the simulated world's chart: the README's main job.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/currency.hpp"
#include "erp/sqlite_erp.hpp"
#include "sim/pleo_server.hpp"
#include "workflow/runner.hpp"

namespace lb::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

struct RunArgs {
  std::string config;
  std::string pleo;
  std::string state = "out/demo";
  bool fresh = false;
  int watch = 0;
  uint64_t seed = 1;
  int companies = 3;
  int jobs = 2;
  int items = 60;
  double faults = 0;
  std::string rules;
  std::string now;
  CeilingArgs ceiling;
};

// Minor units as the currency writes them: 12345 DKK -> 123.45, 728 JPY -> 728.
std::string amount(int64_t minor, const std::string& currency) {
  const int digits = model::currency_minor_units(currency).value_or(2);
  int64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  if (digits == 0) return std::to_string(minor);
  return fmt::format("{}.{:0{}}", minor / scale, minor % scale, digits);
}

std::string counts(const std::map<std::string, int64_t>& by) {
  std::string s;
  for (const auto& [k, v] : by) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", k, v);
  return s.empty() ? "" : "  (" + s + ")";
}

int run(const RunArgs& a) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (a.config.empty() && a.pleo != "sim") {
    fmt::print(stderr, "run: give --config <file>, or --pleo sim for the embedded simulated Pleo\n");
    return kExitUsage;
  }
  if (a.fresh && a.config.empty()) {
    std::error_code ec;
    fs::remove_all(a.state, ec);
  }
  workflow::Config config;
  if (!a.config.empty()) {
    auto loaded = workflow::load_config(a.config);
    if (!loaded) {
      fmt::print(stderr, "run: {}\n", loaded.error().message);
      return kExitUsage;
    }
    config = std::move(*loaded);
  }
  config.ceiling = ceiling_of(a.ceiling, config.ceiling);  // a flag replaces the file's value

  std::unique_ptr<sim::PleoServer> server;
  workflow::RunOptions options;
  options.cancel = &g_stop;
  if (!a.now.empty()) {
    auto now = parse_now(a.now);
    if (!now) {
      fmt::print(stderr, "run: --now: expected a date-time like 2026-01-15T12:00:00Z\n");
      return kExitUsage;
    }
    options.now = *now;
  }
  bool any_sim = a.pleo == "sim";
  for (const auto& c : config.companies) any_sim = any_sim || c.pleo == "sim";
  if (any_sim) {
    sim::PleoServerConfig sc;
    sc.seed = a.seed;
    sc.companies = a.companies;
    sc.jobs_per_company = a.jobs;
    sc.items_per_job = a.items;
    if (a.faults > 0) sc.faults.all = sim::FaultProfile::uniform(a.faults);
    server = std::make_unique<sim::PleoServer>(sc);
    if (auto st = server->start(); !st) {
      fmt::print(stderr, "run: simulated Pleo: {}\n", st.message());
      return kExitFailures;
    }
    options.sim_base_url = server->base_url();
    for (const auto& c : server->companies()) options.sim_api_keys[c.id] = c.api_key;
    fs::path rules;
    if (a.config.empty()) {
      // The pack: --rules as given (relative to the current directory), else the shipped
      // pleo-sim pack wherever ledgerbridge is run from.
      if (!a.rules.empty()) {
        rules = fs::absolute(a.rules);
      } else if (auto shipped = shipped_pack("pleo-sim")) {
        rules = *shipped;
      } else {
        fmt::print(stderr, "run: {}\n", shipped.error().message);
        return kExitUsage;
      }
      if (!configure_sim_companies(a.state, rules, *server, config)) return kExitUsage;
    } else if (a.pleo == "sim") {
      for (auto& c : config.companies) c.pleo = "sim";
    }
    fmt::print("simulated Pleo at {}: {} companies, {} jobs of {} items each\n", server->base_url(), a.companies,
               a.jobs, a.items);
    if (!rules.empty()) fmt::print("rule pack {}\n", rules.string());
  }

  const bool tty = ::isatty(STDERR_FILENO);
  options.on_progress = [tty](const workflow::Progress& p) {
    if (tty) fmt::print(stderr, "\r  job {}  {}/{} items", p.job_id.substr(0, 8), p.done, p.total);
  };

  int exit_code = kExitOk;
  do {
    const auto started = std::chrono::steady_clock::now();
    const auto results = workflow::run_once(config, options);
    if (tty) fmt::print(stderr, "\r{:60}\r", "");
    int64_t ok = 0, failed = 0, docs = 0, jobs = 0;
    std::map<std::string, int64_t> failures;
    for (const auto& r : results) {
      fmt::print("company {} {}\n", r.company_id, r.name);
      if (!r.error.empty()) {
        fmt::print("  error      {}\n", r.error);
        exit_code = kExitFailures;
        continue;
      }
      if (!r.summary.error.empty()) {
        fmt::print("  error      {}\n", r.summary.error);
        exit_code = kExitFailures;
      }
      for (const auto& j : r.summary.jobs) {
        ++jobs;
        ok += j.successful;
        failed += j.failed;
        docs += j.documents_posted;
        for (const auto& [k, v] : j.failures) failures[k] += v;
        fmt::print("  job {}  {}  successful {}, failed {}{}, documents {}{}{}{}\n", j.job_id,
                   j.final_event.empty() ? "stopped" : j.final_event, j.successful, j.failed, counts(j.failures),
                   j.documents_posted, j.documents_recovered ? fmt::format(", recovered {}", j.documents_recovered) : "",
                   j.job_entry_members ? fmt::format(" ({} items in one entry per job)", j.job_entry_members) : "",
                   j.resumed ? " (resumed)" : "");
        if (!j.stopped.empty()) {
          fmt::print("    stopped: {}\n", j.stopped);
          exit_code = kExitFailures;
        }
      }
      if (r.summary.jobs_skipped) fmt::print("  skipped    {} jobs (claimed by another integration)\n", r.summary.jobs_skipped);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("summary: {} jobs, {} items successful, {} failed{}, {} documents written, {:.2f} s\n", jobs, ok, failed,
               counts(failures), docs, seconds);
    if (server) {
      int requests = 0;
      for (const auto& [op, n] : server->counters().requests) requests += n;
      fmt::print("         {} requests to Pleo, {} rate-limited\n", requests, server->counters().rate_limited);
    }
    if (server && a.config.empty()) {
      for (const auto& c : config.companies) {
        auto erp = erp::SqliteErp::open(c.erp_path);
        if (!erp) continue;
        auto tb = (*erp)->trial_balance();
        if (!tb) continue;
        std::string totals;
        for (const auto& t : tb->totals)
          totals += fmt::format("{}{} {}", totals.empty() ? "" : ", ", t.currency, amount(t.debit, t.currency));
        fmt::print("  ERP {}: {} documents, trial balance {} ({})\n", c.erp_path, tb->documents,
                   tb->balanced() ? "balances" : "DOES NOT BALANCE", totals);
        if (!tb->balanced()) exit_code = kExitFailures;
      }
    }
    if (a.watch <= 0) break;
    for (int i = 0; i < a.watch * 10 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (!g_stop);
  return exit_code;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Process the pending Pleo export jobs of the configured companies");
  cmd->add_option("-c,--config", args->config, "Configuration file (companies, credentials, rule packs, ERPs)");
  cmd->add_option("--pleo", args->pleo, "\"sim\": use the embedded simulated Pleo")->check(CLI::IsMember({"sim"}));
  cmd->add_option("--watch", args->watch, "Keep polling every N seconds until interrupted");
  cmd->add_option("--state", args->state, "Simulator mode: folder for the ledger and the SQLite ERPs")
      ->capture_default_str();
  cmd->add_flag("--fresh", args->fresh, "Simulator mode: start from an empty state folder");
  cmd->add_option("--seed", args->seed, "Simulator seed")->capture_default_str();
  cmd->add_option("--companies", args->companies, "Simulated companies")->check(CLI::Range(1, 20))->capture_default_str();
  cmd->add_option("--jobs", args->jobs, "Pending jobs per simulated company")->capture_default_str();
  cmd->add_option("--items", args->items, "Items per simulated job")->capture_default_str();
  cmd->add_option("--faults", args->faults, "Simulator fault probability per request (0..1)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--rules", args->rules,
                  "Simulator mode: rule pack folder (default: the shipped pleo-sim pack, found beside the installed "
                  "command or in the source tree, from any directory)");
  cmd->add_option("--now", args->now, "The rules' clock, e.g. 2026-01-15T12:00:00Z");
  add_ceiling_options(cmd, args->ceiling, /*from_config=*/true);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace lb::cli
