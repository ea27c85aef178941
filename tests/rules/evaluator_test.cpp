// The hook pipeline, ctx, results checking, item views and traces (pack loading: pack_test.cpp;
// the ctx.erp memo: erp_memo_test.cpp).
#include <catch2/catch.hpp>
#include <functional>

#include "rules_test_util.hpp"

using namespace lb;
using lb::test::Harness;
using lb::test::json_of;
using lb::test::load_item;
using lb::test::TempDir;
using lb::test::write_pack;

TEST_CASE("a minimal pack decides a card purchase (domain brief §8.1)", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "mini", {{"rules.lua", test::kMinimalHooks}}));
  const auto item = load_item("card_purchase_journal.json");
  const auto o = h.evaluator->evaluate(item);
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.method == "journal");
  CHECK(o.decisions.counterAccount == "1810");
  REQUIRE(o.decisions.lines.size() == 1);
  CHECK(o.decisions.lines[0].account == "6800");
  CHECK(o.decisions.lines[0].accountingEntryLineId == item.accountingEntryLines[0].accountingEntryLineId);
  // Posting defaults when no posting hook: item date (§2.9), reconciliationId (§2.7), draft (§2.10),
  // and supplier · user · note (§2.7).
  CHECK(o.decisions.posting.date == "2025-12-10");
  CHECK(o.decisions.posting.reference == item.additionalInformation.reconciliationId);
  CHECK(o.decisions.posting.draft);
  CHECK(o.decisions.posting.description == "Target · Luke Richardson · Printer ink");
  CHECK(json_of(o).find("\"status\":\"decided\"") != std::string::npos);
}

TEST_CASE("every hook's result is used, in order", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "full", {{"rules.lua", R"lua(
local M = {}
function M.validate(item, ctx) end
function M.bookkeeping_method(item) return item.bookkeeping.method end
function M.vendor(item, ctx) return ctx.erp.vendor_by_code(item.vendor.code) end
function M.counter_account(item, ctx) return ctx.settings.ap_account end
function M.account(line) return line.account.code end
function M.tax(line) return { code = line.tax.code, type = line.tax.type, rate = line.tax.rate } end
function M.dimensions(line, item) return { TEAM = "NONE", PROJECT = "P1" } end
function M.posting(item, ctx)
  local info = item.additionalInformation.invoiceInformation
  return { date = ctx.date.day(item.date), documentDate = info.invoiceDate, dueDate = info.dueDate,
           description = "Invoice " .. info.invoiceNumber, draft = false }
end
return M
)lua"},
                                                     {"pack.toml", "name = \"full\"\n[settings]\nap_account = \"2000\"\n"}}));
  h.directory.add(model::ErpVendor{.code = "V1001", .name = "TestSupplier123"});
  const auto o = h.evaluator->evaluate(load_item("invoice_ap.json"));
  INFO(json_of(o));
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.method == "accounts_payable");
  CHECK(o.decisions.vendor == "V1001");
  CHECK(o.decisions.counterAccount == "2000");
  REQUIRE(o.decisions.lines[0].tax);
  CHECK(o.decisions.lines[0].tax->code == "S20");
  CHECK(o.decisions.lines[0].tax->type == "inclusive");
  CHECK(o.decisions.lines[0].dimensions ==
        std::vector<std::pair<std::string, std::string>>{{"PROJECT", "P1"}, {"TEAM", "NONE"}});
  CHECK(o.decisions.posting.documentDate == "2025-04-01");
  CHECK(o.decisions.posting.description == "Invoice INV-0042");
  CHECK_FALSE(o.decisions.posting.draft);
}

