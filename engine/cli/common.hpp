#pragma once
// What several subcommands share: loading a pack and a directory, --set overrides, the clock.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "model/directory.hpp"
#include "rules/evaluator.hpp"
#include "rules/pack.hpp"

namespace lb::sim {
class PleoServer;
}
namespace lb::workflow {
struct Config;
}

namespace lb::cli {

// A rule pack shipped with ledgerbridge (a folder of rules/ in the source tree, e.g.
// "pleo-sim"), found whatever the current directory is: first beside the executable as
// installed (<prefix>/bin/ledgerbridge -> <prefix>/share/ledgerbridge/rules/<name>), then in
// the source tree this binary was built from (rules::shipped_pack_dirs, where `extends` also
// looks). The error names every place looked at.
Result<std::filesystem::path> shipped_pack(const std::string& name);

// `run --pleo sim` and `bench --e2e`: every simulated company gets its own SQLite ERP in
// `state` (erp-<id>.sqlite, seeded with the simulated world's master data when new) and an
// entry in `config` with the pack `rules`; the ledger is state/ledger.sqlite. Reports to stderr.
bool configure_sim_companies(const std::filesystem::path& state, const std::filesystem::path& rules,
                             const sim::PleoServer& server, workflow::Config& config);

// Prints the error to stderr and returns nullptr when the pack cannot be loaded.
std::shared_ptr<const rules::Pack> load_pack_or_report(const std::string& dir);

// An empty directory when `path` is empty.
bool load_directory_or_report(const std::string& path, model::MemoryDirectory& into);

// --set key.path=value: true/false/null and JSON objects, arrays and quoted strings are JSON;
// anything else, numbers included, is a string here (account codes look like numbers). The
// evaluator then types each value like the pack's setting it replaces (rules::merge_overrides):
// "20" becomes 20 where the pack's setting is a number, and "abc" there is an error.
bool parse_overrides(const std::vector<std::string>& sets, nlohmann::json& into);

// "2026-01-15T12:00:00Z" or "2026-01-15" -> epoch seconds; nullopt when malformed.
std::optional<int64_t> parse_now(const std::string& iso);

// --max-memory-mb and --max-hook-cpu-ms: the operator's ceiling on what a rule pack's [limits]
// may set (rules::EvalOptions::ceiling), for process, explain, test and run. 0: not given.
struct CeilingArgs {
  int64_t max_memory_mb = 0;
  int64_t max_hook_cpu_ms = 0;
};
// `from_config`: run, where each flag replaces the configuration file's [limits] value.
void add_ceiling_options(CLI::App* cmd, CeilingArgs& args, bool from_config = false);
// `base` (run: the configuration file's [limits]) with each flag that was given replacing its value.
rules::LimitCeiling ceiling_of(const CeilingArgs& args, rules::LimitCeiling base = {});

// --directory, --set, --now and the ceiling: how process and explain evaluate.
struct EvalArgs {
  std::string directory;
  std::vector<std::string> sets;
  std::string now;
  CeilingArgs ceiling;
};
void add_eval_options(CLI::App* cmd, EvalArgs& args);

// Loads the directory into `directory` and fills `out`; reports to stderr and returns false on
// bad input.
bool make_eval_options(const EvalArgs& args, model::MemoryDirectory& directory, rules::EvalOptions& out);

}  // namespace lb::cli
