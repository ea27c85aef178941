// Loading packs: pack.toml and its errors, extends (shipped packs included), [limits], and settings
// overrides typed like the settings they replace.
#include <catch2/catch.hpp>
#include <functional>

#include "rules_test_util.hpp"

using namespace lb;
using lb::test::Harness;
using lb::test::json_of;
using lb::test::load_item;
using lb::test::TempDir;
using lb::test::write_pack;

TEST_CASE("pack loading errors name the file and the problem", "[rules]") {
  TempDir dir;
  auto load_error = [&](const std::string& name, const std::map<std::string, std::string>& files) {
    return test::load_result(write_pack(dir, name, files));
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
  CHECK(load_error("lib", {{"rules.lua", "local u = require('util.names')\nreturn { bookkeeping_method = u.account, "
                                         "counter_account = u.account, account = u.account }"},
                           {"util/names.lua", "return { account = function() return 'x' end }"}}) == "loaded");
  CHECK_THAT(load_error("noreq", {{"rules.lua", "return require('missing')"}}),
             Catch::Contains("require: module 'missing' not found: looked for noreq/missing.lua"));
}

TEST_CASE("every module of a pack compiles when the pack loads, required or not", "[rules]") {
  TempDir dir;
  auto load_error = [&](const std::string& name, const std::map<std::string, std::string>& files) {
    return test::load_result(write_pack(dir, name, files));
  };
  // A module nothing requires yet (work in progress, or required only by a later edit).
  CHECK_THAT(load_error("unused", {{"rules.lua", test::kMinimalHooks}, {"lib/draft.lua", "local x = \nreturn {"}}),
             Catch::StartsWith("unused/lib/draft.lua:2:"));
  CHECK_THAT(load_error("unusedbc", {{"rules.lua", test::kMinimalHooks}, {"lib/evil.lua", "\x1bLJ\x02\x00garbage"}}),
             Catch::Contains("unusedbc/lib/evil.lua: rule files must be Lua source text; precompiled bytecode is refused"));
  // A module's top level still runs when it is first required, and only then.
  const auto counted = write_pack(dir, "once", {{"rules.lua", R"lua(
local a = require('lib.counter')
local b = require('lib.counter')
local hooks = { bookkeeping_method = function() return 'journal' end,
                counter_account = function() return '2000' end }
function hooks.account() return tostring(a.loads) .. '/' .. tostring(a == b) end
return hooks
)lua"},
                                                {"lib/counter.lua", "local M = { loads = 0 }\nM.loads = M.loads + 1\nreturn M"}});
  Harness h(counted);
  const auto o = h.evaluator->evaluate(load_item("card_purchase_journal.json"));
  REQUIRE(o.status == rules::OutcomeStatus::decided);
  CHECK(o.decisions.lines.at(0).account == "1/true");
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

TEST_CASE("the operator's ceiling refuses a pack whose [limits] are above it, naming pack, limit and values",
          "[rules]") {
  TempDir dir;
  model::MemoryDirectory d;
  auto create = [&](const std::filesystem::path& pack_dir, rules::EvalOptions options) {
    auto pack = rules::Pack::load(pack_dir);
    REQUIRE(pack);
    options.directory = &d;
    auto e = rules::Evaluator::create(*pack, std::move(options));
    return e ? std::string("loaded") : e.error().message;
  };
  auto pack_with = [&](const std::string& name, const std::string& toml) {
    return write_pack(dir, name, {{"pack.toml", "name = \"" + name + "\"\n" + toml}, {"rules.lua", test::kMinimalHooks}});
  };
  const rules::LimitCeiling ceiling{.memory_mb = 256, .hook_cpu_ms = 1000};

  SECTION("above the ceiling: refused, not clamped") {
    CHECK(create(pack_with("acme-dk", "[limits]\nmemory_mb = 1024\n"), {.ceiling = ceiling}) ==
          "rule pack 'acme-dk' sets [limits] memory_mb = 1024, above this installation's ceiling of 256");
    CHECK(create(pack_with("acme-se", "[limits]\nhook_cpu_ms = 5000\n"), {.ceiling = ceiling}) ==
          "rule pack 'acme-se' sets [limits] hook_cpu_ms = 5000, above this installation's ceiling of 1000");
  }
  SECTION("at the ceiling: loads, with the pack's own limits") {
    auto pack = rules::Pack::load(pack_with("acme-no", "[limits]\nmemory_mb = 256\nhook_cpu_ms = 1000\n"));
    REQUIRE(pack);
    auto e = rules::Evaluator::create(*pack, {.directory = &d, .ceiling = ceiling});
    INFO((e ? "" : e.error().message));
    REQUIRE(e);
    CHECK(create(pack_with("acme-fi", "[limits]\nmemory_mb = 8\nhook_cpu_ms = 20\n"), {.ceiling = ceiling}) == "loaded");
  }
  SECTION("a limit set by an extends parent counts, and the error says where it is set") {
    write_pack(dir, "nordic", {{"pack.toml", "name = \"nordic\"\n[limits]\nmemory_mb = 1024\n"}});
    const auto child = write_pack(dir, "acme-dk", {{"pack.toml", "name = \"acme-dk\"\nextends = \"nordic\"\n"},
                                                   {"rules.lua", test::kMinimalHooks}});
    CHECK(create(child, {.ceiling = ceiling}) ==
          "rule pack 'acme-dk' sets [limits] memory_mb = 1024 (in 'nordic', which it extends), above this "
          "installation's ceiling of 256");
    // A child that lowers it again is under the ceiling.
    const auto lowered = write_pack(dir, "acme-low", {{"pack.toml", "name = \"acme-low\"\nextends = \"nordic\"\n"
                                                                    "[limits]\nmemory_mb = 128\n"},
                                                      {"rules.lua", test::kMinimalHooks}});
    CHECK(create(lowered, {.ceiling = ceiling}) == "loaded");
  }
  SECTION("a pack that sets no limit has the engine default, which a ceiling below it refuses") {
    const auto plain = pack_with("plain", "");
    CHECK(create(plain, {.ceiling = {.memory_mb = 32}}) ==
          "rule pack 'plain' sets no [limits] memory_mb and gets the default of 64, above this installation's "
          "ceiling of 32");
    CHECK(create(plain, {.ceiling = {.hook_cpu_ms = 50}}) ==
          "rule pack 'plain' sets no [limits] hook_cpu_ms and gets the default of 100, above this installation's "
          "ceiling of 50");
    CHECK(create(plain, {.ceiling = {.memory_mb = 64, .hook_cpu_ms = 100}}) == "loaded");
  }
  SECTION("without a ceiling the engine maxima apply: nothing changes") {
    CHECK(create(pack_with("big", "[limits]\nmemory_mb = 4096\nhook_cpu_ms = 60000\n"), {}) == "loaded");
  }
  SECTION("the caller's own limits override is held to the ceiling too") {
    const auto plain = pack_with("plain2", "[limits]\nmemory_mb = 8\n");
    CHECK(create(plain, {.limits = rules::Limits{.memory_bytes = 512u << 20}, .ceiling = ceiling}) ==
          "the evaluator's limits override sets memory_mb = 512, above this installation's ceiling of 256");
    CHECK(create(plain, {.limits = rules::Limits{.hook_budget = std::chrono::seconds(2)}, .ceiling = ceiling}) ==
          "the evaluator's limits override sets hook_cpu_ms = 2000, above this installation's ceiling of 1000");
    CHECK(create(plain, {.limits = rules::Limits{.memory_bytes = 32u << 20}, .ceiling = ceiling}) == "loaded");
  }
  SECTION("a ceiling out of the engine's range is refused") {
    const auto plain = pack_with("plain3", "");
    CHECK(create(plain, {.ceiling = {.memory_mb = 0}}) == "limit ceiling: memory_mb 0 is out of range (1-4096)");
    CHECK(create(plain, {.ceiling = {.hook_cpu_ms = 60001}}) ==
          "limit ceiling: hook_cpu_ms 60001 is out of range (1-60000)");
  }
  SECTION("check_limit_ceiling tells the same without building a Lua state") {
    auto pack = rules::Pack::load(pack_with("acme-is", "[limits]\nmemory_mb = 1024\n"));
    REQUIRE(pack);
    const auto st = rules::check_limit_ceiling(**pack, ceiling);
    REQUIRE_FALSE(st);
    CHECK(st.message() == "rule pack 'acme-is' sets [limits] memory_mb = 1024, above this installation's ceiling of 256");
    CHECK(rules::check_limit_ceiling(**pack, {}));
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
types = ["invoice", "bill"]
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
  SECTION("a number or boolean for a text setting is its text: YAML reads wallet: 5810 as a number") {
    auto e = create(R"({"code": 5810, "posting": {}, "new_flag": true})");
    REQUIRE(e);
    CHECK((*e)->settings()["code"] == "5810");
    CHECK((*e)->settings()["new_flag"] == true);  // no pack setting to type it by
    auto b = create(R"({"code": true})");
    REQUIRE(b);
    CHECK((*b)->settings()["code"] == "true");
  }
  SECTION("a value for a table of settings must be a table: a scalar would drop every key in it") {
    auto e = create(R"({"posting": "20"})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "setting posting: expected a table of settings (the pack's has max), got \"20\"");
    auto l = create(R"({"types": "invoice"})");
    REQUIRE_FALSE(l);
    CHECK(l.error().message == "setting types: expected a list (the pack's value is [\"invoice\",\"bill\"]), got \"invoice\"");
    auto replaced = create(R"({"types": ["invoice"]})");
    REQUIRE(replaced);
    CHECK((*replaced)->settings()["types"] == nlohmann::json::parse(R"(["invoice"])"));
  }
  SECTION("errors say where the overrides came from") {
    auto e = rules::Evaluator::create(*pack, {.directory = &d,
                                              .settings_override = nlohmann::json::parse(R"({"limit": "many"})"),
                                              .overrides_from = "--set"});
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "--set: setting limit: expected a number (the pack's value is 60), got \"many\"");
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
  SECTION("an extends cycle shows the chain") {
    write_pack(dir, "a", {{"pack.toml", "extends = \"b\"\n"}});
    write_pack(dir, "b", {{"pack.toml", "extends = \"c\"\n"}});
    write_pack(dir, "c", {{"pack.toml", "name = \"see\"\nextends = \"a\"\n"}});
    CHECK(test::load_result(dir.path() / "a") == (dir.path() / "a" / "pack.toml").string() +
                                              ": extends forms a cycle: a -> b -> see -> a");
    write_pack(dir, "self", {{"pack.toml", "extends = \"self\"\n"}});
    CHECK(test::load_result(dir.path() / "self") == (dir.path() / "self" / "pack.toml").string() +
                                                 ": extends forms a cycle: self -> self");
  }
  SECTION("two packs with one name are both named") {
    write_pack(dir, "parent", {{"pack.toml", "name = \"x\"\n"}});
    write_pack(dir, "child", {{"pack.toml", "name = \"x\"\nextends = \"parent\"\n"}});
    CHECK(test::load_result(dir.path() / "child") == "two packs in the extends chain are named 'x': " +
                                                  (dir.path() / "child" / "pack.toml").string() + " and " +
                                                  (dir.path() / "parent" / "pack.toml").string());
  }
  SECTION("a limit out of range, or not an integer, says which") {
    const auto toml = (dir.path() / "lim" / "pack.toml").string();
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nmemory_mb = 0\n"}});
    CHECK(test::load_result(dir.path() / "lim") == toml + ":2: limits.memory_mb: 0 is out of range (1-4096)");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nmemory_mb = \"64\"\n"}});
    CHECK(test::load_result(dir.path() / "lim") == toml + ":2: limits.memory_mb: expected an integer (1-4096), got \"64\"");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nhook_cpu_ms = 60001\n"}});
    CHECK(test::load_result(dir.path() / "lim") == toml + ":2: limits.hook_cpu_ms: 60001 is out of range (1-60000)");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\nhook_cpu_ms = 2.5\n"}});
    CHECK(test::load_result(dir.path() / "lim") == toml + ":2: limits.hook_cpu_ms: expected an integer (1-60000), got 2.5");
    write_pack(dir, "lim", {{"pack.toml", "[limits]\ncpu_ms = 5\n"}});
    CHECK(test::load_result(dir.path() / "lim") ==
          toml + ":2: limits.cpu_ms: unknown limit (expected memory_mb (1-4096) or hook_cpu_ms (1-60000))");
  }
  SECTION("a table file that cannot be read names the pack.toml entry") {
    const auto pack_dir = write_pack(dir, "tab", {{"pack.toml", "name = \"tab\"\n\n[tables.accounts]\nfile = \"tables/acounts.csv\"\n"}});
    CHECK(test::load_result(pack_dir) == (pack_dir / "pack.toml").string() + ":3: tables.accounts: cannot read " +
                                      (pack_dir / "tables" / "acounts.csv").string() + ": No such file or directory");
    write_pack(dir, "tab2", {{"pack.toml", "[tables]\ntax = \"tables/tax.csv\"\n"}});
    CHECK(test::load_result(dir.path() / "tab2") == (dir.path() / "tab2" / "pack.toml").string() +
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
      CHECK(test::load_result(pack_dir) == (pack_dir / "pack.toml").string() + ":1: tables.creds: '" + file +
                                        "' is outside the pack folder (a table file must be inside it)");
    };
    check_refused("abs", outside.string());
    check_refused("dots", "../secrets.csv");
    check_refused("dots2", "tables/../../secrets.csv");
    const auto linked = write_pack(dir, "linked", {{"pack.toml", "[tables.creds]\nfile = \"tables/creds.csv\"\n"}});
    fs::create_directories(linked / "tables");
    fs::create_symlink(outside, linked / "tables" / "creds.csv");
    CHECK(test::load_result(linked) == (linked / "pack.toml").string() +
                                    ":1: tables.creds: 'tables/creds.csv' is outside the pack folder (a table file must be inside it)");
  }
}
