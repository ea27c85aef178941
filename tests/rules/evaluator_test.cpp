// The hook pipeline, ctx, packs that extend packs, results checking and traces.
#include <catch2/catch.hpp>
#include <functional>

#include "rules/outcome.hpp"
#include "rules_test_util.hpp"

using namespace lb;
using lb::test::Harness;
using lb::test::load_item;
using lb::test::TempDir;
using lb::test::write_pack;

namespace {

std::string json_of(const rules::Outcome& o) {
  std::string s;
  rules::write_outcome_json(o, s);
  return s;
}

}  // namespace

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
return { bookkeeping_method = function(item, ctx) return ctx.lookup("nope", "x") end }
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
    return write_pack(dir, name, {{"rules.lua", "local M = {}\n"
                                                "function M.bookkeeping_method() return 'journal' end\n"
                                                "function M.counter_account() return '1810' end\n"
                                                "function M.account() return '6800' end\n" +
                                                    hooks + "\nreturn M\n"}});
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

TEST_CASE("a pack without a required hook fails items, naming the hook", "[rules]") {
  TempDir dir;
  Harness h(write_pack(dir, "partial", {{"rules.lua", "return { bookkeeping_method = function() return 'journal' end }"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  REQUIRE(o.status == rules::OutcomeStatus::failed);
  CHECK(o.failure.message == "rule pack 'partial' defines no 'counter_account' hook");
}

TEST_CASE("pack loading errors name the file and the problem", "[rules]") {
  TempDir dir;
  auto load_error = [&](const std::string& name, const std::map<std::string, std::string>& files) {
    auto pack = rules::Pack::load(write_pack(dir, name, files));
    if (!pack) return pack.error().message;
    model::MemoryDirectory d;
    auto e = rules::Evaluator::create(*pack, {.directory = &d});
    return e ? std::string("loaded") : e.error().message;
  };
  CHECK(load_error("typo", {{"rules.lua", "return { acount = function() end }"}}) ==
        "typo/rules.lua returned unknown hook 'acount' (did you mean 'account'?; hooks are: validate, "
        "bookkeeping_method, direction, vendor, counter_account, payment_account, account, tax, dimensions, posting)");
  CHECK(load_error("far", {{"rules.lua", "return { vat_rules = function() end }"}}) ==
        "far/rules.lua returned unknown hook 'vat_rules' (hooks are: validate, bookkeeping_method, direction, "
        "vendor, counter_account, payment_account, account, tax, dimensions, posting)");
  CHECK(load_error("syntax", {{"rules.lua", "return {"}}).starts_with("syntax/rules.lua:1:"));
  CHECK(load_error("notable", {{"rules.lua", "return 42"}}) == "notable/rules.lua: must return a table of hooks, got number");
  CHECK_THAT(load_error("orphan", {{"pack.toml", "name = \"orphan\"\nextends = \"missing\"\n"}}),
             Catch::Contains("extends \"missing\", which was not found"));
  CHECK_THAT(load_error("badkey", {{"pack.toml", "name = \"badkey\"\nextend = \"default\"\n"}}),
             Catch::Contains("pack.toml:2: unknown or mistyped key 'extend'"));
  write_pack(dir, "cycle_a", {{"pack.toml", "name = \"cycle_a\"\nextends = \"cycle_b\"\n"}});
  write_pack(dir, "cycle_b", {{"pack.toml", "name = \"cycle_b\"\nextends = \"cycle_a\"\n"}});
  CHECK_THAT(rules::Pack::load(dir.path() / "cycle_a").error().message, Catch::Contains("extends forms a cycle"));
  CHECK(load_error("lib", {{"rules.lua", "local u = require('util.names')\nreturn { account = u.account }"},
                           {"util/names.lua", "return { account = function() return 'x' end }"}}) == "loaded");
  CHECK_THAT(load_error("noreq", {{"rules.lua", "return require('missing')"}}),
             Catch::Contains("require: module 'missing' not found: looked for noreq/missing.lua"));
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

TEST_CASE("a child pack's [limits] override the parent's key by key", "[rules]") {
  TempDir dir;
  write_pack(dir, "lim_parent", {{"pack.toml", "name = \"lim_parent\"\n[limits]\nmemory_mb = 16\nhook_cpu_ms = 250\n"}});
  const auto child =
      write_pack(dir, "lim_child", {{"pack.toml", "name = \"lim_child\"\nextends = \"lim_parent\"\n[limits]\nmemory_mb = 8\n"}});
  auto pack = rules::Pack::load(child);
  REQUIRE(pack);
  CHECK((*pack)->limits().memory_bytes == (8u << 20));
  CHECK((*pack)->limits().hook_budget == std::chrono::milliseconds(250));
}

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

TEST_CASE("settings overrides are typed like the pack's setting they replace", "[rules]") {
  TempDir dir;
  const auto pack_dir = write_pack(dir, "typed", {{"rules.lua", test::kMinimalHooks},
                                                  {"pack.toml", R"toml(name = "typed"
[settings]
code = "5810"
limit = 60
ratio = 0.5
flag = true
[settings.posting]
max = 0
)toml"}});
  auto pack = rules::Pack::load(pack_dir);
  REQUIRE(pack);
  model::MemoryDirectory d;
  auto create = [&](const char* override_json) {
    return rules::Evaluator::create(*pack, {.directory = &d, .settings_override = nlohmann::json::parse(override_json)});
  };
  SECTION("text becomes a number where the setting is a number; codes and new keys stay text") {
    auto e = create(R"({"code": "0810", "limit": "20", "ratio": "1.25", "flag": false,
                        "posting": {"max": "-3"}, "new_code": "6000", "list": [1, "2"]})");
    REQUIRE(e);
    const auto& s = (*e)->settings();
    CHECK(s["code"] == "0810");
    CHECK(s["limit"] == 20);
    CHECK(s["limit"].is_number_integer());
    CHECK(s["ratio"] == 1.25);
    CHECK(s["flag"] == false);
    CHECK(s["posting"]["max"] == -3);
    CHECK(s["new_code"] == "6000");
    CHECK(s["list"] == nlohmann::json::parse(R"([1, "2"])"));
  }
  SECTION("booleans from text") {
    auto e = create(R"({"flag": "false"})");
    REQUIRE(e);
    CHECK((*e)->settings()["flag"] == false);
  }
  SECTION("a value that cannot be read as the setting's type is an error at creation") {
    auto e = create(R"({"posting": {"max": "abc"}})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "setting posting.max: expected a number (the pack's value is 0), got \"abc\"");
    auto b = create(R"({"flag": "yes"})");
    REQUIRE_FALSE(b);
    CHECK(b.error().message == "setting flag: expected a boolean, true or false (the pack's value is true), got \"yes\"");
    auto n = create(R"({"limit": true})");
    REQUIRE_FALSE(n);
    CHECK(n.error().message == "setting limit: expected a number (the pack's value is 60), got true");
    auto a = create(R"({"flag": ["true"]})");
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "setting flag: expected a boolean, true or false (the pack's value is true), got [\"true\"]");
  }
  SECTION("null replaces any setting") {
    auto e = create(R"({"limit": null, "flag": null})");
    REQUIRE(e);
    CHECK((*e)->settings()["limit"].is_null());
    CHECK((*e)->settings()["flag"].is_null());
  }
}

TEST_CASE("extends finds the shipped packs from a pack outside the repository", "[rules]") {
  TempDir dir;  // under /tmp: no `default` beside it
  const auto acme = write_pack(dir, "acme", {{"pack.toml", R"(name = "acme"
extends = "default"
[settings]
check_directory = false
[settings.accounts]
wallet = "5810"
)"}});
  auto pack = rules::Pack::load(acme);
  REQUIRE(pack);
  REQUIRE((*pack)->levels().size() == 2);
  CHECK((*pack)->levels().front().name == "default");
  // From the build tree, the shipped packs are the source tree's rules/.
  CHECK((*pack)->levels().front().dir == std::filesystem::weakly_canonical(std::filesystem::path(LB_RULES_DIR) / "default"));
  Harness h(acme);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  INFO(json_of(o));
  REQUIRE(o.status == rules::OutcomeStatus::decided);  // every hook is the default pack's
  CHECK(o.decisions.method == "journal");

  SECTION("the error lists the shipped folder last") {
    write_pack(dir, "orphan", {{"pack.toml", "name = \"orphan\"\nextends = \"no-such-parent\"\n"}});
    auto orphan = rules::Pack::load(dir.path() / "orphan");
    REQUIRE_FALSE(orphan);
    const std::string shipped = (std::filesystem::path(LB_RULES_DIR) / "no-such-parent").lexically_normal().string();
    CHECK_THAT(orphan.error().message, Catch::EndsWith("\n  " + shipped));
    CHECK_THAT(orphan.error().message, Catch::Contains("looked in:\n  " + (dir.path() / "no-such-parent").string()));
  }
}

TEST_CASE("pack.toml errors say which pack, which entry and what is wrong", "[rules]") {
  TempDir dir;
  auto load_error = [&](const std::filesystem::path& pack_dir) {
    auto pack = rules::Pack::load(pack_dir);
    return pack ? std::string("loaded") : pack.error().message;
  };
  SECTION("an extends cycle shows the chain") {
    write_pack(dir, "a", {{"pack.toml", "extends = \"b\"\n"}});
    write_pack(dir, "b", {{"pack.toml", "extends = \"c\"\n"}});
    write_pack(dir, "c", {{"pack.toml", "name = \"see\"\nextends = \"a\"\n"}});
    CHECK(load_error(dir.path() / "a") == (dir.path() / "a" / "pack.toml").string() +
                                              ": extends forms a cycle: a -> b -> see -> a");
    write_pack(dir, "self", {{"pack.toml", "extends = \"self\"\n"}});
    CHECK(load_error(dir.path() / "self") == (dir.path() / "self" / "pack.toml").string() +
                                                 ": extends forms a cycle: self -> self");
  }
  SECTION("two packs with one name are both named") {
    write_pack(dir, "parent", {{"pack.toml", "name = \"x\"\n"}});
    write_pack(dir, "child", {{"pack.toml", "name = \"x\"\nextends = \"parent\"\n"}});
    CHECK(load_error(dir.path() / "child") == "two packs in the extends chain are named 'x': " +
                                                  (dir.path() / "child" / "pack.toml").string() + " and " +
                                                  (dir.path() / "parent" / "pack.toml").string());
  }
  SECTION("a limit out of range, or not an integer, says which") {
    const auto toml = (dir.path() / "lim" / "pack.toml").string();
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nmemory_mb = 0\n"}});
    CHECK(load_error(dir.path() / "lim") == toml + ":2: limits.memory_mb: 0 is out of range (1-4096)");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nmemory_mb = \"64\"\n"}});
    CHECK(load_error(dir.path() / "lim") == toml + ":2: limits.memory_mb: expected an integer (1-4096), got \"64\"");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nhook_cpu_ms = 60001\n"}});
    CHECK(load_error(dir.path() / "lim") == toml + ":2: limits.hook_cpu_ms: 60001 is out of range (1-60000)");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nhook_cpu_ms = 2.5\n"}});
    CHECK(load_error(dir.path() / "lim") == toml + ":2: limits.hook_cpu_ms: expected an integer (1-60000), got 2.5");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\ncpu_ms = 5\n"}});
    CHECK(load_error(dir.path() / "lim") ==
          toml + ":2: limits.cpu_ms: unknown limit (expected memory_mb (1-4096) or hook_cpu_ms (1-60000))");
  }
  SECTION("a table file that cannot be read names the pack.toml entry") {
    const auto pack_dir = write_pack(dir, "tab", {{"pack.toml", "name = \"tab\"\n\n[tables.accounts]\nfile = \"tables/acounts.csv\"\n"}});
    CHECK(load_error(pack_dir) == (pack_dir / "pack.toml").string() + ":3: tables.accounts: cannot read " +
                                      (pack_dir / "tables" / "acounts.csv").string() + ": No such file or directory");
    write_pack(dir, "tab2", {{"pack.toml", "[tables]\ntax = \"tables/tax.csv\"\n"}});
    CHECK(load_error(dir.path() / "tab2") == (dir.path() / "tab2" / "pack.toml").string() +
                                                 ":2: tables.tax: cannot read " +
                                                 (dir.path() / "tab2" / "tables" / "tax.csv").string() +
                                                 ": No such file or directory");
  }
  SECTION("a table file must be inside the pack folder: no absolute paths, no .., no links out") {
    // A pack could otherwise read any file the engine can (a red-team pack looked up a
    // password in a CSV elsewhere on the machine and wrote it into a warning).
    namespace fs = std::filesystem;
    const fs::path outside = dir.path() / "secrets.csv";
    { std::ofstream(outside) << "name,value\npassword,hunter2\n"; }
    const auto check_refused = [&](const std::string& pack, const std::string& file) {
      const auto pack_dir = write_pack(dir, pack, {{"pack.toml", "[tables.creds]\nfile = \"" + file + "\"\n"}});
      CHECK(load_error(pack_dir) == (pack_dir / "pack.toml").string() + ":1: tables.creds: '" + file +
                                        "' is outside the pack folder (a table file must be inside it)");
    };
    check_refused("abs", outside.string());
    check_refused("dots", "../secrets.csv");
    check_refused("dots2", "tables/../../secrets.csv");
    const auto linked = write_pack(dir, "linked", {{"pack.toml", "[tables.creds]\nfile = \"tables/creds.csv\"\n"}});
    fs::create_directories(linked / "tables");
    fs::create_symlink(outside, linked / "tables" / "creds.csv");
    CHECK(load_error(linked) == (linked / "pack.toml").string() +
                                    ":1: tables.creds: 'tables/creds.csv' is outside the pack folder (a table file must be inside it)");
  }
}
