// ledgerbridge explain: the decision trace of each item — every hook called, the pack that
// answered, the fields it read, its look-ups and their results, warnings, the outcome, time.
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/item_reader.hpp"
#include "rules/evaluator.hpp"

namespace lb::cli {
namespace {

struct ExplainArgs {
  std::string input;
  std::string rules;
  EvalArgs eval;
  std::string id;
  bool json = false;
};

int run(const ExplainArgs& a) {
  auto pack = load_pack_or_report(a.rules);
  if (!pack) return kExitUsage;
  model::MemoryDirectory directory;
  rules::EvalOptions options;
  if (!make_eval_options(a.eval, directory, options)) return kExitUsage;
  auto evaluator = rules::Evaluator::create(pack, options);
  if (!evaluator) {
    fmt::print(stderr, "error: {}\n", evaluator.error().message);
    return kExitUsage;
  }

  std::ifstream file(a.input, std::ios::binary);
  if (!file) {
    fmt::print(stderr, "error: {}: cannot read\n", a.input);
    return kExitUsage;
  }
  model::ItemReader reader(file, a.input);
  model::ReadItem read;
  int explained = 0;
  bool any_failed = false;
  while (reader.next(read)) {
    if (auto* error = std::get_if<model::DecodeError>(&read.value)) {
      fmt::print(stderr, "error: {}\n", error->to_string());
      any_failed = true;
      continue;
    }
    const auto& item = std::get<model::ExportItem>(read.value);
    if (!a.id.empty() && item.accountingEntryId != a.id) continue;
    const rules::Outcome o = (*evaluator)->evaluate(item, true);
    any_failed |= o.status == rules::OutcomeStatus::failed;
    ++explained;
    if (a.json) {
      std::string line;
      rules::write_outcome_json(o, line);
      line.pop_back();  // splice the trace into the outcome object
      line += ",\"trace\":";
      rules::write_trace_json(*o.trace, line);
      fmt::print("{}}}\n", line);
      continue;
    }
    const auto& amount = item.amount.inWalletCurrency;
    fmt::print("item {}  {}{}  {} {} minor units  ({}, pack '{}')\n", item.accountingEntryId, item.type,
               item.subType ? "/" + *item.subType : "", amount.value, amount.currency, item.date, pack->name());
    fmt::print("{}", rules::render_trace_text(o));
    std::string line;
    rules::write_outcome_json(o, line);
    fmt::print("{}\n\n", line);
  }
  if (!reader.io_error().empty()) {
    fmt::print(stderr, "error: {}: {}\n", a.input, reader.io_error());
    return kExitUsage;
  }
  if (explained == 0) {
    fmt::print(stderr, "error: {}: no item{}\n", a.input, a.id.empty() ? "" : " with accountingEntryId " + a.id);
    return kExitUsage;
  }
  return any_failed ? kExitFailures : kExitOk;
}

}  // namespace

void add_explain_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ExplainArgs>();
  auto* cmd = app.add_subcommand("explain", "Show how a rule pack decides each item, step by step");
  cmd->add_option("item", args->input, "Pleo v3 JSON: an item, an array, a page, or JSON lines")->required();
  cmd->add_option("-r,--rules", args->rules, "Rule pack folder (with pack.toml)")->required();
  add_eval_options(cmd, args->eval);
  cmd->add_option("--id", args->id, "Only the item with this accountingEntryId");
  cmd->add_flag("--json", args->json, "One JSON object per item: the outcome with its trace");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace lb::cli