TEST_CASE("a child pack overrides one hook and falls back with ctx.base", "[rules]") {
  TempDir dir;
  write_pack(dir, "base", {{"rules.lua", test::kMinimalHooks},
                           {"pack.toml", "name = \"base\"\n[settings]\nwallet = \"1810\"\nnested = { a = 1, b = 2 }\n"}});
  const auto child = write_pack(dir, "child", {{"pack.toml", R"(name = "child"
extends = "base"
[settings]
nested = { b = 3 }
rd_account = "7000"
)"},
                                               {"rules.lua", R"lua(
return {
  account = function(line, item, ctx)
    if item.team and item.team.name == "Engineering" then return ctx.settings.rd_account end
    return ctx.base.account(line, item)
  end,
  counter_account = function(item, ctx)
    return ctx.base.counter_account(item) .. "-" .. ctx.settings.nested.a .. ctx.settings.nested.b
  end,
}
)lua"}});
  Harness h(child);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"), true);
  INFO(json_of(o));
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.lines[0].account == "7000");
  CHECK(o.decisions.counterAccount == "1810-13");  // settings merged deeply, the child wins on b

  SECTION("the trace names the pack that answered each hook, base calls nested") {
    const auto& steps = o.trace->steps;
    auto find = [&](const std::string& hook, int depth) {
      for (const auto& s : steps)
        if (s.hook == hook && s.depth == depth) return &s;
      return static_cast<const rules::TraceStep*>(nullptr);
    };
    REQUIRE(find("bookkeeping_method", 0));
    CHECK(find("bookkeeping_method", 0)->pack == "base");
    REQUIRE(find("counter_account", 0));
    CHECK(find("counter_account", 0)->pack == "child");
    REQUIRE(find("counter_account", 1));
    CHECK(find("counter_account", 1)->pack == "base");
    CHECK(find("counter_account", 1)->result == "\"1810\"");
    const auto* account = find("account", 0);
    REQUIRE(account);
    CHECK(account->line == 1);
    bool read_team = false;
    for (const auto& r : account->reads) read_team |= r.path == "item.team.name" && r.value == "\"Engineering\"";
    CHECK(read_team);
  }
}

TEST_CASE("ctx.lookup reads the pack's CSV tables", "[rules]") {
  TempDir dir;
  const auto pack = write_pack(dir, "tables", {{"pack.toml", R"(name = "tables"
[tables.accounts]
file = "tables/accounts.csv"
key = "pleo"
)"},
                                               {"tables/accounts.csv", "erp,pleo,note\n6010,6800,office\n7010,7100,\"consulting, external\"\n"},
                                               {"rules.lua", R"lua(
return {
  bookkeeping_method = function() return "journal" end,
  counter_account = function() return "1810" end,
  account = function(line, item, ctx)
    local row = ctx.lookup("accounts", line.account.code)
    if not row then ctx.fail("account_unknown", "no mapping for " .. line.account.code) end
    return ctx.lookup("accounts", line.account.code, "erp") .. "/" .. row.note
  end,
}
)lua"}});
  Harness h(pack);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"), true);
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.lines[0].account == "6010/office");
  bool traced = false;
  for (const auto& s : o.trace->steps)
    for (const auto& l : s.lookups) traced |= l.call == "ctx.lookup(\"accounts\", \"6800\", \"erp\")" && l.result == "\"6010\"";
  CHECK(traced);

  SECTION("an unknown table or column is a clear error") {
    TempDir d2;
    Harness bad(write_pack(d2, "bad", {{"rules.lua", R"lua(
return { bookkeeping_method = function(item, ctx) return ctx.lookup("nope", "x") end,
         counter_account = function() return "1810" end, account = function() return "6800" end }
)lua"}}));
    const auto f = bad.evaluator->evaluate(load_item("card_purchase_journal.json"));
    REQUIRE(f.status == rules::OutcomeStatus::failed);
    CHECK(f.failure.type == "unexpected_failure");
    CHECK_THAT(f.failure.message, Catch::Contains("bad/rules.lua:2: ctx.lookup: no table 'nope'"));
  }
}

TEST_CASE("ctx.erp answers from the directory", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "erp", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function() return "journal" end,
  counter_account = function(item, ctx)
    local a = ctx.erp.account("1810")
    assert(a and a.name == "Pleo GBP" and a.currency == "GBP" and not a.blocked)
    assert(ctx.erp.account("0000") == nil)
    local v = ctx.erp.vendor_by_tax_number("DK123")
    assert(v.code == "V1" and v.blocked == true and v.payablesAccount == "2001")
    assert(ctx.erp.vendor_by_external_id("EXT-1").code == "V1")
    local t = ctx.erp.tax_code("RC25")
    assert(t.type == "reverse" and t.rate == 0.25 and t.ingoingTaxAccount == "14400")
    assert(ctx.erp.dimension_value("dept", "eng").code == "ENG")
    assert(ctx.erp.period_open("2025-12-10") == false)
    assert(ctx.erp.next_open_date("2025-12-10T15:46:34Z") == "2026-01-01")
    return "1810"
  end,
  account = function() return "6800" end,
}
)lua"}}));
  h.directory.add(model::ErpAccount{.code = "1810", .name = "Pleo GBP", .currency = "GBP"});
  h.directory.add(model::ErpVendor{.code = "V1", .name = "Vendor", .externalId = "EXT-1", .taxNumber = "DK123",
                                   .payablesAccount = "2001", .blocked = true});
  h.directory.add(model::ErpTaxCode{.code = "RC25", .name = "Reverse", .rate = 0.25, .type = "reverse",
                                    .ingoingTaxAccount = "14400", .outgoingTaxAccount = "14500"});
  h.directory.add(model::ErpDimensionValue{.dimension = "DEPT", .code = "ENG", .name = "Engineering"});
  h.directory.add(model::ErpPeriod{.from = "2025-12-01", .to = "2025-12-31", .closed = true});
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  INFO(json_of(o));
  CHECK(o.status == rules::OutcomeStatus::decided);
}

TEST_CASE("ctx.fail reports Pleo's failure types; unknown types are rejected", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "failing", {{"rules.lua", R"lua(
return {
  validate = function(item, ctx)
    if item.note == "Printer ink" then
      -- Even a script that catches its own failure does not undo it.
      pcall(ctx.fail, "vendor_unknown", "Vendor V1001 does not exist or is blocked in the accounting system.")
    end
  end,
  bookkeeping_method = function(item, ctx)
    if item.type == "fee" then ctx.fail("not_a_type", "x") end
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
}
)lua"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  REQUIRE(o.status == rules::OutcomeStatus::failed);
  CHECK(o.failure.type == "vendor_unknown");
  CHECK(o.failure.message == "Vendor V1001 does not exist or is blocked in the accounting system.");

  const auto fee = h.evaluator->evaluate(load_item("fee_interest.json"));
  REQUIRE(fee.status == rules::OutcomeStatus::failed);
  CHECK(fee.failure.type == "unexpected_failure");
  CHECK_THAT(fee.failure.message, Catch::Contains("failing/rules.lua:10: ctx.fail: unknown failure type 'not_a_type'"));
}

TEST_CASE("ctx.fail without a message gives the bookkeeper the failure type's meaning (export spec ExportJobItemFailureReasonType)", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "terse", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx)
    if item.type == "fee" then ctx.fail("tax_code_unknown", "   ") end
    ctx.fail("vendor_unknown")
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
}
)lua"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  REQUIRE(o.status == rules::OutcomeStatus::failed);
  CHECK(o.failure.type == "vendor_unknown");
  CHECK(o.failure.message == "Unknown or invalid vendor account number in the accounting system.");
  const auto fee = h.evaluator->evaluate(load_item("fee_interest.json"));
  CHECK(fee.failure.type == "tax_code_unknown");
  CHECK(fee.failure.message == "Unknown or invalid tax code in the accounting system.");
}

TEST_CASE("results the engine cannot use fail the item with the hook's file:line", "[rules]") {
  TempDir dir;
  const auto pack = [&](const std::string& name, const std::string& hooks) {
    return write_pack(dir, name, {{"rules.lua", test::journal_rules(hooks)}});
  };
  const auto item = load_item("card_purchase_journal.json");
  auto message_of = [&](const std::string& name, const std::string& hooks) {
    Harness h(pack(name, hooks));
    const auto o = h.evaluator->evaluate(item);
    REQUIRE(o.status == rules::OutcomeStatus::failed);
    return o.failure.type + ": " + o.failure.message;
  };
  CHECK(message_of("m1", "function M.bookkeeping_method() return 'jornal' end") ==
        "unexpected_failure: hook 'bookkeeping_method' (m1/rules.lua:5) returned \"jornal\"; expected \"journal\", "
        "\"accounts_payable\" or \"skip\"");
  CHECK(message_of("m2", "function M.account() return nil end") ==
        "missing_configuration: Line 1 has no account: no rule mapped it to an account in the accounting system.");
  CHECK(message_of("m3", "function M.tax() return { code = 'S20', kind = 'x' } end") ==
        "unexpected_failure: hook 'tax' (line 1) (m3/rules.lua:5) returned {\"code\":\"S20\",\"kind\":\"x\"}; expected a "
        "tax code or {code, type, rate, ingoingTaxAccount, outgoingTaxAccount} (field 'kind' is unknown or of the "
        "wrong type)");
  CHECK(message_of("m4", "function M.posting() return { date = '10/12/2025' } end") ==
        "unexpected_failure: hook 'posting' (m4/rules.lua:5) returned {\"date\":\"10/12/2025\"}; expected a table of "
        "date, documentDate, dueDate (YYYY-MM-DD), description, reference (strings), draft (boolean); field 'date' is "
        "unknown or invalid");
  CHECK(message_of("m5", "function M.dimensions() return { DEPT = 7 } end").starts_with(
      "unexpected_failure: hook 'dimensions' (line 1) (m5/rules.lua:5) returned {\"DEPT\":7}"));
  CHECK(message_of("m6", "function M.account(line) return line.acount.code end") ==
        "unexpected_failure: hook 'account' (line 1) failed: m6/rules.lua:5: line has no field 'acount' (did you "
        "mean 'account'?)");
}

TEST_CASE("skip reports a reason; AP without a vendor fails vendor_unknown", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "skipper", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item)
    if item.type == "wallet_topup" then return "skip", "top-ups are booked from the bank feed" end
    return "accounts_payable"
  end,
  vendor = function() return nil end,
  counter_account = function() return "2000" end,
  account = function() return "6800" end,
}
)lua"}}));
  const auto topup = h.evaluator->evaluate(load_item("wallet_topup.json"));
  CHECK(topup.status == rules::OutcomeStatus::skipped);
  CHECK(topup.skip_reason == "top-ups are booked from the bank feed");
  const auto invoice = h.evaluator->evaluate(load_item("invoice_ap.json"));
  CHECK(invoice.status == rules::OutcomeStatus::failed);
  CHECK(invoice.failure.type == "vendor_unknown");
}

