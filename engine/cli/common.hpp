#pragma once
// What several subcommands share: loading a pack and a directory, --set overrides, the clock.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "model/directory.hpp"
#include "rules/evaluator.hpp"
#include "rules/pack.hpp"

namespace lb::cli {

// Prints the error to stderr and returns nullptr when the pack cannot be loaded.
std::shared_ptr<const rules::Pack> load_pack_or_report(const std::string& dir);

// An empty directory when `path` is empty.
bool load_directory_or_report(const std::string& path, model::MemoryDirectory& into);

// --set key.path=value: true/false/null and JSON objects, arrays and quoted strings are JSON;
// anything else, numbers included, is a string (account codes look like numbers).
bool parse_overrides(const std::vector<std::string>& sets, nlohmann::json& into);

// "2026-01-15T12:00:00Z" or "2026-01-15" -> epoch seconds; nullopt when malformed.
std::optional<int64_t> parse_now(const std::string& iso);

// --directory, --set and --now: how process and explain evaluate.
struct EvalArgs {
  std::string directory;
  std::vector<std::string> sets;
  std::string now;
};
void add_eval_options(CLI::App* cmd, EvalArgs& args);

// Loads the directory into `directory` and fills `out`; reports to stderr and returns false on
// bad input.
bool make_eval_options(const EvalArgs& args, model::MemoryDirectory& directory, rules::EvalOptions& out);

}  // namespace lb::cli
