#pragma once
// Offline processing: saved export items in, one outcome per item out (JSON lines), with a
// summary. Used by `ledgerbridge process` and `ledgerbridge bench`. Items are decoded on the
// reading thread and evaluated by `workers` threads, each with its own Evaluator; output keeps
// input order. Memory stays flat: items move through in bounded batches (with one worker, one
// item at a time, evaluated right after it is decoded).
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <string>

#include "model/directory.hpp"
#include "rules/evaluator.hpp"

namespace lb::rules {

struct PipelineOptions {
  int workers = 1;
  std::size_t batch_size = 2048;  // items per batch with several workers; one worker takes one
  EvalOptions eval;
  // Called for each bad input item (decode errors) as it is skipped.
  std::function<void(const std::string&)> on_input_error;
};

struct PipelineSummary {
  int64_t items = 0;         // outcomes written
  int64_t decided = 0;
  int64_t skipped = 0;
  int64_t failed = 0;
  int64_t input_errors = 0;  // items that could not be decoded (reported, not written)
  std::map<std::string, int64_t> failures_by_type;
  std::map<std::string, int64_t> decided_by_method;
  int64_t warnings = 0;
  double seconds = 0;
};

Result<PipelineSummary> run_pipeline(std::istream& in, const std::string& source_name, std::ostream& out,
                                     std::shared_ptr<const Pack> pack, const PipelineOptions& options);

}  // namespace lb::rules
