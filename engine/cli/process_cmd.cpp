// ledgerbridge process: saved export items -> one outcome per item (JSON lines) + a summary.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "rules/pipeline.hpp"

namespace lb::cli {
namespace {

struct ProcessArgs {
  std::vector<std::string> inputs;
  std::string rules;
  EvalArgs eval;
  std::string output = "-";
  int workers = 1;
  bool strict = false;
};

std::string counts(const std::map<std::string, int64_t>& by) {
  std::string s;
  for (const auto& [k, v] : by) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", k, v);
  return s.empty() ? "" : "  (" + s + ")";
}

int run(const ProcessArgs& a) {
  auto pack = load_pack_or_report(a.rules);
  if (!pack) return kExitUsage;
  model::MemoryDirectory directory;
  rules::PipelineOptions options;
  options.workers = a.workers;
  if (!make_eval_options(a.eval, directory, options.eval)) return kExitUsage;
  options.on_input_error = [](const std::string& e) { spdlog::error("skipped {}", e); };

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (a.output != "-") {
    file.open(a.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      fmt::print(stderr, "error: {}: cannot write\n", a.output);
      return kExitUsage;
    }
    out = &file;
  }

  rules::PipelineSummary total;
  for (const auto& input : a.inputs) {
    std::ifstream in_file;
    std::istream* in = &std::cin;
    if (input != "-") {
      in_file.open(input, std::ios::binary);
      if (!in_file) {
        fmt::print(stderr, "error: {}: cannot read\n", input);
        return kExitUsage;
      }
      in = &in_file;
    }
    auto s = rules::run_pipeline(*in, input == "-" ? "stdin" : input, *out, pack, options);
    if (!s) {
      fmt::print(stderr, "error: {}\n", s.error().message);
      return kExitUsage;
    }
    total.items += s->items, total.decided += s->decided, total.skipped += s->skipped;
    total.failed += s->failed, total.input_errors += s->input_errors, total.warnings += s->warnings;
    total.seconds += s->seconds;
    for (const auto& [k, v] : s->failures_by_type) total.failures_by_type[k] += v;
    for (const auto& [k, v] : s->decided_by_method) total.decided_by_method[k] += v;
  }
  out->flush();

  // The summary goes to stderr when outcomes go to stdout, so a pipe gets clean JSON lines.
  std::FILE* summary = a.output == "-" ? stderr : stdout;
  fmt::print(summary, "ledgerbridge process: {} item{} with rule pack '{}'\n", total.items + total.input_errors,
             total.items + total.input_errors == 1 ? "" : "s", pack->name());
  fmt::print(summary, "  decided    {}{}\n", total.decided, counts(total.decided_by_method));
  fmt::print(summary, "  skipped    {}\n", total.skipped);
  fmt::print(summary, "  failed     {}{}\n", total.failed, counts(total.failures_by_type));
  fmt::print(summary, "  bad input  {}{}\n", total.input_errors, total.input_errors ? "  (reported on stderr, not in the output)" : "");
  fmt::print(summary, "  warnings   {}\n", total.warnings);
  if (a.output != "-") fmt::print(summary, "  outcomes   {}\n", a.output);
  fmt::print(summary, "  time       {:.3f} s\n", total.seconds);
  if (a.strict && (total.failed > 0 || total.input_errors > 0)) return kExitFailures;
  return kExitOk;
}

}  // namespace

void add_process_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ProcessArgs>();
  auto* cmd = app.add_subcommand("process", "Run a rule pack over saved Pleo v3 export items (offline)");
  cmd->add_option("inputs", args->inputs,
                  "Files of export items: a single item, an array, a GET /v3/export-items page, or JSON lines "
                  "('-' for stdin)")
      ->required();
  cmd->add_option("-r,--rules", args->rules, "Rule pack folder (with pack.toml)")->required();
  add_eval_options(cmd, args->eval);
  cmd->add_option("-o,--output", args->output, "Where to write outcomes, one JSON object per line ('-': stdout)");
  cmd->add_option("-j,--workers", args->workers, "Worker threads, each with its own Lua state")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--strict", args->strict, "Exit 1 if any item failed or could not be read");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace lb::cli
