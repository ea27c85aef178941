// Hostile rule scripts: every sandbox escape, runaway loop, memory bomb and trick we know of is
// contained, fails only its own item with a clear reason naming file:line, and the next item
// is evaluated normally (DESIGN §4 "Sandbox", issue #2 §8).
#include <catch2/catch.hpp>

#include <chrono>

#include "rules_test_util.hpp"

using namespace lb;
using lb::test::Harness;
using lb::test::load_item;
using lb::test::TempDir;
using lb::test::write_pack;

namespace {

// A pack whose counter_account hook runs `body` when the item's note is "attack" and otherwise
// decides normally. Its module-level counter shows whether the state was rebuilt.
std::string hostile_pack(const std::string& body) {
  return "local M = {}\n"
         "local calls = 0\n"
         "function M.bookkeeping_method() return 'journal' end\n"
         "function M.account() return '6800' end\n"
         "function M.counter_account(item, ctx)\n"
         "  calls = calls + 1\n"
         "  if item.note == 'attack' then\n" +
         body +
         "\n  end\n"
         "  return '1810'\n"
         "end\n"
         "return M\n";
}

// 50 ms of CPU per hook call keeps the loop tests quick. Tests about other limits get a budget
// they cannot reach first, so that the limit under test is the one that trips.
rules::EvalOptions test_limits(std::chrono::milliseconds budget = std::chrono::milliseconds(50)) {
  rules::EvalOptions o;
  o.limits = rules::Limits{.memory_bytes = 32u << 20, .hook_budget = budget};
  return o;
}

constexpr std::chrono::milliseconds kGenerousBudget{5000};

struct Result {
  rules::Outcome attacked;
  rules::Outcome after;
  double seconds;
};

Result run_attack(const std::string& name, const std::string& body, std::chrono::milliseconds budget) {
  TempDir dir;
  Harness h(write_pack(dir, name, {{"rules.lua", hostile_pack(body)}}), test_limits(budget));
  auto item = load_item("card_purchase_journal.json");
  auto attack = item;
  attack.note = "attack";
  const auto started = std::chrono::steady_clock::now();
  Result r{h.evaluator->evaluate(attack), {}, 0};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.after = h.evaluator->evaluate(item);
  return r;
}

// The attacked item fails with unexpected_failure and a message containing `expected`; the
// next item is decided as usual.
void check_contained(const std::string& name, const std::string& body, const std::string& expected,
                     std::chrono::milliseconds budget = std::chrono::milliseconds(50)) {
  INFO(name << ":\n" << body);
  const Result r = run_attack(name, body, budget);
  REQUIRE(r.attacked.status == rules::OutcomeStatus::failed);
  CHECK(r.attacked.failure.type == "unexpected_failure");
  CHECK_THAT(r.attacked.failure.message, Catch::Contains(expected));
  CHECK(r.after.status == rules::OutcomeStatus::decided);
  CHECK(r.seconds < 10.0);
}

}  // namespace

