#include "rules/fixtures.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>

using lb::rules::FixtureResult;
using lb::rules::FixtureRunOptions;
using lb::rules::run_pack_fixtures;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace fs = std::filesystem;

namespace {

const fs::path kData = LB_TEST_DATA_DIR;
const fs::path kPack = kData / "fixtures" / "fixturepack";

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::map<std::string, FixtureResult> by_name(const std::vector<FixtureResult>& results) {
  std::map<std::string, FixtureResult> out;
  for (const auto& r : results) out.emplace(r.name, r);
  return out;
}

std::vector<FixtureResult> run(const fs::path& pack, const FixtureRunOptions& options = {}) {
  auto results = run_pack_fixtures(pack, options);
  INFO((results ? "" : results.error().message));
  REQUIRE(results.ok());
  return *results;
}

// A writable copy of the test pack, laid out like tests/data so that the cases' item paths
// (../../../pleo/...) still resolve: <tmp>/pleo and <tmp>/fixtures/fixturepack.
class PackCopy {
 public:
  PackCopy() {
    static std::atomic<int> counter{0};
    root_ = fs::temp_directory_path() / ("lb-fixtures-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(root_);
    fs::create_directories(root_ / "fixtures");
    fs::copy(kData / "pleo", root_ / "pleo", fs::copy_options::recursive);
    fs::copy(kPack, pack(), fs::copy_options::recursive);
  }
  ~PackCopy() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  PackCopy(const PackCopy&) = delete;
  PackCopy& operator=(const PackCopy&) = delete;

  fs::path pack() const { return root_ / "fixtures" / "fixturepack"; }
  fs::path fixture(const std::string& file) const { return pack() / "fixtures" / file; }

 private:
  fs::path root_;
};

// Only the named case of a pack copy, with the other cases removed.
FixtureResult run_single(const PackCopy& copy, const std::string& file, const std::string& text,
                         const FixtureRunOptions& options = {}) {
  write(copy.fixture(file), text);
  FixtureRunOptions o = options;
  o.filter = "fixturepack/" + fs::path(file).stem().string();
  const auto results = run(copy.pack(), o);
  REQUIRE(results.size() == 1);
  return results.front();
}

}  // namespace

TEST_CASE("fixtures: every case of a pack runs, in file-name order", "[fixtures]") {
  const auto results = run(kPack);
  std::vector<std::string> names;
  for (const auto& r : results) names.push_back(r.name);
  // _README.yaml, _erp_without_office_supplies.yaml and directory.yaml are not cases.
  CHECK(names == std::vector<std::string>{"fixturepack/card_purchase", "fixturepack/clock_default",
                                          "fixturepack/clock_set", "fixturepack/directory_file",
                                          "fixturepack/inline_item", "fixturepack/no_expect",
                                          "fixturepack/settings_final", "fixturepack/vendor_blocked",
                                          "fixturepack/vendor_known", "fixturepack/wallet_topup_skipped",
                                          "fixturepack/wrong_account"});
  for (const auto& r : results) {
    INFO(r.name << "\n" << r.error << "\n" << r.diff);
    const bool expected_to_fail = r.name == "fixturepack/no_expect" || r.name == "fixturepack/wrong_account";
    CHECK(r.passed == !expected_to_fail);
    CHECK_FALSE(r.approved);
    CHECK(r.trace.empty());
    CHECK(r.path.parent_path() == kPack / "fixtures");
    if (r.passed) {
      CHECK(r.error.empty());
      CHECK(r.diff.empty());
    }
  }
  const auto cases = by_name(results);
  CHECK(cases.at("fixturepack/card_purchase").description == "Card purchase books to the line's account");
}

TEST_CASE("fixtures: each input a case can set reaches the rules", "[fixtures]") {
  const auto cases = by_name(run(kPack));
  // An item path, relative to the fixture file.
  CHECK(cases.at("fixturepack/card_purchase").passed);
  // An inline item, written as YAML.
  CHECK(cases.at("fixturepack/inline_item").passed);
  // settings: {draft: false} over the pack's draft = true.
  CHECK(cases.at("fixturepack/settings_final").passed);
  // The default clock, and a clock set with a UTC offset (2025-03-01T23:30-02:00 is 2 March UTC).
  CHECK(cases.at("fixturepack/clock_default").passed);
  CHECK(cases.at("fixturepack/clock_set").passed);
  // A directory overlay blocks the vendor for one case only: vendor_known runs after it with the
  // default directory and still finds the vendor.
  CHECK(cases.at("fixturepack/vendor_blocked").passed);
  CHECK(cases.at("fixturepack/vendor_known").passed);
  // A directory file replaces the default directory.
  CHECK(cases.at("fixturepack/directory_file").passed);
  CHECK(cases.at("fixturepack/wallet_topup_skipped").passed);
}

TEST_CASE("fixtures: a wrong expectation fails with a unified diff", "[fixtures]") {
  const auto cases = by_name(run(kPack));
  const FixtureResult& r = cases.at("fixturepack/wrong_account");
  CHECK_FALSE(r.passed);
  CHECK(r.error.empty());
  CHECK(r.diff ==
        "--- expected\n"
        "+++ actual\n"
        "@@ -14,10 +14,10 @@\n"
        "     vendor: null\n"
        "     invoiceNumber: null\n"
        "     description: Target · Luke Richardson · Printer ink\n"
        "-    draft: false\n"
        "+    draft: true\n"
        "     lines:\n"
        "       - role: expense\n"
        "-        account: \"6900\"\n"
        "+        account: \"6800\"\n"
        "         debit: 6366\n"
        "         credit: 0\n"
        "         currency: GBP\n");
}

TEST_CASE("fixtures: a case without an expectation fails and shows the outcome", "[fixtures]") {
  const auto cases = by_name(run(kPack));
  const FixtureResult& r = cases.at("fixturepack/no_expect");
  CHECK_FALSE(r.passed);
  CHECK(r.error == "no expectation yet: run with --approve");
  CHECK_THAT(r.diff, StartsWith("--- expected\n+++ actual\n@@ -0,0 +1,40 @@\n+status: decided\n+method: journal\n+direction: out\n"));
  CHECK_THAT(r.diff, Contains("+  - Account 7300 is not in the ERP; booked to suspense.\n"));

  PackCopy copy;
  // An `expect:` with nothing under it is the same: not written yet.
  const auto empty = run_single(copy, "empty_expect.yaml", "item: ../../../pleo/refund_journal.json\nexpect:\n");
  CHECK(empty.error == "no expectation yet: run with --approve");
}

TEST_CASE("fixtures: --filter and --trace", "[fixtures]") {
  FixtureRunOptions options;
  options.filter = "clock";
  options.trace = true;
  const auto results = run(kPack, options);
  REQUIRE(results.size() == 2);
  CHECK(results[0].name == "fixturepack/clock_default");
  CHECK(results[1].name == "fixturepack/clock_set");
  CHECK(results[0].trace.empty());  // passing cases keep no trace

  options.filter = "wrong_account";
  const auto failing = run(kPack, options);
  REQUIRE(failing.size() == 1);
  CHECK_THAT(failing[0].trace, Contains("account[line 1]"));
  CHECK_THAT(failing[0].trace, Contains("lookup ctx.erp.account(\"6800\")"));
  CHECK_THAT(failing[0].trace, Contains("outcome: decided"));
}

TEST_CASE("fixtures: --approve writes expectations that then pass", "[fixtures]") {
  PackCopy copy;
  const std::string passing_before = slurp(copy.fixture("card_purchase.yaml"));
  const std::string wrong_before = slurp(copy.fixture("wrong_account.yaml"));
  const std::string missing_before = slurp(copy.fixture("no_expect.yaml"));

  FixtureRunOptions approve;
  approve.approve = true;
  const auto approved = by_name(run(copy.pack(), approve));
  for (const auto& [name, r] : approved) {
    INFO(name << ": " << r.error);
    CHECK(r.passed);
    CHECK(r.approved == (name == "fixturepack/no_expect" || name == "fixturepack/wrong_account"));
  }
  // The approved case's diff still shows what changed.
  CHECK_THAT(approved.at("fixturepack/wrong_account").diff, Contains("+        account: \"6800\"\n"));

  // A passing case is not rewritten, whatever its layout.
  CHECK(slurp(copy.fixture("card_purchase.yaml")) == passing_before);

  // Everything above `expect:` survives, comments included; the rest is the canonical outcome.
  const std::string wrong_after = slurp(copy.fixture("wrong_account.yaml"));
  const std::string above = wrong_before.substr(0, wrong_before.find("expect:"));
  CHECK_THAT(above, Contains("# Deliberately wrong"));
  CHECK(wrong_after.substr(0, above.size()) == above);
  CHECK(wrong_after.substr(above.size()) == passing_before.substr(passing_before.find("expect:")));

  // Without an `expect:`, the expectation is appended.
  const std::string missing_after = slurp(copy.fixture("no_expect.yaml"));
  CHECK(missing_after.substr(0, missing_before.size()) == missing_before);
  CHECK_THAT(missing_after.substr(missing_before.size()),
             StartsWith("expect:\n  status: decided\n  method: journal\n  direction: out\n  vendor: null\n  documents:\n"));

  const auto rerun = run(copy.pack());
  for (const auto& r : rerun) {
    INFO(r.name << "\n" << r.error << "\n" << r.diff);
    CHECK(r.passed);
    CHECK_FALSE(r.approved);
  }
  // Approving again changes nothing.
  const auto again = run(copy.pack(), approve);
  for (const auto& r : again) CHECK_FALSE(r.approved);
  CHECK(slurp(copy.fixture("wrong_account.yaml")) == wrong_after);
}

TEST_CASE("fixtures: approved text reads back as the same values", "[fixtures]") {
  PackCopy copy;
  // Strings that YAML would otherwise read as other types, or that need quoting, and volatile
  // text the scrubber rewrites: an address, and the pack's absolute directory.
  const std::string pack_dir = fs::weakly_canonical(copy.pack()).string();
  const std::string text = "description: awkward warnings\n"
                           "item: ../../../pleo/wallet_topup.json\n"
                           "settings:\n"
                           "  echo_warnings:\n"
                           "    - \"true\"\n"
                           "    - \"6800\"\n"
                           "    - \"null\"\n"
                           "    - \"~\"\n"
                           "    - \"\"\n"
                           "    - \"1.5e3\"\n"
                           "    - \"-7\"\n"
                           "    - \"- dash\"\n"
                           "    - \"key: value\"\n"
                           "    - \"two\\nlines\"\n"
                           "    - \"#hash\"\n"
                           "    - \"table: 0x7f3a2c001234\"\n"
                           "    - \"" + pack_dir + "/tables/gl.csv\"\n";
  FixtureRunOptions approve;
  approve.approve = true;
  const auto first = run_single(copy, "awkward.yaml", text, approve);
  INFO(first.error);
  CHECK(first.approved);
  const std::string file = slurp(copy.fixture("awkward.yaml"));
  const std::string written = file.substr(file.find("expect:"));
  CHECK_THAT(written, Contains("  - \"true\"\n"));
  CHECK_THAT(written, Contains("  - \"6800\"\n"));
  CHECK_THAT(written, Contains("table: 0x…"));
  CHECK(written.find("0x7f3a") == std::string::npos);
  CHECK_THAT(written, Contains("  - fixturepack/tables/gl.csv\n"));
  CHECK(written.find(pack_dir) == std::string::npos);

  const auto second = run_single(copy, "awkward.yaml", file);
  INFO(second.diff);
  CHECK(second.passed);
}

TEST_CASE("fixtures: expectations compare values, not spelling", "[fixtures]") {
  PackCopy copy;
  // Flow style, keys in another order, a quoted scalar where the outcome has a string.
  const auto r = run_single(copy, "spelling.yaml",
                            "item: ../../../pleo/wallet_topup.json\n"
                            "expect: {warnings: [], reason: 'wallet top-ups are not booked', status: skipped}\n");
  CHECK(r.passed);
  // A plain 1810 is a number, not the string the outcome holds.
  const auto typed = run_single(copy, "typed.yaml",
                                "item: ../../../pleo/wallet_topup.json\n"
                                "expect: {status: skipped, reason: wallet top-ups are not booked, warnings: [1810]}\n");
  CHECK_FALSE(typed.passed);
  CHECK_THAT(typed.diff, Contains("-  - 1810\n+warnings: []\n"));
}

TEST_CASE("fixtures: the clock accepts dates, date-times and epoch seconds", "[fixtures]") {
  PackCopy copy;
  const std::string head = "item: ../../../pleo/card_purchase_journal.json\nsettings: {stamp_run_date: true}\n";
  FixtureRunOptions approve;
  approve.approve = true;
  for (const auto& [now, day] : std::vector<std::pair<std::string, std::string>>{
           {"2025-03-01", "2025-03-01"}, {"2025-03-01T00:00:00Z", "2025-03-01"},
           {"2025-02-28T23:59:59.5Z", "2025-02-28"}, {"1740787200", "2025-03-01"},
           {"2025-03-01T01:00:00+02:00", "2025-02-28"}}) {
    INFO(now);
    const auto r = run_single(copy, "frozen_at.yaml", head + "now: " + now + "\n", approve);
    CHECK(r.approved);
    CHECK_THAT(slurp(copy.fixture("frozen_at.yaml")), Contains("description: Booked on " + day + "\n"));
  }
}

TEST_CASE("fixtures: bad cases are reported with file and line", "[fixtures]") {
  PackCopy copy;
  const std::string file = copy.fixture("bad.yaml").string();
  auto error_of = [&](const std::string& text) {
    const auto r = run_single(copy, "bad.yaml", text);
    CHECK_FALSE(r.passed);
    CHECK(r.diff.empty());
    return r.error;
  };

  CHECK_THAT(error_of("description: x\nitem: [unclosed\n"), StartsWith(file + ":"));
  CHECK(error_of("description: x\nitem: nowhere.json\nexpect: {}\n") ==
        file + ":2: item: cannot read nowhere.json (paths are relative to the fixture)");
  CHECK(error_of("item: ../../../pleo/card_purchase_journal.json\nexpect: {}\nnow: 2025-01-01\n") ==
        file + ":2: 'expect' must be the last key: --approve rewrites the file from 'expect:' to its end");
  CHECK(error_of("itme: ../../../pleo/card_purchase_journal.json\n") ==
        file + ":1: unknown key 'itme' (a fixture has description, item, settings, directory, now, expect)");
  CHECK(error_of("description: no item\n") ==
        file + ":1: no 'item': give a path to a Pleo v3 JSON item, or the item inline");
  CHECK(error_of("- a list\n") == file + ":1: a fixture is a mapping of description, item, settings, directory, now, expect");
  CHECK(error_of("item: ../../../pleo/card_purchase_journal.json\nnow: yesterday\n") ==
        file + ":2: now: expected a date-time after 1970-01-01 like 2026-01-15T12:00:00Z (or epoch seconds), got 'yesterday'");
  CHECK_THAT(error_of("item: ../../../pleo/card_purchase_journal.json\nnow: 0\n"), Contains("got '0'"));
  CHECK_THAT(error_of("item: ../../../pleo/card_purchase_journal.json\nnow: 2025-02-30\n"), Contains("got '2025-02-30'"));
  CHECK(error_of("item: ../../../pleo/card_purchase_journal.json\nsettings: [draft]\n") ==
        file + ":2: settings: expected a mapping");
  // A setting the case cannot give fails the case (the pack's other cases still run).
  CHECK(error_of("item: ../../../pleo/card_purchase_journal.json\nsettings: {draft: maybe}\n") ==
        file + ":2: settings: setting draft: expected a boolean, true or false (the pack's value is true), got \"maybe\"");
  CHECK(error_of("item: ../../../pleo/card_purchase_journal.json\nitem: ../../../pleo/refund_journal.json\n") ==
        file + ":2: 'item' is given twice");

  // The decoder's message names the JSON path inside the item.
  const std::string decode = error_of("description: x\n\nitem:\n  accountingEntryId: abc\n  type: card_purchase\n");
  CHECK_THAT(decode, StartsWith(file + ":4: item abc: "));
  CHECK_THAT(decode, Contains("missing required field"));
  const std::string bad_json = error_of("item: ../../../pleo/export_job.json\n");
  CHECK_THAT(bad_json, StartsWith(file + ":1: ../../../pleo/export_job.json: "));

  // The directory loader's message, with its position in the fixture.
  const std::string dir = error_of("item: ../../../pleo/card_purchase_journal.json\n"
                                   "directory:\n"
                                   "  vendors: [{name: No Code}]\n");
  CHECK_THAT(dir, StartsWith(file + ":3: directory.vendors[0]"));
  CHECK_THAT(error_of("item: ../../../pleo/card_purchase_journal.json\ndirectory: missing.yaml\n"),
             StartsWith(file + ":2: directory: "));

  // Bad cases fail; the others still run.
  write(copy.fixture("bad.yaml"), "item: nowhere.json\n");
  const auto all = by_name(run(copy.pack()));
  CHECK_FALSE(all.at("fixturepack/bad").passed);
  CHECK(all.at("fixturepack/card_purchase").passed);
}

TEST_CASE("fixtures: --approve leaves bad and flow-style cases alone", "[fixtures]") {
  PackCopy copy;
  FixtureRunOptions approve;
  approve.approve = true;
  const std::string bad = "item: nowhere.json\n";
  const auto r = run_single(copy, "bad.yaml", bad, approve);
  CHECK_FALSE(r.approved);
  CHECK(slurp(copy.fixture("bad.yaml")) == bad);

  const std::string flow = "{item: ../../../pleo/wallet_topup.json, expect: {status: decided}}\n";
  const auto f = run_single(copy, "flow.yaml", flow, approve);
  CHECK_FALSE(f.passed);
  CHECK_THAT(f.error, Contains(":1: cannot approve: 'expect:' must start its line"));
  CHECK(slurp(copy.fixture("flow.yaml")) == flow);
}

TEST_CASE("fixtures: unusable packs are an error for the whole run", "[fixtures]") {
  SECTION("not a pack") {
    const auto r = run_pack_fixtures(kData / "fixtures", {});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("not a rule pack"));
  }
  SECTION("rules that do not compile") {
    PackCopy copy;
    write(copy.pack() / "rules.lua", "return {\n");
    const auto r = run_pack_fixtures(copy.pack(), {});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("rules.lua"));
  }
  SECTION("a broken default directory") {
    PackCopy copy;
    write(copy.fixture("directory.yaml"), "accounts: [{name: no code}]\n");
    const auto r = run_pack_fixtures(copy.pack(), {});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, StartsWith("default fixture directory: "));
  }
  SECTION("a pack above the operator's ceiling, whether or not it has cases") {
    FixtureRunOptions capped;
    capped.ceiling = {.memory_mb = 32};
    const auto r = run_pack_fixtures(kPack, capped);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "rule pack 'fixturepack' sets no [limits] memory_mb and gets the default of 64, above this "
          "installation's ceiling of 32");
    PackCopy copy;
    fs::remove_all(copy.pack() / "fixtures");
    CHECK_FALSE(run_pack_fixtures(copy.pack(), capped).ok());
  }
  SECTION("no fixtures folder is no cases") {
    PackCopy copy;
    fs::remove_all(copy.pack() / "fixtures");
    const auto r = run_pack_fixtures(copy.pack(), {});
    REQUIRE(r.ok());
    CHECK(r->empty());
  }
}

