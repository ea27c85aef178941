#pragma once
// `ledgerbridge run`, the daemon and the C ABI's run function all come here: from a Config,
// build each company's Pleo client, ERP sink, rule evaluator and the shared ledger, and run
// its jobs (job_runner.hpp).
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "erp/sink.hpp"
#include "workflow/config.hpp"
#include "workflow/job_runner.hpp"

namespace lb::workflow {

struct RunOptions {
  // Replaces `pleo = "sim"` in the config: the embedded simulator's base URL and, per
  // company id, the API key it issued.
  std::string sim_base_url;
  std::map<std::string, std::string> sim_api_keys;
  // ERPs the embedding application supplies (the C ABI's host sink), by company id; they
  // replace the company's configured `erp`. Not owned.
  std::map<std::string, erp::Sink*> sinks{};
  // Only this company of the configuration; empty = all.
  std::string only_company{};
  std::function<void(const Progress&)> on_progress{};
  const std::atomic<bool>* cancel = nullptr;
  int64_t now = 0;  // the rules' clock (epoch seconds); 0 = the system clock
};

struct CompanyResult {
  std::string company_id;
  std::string name;
  RunSummary summary;
  std::string error;  // set up failed (pack, sink, credentials): nothing ran
};

// Runs every configured company once, one after the other. Errors of one company do not stop
// the others.
std::vector<CompanyResult> run_once(const Config& config, const RunOptions& options);

}  // namespace lb::workflow
