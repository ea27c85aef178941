// Hostile hook RESULTS: what a hook returns is read by the engine outside the protected call,
// the CPU budget and the memory cap, so reading it must never run the script's code
// (metamethods), must stay bounded when rendered into a message, and must only let well-formed
// text and numbers into the outcome (rules/README.md, "What each hook returns").
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>

#include "rules/result_text.hpp"
#include "rules_test_util.hpp"

using namespace lb;
using lb::test::Harness;
using lb::test::load_item;
using lb::test::TempDir;
using lb::test::write_pack;

namespace {

// Hooks in a test's `extra` (test::journal_rules) misbehave only when the item's note is "attack".
std::string pack_with(const std::string& extra) { return test::journal_rules(extra); }

rules::EvalOptions test_limits() {
  rules::EvalOptions o;
  o.limits = rules::Limits{.memory_bytes = 32u << 20, .hook_budget = std::chrono::milliseconds(200)};
  return o;
}

struct Run {
  rules::Outcome attacked;
  rules::Outcome after;
  double seconds = 0;
};

// Evaluates `item_file` with note "attack", then as it is.
Run run(const std::string& name, const std::string& rules_lua, bool trace = false,
        const std::string& item_file = "card_purchase_journal.json",
        const std::function<void(Harness&)>& setup = {}, const std::string& pack_toml = {}) {
  TempDir dir;
  std::map<std::string, std::string> files{{"rules.lua", rules_lua}};
  if (!pack_toml.empty()) files["pack.toml"] = pack_toml;
  Harness h(write_pack(dir, name, files), test_limits());
  if (setup) setup(h);
  auto item = load_item(item_file);
  auto attack = item;
  attack.note = "attack";
  const auto started = std::chrono::steady_clock::now();
  Run r;
  r.attacked = h.evaluator->evaluate(attack, trace);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.after = h.evaluator->evaluate(item, trace);
  return r;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// The attacked item fails with unexpected_failure and a message containing every part of
// `expected`; the message is bounded, valid UTF-8; the next item is decided as usual.
void check_refused(const Run& r, std::initializer_list<std::string> expected) {
  INFO(r.attacked.failure.message);
  REQUIRE(r.attacked.status == rules::OutcomeStatus::failed);
  CHECK(r.attacked.failure.type == "unexpected_failure");
  for (const auto& e : expected) CHECK_THAT(r.attacked.failure.message, Catch::Contains(e));
  CHECK(r.attacked.failure.message.size() < 4096);
  CHECK(valid_utf8(r.attacked.failure.message));
  CHECK(r.attacked.documents.empty());
  CHECK(r.after.status == rules::OutcomeStatus::decided);
  CHECK(r.seconds < 5.0);
}

// A table whose metatable's __index is `index` (Lua source of a function or table).
std::string meta(const std::string& index) { return "setmetatable({}, {__index = " + index + "})"; }

// A table whose metatable has no __index of its own but a metatable with one: reading
// "__index" from the metatable without raw access runs the function.
const std::string kMetaMeta = "setmetatable({}, setmetatable({}, {__index = function() error('x') end}))";

const std::string kAp = "function M.bookkeeping_method(item) return 'accounts_payable' end\n"
                        "function M.counter_account() return '2000' end\n";

}  // namespace

// --- 1. No script code runs while the engine reads results ---------------------------------

TEST_CASE("a result table's metamethods never run: the table is refused", "[hostile][results]") {
  const std::string boom = meta("function(t, k) error('boom ' .. tostring(k)) end");
  SECTION("vendor, __index raises (was a PANIC that ended the process)") {
    check_refused(run("vendoridx",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return " + boom +
                                " end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor' (vendoridx/rules.lua:", "returned a table with a metatable; return a plain table"});
  }
  SECTION("vendor, __index answers: the engine must not call it") {
    check_refused(run("vendorcount",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return " +
                                meta("function() return 'V1' end") + " end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor'", "metatable"});
  }
  SECTION("vendor, __index loops (hung for ever)") {
    check_refused(run("vendorloop",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return " +
                                meta("function() while true do end end") + " end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor'", "metatable"});
  }
  SECTION("vendor, __index allocates past the memory cap") {
    check_refused(run("vendormem",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return " +
                                meta("function() local keep = {} for i = 1, 60 do keep[i] = ('x'):rep(8 * 1024 * 1024) "
                                     ".. i end return 'V1' end") +
                                " end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor'", "metatable"});
  }
  SECTION("vendor, a table __index is not read through") {
    check_refused(run("vendortable",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return " +
                                meta("{code = 'V1'}") + " end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor'", "metatable"});
  }
  SECTION("tax") {
    check_refused(run("taxidx", pack_with("function M.tax(line, item) if item.note == 'attack' then return " + boom +
                                          " end return nil end")),
                  {"hook 'tax' (line 1)", "metatable"});
  }
  SECTION("dimensions, __index of the metatable behind a metatable (was a PANIC)") {
    check_refused(run("dimsmeta", pack_with("function M.dimensions(line, item) if item.note == 'attack' then return " +
                                            kMetaMeta + " end return {} end")),
                  {"hook 'dimensions' (line 1)", "metatable"});
  }
  SECTION("dimensions, explained (the trace renders the result: was a PANIC)") {
    check_refused(run("dimsexplain",
                      pack_with("function M.dimensions(line, item) if item.note == 'attack' then return " + kMetaMeta +
                                " end return {} end"),
                      true),
                  {"hook 'dimensions' (line 1)", "metatable"});
  }
  SECTION("posting") {
    check_refused(run("postingidx", pack_with("function M.posting(item) if item.note == 'attack' then return " + boom +
                                              " end return nil end")),
                  {"hook 'posting'", "metatable"});
  }
  SECTION("a bad result's message renders a hostile table without running it") {
    // counter_account must be a string: the message shows what came back, raw.
    check_refused(run("msgidx", pack_with("function M.counter_account(item) if item.note == 'attack' then return " +
                                          kMetaMeta + " end return '1810' end")),
                  {"hook 'counter_account'", "returned {}"});
    check_refused(run("msgloop", pack_with("function M.counter_account(item) if item.note == 'attack' then return " +
                                           meta("function() while true do end end") + " end return '1810' end"),
                      true),
                  {"hook 'counter_account'", "returned {}"});
  }
}

TEST_CASE("read-only tables from ctx are still read through", "[hostile][results]") {
  // ctx.erp records, ctx.lookup rows and ctx.settings pieces are read-only proxies (prelude
  // freeze()): legitimate results.
  const std::string rules = R"lua(
local M = {}
function M.bookkeeping_method(item) return 'accounts_payable' end
function M.vendor(item, ctx) return ctx.erp.vendor_by_code("V1") end
function M.counter_account(item, ctx) return ctx.settings.ap_account end
function M.account() return '6800' end
function M.tax(line, item, ctx) return ctx.erp.tax_code("S20") end
function M.dimensions(line, item, ctx)
  if item.note == 'attack' then return ctx.lookup("dims", "6800") end
  return ctx.settings.dimensions
end
function M.posting(item, ctx) return ctx.settings.posting end
return M
)lua";
  const std::string toml = R"(name = "proxies"
[settings]
ap_account = "2000"
dimensions = { DEPT = "ENG" }
posting = { reference = "REF-1", draft = false }
[tables.dims]
file = "tables/dims.csv"
key = "account"
)";
  TempDir dir;
  Harness h(write_pack(dir, "proxies",
                       {{"rules.lua", rules}, {"pack.toml", toml}, {"tables/dims.csv", "account,TEAM\n6800,OPS\n"}}),
            test_limits());
  h.directory.add(model::ErpVendor{.code = "V1", .name = "Vendor"});
  h.directory.add(model::ErpTaxCode{.code = "S20", .name = "Standard", .rate = 0.2, .type = "inclusive"});
  auto item = load_item("invoice_ap.json");
  for (bool trace : {false, true}) {
    const auto o = h.evaluator->evaluate(item, trace);
    INFO(o.failure.message);
    REQUIRE(o.status == rules::OutcomeStatus::decided);
    CHECK(o.decisions.vendor == "V1");
    REQUIRE(o.decisions.lines[0].tax);
    CHECK(o.decisions.lines[0].tax->code == "S20");
    CHECK(o.decisions.lines[0].tax->rate == 0.2);
    CHECK(o.decisions.lines[0].dimensions == std::vector<std::pair<std::string, std::string>>{{"DEPT", "ENG"}});
    CHECK(o.decisions.posting.reference == "REF-1");
    CHECK_FALSE(o.decisions.posting.draft);
    if (trace) {
      REQUIRE(o.trace);
      bool saw_vendor = false;
      for (const auto& s : o.trace->steps)
        if (s.hook == "vendor") saw_vendor = s.result.find("\"code\":\"V1\"") != std::string::npos;
      CHECK(saw_vendor);
    }
  }
  item.note = "attack";
  const auto o = h.evaluator->evaluate(item);
  INFO(o.failure.message);
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.lines[0].dimensions ==
        std::vector<std::pair<std::string, std::string>>{{"TEAM", "OPS"}, {"account", "6800"}});
}