TEST_CASE("the standard library is an allow-list", "[hostile]") {
  // Each line of the body is at line 8 of the pack's rules.lua.
  check_contained("io", "io.open('/etc/passwd')", "io/rules.lua:8: attempt to index global 'io' (a nil value)");
  check_contained("osexec", "os.execute('true')", "osexec/rules.lua:8: attempt to call field 'execute' (a nil value)");
  check_contained("osgetenv", "return os.getenv('HOME')", "attempt to call field 'getenv' (a nil value)");
  check_contained("package", "package.loadlib('x', 'y')", "attempt to index global 'package' (a nil value)");
  check_contained("debug", "debug.getregistry()", "attempt to index global 'debug' (a nil value)");
  check_contained("load", "load('return 1')()", "attempt to call global 'load' (a nil value)");
  check_contained("loadstring", "loadstring('return 1')()", "attempt to call global 'loadstring' (a nil value)");
  check_contained("dofile", "dofile('/etc/passwd')", "attempt to call global 'dofile' (a nil value)");
  check_contained("loadfile", "loadfile('/etc/passwd')", "attempt to call global 'loadfile' (a nil value)");
  check_contained("dump", "string.dump(function() end)", "attempt to call field 'dump' (a nil value)");
  check_contained("dumpmethod", "local f = ('x').dump; f(print)", "attempt to call local 'f' (a nil value)");
  check_contained("getfenv", "getfenv(0).io.open('x')", "attempt to call global 'getfenv' (a nil value)");
  check_contained("setfenv", "setfenv(1, {})", "attempt to call global 'setfenv' (a nil value)");
  check_contained("jit", "jit.off()", "attempt to index global 'jit' (a nil value)");
  check_contained("ffi", "require('ffi').C.system('true')", "require: module 'ffi' not found");
  check_contained("requireos", "require('os').exit()", "require: module 'os' not found");
  check_contained("collect", "collectgarbage('stop')", "attempt to call global 'collectgarbage' (a nil value)");
  check_contained("newproxy", "newproxy(true)", "attempt to call global 'newproxy' (a nil value)");
  check_contained("random", "math.random()", "attempt to call field 'random' (a nil value)");
  check_contained("strmeta", "getmetatable('').__index.upper = nil", "attempt to index a boolean value");
  // The host-only chunks that hold the FFI (engine/lua/views.lua, ctx.lua) cannot be required,
  // and a view (FFI data) offers no pointer to do arithmetic with or to index past its end.
  check_contained("views", "require('views')", "require: module 'views' not found");
  check_contained("lbviews", "require('lb.views')", "require: no shipped module 'lb.views'");
  check_contained("ctxchunk", "require('ctx')", "require: module 'ctx' not found");
  check_contained("viewmath", "local p = item + 1", "attempt to perform arithmetic on");
  check_contained("viewindex", "local p = item.accountingEntryLines[1][1]", "line has no field '?'");
}

TEST_CASE("shared globals and ctx are read-only", "[hostile]") {
  check_contained("strset", "string.upper = function() return 'pwned' end",
                  "strset/rules.lua:8: attempt to modify a read-only table (field 'upper')");
  check_contained("mathset", "math.pi = 3", "attempt to modify a read-only table (field 'pi')");
  check_contained("rawset", "rawset(string, 'upper', print)", "bad argument #1 to 'rawset' (table is read-only)");
  check_contained("tinsert", "table.insert(table, 1)", "bad argument #1 to 'insert' (table is read-only)");
  check_contained("tremove", "table.remove(math)", "bad argument #1 to 'remove' (table is read-only)");
  check_contained("setmeta", "setmetatable(string, {})", "cannot change a protected metatable");
  check_contained("ctxset", "ctx.fail = nil", "attempt to modify a read-only table (field 'fail')");
  check_contained("settings", "ctx.settings.wallet = '9999'", "attempt to modify a read-only table (field 'wallet')");
  check_contained("erpset", "ctx.erp.account = function() return {} end", "attempt to modify a read-only table");
  check_contained("moneyset", "ctx.money.format = tostring", "attempt to modify a read-only table (field 'format')");
  check_contained("itemset", "item.type = 'refund'", "item is read-only (tried to set 'type')");
  check_contained("lineset", "item.accountingEntryLines[1].account = nil", "line is read-only (tried to set 'account')");
  // A view is FFI data: getmetatable() gives LuaJIT's "ffi" marker, never the views' metatable.
  check_contained("viewmeta", "getmetatable(item).__index = nil", "attempt to index a string value");
  check_contained("viewid", "item.lb_view_id = 1", "attempt to write to constant location");
}

