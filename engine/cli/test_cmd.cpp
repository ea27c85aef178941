// ledgerbridge test: runs rule packs' fixtures (DESIGN §4) and shows a diff for each case whose
// outcome is not the expected one; --approve writes the current outcomes as the expectations.
// The last line is always "N passed, M failed", alone, for CI tools to read.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "rules/fixtures.hpp"

namespace lb::cli {
namespace {

struct TestArgs {
  std::vector<std::string> packs;
  bool approve = false;
  std::string filter;
  bool trace = false;
  bool quiet = false;
  CeilingArgs ceiling;
};

struct Style {
  bool on = false;
  std::string paint(std::string_view text, std::string_view code) const {
    if (!on) return std::string(text);
    return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
  }
};

// Colour only for a person at a terminal; NO_COLOR (no-color.org) turns it off there too.
Style style_for_stdout() {
  const char* no_color = std::getenv("NO_COLOR");
  return Style{isatty(fileno(stdout)) == 1 && (no_color == nullptr || *no_color == '\0')};
}

void print_indented(const std::string& text, const Style& style, bool is_diff) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    std::string painted(line);
    if (is_diff && !line.starts_with("---") && !line.starts_with("+++")) {
      if (line.starts_with("@@")) painted = style.paint(line, "36");
      else if (line.starts_with("-")) painted = style.paint(line, "31");
      else if (line.starts_with("+")) painted = style.paint(line, "32");
    }
    fmt::print("    {}\n", painted);
    start = end + 1;
  }
}

int run(const TestArgs& a) {
  const Style style = style_for_stdout();
  rules::FixtureRunOptions options;
  options.approve = a.approve;
  options.trace = a.trace;
  options.filter = a.filter;
  options.ceiling = ceiling_of(a.ceiling);

  int passed = 0;
  int failed = 0;
  int approved = 0;
  std::vector<std::string> unusable;
  for (const auto& pack : a.packs) {
    auto results = rules::run_pack_fixtures(pack, options);
    if (!results) {
      std::fflush(stdout);
      fmt::print(stderr, "error: {}\n", results.error().message);
      unusable.push_back(pack);
      continue;
    }
    if (results->empty() && a.filter.empty()) fmt::print(stderr, "warning: {}: no fixtures\n", pack);
    for (const auto& r : *results) {
      const std::string title = r.description.empty() ? r.name : fmt::format("{} — {}", r.name, r.description);
      if (r.passed) {
        ++passed;
        if (r.approved) {
          ++approved;
          fmt::print("{} {}\n", style.paint("APPROVED", "33"), title);
          if (!a.quiet) print_indented(r.diff, style, true);
        } else if (!a.quiet) {
          fmt::print("{} {}\n", style.paint("PASS", "32"), title);
        }
        continue;
      }
      ++failed;
      fmt::print("{} {}\n", style.paint("FAIL", "31"), title);
      if (!r.error.empty()) print_indented(r.error, style, false);
      if (!r.diff.empty()) print_indented(r.diff, style, true);
      if (!r.trace.empty()) {
        fmt::print("    trace:\n");
        print_indented(r.trace, style, false);
      }
    }
  }
  if (approved > 0) fmt::print("{} approved\n", approved);
  // Counts alone would read as success for a pack whose fixtures never ran.
  for (const auto& pack : unusable) fmt::print("{} {}: not loaded, no fixture ran\n", style.paint("ERROR", "31"), pack);
  fmt::print("{} passed, {} failed\n", passed, failed);
  if (!unusable.empty()) return kExitUsage;
  return failed > 0 ? kExitFailures : kExitOk;
}

}  // namespace

void add_test_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TestArgs>();
  CLI::App* cmd = app.add_subcommand("test", "Run rule packs' fixtures and show a diff for each that fails");
  cmd->add_option("pack", args->packs, "Rule pack directories (each with fixtures/*.yaml)")->required();
  cmd->add_flag("--approve", args->approve, "Write each failing case's actual outcome as its expectation");
  cmd->add_option("--filter", args->filter, "Run only cases whose name (pack/file) contains this text");
  cmd->add_flag("--trace", args->trace, "Show the decision trace of each failing case");
  cmd->add_flag("--quiet,-q", args->quiet, "Do not list passing cases");
  add_ceiling_options(cmd, args->ceiling);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace lb::cli