TEST_CASE("a pack chain without a required hook does not load, naming the hooks", "[rules]") {
  TempDir dir;
  CHECK(test::load_result(write_pack(dir, "partial", {{"rules.lua", "return { bookkeeping_method = function() return 'journal' end }"}})) ==
        "rule pack 'partial' defines no 'counter_account' or 'account' hook, and no pack it extends does: every item "
        "needs them (extends = \"default\" defines every hook)");
  CHECK(test::load_result(write_pack(dir, "empty", {{"pack.toml", "name = \"empty\"\n"}})) ==
        "rule pack 'empty' defines no 'bookkeeping_method', 'counter_account' or 'account' hook, and no pack it extends "
        "does: every item needs them (extends = \"default\" defines every hook)");
  // A parent's hooks count: the child defines only what differs.
  write_pack(dir, "parent", {{"rules.lua", test::kMinimalHooks}});
  CHECK(test::load_result(write_pack(dir, "child", {{"pack.toml", "name = \"child\"\nextends = \"parent\"\n"},
                                             {"rules.lua", "return { vendor = function() return nil end }"}})) == "loaded");
}

namespace {
// The pack's first hook keeps a view; evaluating a second item, the kept view must fail.
void check_kept_view_fails(Harness& h, const std::string& expected) {
  const auto item = load_item("card_purchase_journal.json");
  const auto first = h.evaluator->evaluate(item);
  INFO(json_of(first));
  REQUIRE(first.status == rules::OutcomeStatus::decided);
  const auto second = h.evaluator->evaluate(item);
  REQUIRE(second.status == rules::OutcomeStatus::failed);
  CHECK_THAT(second.failure.message, Catch::Contains(expected));
}
}  // namespace

