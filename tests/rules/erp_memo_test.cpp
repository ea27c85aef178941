// ctx.erp's memo (engine/lua/ctx.lua): answers memoised read-only, forgotten when the directory
// changes, bounded in two generations sized by the pack's memory cap, and right past the bound.
#include <catch2/catch.hpp>
#include <functional>

#include "rules_test_util.hpp"

using namespace lb;
using lb::test::Harness;
using lb::test::load_item;
using lb::test::TempDir;
using lb::test::write_pack;

TEST_CASE("ctx.erp answers are memoised read-only and forgotten when the directory changes", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "memo", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx)
    assert(not pcall(function() ctx.erp.account("1810").name = "changed" end), "records must be read-only")
    assert(ctx.erp.account("1810") == ctx.erp.account("1810"), "the same record twice")
    assert(ctx.erp.account("nope") == nil and ctx.erp.account("nope") == nil)
    return "journal"
  end,
  counter_account = function(item, ctx) return ctx.erp.account("1810").name end,
  account = function() return "6800" end,
})lua"}}));
  h.directory.add(model::ErpAccount{.code = "1810", .name = "Wallet"});
  const auto item = load_item("card_purchase_journal.json");
  auto first = h.evaluator->evaluate(item);
  INFO(first.failure.message);
  CHECK(first.decisions.counterAccount == "Wallet");
  model::MemoryDirectory other;
  other.add(model::ErpAccount{.code = "1810", .name = "Renamed wallet"});
  h.evaluator->set_directory(&other);
  CHECK(h.evaluator->evaluate(item).decisions.counterAccount == "Renamed wallet");
}

namespace {

// Runs `script` as the body of a bookkeeping_method hook against a directory of vendors V1..Vn
// (named "Vendor <i>") and whatever `more` adds: the item is decided when every assert holds.
void check_erp_script(const std::string& name, const std::string& script, int vendors,
                      const std::function<void(model::MemoryDirectory&)>& more = {}) {
  TempDir dir;
  Harness h(write_pack(dir, name, {{"rules.lua", "return {\n  bookkeeping_method = function(item, ctx)\n" + script +
                                                     "\n    return \"journal\"\n  end,\n"
                                                     "  counter_account = function() return \"1810\" end,\n"
                                                     "  account = function() return \"6800\" end,\n}"}}));
  for (int i = 1; i <= vendors; ++i) {
    h.directory.add(model::ErpVendor{.code = "V" + std::to_string(i), .name = "Vendor " + std::to_string(i)});
  }
  if (more) more(h.directory);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  INFO(o.failure.message);
  CHECK(o.status == rules::OutcomeStatus::decided);
}

}  // namespace

// The memo is bounded (ctx.lua): past the bound generations are dropped, and answers stay right.
TEST_CASE("ctx.erp answers stay right past the memo's bound", "[rules]") {
  check_erp_script("bound", R"lua(
    for round = 1, 2 do
      for i = 1, 2500 do
        local code = "V" .. i
        local v = ctx.erp.vendor_by_code(code)
        assert(v and v.code == code and v.name == "Vendor " .. i, code .. " in round " .. round)
        assert(ctx.erp.period_open("2026-01-15") == true and ctx.erp.period_open("2025-12-10") == false)
      end
      assert(ctx.erp.vendor_by_code("V0") == nil)
    end)lua",
                   2500, [](model::MemoryDirectory& d) { d.add(model::ErpPeriod{.from = "2025-12-01", .to = "2025-12-31"}); });
}

// Each ctx.erp function has its own memo: a stream of distinct vendors past the bound must not
// throw away the few tax codes and accounts every item asks for (the same record comes back).
TEST_CASE("ctx.erp: vendors past the memo's bound leave tax codes and accounts remembered", "[rules]") {
  check_erp_script("churn", R"lua(
    local tax, account = ctx.erp.tax_code("S25"), ctx.erp.account("6800")
    assert(tax and account, "the directory has S25 and 6800")
    for i = 1, 5000 do
      local code = "V" .. i
      assert(ctx.erp.vendor_by_code(code).code == code)
    end
    assert(ctx.erp.tax_code("S25") == tax, "S25 was forgotten")
    assert(ctx.erp.account("6800") == account, "6800 was forgotten"))lua",
                   5000, [](model::MemoryDirectory& d) {
                     d.add(model::ErpTaxCode{.code = "S25"});
                     d.add(model::ErpAccount{.code = "6800", .name = "Software"});
                   });
}

// The memo keeps two generations (ctx.lua): keys asked for again while others pass through stay
// remembered. Going round 600 vendors with room for 500 a generation, 501 of each round's answers
// are the record the round before got (starting afresh when full, as the memo used to, kept none).
TEST_CASE("ctx.erp: a working set a little past the memo's bound stays mostly remembered", "[rules]") {
  check_erp_script("generations", R"lua(
    local previous, kept = {}, 0
    for round = 1, 4 do
      kept = 0
      for i = 1, 600 do
        local code = "V" .. i
        local v = ctx.erp.vendor_by_code(code)
        assert(v and v.code == code, code .. " in round " .. round)
        if v == previous[i] then kept = kept + 1 end
        previous[i] = v
      end
    end
    assert(kept == 501, "the last round found " .. kept .. " of 600 remembered"))lua",
                   600);
}

// The memo counts against the pack's memory cap (ctx.lua), so its bound follows the cap: a pack
// with a small cap whose items name many distinct vendors must not fail for the memo's sake (at
// 2 MiB it did on the 10th item), nor for the garbage earlier calls left (at 1 MiB it did on the
// 2nd: Sandbox::collect_if_near_cap).
TEST_CASE("ctx.erp: the memo's bound follows the pack's memory cap", "[rules]") {
  for (int mb : {1, 2, 4}) {
    TempDir dir;
    Harness h(write_pack(dir, "small", {{"pack.toml", "name = \"small\"\n[limits]\nmemory_mb = " + std::to_string(mb) + "\n"},
                                         {"rules.lua", R"lua(
local n = 0
return {
  bookkeeping_method = function(item, ctx)
    for i = 1, 300 do
      n = n % 20000 + 1
      local code = "V" .. n
      assert(ctx.erp.vendor_by_code(code).code == code)
      assert(ctx.erp.period_open(string.format("2025-%02d-%02d", i % 12 + 1, i % 28 + 1)))
    end
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
})lua"}}));
    for (int i = 1; i <= 20000; ++i) {
      h.directory.add(model::ErpVendor{.code = "V" + std::to_string(i),
                                       .name = "Vendor number " + std::to_string(i) + " of the directory"});
    }
    const auto item = load_item("card_purchase_journal.json");
    for (int round = 0; round < 40; ++round) {
      const auto o = h.evaluator->evaluate(item);
      INFO(mb << " MiB, item " << round << ": " << o.failure.message);
      REQUIRE(o.status == rules::OutcomeStatus::decided);
    }
  }
}