TEST_CASE("pairs and ipairs over a read-only table hand out nothing writable", "[hostile]") {
  // The state pairs()/ipairs() return, and every value they yield, is read-only too: the real
  // contents never reach a script (found by a red-team review: `local _, raw = pairs(t)`).
  check_contained("pairsstate", "local _, raw = pairs(ctx.settings); raw.wallet = '9999'",
                  "attempt to modify a read-only table (field 'wallet')");
  check_contained("pairsstr", "local _, raw = pairs(string); raw.sub = print",
                  "attempt to modify a read-only table (field 'sub')");
  check_contained("ipairsstate", "local _, raw = ipairs(math); raw[1] = 1", "attempt to modify a read-only table");
  check_contained("pairsnext", "local f, raw = pairs(ctx); local _, v = f(raw, nil); rawset(raw, 'x', 1)",
                  "bad argument #1 to 'rawset' (table is read-only)");
  check_contained("pairserp", "for k, v in pairs(ctx.erp) do if type(v) == 'table' then v.x = 1 end end\n"
                  "local _, raw = pairs(ctx.erp); raw.account = print",
                  "attempt to modify a read-only table (field 'account')");
}

TEST_CASE("the table library refuses an item view with a hint, naming the rule's line", "[hostile]") {
  const std::string hint = "(table expected, got an item view: copy its elements into a table first)";
  check_contained("viewsort", "table.sort(item.accountingEntryLines)",
                  "viewsort/rules.lua:8: bad argument #1 to 'table.sort' " + hint);
  check_contained("viewconcat", "local s = table.concat(item.files, ',')",
                  "viewconcat/rules.lua:8: bad argument #1 to 'table.concat' " + hint);
  check_contained("viewinsert", "table.insert(item.files, 1)", "viewinsert/rules.lua:8: bad argument #1 to 'table.insert' " + hint);
  check_contained("viewunpack", "local a = unpack(item.files)", "viewunpack/rules.lua:8: bad argument #1 to 'table.unpack' " + hint);
}

