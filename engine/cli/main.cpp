#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ledgerbridge: Pleo exports into accounting systems, decided by Lua rule packs"};
  app.set_version_flag("--version", std::string("ledgerbridge ") + LB_CLI_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.parse_complete_callback([&] {
    // Logs go to stderr: stdout carries command output (outcomes, diffs, traces).
    auto logger = spdlog::stderr_color_mt("ledgerbridge");
    logger->set_pattern("%^%l%$: %v");
    logger->set_level(spdlog::level::from_str(log_level));
    spdlog::set_default_logger(logger);
  });

  int exit_code = lb::cli::kExitOk;
  lb::cli::add_process_command(app, exit_code);
  lb::cli::add_test_command(app, exit_code);
  lb::cli::add_explain_command(app, exit_code);
  lb::cli::add_bench_command(app, exit_code);
  lb::cli::add_erp_command(app, exit_code);
  lb::cli::add_sim_command(app, exit_code);
  lb::cli::add_run_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : lb::cli::kExitUsage;
  }
  return exit_code;
}