TEST_CASE("a hooks table with a metatable fails the pack load, naming the file", "[hostile][results]") {
  auto load = [](const std::string& name, const std::string& rules_lua) {
    TempDir dir;
    Harness h(write_pack(dir, name, {{"rules.lua", rules_lua}}), test_limits());
  };
  const auto started = std::chrono::steady_clock::now();
  // Was a PANIC.
  CHECK_THROWS_WITH(load("hooksidx", "return setmetatable({}, {__index = function(t, k) error('asked ' .. k) end})"),
                    Catch::Contains("hooksidx/rules.lua returned a table with a metatable"));
  // Hung for ever.
  CHECK_THROWS_WITH(load("hooksloop", "return setmetatable({}, {__index = function() while true do end end})"),
                    Catch::Contains("hooksloop/rules.lua returned a table with a metatable"));
  // Inheriting hooks through __index would be silently ignored by a raw read: refused too.
  CHECK_THROWS_WITH(
      load("hooksinherit", "local base = {bookkeeping_method = function() return 'journal' end}\n"
                           "return setmetatable({counter_account = function() return '1810' end}, {__index = base})"),
      Catch::Contains("hooksinherit/rules.lua returned a table with a metatable; return a plain table of hooks"));
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() < 5.0);
}

// --- 2. A bad result's message is bounded ---------------------------------------------------