TEST_CASE("iterating a read-only table still reads like a plain one", "[hostile]") {
  TempDir dir;
  Harness h(write_pack(dir, "iter", {{"rules.lua", R"lua(
local M = {}
function M.bookkeeping_method(item, ctx)
  local keys, sum = {}, 0
  for k, v in pairs(ctx.settings.accounts) do keys[#keys + 1] = k .. "=" .. v end
  table.sort(keys)
  assert(table.concat(keys, ",") == "a=1,b=2", table.concat(keys, ","))
  for i, v in ipairs(ctx.settings.list) do sum = sum + i * v end
  assert(sum == 1 * 10 + 2 * 20 + 3 * 30, sum)
  local n = 0
  for _, nested in pairs(ctx.settings) do if type(nested) == "table" then n = n + 1 end end
  assert(n == 2)
  local f, s, k = pairs(ctx.settings.accounts)
  local k1 = f(s, k)
  assert(k1 == "a" or k1 == "b")
  return "journal"
end
function M.counter_account() return "1810" end
function M.account() return "6800" end
return M
)lua"},
                                              {"pack.toml", "name = \"iter\"\n[settings]\nlist = [10, 20, 30]\n"
                                                            "[settings.accounts]\na = \"1\"\nb = \"2\"\n"}}));
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  INFO(o.failure.message);
  CHECK(o.status == rules::OutcomeStatus::decided);
}

TEST_CASE("a pack's globals never leak into another pack or the shared environment", "[hostile]") {
  TempDir dir;
  write_pack(dir, "base", {{"rules.lua", R"lua(
return {
  bookkeeping_method = function() return "journal" end,
  counter_account = function() return string.upper("abc") .. tostring(_G.helper) end,
  account = function() return "6800" end,
})lua"}});
  const auto child = write_pack(dir, "child", {{"pack.toml", "name = \"child\"\nextends = \"base\"\n"},
                                               {"rules.lua", R"lua(
string = { upper = function() return "pwned" end }  -- rebinds the child's own global only
_G.helper = "child"
return {
  counter_account = function(item, ctx) return ctx.base.counter_account(item) end,
})lua"}});
  Harness h(child);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.counterAccount == "ABCnil");
}

TEST_CASE("runaway loops stop at the CPU budget, even when compiled or wrapped in pcall", "[hostile]") {
  const std::string budget = "exceeded its CPU budget of 50 ms";
  check_contained("plain", "while true do end", "plain/rules.lua:8: hook 'counter_account' " + budget);
  check_contained("jitfor", "local s = 0\nfor i = 1, 1e18 do s = s + i % 7 end", "jitfor/rules.lua:9: hook 'counter_account' " + budget);
  check_contained("jitwhile", "local x = 0\nwhile true do x = x + 1 end", budget);
  check_contained("pcallloop", "while true do pcall(function() while true do end end) end", budget);
  check_contained("xpcallloop", "while true do xpcall(function() while true do end end, function() return 1 end) end",
                  budget);
  check_contained("pairsloop", "local t = {a = 1, b = 2}\nwhile true do for k, v in pairs(t) do t[k] = v end end",
                  budget);
  check_contained("coroloop", "coroutine.wrap(function() while true do end end)()", budget);
  check_contained("coroswallow",
                  "while true do coroutine.resume(coroutine.create(function() while true do end end)) end", budget);
  check_contained("sortloop",
                  "local t = {}\nfor i = 1, 100 do t[i] = i end\n"
                  "table.sort(t, function(a, b) while true do end end)",
                  budget);
  check_contained("gsubloop", "string.gsub('abc', '.', function() while true do end end)", budget);
  check_contained("errorhandler", "while true do local ok = pcall(error, 'x') end", budget);
}

TEST_CASE("a loop at load time is stopped too", "[hostile]") {
  TempDir dir;
  auto pack = rules::Pack::load(write_pack(dir, "loadloop", {{"rules.lua", "while true do end\nreturn {}"}}));
  REQUIRE(pack);
  model::MemoryDirectory d;
  auto options = test_limits();
  options.directory = &d;
  auto e = rules::Evaluator::create(*pack, options);
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().message, Catch::Contains("loadloop/rules.lua:1: loading loadloop/rules.lua exceeded its CPU budget"));
}

TEST_CASE("memory bombs stop at the pack's memory cap", "[hostile]") {
  const std::string memory = "hook 'counter_account' exceeded the memory limit of 32 MiB";
  check_contained("tablebomb", "local t = {}\nwhile true do t[#t + 1] = {1, 2, 3, 4, 5, 6, 7, 8} end", memory, kGenerousBudget);
  check_contained("stringbomb", "local s = 'x'\nwhile true do s = s .. s end", memory, kGenerousBudget);
  check_contained("caughtbomb", "local t = {}\nwhile true do pcall(function() t[#t + 1] = ('y'):rep(1e5) .. #t end) end",
                  memory, kGenerousBudget);
  check_contained("rep", "return ('x'):rep(1e9)", "string.rep: result of 1000000000 bytes exceeds the limit", kGenerousBudget);
  check_contained("concat", "local t = {}\nfor i = 1, 1e8 do t[i] = 'abcdefgh' end\nreturn table.concat(t)", memory, kGenerousBudget);
}

TEST_CASE("deep recursion, in Lua and through C callbacks, is an error, not a crash", "[hostile]") {
  check_contained("luarec", "local function f(n) return 1 + f(n + 1) end\nf(1)", "stack overflow", kGenerousBudget);
  check_contained("gsubrec", "local function f(s) return (s:gsub('.', f)) end\nf('x')",
                  "string.gsub: too many nested calls (limit 50)", kGenerousBudget);
  check_contained("sortrec",
                  "local function f() local t = {3, 2, 1}; table.sort(t, function(a, b) f(); return a < b end) end\nf()",
                  "table.sort: too many nested calls (limit 50)", kGenerousBudget);
  check_contained("tostringrec",
                  "local mt = {}\nmt.__tostring = function(t) return tostring(setmetatable({}, mt)) end\n"
                  "tostring(setmetatable({}, mt))",
                  "tostring: too many nested calls (limit 50)", kGenerousBudget);
  check_contained("cororec", "local function f() coroutine.wrap(f)() end\nf()", "nested calls (limit 50)", kGenerousBudget);
  check_contained("pcallrec", "local function f() local ok, e = pcall(f); error(e, 0) end\nf()", "stack overflow",
                  kGenerousBudget);
  check_contained("metarec", "local t = setmetatable({}, {__index = function(t, k) return t[k] end})\nreturn t.x",
                  "stack overflow", kGenerousBudget);
}

TEST_CASE("catastrophic patterns are cut off inside the C matcher", "[hostile]") {
  check_contained("pattern", "string.find(('a'):rep(40), ('a*'):rep(30) .. 'b')", "pattern too complex");
  check_contained("gmatch", "for _ in (('a'):rep(5000)):gmatch(('a-'):rep(10) .. 'b') do end", "pattern too complex");
}

TEST_CASE("errors of every shape carry the rule's file:line", "[hostile]") {
  check_contained("strerr", "error('plain failure')", "strerr/rules.lua:8: plain failure");
  check_contained("tableerr", "error({code = 42})", "tableerr/rules.lua:8: error object is a table value");
  check_contained("msgerr", "error({message = 'custom message'})", "msgerr/rules.lua:8: custom message");
  check_contained("nilerr", "error()", "error object is a nil value");
  check_contained("tostringerr",
                  "error(setmetatable({}, {__tostring = function() while true do end end}))",
                  "tostringerr/rules.lua:8: error object is a table value");
  check_contained("levelerr", "error('no position', 0)", "levelerr/rules.lua:5: no position");
  check_contained("nilindex", "return item.vendor.code", "nilindex/rules.lua:8: attempt to index field 'vendor' (a nil value)");
  check_contained("fieldtypo", "return item.contraAcount.code",
                  "item has no field 'contraAcount' (did you mean 'contraAccount'?)");
  check_contained("yieldout", "coroutine.yield(1)", "attempt to yield across C-call boundary");
}

TEST_CASE("bytecode is refused, from files and from strings", "[hostile]") {
  TempDir dir;
  auto pack = rules::Pack::load(write_pack(dir, "bytecode", {{"rules.lua", "\x1bLJ\x02\x00garbage"}}));
  REQUIRE(pack);
  model::MemoryDirectory d;
  auto e = rules::Evaluator::create(*pack, {.directory = &d});
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().message, Catch::Contains("bytecode/rules.lua: rule files must be Lua source text; precompiled bytecode is refused"));

  check_contained("requirebc", "require('evil')", "require: module 'evil' not found");
}

TEST_CASE("after a limit breach the state is rebuilt; after an ordinary error it is kept", "[hostile]") {
  TempDir dir;
  Harness h(write_pack(dir, "rebuild", {{"rules.lua", hostile_pack(R"lua(
    if item.type == "card_purchase" then while true do end end
  )lua")}}),
            test_limits());
  auto item = load_item("card_purchase_journal.json");
  auto attack = item;
  attack.note = "attack";
  CHECK(h.evaluator->evaluate(attack).status == rules::OutcomeStatus::failed);
  CHECK(h.evaluator->rebuilds() == 1);
  CHECK(h.evaluator->evaluate(item).status == rules::OutcomeStatus::decided);
  CHECK(h.evaluator->rebuilds() == 1);
}

TEST_CASE("a run with hostile items in the middle completes and keeps the others", "[hostile]") {
  TempDir dir;
  Harness h(write_pack(dir, "mixed", {{"rules.lua", R"lua(
local M = {}
function M.bookkeeping_method(item)
  local attack = item.note
  if attack == "loop" then while true do end end
  if attack == "bomb" then local t = {} while true do t[#t + 1] = {} end end
  if attack == "crash" then local function f(s) return (s:gsub(".", f)) end f("x") end
  if attack == "error" then error({}) end
  return "journal"
end
function M.counter_account() return "1810" end
function M.account() return "6800" end
return M
)lua"}}),
            test_limits());
  const auto item = load_item("card_purchase_journal.json");
  std::vector<rules::OutcomeStatus> statuses;
  for (const char* note : {"ok", "loop", "ok", "bomb", "ok", "crash", "ok", "error", "ok"}) {
    auto it = item;
    it.note = note;
    statuses.push_back(h.evaluator->evaluate(it).status);
  }
  using S = rules::OutcomeStatus;
  CHECK(statuses == std::vector<S>{S::decided, S::failed, S::decided, S::failed, S::decided, S::failed, S::decided,
                                   S::failed, S::decided});
}