TEST_CASE("item views are read-only, complete and valid only during their hook call", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "views", {{"rules.lua", R"lua(
local kept
local M = {}
function M.bookkeeping_method(item)
  if item.note == "stash" then return "journal" end
  if kept then return kept.type end  -- a view from an earlier item: must not be readable
  kept = item
  return "journal"
end
function M.counter_account(item)
  local lines = item.accountingEntryLines
  assert(#lines == 1 and lines[2] == nil)
  local n = 0
  for i, line in ipairs(lines) do n = n + i; assert(line.lineAmount.inWalletCurrency.value == 6366) end
  assert(n == 1)
  local fields = {}
  for k in pairs(item.supplier) do fields[#fields + 1] = k end
  assert(table.concat(fields, ",") == "categoryCode,code,country,name", table.concat(fields, ","))
  assert(item.amount.inWalletCurrency.currency == "GBP")
  assert(item.vendor == nil and item.subType == nil)
  assert(item.accountingEntryLines[1] == item.accountingEntryLines[1])
  assert(item._links.web.exportItem ~= nil)
  assert(not pcall(function() item.type = "refund" end))
  return "1810"
end
function M.account() return "6800" end
return M
)lua"}}));
  check_kept_view_fails(h, "views/rules.lua:6: item view used after its item was evaluated");
}

// A view of an object the hook reads is made afresh on each read (views.lua: so that the JIT
// can drop the allocation); reads of the same object still compare equal, and one kept past
// its item still fails.
TEST_CASE("views of nested objects: a new one each read, equal to each other, stale after the item", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "nested", {{"rules.lua", R"lua(
local kept
local M = {}
function M.bookkeeping_method(item)
  if kept then return kept.currency end  -- the amount of an earlier item: must not be readable
  local a, b = item.amount.inWalletCurrency, item.amount.inWalletCurrency
  assert(a == b and a.value == b.value and tostring(a) == tostring(b))
  assert(item.supplier == item.supplier and item.supplier ~= item.amount)
  assert(item.accountingEntryLines[1].lineAmount ~= item.amount)
  kept = a
  return "journal"
end
function M.counter_account() return "1810" end
function M.account() return "6800" end
return M
)lua"}}));
  check_kept_view_fails(h, "nested/rules.lua:5: money view used after its item was evaluated");
}

// Views lay an item's objects out when a script first reads them (rules/item_view.hpp), and all
// at once while tracing: both must show the same item. The dump walks every object in an order
// unlike the layout's, on an item with many lines, so the arena grows (and moves) mid-hook.
TEST_CASE("item views show the whole item whether laid out on first read or all at once", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "dump", {{"rules.lua", R"lua(
local function dump(v, out)
  local t = type(v)
  if t ~= "cdata" then out[#out + 1] = tostring(v) return end
  out[#out + 1] = "{"
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  for i = #keys, 1, -1 do  -- last field first: children are laid out out of order
    out[#out + 1] = tostring(keys[i]) .. "="
    dump(v[keys[i]], out)
  end
  out[#out + 1] = "}#" .. #v
end
local M = {}
function M.bookkeeping_method() return "journal" end
local previous  -- the last item's dump: module state lives on from item to item
function M.counter_account(item, ctx)
  local out = {}
  dump(item, out)
  local text = table.concat(out, " ")
  -- The dump is far longer than an account code (255 characters) or a warning may be: the
  -- warnings report on it instead.
  for _, needle in ipairs({"accountingEntryLineId= line-300", "{ groupCode= PROJ code= P300 id= t2 }#0", "}#300",
                           "accountingEntryId= " .. item.accountingEntryId}) do
    ctx.warn((text:find(needle, 1, true) and "has " or "lacks ") .. needle)
  end
  ctx.warn(previous == nil and "first" or previous == text and "same as before" or "differs from before")
  previous = text
  return "1810"
end
function M.account(line, item)
  assert(line == item.accountingEntryLines[line.lineAmount.inWalletCurrency.value])
  assert(line.tax.amount.inSupplierCurrency == line.tax.amount.inSupplierCurrency)
  assert(tostring(line.tax.amount.inWalletCurrency) == line.tax.amount.inWalletCurrency.value .. " GBP (minor units)")
  return "6800"
end
return M
)lua"}}),
            // Tracing records every read of 300 lines, which under the sanitizers on a loaded
            // machine took more than the default 100 ms a call: this test is about layout.
            rules::EvalOptions{.limits = rules::Limits{.hook_budget = std::chrono::seconds(20)}});
  auto item = load_item("card_purchase_split_reverse_charge.json");
  const model::Line first = item.accountingEntryLines.at(0);
  item.accountingEntryLines.clear();
  for (int i = 1; i <= 300; ++i) {
    model::Line line = first;
    line.accountingEntryLineId = "line-" + std::to_string(i);
    line.lineAmount.inWalletCurrency.value = i;
    line.lineAmount.inWalletCurrency.currency = "GBP";
    if (line.tax) line.tax->amount.inWalletCurrency.currency = "GBP";
    line.tags = std::vector<model::Tag>{{"t1", "ENG", "DEPT"}, {"t2", "P" + std::to_string(i), "PROJ"}};
    item.accountingEntryLines.push_back(line);
  }
  REQUIRE(item.accountingEntryLines[0].tax);
  const auto lazily = h.evaluator->evaluate(item, false);
  const auto traced = h.evaluator->evaluate(item, true);
  INFO(lazily.failure.message << " / traced: " << traced.failure.message);
  // The hooks ran (the made-up amounts need not balance).
  REQUIRE(lazily.failure.type != "unexpected_failure");
  REQUIRE(traced.failure.type != "unexpected_failure");
  using Warnings = std::vector<std::string>;
  const Warnings found = {"has accountingEntryLineId= line-300", "has { groupCode= PROJ code= P300 id= t2 }#0",
                          "has }#300",  // the list of lines
                          "has accountingEntryId= " + item.accountingEntryId};
  Warnings on_first = found, same = found;
  on_first.push_back("first");
  same.push_back("same as before");
  CHECK(lazily.warnings == on_first);
  CHECK(traced.warnings == same);
}

TEST_CASE("the clock is frozen and in UTC", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "clock", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function() return "journal" end,
  counter_account = function(item, ctx) return os.date("%Y-%m-%d %H:%M", os.time()) .. "|" .. ctx.date.today() end,
  account = function() return "6800" end,
}
)lua"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  CHECK(o.decisions.counterAccount == "2026-01-15 12:00|2026-01-15");
}

TEST_CASE("print and ctx.warn reach the outcome and the trace", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "chatty", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx) print("method for", item.type); ctx.warn("no team code"); return "journal" end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
}
)lua"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"), true);
  CHECK(o.warnings == std::vector<std::string>{"no team code"});
  CHECK(o.trace->steps[0].prints == std::vector<std::string>{"method for\tcard_purchase"});
  const std::string text = rules::render_trace_text(o);
  CHECK_THAT(text, Catch::Contains("read   item.type = \"card_purchase\""));
  CHECK_THAT(text, Catch::Contains("warn   no team code"));
  CHECK_THAT(text, Catch::Contains("outcome: decided"));
}

TEST_CASE("text from scripts reaches the outcome as valid UTF-8, bad bytes replaced", "[rules]") {
  // Outcomes are JSON: a warning, a ctx.fail message or an error message with bytes that are
  // not UTF-8 would make the line unreadable to a JSON parser.
  TempDir dir;
  Harness h(write_pack(dir, "bytes", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx)
    ctx.warn("bad \255 byte, cut \195")
    if item.type == "fee" then ctx.fail("validation_failure", "fail \192\128 here") end
    if item.type == "refund" then error("err \254") end
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
}
)lua"}}));
  const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  REQUIRE(o.warnings.size() == 1);
  CHECK(o.warnings[0] == "bad " + replacement + " byte, cut " + replacement);
  const auto fee = h.evaluator->evaluate(load_item("fee_interest.json"));
  CHECK(fee.failure.message == "fail " + replacement + replacement + " here");
  std::string json;
  rules::write_outcome_json(fee, json);
  CHECK(nlohmann::json::accept(json));
}