TEST_CASE("a bad result's message is bounded for shared sub-tables", "[hostile][results]") {
  for (int k : {20, 30}) {
    INFO("K = " << k);
    const std::string body = "function M.counter_account(item) if item.note == 'attack' then "
                             "local t = {} for i = 1, " +
                             std::to_string(k) + " do t['k' .. i] = t end return t end return '1810' end";
    const Run r = run("dag", pack_with(body));
    check_refused(r, {"hook 'counter_account'", "returned {", "…"});
    CHECK(r.seconds < 0.5);
    // Deterministic: keys sorted, the same cut every time.
    const Run again = run("dag", pack_with(body));
    CHECK(again.attacked.failure.message == r.attacked.failure.message);
    CHECK_THAT(r.attacked.failure.message, Catch::Contains("{\"k1\":{\"k1\":"));
  }
  SECTION("a long string is cut") {
    const Run r = run("longstr", pack_with("function M.counter_account(item) if item.note == 'attack' then "
                                           "return {('x'):rep(1000000)} end return '1810' end"));
    check_refused(r, {"hook 'counter_account'", "xxx…"});
  }
  SECTION("traces stay bounded too") {
    const Run r = run("dagtrace",
                      pack_with("function M.dimensions(line, item) local t = {} for i = 1, 25 do t['k' .. i] = t end "
                                "if item.note == 'attack' then return t end return {} end"),
                      true);
    check_refused(r, {"hook 'dimensions' (line 1)"});
  }
}

