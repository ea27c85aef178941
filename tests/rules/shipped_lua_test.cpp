// The lb.money, lb.date and lb.text helpers, exercised from a hook as a rule author calls them.
#include <catch2/catch.hpp>

#include "rules_test_util.hpp"

using namespace lb;

TEST_CASE("lb.money, lb.date and lb.text give exact answers", "[rules][lua]") {
  test::TempDir dir;
  test::Harness h(test::write_pack(dir, "helpers", {{"rules.lua", R"lua(
local function eq(a, b) if a ~= b then error(tostring(a) .. " ~= " .. tostring(b), 2) end end
return {
  bookkeeping_method = function(item, ctx)
    local m, d, t = ctx.money, ctx.date, ctx.text
    eq(m.digits("GBP"), 2); eq(m.digits("JPY"), 0); eq(m.digits("KWD"), 3)
    eq(m.format(6366, "GBP"), "63.66"); eq(m.format(-5, "GBP"), "-0.05"); eq(m.format(1234, "KWD"), "1.234")
    eq(m.format(500, "JPY"), "500")
    eq(m.tax_included(130000, 0.2), 21667); eq(m.tax_excluded(100000, 0.25), 25000)
    eq(m.apply_rate(-5, 0.5), -3)
    local s = m.split(100, {1, 1, 1}); eq(s[1] + s[2] + s[3], 100); eq(s[1], 34)
    eq(d.day("2025-12-10T15:46:34Z"), "2025-12-10"); eq(d.day("2025-12-10"), "2025-12-10")
    eq(d.day("2025-09-30T23:59:59+02:00"), "2025-09-30"); eq(d.day("2025-01-01"), "2025-01-01")
    assert(not pcall(d.day, "10/12/2025"))
    eq(d.add_days("2024-02-28", 1), "2024-02-29"); eq(d.add_days("2025-12-31", 1), "2026-01-01")
    eq(d.days_between("2025-01-01", "2026-01-01"), 365)
    eq(d.first_of_next_month("2025-12-10"), "2026-01-01"); eq(d.last_of_month("2024-02-10"), "2024-02-29")
    eq(d.month("2025-12-10"), "2025-12"); eq(d.today(), "2026-01-15")
    eq(t.length("Søren 🖨️"), 8); eq(t.truncate("Søren 🖨️x", 7), "Søren 🖨"); eq(t.truncate("abc", 10), "abc")
    eq(t.truncate("abc", 3), "abc"); eq(t.truncate("abcd", 3), "abc"); eq(t.truncate("æøå", 2), "æø")
    eq(t.truncate("æø", 3), "æø"); eq(t.truncate("", 0), "")
    eq(t.join(" · ", "a", nil, "", "b"), "a · b"); eq(t.trim("  x y  "), "x y")
    eq(t.initials("Luke Richardson"), "LR"); assert(t.iequals("ENG", "eng"))
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
})lua"}}));
  const auto o = h.evaluator->evaluate(test::load_item("card_purchase_journal.json"));
  INFO(o.failure.message);
  CHECK(o.status == rules::OutcomeStatus::decided);
}

TEST_CASE("lb.date refuses impossible dates: months past 12, days past the month's end", "[rules][lua]") {
  test::TempDir dir;
  test::Harness h(test::write_pack(dir, "dates", {{"rules.lua", R"lua(
local function refused(f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("accepted " .. table.concat({...}, ", "), 2) end
  if not err:find("no such date", 1, true) then error("unexpected error: " .. err, 2) end
end
return {
  bookkeeping_method = function(item, ctx)
    local d = ctx.date
    refused(d.add_days, "2025-02-30", 1); refused(d.add_days, "2025-02-29", 1); refused(d.add_days, "2025-13-01", 1)
    refused(d.add_days, "2025-00-10", 1); refused(d.add_days, "2025-04-31", 1); refused(d.add_days, "2025-01-00", 1)
    refused(d.day, "2025-02-30T10:00:00Z"); refused(d.day, "2023-02-29"); refused(d.days_between, "2025-06-31", "2025-07-01")
    refused(d.month, "2025-13-01"); refused(d.last_of_month, "2025-09-31"); refused(d.parse, "2025-11-31")
    assert(d.add_days("2024-02-29", 1) == "2024-03-01"); assert(d.day("2000-02-29T00:00:00Z") == "2000-02-29")
    assert(d.day("2025-12-31") == "2025-12-31"); assert(d.add_days("2025-04-30", 1) == "2025-05-01")
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
})lua"}}));
  const auto o = h.evaluator->evaluate(test::load_item("card_purchase_journal.json"));
  INFO(o.failure.message);
  CHECK(o.status == rules::OutcomeStatus::decided);
}

TEST_CASE("an error raised inside shipped code names the rule's file:line that called it", "[rules][lua]") {
  test::TempDir dir;
  const auto failure_of = [&](const std::string& name, const std::string& call) {
    test::Harness h(test::write_pack(dir, name, {{"rules.lua", "local M = {}\n"
                                                               "function M.bookkeeping_method() return 'journal' end\n"
                                                               "function M.counter_account() return '1810' end\n"
                                                               "function M.account(line, item, ctx)\n"
                                                               "  " + call + "\n"
                                                               "  return '6800'\n"
                                                               "end\n"
                                                               "return M\n"}}));
    const auto o = h.evaluator->evaluate(test::load_item("card_purchase_journal.json"));
    REQUIRE(o.status == rules::OutcomeStatus::failed);
    return o.failure.message;
  };
  // A C function behind a ctx.lua wrapper, a C function behind lb/money.lua two calls deep, and
  // lb/date.lua's own check.
  CHECK(failure_of("e1", "ctx.erp.period_open('15/01/2025')") ==
        "hook 'account' (line 1) failed: e1/rules.lua:5: ctx.erp.period_open: expected a date YYYY-MM-DD, got "
        "'15/01/2025'");
  CHECK_THAT(failure_of("e2", "ctx.money.format(100, 'ABC')"),
             Catch::StartsWith("hook 'account' (line 1) failed: e2/rules.lua:5: ") && Catch::Contains("'ABC'"));
  CHECK_THAT(failure_of("e3", "ctx.date.add_days('2025-02-30', 1)"),
             Catch::StartsWith("hook 'account' (line 1) failed: e3/rules.lua:5: date.add_days: no such date"));
  // Errors a rule raises itself keep their own position.
  CHECK(failure_of("e4", "error('stop here')") == "hook 'account' (line 1) failed: e4/rules.lua:5: stop here");
}
