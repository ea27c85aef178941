// ledgerbridge bench: the command's options and the choice between its two benchmarks. They
// share one set of options, some of which exclude each other (--e2e and --items, --workers,
// --runs) or need --e2e (--companies, --jobs, --job-items, --no-attachments), so the options are
// declared here once and each benchmark lives in its own file: the process pipeline in
// bench_process.cpp, the whole export against the simulated Pleo (--e2e) in bench_e2e.cpp, and
// what both need (the arguments, the measured child process) in bench_common.hpp.
#include <memory>

#include "cli/bench_common.hpp"
#include "cli/commands.hpp"

namespace lb::cli {

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<bench::BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench", "Generate synthetic Pleo v3 items and measure the process pipeline (throughput, peak memory), or "
               "with --e2e the whole export against the simulated Pleo");
  auto* items = cmd->add_option("-n,--items", args->items, "Number of items to generate")->check(CLI::Range(1, 100000000));
  auto* workers =
      cmd->add_option("-j,--workers", args->workers, "Worker threads, each with its own Lua state")->check(CLI::Range(1, 64));
  auto* runs = cmd->add_option("--runs", args->runs,
                               "Measure the pipeline this many times over the same data set, each run in a fresh "
                               "process; the targets judge the median (a shared machine drifts from run to run)")
                   ->check(CLI::Range(1, 100))
                   ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the item generator (same seed, same items)");
  cmd->add_option("--keep", args->keep,
                  "Write the data set and outcomes into this folder and keep them (reused by later runs with the "
                  "same --items and --seed); with --e2e, the ledger and the ERPs (a new or empty folder)");
  auto* rules = cmd->add_option("-r,--rules", args->rules,
                                "Rule pack folder (default: tests/bench/pack; with --e2e the shipped pleo-sim pack)");
  auto* e2e = cmd->add_flag("--e2e", args->e2e,
                            "End to end: the simulated Pleo over loopback HTTP, the workflow of `run`, a SQLite ledger "
                            "and ERPs; items/s, Export API requests per job against the minimum, 429s, peak RSS");
  e2e->excludes(items)->excludes(workers)->excludes(runs);
  cmd->add_option("--companies", args->companies, "--e2e: simulated companies, each its own credential")
      ->check(CLI::Range(1, 20))
      ->capture_default_str()
      ->needs(e2e);
  cmd->add_option("--jobs", args->jobs, "--e2e: pending jobs per company (a backlog, worked oldest first)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str()
      ->needs(e2e);
  cmd->add_option("--job-items", args->job_items, "--e2e: items per job")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str()
      ->needs(e2e);
  cmd->add_flag("!--no-attachments", args->attachments, "--e2e: do not fetch receipts or attach them to the ERP documents")
      ->needs(e2e);
  cmd->callback([args, rules, &exit_code] {
    args->rules_given = rules->count() > 0;
    exit_code = args->e2e ? bench::run_e2e(*args) : bench::run_process(*args);
  });
}

}  // namespace lb::cli
