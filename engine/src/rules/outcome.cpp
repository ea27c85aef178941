#include "rules/outcome.hpp"

#include <fmt/format.h>

#include "model/json_writer.hpp"

namespace lb::rules {

using model::JsonWriter;
using namespace model::json_literals;

const char* to_string(OutcomeStatus s) {
  switch (s) {
    case OutcomeStatus::decided: return "decided";
    case OutcomeStatus::failed: return "failed";
    case OutcomeStatus::skipped: return "skipped";
  }
  return "failed";
}

namespace {

void optional_value(JsonWriter& w, const std::optional<std::string>& v) {
  if (v) w.value(*v);
  else w.null();
}

// The decisions people scan first; every account, amount, tax code and dimension is in the
// documents that follow.
void write_decisions(JsonWriter& w, const Decisions& d) {
  w.key("method"_key).value(d.method);
  w.key("direction"_key).value(posting::to_string(d.direction));
  w.key("vendor"_key);
  optional_value(w, d.vendor);
}

}  // namespace

void write_outcome_json(const Outcome& o, std::string& out) {
  JsonWriter w(out);
  w.begin_object();
  w.key("accountingEntryId"_key).value(o.accountingEntryId);
  w.key("status"_key).value(to_string(o.status));
  switch (o.status) {
    case OutcomeStatus::failed:
      w.key("failure"_key).begin_object();
      w.key("type"_key).value(o.failure.type).key("message"_key).value(o.failure.message).end_object();
      break;
    case OutcomeStatus::skipped: w.key("reason"_key).value(o.skip_reason); break;
    case OutcomeStatus::decided:
      write_decisions(w, o.decisions);
      w.key("documents"_key).begin_array();
      for (const auto& document : o.documents) posting::write_document_json(document, w);
      w.end_array();
      break;
  }
  w.key("warnings"_key).begin_array();
  for (const auto& warning : o.warnings) w.value(warning);
  w.end_array();
  w.end_object();
}

void write_trace_json(const Trace& trace, std::string& out) {
  JsonWriter w(out);
  w.begin_object();
  w.key("micros"_key).value(static_cast<double>(trace.nanos / 1000));
  w.key("steps"_key).begin_array();
  for (const auto& s : trace.steps) {
    w.begin_object();
    w.key("hook"_key).value(s.hook).key("pack"_key).value(s.pack);
    w.key("line"_key).value(static_cast<int64_t>(s.line));
    w.key("depth"_key).value(static_cast<int64_t>(s.depth));
    w.key("reads"_key).begin_array();
    for (const auto& r : s.reads)
      w.begin_object().key("path"_key).value(r.path).key("value"_key).raw(r.value).end_object();
    w.end_array();
    w.key("lookups"_key).begin_array();
    for (const auto& l : s.lookups) {
      w.begin_object().key("call"_key).value(l.call);
      w.key("result"_key).raw(l.result.empty() ? "null" : l.result).end_object();
    }
    w.end_array();
    w.key("warnings"_key).begin_array();
    for (const auto& x : s.warnings) w.value(x);
    w.end_array();
    w.key("prints"_key).begin_array();
    for (const auto& x : s.prints) w.value(x);
    w.end_array();
    w.key("result"_key).raw(s.result.empty() ? "null" : s.result);
    w.key("error"_key);
    if (s.error.empty()) w.null();
    else w.value(s.error);
    w.key("micros"_key).value(static_cast<double>(s.nanos / 1000));
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

std::string render_trace_text(const Outcome& o) {
  std::string out;
  auto append = [&out]<typename... Args>(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
  };
  if (!o.trace) return out;
  for (const auto& s : o.trace->steps) {
    const std::string indent(static_cast<size_t>(s.depth) * 2 + 2, ' ');
    const std::string hook = s.line > 0 ? fmt::format("{}[line {}]", s.hook, s.line) : s.hook;
    const std::string via = s.depth > 0 ? "ctx.base → " : "";
    append("{}{}{}  ({}, {:.3f} ms)\n", indent, via, hook, s.pack, static_cast<double>(s.nanos) / 1e6);
    for (const auto& r : s.reads) append("{}  read   {} = {}\n", indent, r.path, r.value);
    for (const auto& l : s.lookups) append("{}  lookup {} → {}\n", indent, l.call, l.result.empty() ? "null" : l.result);
    for (const auto& p : s.prints) append("{}  print  {}\n", indent, p);
    for (const auto& wn : s.warnings) append("{}  warn   {}\n", indent, wn);
    if (!s.error.empty()) append("{}  error  {}\n", indent, s.error);
    else append("{}  → {}\n", indent, s.result.empty() || s.result == "null" ? "nil" : s.result);
  }
  append("outcome: {}", to_string(o.status));
  if (o.status == OutcomeStatus::failed) append(" ({}: {})", o.failure.type, o.failure.message);
  if (o.status == OutcomeStatus::skipped) append(" ({})", o.skip_reason);
  append("  [{:.3f} ms]\n", static_cast<double>(o.trace->nanos) / 1e6);
  return out;
}

}  // namespace lb::rules
