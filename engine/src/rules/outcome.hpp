#pragma once
// What the rules decided for one item, and how they got there.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "posting/decisions.hpp"
#include "posting/document.hpp"

namespace lb::rules {

using posting::Decisions;
using posting::Direction;
using posting::LineDecision;
using posting::PostingDecision;
using posting::TaxDecision;

enum class OutcomeStatus { decided, failed, skipped };

struct Failure {
  std::string type;  // a Pleo ExportJobItemFailureReasonType value
  std::string message;
};

struct TraceRead {
  std::string path;   // item.vendor.code
  std::string value;  // as JSON
  bool container = false;  // an object or list, shown by its shape: folded into a read of its field
};

struct TraceLookup {
  std::string call;    // ctx.erp.account("6800")
  std::string result;  // as JSON
};

struct TraceStep {
  std::string hook;
  std::string pack;       // the pack whose function answered
  int line = 0;           // 1-based line for line hooks, 0 for item hooks
  int depth = 0;          // 1 for a ctx.base call from a depth-0 hook, and so on
  std::vector<TraceRead> reads;
  std::vector<TraceLookup> lookups;
  std::vector<std::string> warnings;
  std::vector<std::string> prints;
  std::string result;     // as JSON, or empty on error
  std::string error;
  int64_t nanos = 0;
};

struct Trace {
  std::vector<TraceStep> steps;
  int64_t nanos = 0;
};

struct Outcome {
  std::string accountingEntryId;
  OutcomeStatus status = OutcomeStatus::failed;
  Failure failure;          // when failed
  std::string skip_reason;  // when skipped
  Decisions decisions;      // when decided
  std::vector<posting::Document> documents;  // when decided: what goes to the ERP
  std::vector<std::string> warnings;
  std::optional<Trace> trace;
};

const char* to_string(OutcomeStatus s);

// One canonical JSON object (no trace), keys in a fixed order: what `process` writes per line
// and what fixtures compare.
void write_outcome_json(const Outcome& outcome, std::string& out);

// The trace as JSON (explain --json), and as text for people (explain).
void write_trace_json(const Trace& trace, std::string& out);
std::string render_trace_text(const Outcome& outcome);

}  // namespace lb::rules