TEST_CASE("the trace shows reads of objects and lists, and their lengths, not only of values", "[rules]") {
  // A presence check (item.team ~= nil) or a count (#item.files) decides as much as a value
  // does. An object read right before a field of it is folded into that field's read.
  TempDir dir;
  Harness h(write_pack(dir, "shapes", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx)
    if item.team ~= nil then ctx.warn("has team") end
    if #item.files > 0 then ctx.warn("has files") end
    for _, l in ipairs(item.accountingEntryLines) do local _ = l end
    local name = item.supplier.name
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
}
)lua"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"), true);
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  std::vector<std::string> reads;
  for (const auto& r : o.trace->steps[0].reads) reads.push_back(r.path + " = " + r.value);
  CHECK(reads == std::vector<std::string>{
                     "item.team = \"{…}\"",
                     "item.files = \"[…]\"",
                     "#item.files = 1",
                     "item.accountingEntryLines[1] = \"{…}\"",
                     "item.supplier.name = \"Target\"",
                 });
  const std::string text = rules::render_trace_text(o);
  CHECK_THAT(text, Catch::Contains("read   #item.files = 1"));
}

TEST_CASE("text a script hands the engine is bounded per message and per item", "[rules]") {
  // Warnings, failure messages and prints live in the outcome, outside the pack's memory cap
  // (a red-team pack wrote 2 GB of warnings for one item).
  TempDir dir;
  // A thousand 10 KB prints and warnings take a while under a sanitizer: no CPU budget to trip.
  rules::EvalOptions options;
  options.limits = rules::Limits{.hook_budget = std::chrono::seconds(20)};
  Harness h(write_pack(dir, "loud", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx)
    local long = ("ø"):rep(5000)
    for _ = 1, 1000 do ctx.warn(long) end
    for _ = 1, 1000 do print(long) end
    if item.type == "fee" then ctx.fail("unexpected_failure", long) end
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
}
)lua"}}), options);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"), true);
  INFO(o.failure.message);
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  REQUIRE(o.warnings.size() == 101);
  CHECK(o.warnings[0].size() <= 2000);
  CHECK(o.warnings[0].ends_with("…"));
  CHECK(o.warnings[0].starts_with("øøø"));
  // Cut at a character boundary: the text before the ellipsis is whole two-byte characters.
  CHECK((o.warnings[0].size() - std::string("…").size()) % 2 == 0);
  CHECK(o.warnings[100] == "ctx.warn: more than 100 warnings for this item; the rest are left out");
  REQUIRE(o.trace->steps[0].prints.size() == 101);
  CHECK(o.trace->steps[0].prints[0].size() <= 2000);
  CHECK(o.trace->steps[0].prints[100] == "print: more than 100 lines in this call; the rest are left out");
  const auto fee = h.evaluator->evaluate(load_item("fee_interest.json"));
  REQUIRE(fee.status == rules::OutcomeStatus::failed);
  INFO(fee.failure.message.substr(0, 200));
  CHECK(fee.failure.type == "unexpected_failure");
  CHECK(fee.failure.message.size() <= 2000);
  CHECK(fee.failure.message.ends_with("…"));
}

