#pragma once
// A rule pack's fixtures (DESIGN §4): golden tests in the style of hledger's and beangulp's.
// Each <pack>/fixtures/*.yaml file is one case: an item (a path to Pleo v3 JSON, or inline),
// optional settings, ERP directory and clock, and the expected outcome as YAML under `expect:`,
// which must be the file's last top-level key. Files whose name starts with '_' and
// directory.yaml (the default directory every case starts from) are not cases.
//
// The expectation is the outcome as write_outcome_json renders it, without accountingEntryId
// (it is the item's), with volatile text scrubbed (see scrub_volatile). A mismatch is reported
// as a unified diff of the canonical YAML of both sides; --approve writes the actual outcome
// as the new `expect:` section, leaving everything above it (comments included) untouched.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "model/result.hpp"
#include "rules/sandbox.hpp"

namespace lb::rules {

struct FixtureRunOptions {
  bool approve = false;  // rewrite the `expect:` of every case whose outcome differs
  bool trace = false;    // keep the decision trace of cases that do not pass
  std::string filter;    // run only cases whose name contains this
  LimitCeiling ceiling;  // the operator's cap on the pack's [limits] (EvalOptions::ceiling)
};

struct FixtureResult {
  std::filesystem::path path;  // the case file, under the pack directory as it was given
  std::string name;            // "<pack name>/<file stem>", how the CLI names the case
  std::string description;
  bool passed = false;
  bool approved = false;  // --approve rewrote the expectation; counts as passed
  std::string diff;       // unified diff, expected -> actual, when they differ (or none is written yet)
  std::string error;      // why the case could not be run ("file:line: ..."), or the missing expectation
  std::string trace;      // render_trace_text, with FixtureRunOptions::trace, for cases that did not pass
};

// Runs every case of the pack in `pack_dir`, in file-name order. An error result means the
// pack itself is unusable (it does not load, its rules do not compile, its limits are above
// options.ceiling, or its default fixture directory is broken); a bad case is reported in its
// own FixtureResult.
Result<std::vector<FixtureResult>> run_pack_fixtures(const std::filesystem::path& pack_dir,
                                                     const FixtureRunOptions& options);

// What fixtures compare instead of the engine's raw text, so that expectations hold on every
// machine: memory addresses (0x7f3a... -> 0x…) and absolute pack directories (the pack-relative
// form errors use, "default/tables/gl.csv"). `pack_dirs` pairs each directory with its prefix.
std::string scrub_volatile(std::string text,
                           const std::vector<std::pair<std::string, std::string>>& pack_dirs);

// A unified diff (diff -u style, 3 lines of context) between two texts, with the headers
// "--- expected" and "+++ actual"; empty when they are equal.
std::string unified_diff(const std::string& expected, const std::string& actual);

}  // namespace lb::rules