// --- 3. Strings from results are well-formed text -------------------------------------------

TEST_CASE("strings from results must be valid UTF-8 without control characters", "[hostile][results]") {
  auto attack_counter = [](const std::string& name, const std::string& value) {
    return run(name, pack_with("function M.counter_account(item) if item.note == 'attack' then return " + value +
                               " end return '1810' end"));
  };
  check_refused(attack_counter("badutf8", "'\\255\\254\\128'"),
                {"hook 'counter_account'", "is not valid UTF-8 (byte 0xFF at offset 0)"});
  check_refused(attack_counter("overlong", "'\\192\\128'"), {"is not valid UTF-8"});
  check_refused(attack_counter("surrogate", "'\\237\\160\\128'"), {"is not valid UTF-8"});
  check_refused(attack_counter("truncated", "'ab\\226\\130'"), {"is not valid UTF-8"});
  check_refused(attack_counter("nulcode", "'18\\0' .. '10'"),
                {"hook 'counter_account'", "contains a control character (U+0000 at offset 2)"});
  check_refused(attack_counter("esc", "'\\27[31m1810'"), {"contains a control character (U+001B at offset 0)"});
  check_refused(attack_counter("newline", "'1810\\n'"), {"contains a control character (U+000A at offset 4)"});
  check_refused(attack_counter("c1", "'18\\194\\133'"), {"contains a control character (U+0085 at offset 2)"});

  SECTION("account, vendor, payment account") {
    check_refused(run("acct", pack_with("function M.account(line, item) if item.note == 'attack' then return "
                                        "'68\\0' .. '00' end return '6800' end")),
                  {"hook 'account' (line 1)", "U+0000"});
    check_refused(run("vendornul",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return {code = 'V\\0001'} "
                                      "end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor'", "U+0000"});
    check_refused(run("payment",
                      pack_with(kAp + "function M.vendor() return 'V1' end\n"
                                      "function M.payment_account(item) if item.note == 'attack' then return "
                                      "'\\255' end return nil end"),
                      false, "invoice_ap.json"),
                  {"hook 'payment_account'", "not valid UTF-8"});
  }
  SECTION("tax code and tax accounts") {
    check_refused(run("taxcode", pack_with("function M.tax(line, item) if item.note == 'attack' then return "
                                           "'S2\\0' end return nil end")),
                  {"hook 'tax' (line 1)", "U+0000"});
    check_refused(run("taxacct", pack_with("function M.tax(line, item) if item.note == 'attack' then return "
                                           "{code = 'S20', ingoingTaxAccount = '66\\255'} end return nil end")),
                  {"hook 'tax' (line 1)", "'ingoingTaxAccount'", "not valid UTF-8"});
  }
  SECTION("dimension codes and values (\"DE\\0PT\" silently became \"DE\")") {
    check_refused(run("dimkey", pack_with("function M.dimensions(line, item) if item.note == 'attack' then return "
                                          "{['DE\\0PT'] = 'X'} end return {} end")),
                  {"hook 'dimensions' (line 1)", "U+0000"});
    check_refused(run("dimval", pack_with("function M.dimensions(line, item) if item.note == 'attack' then return "
                                          "{DEPT = 'X\\255'} end return {} end")),
                  {"hook 'dimensions' (line 1)", "not valid UTF-8"});
    check_refused(run("dimempty", pack_with("function M.dimensions(line, item) if item.note == 'attack' then return "
                                            "{[''] = ''} end return {} end")),
                  {"hook 'dimensions' (line 1)", "empty"});
  }
  SECTION("posting dates, description, reference") {
    auto posting = [](const std::string& name, const std::string& table) {
      return run(name, pack_with("function M.posting(item) if item.note == 'attack' then return " + table +
                                 " end return nil end"));
    };
    check_refused(posting("datenul", "{date = '2025-01-01\\0junk'}"), {"hook 'posting'", "'date'"});
    check_refused(posting("descutf8", "{description = '\\192\\128 overlong'}"),
                  {"hook 'posting'", "'description'", "not valid UTF-8"});
    check_refused(posting("descnul", "{description = 'a\\0b'}"), {"'description'", "U+0000"});
    check_refused(posting("refesc", "{reference = 'R\\n1'}"), {"'reference'", "U+000A"});
  }
  SECTION("a description is free text: control characters but NUL are kept (Pleo notes carry them)") {
    const Run r = run("desccontrol",
                      pack_with("function M.posting(item) return {description = 'a\\tb\\r\\nc\\n Ref:\\7 \\27'} end"));
    INFO(r.attacked.failure.message);
    REQUIRE(r.attacked.status == rules::OutcomeStatus::decided);
    CHECK(r.attacked.decisions.posting.description == "a\tb\r\nc\n Ref:\a \x1b");
  }
  SECTION("the skip reason") {
    const Run r = run("skip", "local M = {}\n"
                              "function M.bookkeeping_method(item) if item.note == 'attack' then return 'skip', "
                              "'no\\255' end return 'journal' end\n"
                              "function M.counter_account() return '1810' end\n"
                              "function M.account() return '6800' end\nreturn M\n");
    check_refused(r, {"hook 'bookkeeping_method'", "not valid UTF-8"});
  }
  SECTION("non-ASCII text is fine") {
    const Run r = run("utf8ok", pack_with("function M.account() return 'Kontoø€😀' end\n"
                                          "function M.dimensions() return {['AFDELING'] = 'Østjylland'} end\n"
                                          "function M.posting() return {description = 'Café · Łódź'} end"));
    INFO(r.attacked.failure.message);
    REQUIRE(r.attacked.status == rules::OutcomeStatus::decided);
    CHECK(r.attacked.decisions.lines[0].account == "Kontoø€😀");
  }
}