TEST_CASE("shared data stays read-only but reads like plain tables", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "shared", {{"pack.toml", R"(name = "shared"
[settings]
order = ["externalId", "code"]
[tables.accounts]
file = "tables/accounts.csv"
)"},
                                       {"tables/accounts.csv", "pleo,erp\n6800,6010\n"},
                                       {"rules.lua", R"lua(
local money = require("lb.money")  -- at the top level, before any hook runs
return {
  bookkeeping_method = function(item, ctx)
    local row = ctx.lookup("accounts", "6800")
    assert(not pcall(function() row.erp = "x" end), "lookup rows must be read-only")
    local order = ctx.settings.order
    assert(table.concat(order, ",") == "externalId,code")
    assert(next(order) == 1 and rawget(order, 2) == "code" and rawlen(order) == 2)
    local a, b = unpack(order)
    assert(a == "externalId" and b == "code")
    assert(money.format(6366, "GBP") == "63.66" and ctx.money.format(-5, "JPY") == "-5")
    assert(os.time({year = 2026, month = 1, day = 15, hour = 12}) == 1768478400)
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function(line, item, ctx) return ctx.lookup("accounts", "6800", "erp") end,
  tax = function(line, item, ctx) return ctx.erp.tax_code("S20") end,
  posting = function() return { date = "2025-02-28" } end,
}
)lua"}}));
  h.directory.add(model::ErpTaxCode{.code = "S20", .name = "Standard", .rate = 0.2, .type = "inclusive"});
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  INFO(json_of(o));
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.lines[0].tax->code == "S20");
}