TEST_CASE("fixtures: scrub_volatile", "[fixtures]") {
  const std::vector<std::pair<std::string, std::string>> dirs = {{"/srv/rules/default", "default/"},
                                                                  {"/srv/rules/default/sub", "sub/"}};
  using lb::rules::scrub_volatile;
  CHECK(scrub_volatile("attempt to call a table value (table: 0x7f3a2c001234)", dirs) ==
        "attempt to call a table value (table: 0x…)");
  CHECK(scrub_volatile("/srv/rules/default/tables/gl.csv:3: bad", dirs) == "default/tables/gl.csv:3: bad");
  CHECK(scrub_volatile("/srv/rules/default/sub/x.lua", dirs) == "sub/x.lua");
  CHECK(scrub_volatile("in /srv/rules/default", dirs) == "in default");
  CHECK(scrub_volatile("exceeded its CPU budget of 100 ms", dirs) == "exceeded its CPU budget of 100 ms");
  CHECK(scrub_volatile("0x 0xZZ", dirs) == "0x 0xZZ");
}

TEST_CASE("fixtures: unified_diff", "[fixtures]") {
  using lb::rules::unified_diff;
  CHECK(unified_diff("a\nb\n", "a\nb\n").empty());
  CHECK(unified_diff("", "x\n") == "--- expected\n+++ actual\n@@ -0,0 +1,1 @@\n+x\n");
  CHECK(unified_diff("x\n", "") == "--- expected\n+++ actual\n@@ -1,1 +0,0 @@\n-x\n");
  // Three lines of context either side; far-apart changes make separate hunks.
  CHECK(unified_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n11\n12\n") ==
        "--- expected\n+++ actual\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n");
}

TEST_CASE("fixtures: a misspelt key in an expectation is named", "[fixtures]") {
  PackCopy copy;
  const FixtureResult r = run_single(copy, "typo.yaml",
                                     "item: ../../../pleo/invoice_ap.json\n"
                                     "directory:\n  vendors: [{code: V1001, name: TestSupplier123, blocked: true}]\n"
                                     "expect: {warnings: [], status: failed, failur: {type: vendor_unknown}}\n");
  CHECK_FALSE(r.passed);
  CHECK(r.error ==
        "expect: no outcome has a key 'failur' (an outcome has status, failure, reason, method, direction, "
        "vendor, documents, warnings)");
  CHECK_FALSE(r.diff.empty());
}