// Codes: Pleo's chart of accounts allows 255 characters for an account code
// (pleo-chart-of-accounts-openapi.yml, `code: maxLength: 255`); the engine holds every code to
// that. Descriptions: the AS field's own limit applies (domain brief §7 #19); the engine's
// bound only keeps runaway text out.
TEST_CASE("lengths and counts from results are bounded (chart of accounts code maxLength 255)",
          "[hostile][results]") {
  SECTION("codes up to 255 characters") {
    const Run ok = run("code255", pack_with("function M.account() return ('æ'):rep(255) end"));
    INFO(ok.attacked.failure.message);
    CHECK(ok.attacked.status == rules::OutcomeStatus::decided);
    check_refused(run("code256", pack_with("function M.account(line, item) if item.note == 'attack' then return "
                                           "('7'):rep(256) end return '6800' end")),
                  {"hook 'account' (line 1)", "longer than 255 characters"});
    check_refused(run("dim256", pack_with("function M.dimensions(line, item) if item.note == 'attack' then return "
                                          "{DEPT = ('v'):rep(256)} end return {} end")),
                  {"hook 'dimensions' (line 1)", "longer than 255 characters"});
    check_refused(run("vendor256",
                      pack_with(kAp + "function M.vendor(item) if item.note == 'attack' then return ('V'):rep(256) "
                                      "end return 'V1' end"),
                      false, "invoice_ap.json"),
                  {"hook 'vendor'", "longer than 255 characters"});
  }
  SECTION("descriptions and references") {
    const Run ok = run("desc10k", pack_with("function M.posting() return {description = ('d'):rep(10000)} end"));
    CHECK(ok.attacked.status == rules::OutcomeStatus::decided);
    check_refused(run("desc10k1", pack_with("function M.posting(item) if item.note == 'attack' then return "
                                            "{description = ('d'):rep(10001)} end return nil end")),
                  {"hook 'posting'", "'description'", "longer than 10000 characters"});
    check_refused(run("refhuge", pack_with("function M.posting(item) if item.note == 'attack' then return "
                                           "{reference = ('R'):rep(10 * 1024 * 1024)} end return nil end")),
                  {"hook 'posting'", "'reference'", "longer than 1000 characters"});
  }
  SECTION("at most 50 dimensions per line") {
    const Run ok = run("dims50", pack_with("function M.dimensions() local t = {} for i = 1, 50 do t['D' .. i] = 'V' "
                                           "end return t end"));
    CHECK(ok.attacked.status == rules::OutcomeStatus::decided);
    check_refused(run("dims51", pack_with("function M.dimensions(line, item) local t = {} if item.note == 'attack' "
                                          "then for i = 1, 100000 do t['D' .. i] = 'V' end end return t end")),
                  {"hook 'dimensions' (line 1)", "more than 50 dimensions"});
  }
}

