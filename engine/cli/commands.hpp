#pragma once
// Each subcommand of `ledgerbridge` registers itself on the app; main.cpp only wires them up.
// A subcommand's callback sets `exit_code` (one of the codes below).
#include <CLI/CLI.hpp>

namespace lb::cli {

void add_process_command(CLI::App& app, int& exit_code);
void add_test_command(CLI::App& app, int& exit_code);
void add_explain_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_erp_command(CLI::App& app, int& exit_code);
void add_sim_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);

// Exit codes shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;  // the command ran; some items or fixtures failed
inline constexpr int kExitUsage = 2;     // bad arguments or unusable input (pack, files)

}  // namespace lb::cli
