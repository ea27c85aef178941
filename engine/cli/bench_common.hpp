#pragma once
// What the two benchmarks of `ledgerbridge bench` share: the command's arguments (one set of
// options, bench_cmd.cpp), the frozen clock, running a measured step in a child process and
// reading its CPU time and peak RSS, and the report's number formatting. The process pipeline's
// benchmark is bench_process.cpp, the end-to-end one (--e2e) bench_e2e.cpp. Internal to the CLI.
#include <sys/resource.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace lb::cli::bench {

namespace fs = std::filesystem;
using nlohmann::json;

// The rules' clock is frozen so that two runs of the same data set decide the same things.
inline constexpr const char* kBenchNow = "2026-02-01T12:00:00Z";

struct BenchArgs {
  std::size_t items = 100000;
  int workers = 1;
  int runs = 1;  // measured pipeline runs over the same data set; the targets judge their median
  uint64_t seed = 1;
  std::string keep;
  std::string rules = LB_BENCH_PACK_DIR;
  bool rules_given = false;
  // --e2e
  bool e2e = false;
  int companies = 1;
  int jobs = 5;         // pending jobs per company: a backlog, worked oldest first
  int job_items = 600;  // items per job
  bool attachments = true;  // fetch receipts and attach them (§2.8), as `run` does by default
};

// The two benchmarks; each returns the command's exit code.
int run_process(const BenchArgs& a);
int run_e2e(const BenchArgs& a);

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t);
double cpu_seconds(const rusage& ru);
double max_rss_mb(const rusage& ru);  // Linux: KiB
rusage self_usage();

std::string grouped(int64_t n);
std::string cpu_model();

struct ChildResult {
  bool exited_ok = false;
  rusage usage{};
  json report;  // what the child wrote to the pipe; {"error": ...} when it failed
};

// Runs `fn(input)` in a forked child; `fn` returns a JSON report that comes back through a
// pipe. `make_input` runs in the parent after the fork, and its JSON reaches the child through
// a second pipe (the child waits for it): what the parent does for the child (e.g. start the
// simulated Pleo's threads) is neither inherited by the child nor counted in its peak RSS, and
// the child is forked from a single-threaded process. An input with "error" makes the child
// return it unrun. The child leaves with _exit so that it never flushes stdio buffers or runs
// destructors it shares with the parent.
ChildResult in_child_with_input(const std::function<json()>& make_input, const std::function<json(const json&)>& fn);

// in_child_with_input without input.
ChildResult in_child(const std::function<json()>& fn);

// A fresh folder under $TMPDIR (or /tmp); empty (and reported) when it cannot be made.
fs::path make_temp_dir();

struct Cleanup {
  fs::path dir;
  bool active;
  ~Cleanup() {
    std::error_code ec;
    if (active) fs::remove_all(dir, ec);
  }
};

}  // namespace lb::cli::bench