// --- 4. Numbers --------------------------------------------------------------------------

TEST_CASE("non-finite numbers are named as such", "[hostile][results]") {
  auto attack_counter = [](const std::string& name, const std::string& value) {
    return run(name, pack_with("function M.counter_account(item) if item.note == 'attack' then return " + value +
                               " end return '1810' end"));
  };
  check_refused(attack_counter("nan", "0/0"), {"returned nan; expected"});
  check_refused(attack_counter("inf", "math.huge"), {"returned inf; expected"});
  check_refused(attack_counter("ninf", "-math.huge"), {"returned -inf; expected"});
  check_refused(attack_counter("nantable", "{0/0}"), {"returned [nan]; expected"});
}

// Domain brief §2.6: a tax `rate` is a decimal fraction (0.2 = 20%), as in the directory.
TEST_CASE("a tax rate is a finite fraction in [0, 1] (domain brief §2.6)", "[hostile][results]") {
  auto tax = [](const std::string& name, const std::string& rate) {
    return run(name, pack_with("function M.tax(line, item) if item.note == 'attack' then return {code = 'S23', rate = " +
                               rate + ", type = 'exclusive', ingoingTaxAccount = '66010'} end return nil end"));
  };
  check_refused(tax("ratenan", "0/0"), {"hook 'tax' (line 1)", "'rate' must be a fraction between 0 and 1", "got nan"});
  check_refused(tax("rateinf", "math.huge"), {"hook 'tax' (line 1)", "'rate'", "got inf"});
  check_refused(tax("ratebig", "1e300"), {"hook 'tax' (line 1)", "'rate'", "got 1e+300"});
  check_refused(tax("rateneg", "-5"), {"hook 'tax' (line 1)", "'rate'", "got -5"});
  check_refused(tax("ratepct", "25"), {"hook 'tax' (line 1)", "'rate'", "got 25"});
  for (const char* rate : {"0", "0.25", "1"}) {
    const Run ok = tax(std::string("rateok") + rate, rate);
    INFO(rate << ": " << ok.attacked.failure.message);
    CHECK(ok.attacked.status == rules::OutcomeStatus::decided);
  }
}

TEST_CASE("text_problem: every byte value at every position of the word-at-a-time check", "[results]") {
  // The fast path looks at eight bytes at once: each kind of byte, in each lane, in strings of
  // every length around a word, must get the answer the byte-by-byte check gives.
  for (std::size_t length = 1; length <= 19; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string s(length, 'a');
        s[at] = static_cast<char>(b);
        const bool printable = b >= 0x20 && b < 0x7F;
        const std::string problem = rules::text_problem(s, rules::kCodeText);
        INFO("length " << length << ", byte 0x" << std::hex << b << " at " << std::dec << at);
        CHECK(problem.empty() == printable);
      }
    }
  }
}