TEST_CASE("ctx.base passes every result through, and impossible dates are refused", "[rules]") {
  TempDir dir;
  write_pack(dir, "parent", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function() return "skip", "booked by the bank feed" end,
  counter_account = function() return "1810" end,
  account = function() return "6800" end,
})lua"}});
  const auto child = write_pack(dir, "kid", {{"pack.toml", "name = \"kid\"\nextends = \"parent\"\n"},
                                             {"rules.lua", R"lua(
return {
  bookkeeping_method = function(item, ctx)
    if item.type == "fee" then return "journal" end
    return ctx.base.bookkeeping_method(item)
  end,
  posting = function() return { date = "2025-02-31" } end,
})lua"}});
  Harness h(child);
  const auto skipped = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  CHECK(skipped.status == rules::OutcomeStatus::skipped);
  CHECK(skipped.skip_reason == "booked by the bank feed");
  const auto fee = h.evaluator->evaluate(load_item("fee_interest.json"));
  REQUIRE(fee.status == rules::OutcomeStatus::failed);
  CHECK_THAT(fee.failure.message, Catch::Contains("returned {\"date\":\"2025-02-31\"}"));
}

TEST_CASE("an Outcome reused across items renders exactly like a fresh one", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "reuse", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function(item)
    if item.type == "fee" then return "skip", "fees are booked elsewhere" end
    if item.type == "refund" then error("no refunds here") end
    return "journal"
  end,
  counter_account = function() return "1810" end,
  account = function(line) return line.account and line.account.code or "2000" end,
  tax = function(line) return line.tax and line.tax.code or nil end,
  dimensions = function(line) local d = {} for _, t in ipairs(line.tags or {}) do d[t.groupCode] = t.code end return d end,
  posting = function(item) if item.type == "invoice" then return { documentDate = "2025-04-01" } end end,
})lua"}}));
  rules::Outcome reused;
  for (const char* file : {"card_purchase_split_reverse_charge.json", "refund_journal.json", "invoice_ap.json",
                           "fee_interest.json", "card_purchase_journal.json", "invoice_payment.json"}) {
    const auto item = load_item(file);
    h.evaluator->evaluate(item, reused);
    const auto fresh = h.evaluator->evaluate(item);
    INFO(file);
    CHECK(json_of(reused) == json_of(fresh));
  }
}
