// The hook pipeline: builds a pack chain into a sandboxed state (hooks, ctx per level, ctx.base),
// runs the hooks of DESIGN §4 in order for each item, and checks what they return.
#include "rules/evaluator.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <lua.hpp>
#include <string_view>

#include "model/enums.hpp"
#include "posting/builder.hpp"
#include "rules/evaluator_impl.hpp"
#include "rules/result_text.hpp"

namespace lb::rules {

const std::string& Evaluator::Impl::hook_where(int h, int level) const {
  return resolved[static_cast<size_t>(level)][static_cast<size_t>(h)].where;
}

const std::string& Evaluator::Impl::label(int h, int line) {
  auto& per_line = labels[static_cast<size_t>(h)];
  if (per_line.size() <= static_cast<size_t>(line)) per_line.resize(static_cast<size_t>(line) + 1);
  std::string& l = per_line[static_cast<size_t>(line)];
  if (l.empty()) {
    l = line > 0 ? fmt::format("hook '{}' (line {})", kHookNames[static_cast<size_t>(h)], line)
                 : fmt::format("hook '{}'", kHookNames[static_cast<size_t>(h)]);
  }
  return l;
}

Status Evaluator::Impl::build() {
  sandbox = std::make_unique<Sandbox>(limits);
  decided_set = 0;
  sandbox->set_now(options.now);
  sandbox->on_print = [this](const std::string& text) {
    if (TraceStep* s = step()) {
      if (s->prints.size() < kMaxPrints) s->prints.push_back(bounded_text(text));
      else if (s->prints.size() == kMaxPrints)
        s->prints.push_back(fmt::format("print: more than {} lines in this call; the rest are left out", kMaxPrints));
    } else {
      spdlog::debug("print from rule pack '{}': {}", pack->name(), bounded_text(text));
    }
  };
  lua_State* L = sandbox->L();
  const auto& levels = pack->levels();
  resolved.assign(levels.size(), {});
  ctx_refs.assign(levels.size(), LUA_NOREF);

  lua_getfield(L, LUA_REGISTRYINDEX, "lb.prelude");
  const int prelude = lua_gettop(L);

  views.install(L);
  const int views_api = lua_gettop(L);
  lua_getfield(L, views_api, "call");
  call_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  // Shared by every level's ctx: ctx.lookup, ctx.erp and ctx.decided (engine/lua/ctx.lua), the
  // shipped helper modules.
  lua_newtable(L);
  lua_pushvalue(L, -1);
  decided_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_createtable(L, 0, 8);  // ctx.lua's host
  lua_insert(L, -2);
  lua_setfield(L, -2, "decided");
  push_tables(L);
  lua_setfield(L, -2, "tables");
  push_erp(L);
  lua_setfield(L, -2, "erp");
  lua_createtable(L, kHookCount, 0);
  for (int h = 0; h < kHookCount; ++h) {
    lua_pushstring(L, kHookNames[static_cast<size_t>(h)]);
    lua_rawseti(L, -2, h + 1);
  }
  lua_setfield(L, -2, "hooks");
  lua_getfield(L, prelude, "freeze");
  lua_setfield(L, -2, "freeze");
  lua_getfield(L, views_api, "tracing");
  lua_setfield(L, -2, "tracing");
  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, ctx_api::record, 1);
  lua_setfield(L, -2, "record");
  run_host_lua(L, "ctx.lua", 1);
  const int ctx_api_table = lua_gettop(L);
  lua_getfield(L, ctx_api_table, "clear_erp");
  clear_erp_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  lua_pushcfunction(L, ctx_api::currency_digits);
  lua_setfield(L, -2, "currency_digits");
  const int shipped_host = lua_gettop(L);
  auto require_shipped = [&](const char* name) {
    lua_getfield(L, prelude, "require_shipped");
    lua_pushstring(L, name);
    lua_pushvalue(L, shipped_host);
    if (lua_pcall(L, 2, 1, 0) != 0) throw std::runtime_error(lua_tostring(L, -1));
  };
  lua_getfield(L, prelude, "freeze");
  push_json(L, settings);
  lua_call(L, 1, 1);
  const int frozen_settings = lua_gettop(L);
  // Shipped modules get their host functions on first load; load them before any pack's
  // top level can require one.
  for (const char* module : {"lb.money", "lb.date", "lb.text"}) {
    require_shipped(module);
    lua_pop(L, 1);
  }

  for (size_t level = 0; level < levels.size(); ++level) {
    const PackLevel& pl = levels[level];
    // The pack's hook table.
    lua_getfield(L, prelude, "load_pack");
    lua_pushstring(L, pl.name.c_str());
    lua_newtable(L);
    for (const auto& [path, source] : pl.files) {
      lua_pushlstring(L, source.data(), source.size());
      lua_setfield(L, -2, path.c_str());
    }
    lua_pushstring(L, pl.chunk_prefix.c_str());
    // Loading runs the file's top level: under the same limits as a hook.
    const CallOutcome loaded = sandbox->call(3, 1, "loading " + pl.chunk_prefix + "rules.lua", pl.chunk_prefix + "rules.lua");
    if (loaded.breach != Breach::none) return Error{loaded.message};
    // Read raw, without running any of the script's code: a metatable's __index here would run
    // outside the protected call, the CPU budget and the memory cap.
    if (push_contents(L, -1) == TableKind::foreign)
      return Error{fmt::format("{}rules.lua returned a table with a metatable; return a plain table of hooks",
                               pl.chunk_prefix)};
    lua_replace(L, -2);
    const int hooks = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, hooks) != 0) {
      const std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      const auto it = std::find(kHookNames.begin(), kHookNames.end(), key);
      if (it == kHookNames.end()) {
        std::string_view best;
        size_t best_distance = 4;
        for (const char* name : kHookNames)
          if (const size_t d = edit_distance(key, name); d < best_distance) best_distance = d, best = name;
        return Error{fmt::format("{}rules.lua returned unknown hook '{}' ({}hooks are: {})", pl.chunk_prefix, key,
                                 best.empty() ? "" : fmt::format("did you mean '{}'?; ", best), hook_list())};
      }
      if (lua_type(L, -1) != LUA_TFUNCTION)
        return Error{fmt::format("{}rules.lua: hook '{}' must be a function, got {}", pl.chunk_prefix, key,
                                 luaL_typename(L, -1))};
      lua_pop(L, 1);
    }
    for (int h = 0; h < kHookCount; ++h) {
      lua_pushstring(L, kHookNames[static_cast<size_t>(h)]);
      lua_rawget(L, hooks);
      if (lua_isfunction(L, -1)) {
        lua_Debug ar;
        lua_pushvalue(L, -1);
        std::string where;
        if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0) where = fmt::format("{}:{}", ar.short_src, ar.linedefined);
        resolved[level][static_cast<size_t>(h)] = {luaL_ref(L, LUA_REGISTRYINDEX), static_cast<int>(level),
                                                   std::move(where)};
      } else {
        lua_pop(L, 1);
        if (level > 0) resolved[level][static_cast<size_t>(h)] = resolved[level - 1][static_cast<size_t>(h)];
      }
    }
    lua_pop(L, 1);  // hooks

    // ctx for this level.
    lua_getfield(L, prelude, "freeze");
    lua_newtable(L);
    set_string(L, "pack", pl.name);
    lua_pushvalue(L, frozen_settings);
    lua_setfield(L, -2, "settings");
    for (const char* shared : {"erp", "lookup", "decided"}) {
      lua_getfield(L, ctx_api_table, shared);
      lua_setfield(L, -2, shared);
    }
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, ctx_api::fail, 1);
    lua_setfield(L, -2, "fail");
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, ctx_api::warn, 1);
    lua_setfield(L, -2, "warn");
    for (const char* module : {"money", "date", "text"}) {
      require_shipped(fmt::format("lb.{}", module).c_str());
      lua_setfield(L, -2, module);
    }
    lua_newtable(L);  // base
    for (int h = 0; h < kHookCount; ++h) {
      const Resolved parent = level > 0 ? resolved[level - 1][static_cast<size_t>(h)] : Resolved{};
      if (parent.from < 0) {
        lua_pushstring(L, kHookNames[static_cast<size_t>(h)]);
        lua_pushcclosure(L, ctx_api::base_missing, 1);
      } else {
        lua_pushlightuserdata(L, this);
        lua_rawgeti(L, LUA_REGISTRYINDEX, parent.fn_ref);
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_refs[static_cast<size_t>(parent.from)]);
        lua_pushinteger(L, h);
        lua_pushinteger(L, parent.from);
        lua_pushcclosure(L, ctx_api::base_call, 5);
      }
      lua_setfield(L, -2, kHookNames[static_cast<size_t>(h)]);
    }
    lua_setfield(L, -2, "base");
    lua_call(L, 1, 1);  // freeze
    ctx_refs[level] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_settop(L, prelude - 1);

  // A chain without a hook every item calls could not decide a single item: say so now, not
  // once per item.
  std::vector<std::string> missing;
  for (const int h : {kMethod, kCounter, kAccount})
    if (resolved[levels.size() - 1][static_cast<size_t>(h)].from < 0)
      missing.push_back(fmt::format("'{}'", kHookNames[static_cast<size_t>(h)]));
  if (!missing.empty()) {
    std::string names;  // 'a', 'b' or 'c'
    for (size_t i = 0; i < missing.size(); ++i)
      names += (i == 0 ? "" : i + 1 == missing.size() ? " or " : ", ") + missing[i];
    return Error{fmt::format("rule pack '{}' defines no {} hook, and no pack it extends does: every item needs {} "
                             "(extends = \"default\" defines every hook)",
                             pack->name(), names, missing.size() == 1 ? "it" : "them")};
  }
  return {};
}

bool Evaluator::Impl::call(int h, int line_index, int nresults) {
  lua_State* L = sandbox->L();
  const size_t top_level = pack->levels().size() - 1;
  const Resolved& r = resolved[top_level][static_cast<size_t>(h)];
  // Only hooks the chain defines are called: load() refuses a chain without a required one.
  assert(r.from >= 0);
  const std::string& what = label(h, line_index);
  lua_rawgeti(L, LUA_REGISTRYINDEX, call_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r.fn_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_refs[static_cast<size_t>(r.from)]);
  if (is_line_hook(h)) lua_pushinteger(L, views.line_node(static_cast<size_t>(line_index - 1)));
  const int nargs = is_line_hook(h) ? 3 : 2;

  size_t step = 0;
  if (tracing) {
    step_stack.clear();
    step = begin_step(h, r.from, line_index, 0);
  }
  const CallOutcome res = sandbox->call(nargs, nresults, what, r.where);
  if (tracing) end_step(step, L, res.breach == Breach::none && nresults > 0 ? -nresults : 0, res.message);

  if (res.breach == Breach::none && !failure) {
    if (!is_line_hook(h) && nresults > 0) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, decided_ref);
      lua_pushvalue(L, -1 - nresults);
      lua_rawseti(L, -2, h + 1);
      lua_pop(L, 1);
      decided_set |= 1u << h;
    }
    return true;
  }
  if (res.breach == Breach::none) lua_pop(L, nresults);  // ctx.fail caught by the script itself
  if (res.breach == Breach::budget || res.breach == Breach::memory) {
    // A limit breach outranks a ctx.fail the script made on its way there.
    failure = Failure{"unexpected_failure", res.message};
  } else if (!failure) {
    failure = Failure{"unexpected_failure", fmt::format("{} failed: {}", what, res.message)};
  }
  return false;
}

void Evaluator::Impl::evaluate(const model::ExportItem& it, Outcome& out, bool trace) {
  // Reset field by field rather than assign a fresh Outcome: a worker reuses one Outcome, and
  // its strings and vectors keep their capacity from item to item.
  out.accountingEntryId.assign(it.accountingEntryId);
  out.status = OutcomeStatus::failed;
  out.failure.type.clear();
  out.failure.message.clear();
  out.skip_reason.clear();
  out.warnings.clear();
  out.decisions.method.clear();
  out.decisions.vendor.reset();
  out.decisions.counterAccount.clear();
  out.decisions.direction = Direction::out;
  out.decisions.paymentAccount.reset();
  out.trace.reset();
  if (trace) out.trace.emplace();
  item = &it;
  outcome = &out;
  failure.reset();
  tracing = trace;
  step_stack.clear();
  views.bind(it, trace ? this : nullptr);
  const int64_t started = steady_ns();

  const int top = lua_gettop(sandbox->L());
  lua_State* L = sandbox->L();
  if (decided_set != 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, decided_ref);
    for (int h = 0; h < kHookCount; ++h) {
      if (!(decided_set & (1u << h))) continue;
      lua_pushnil(L);
      lua_rawseti(L, -2, h + 1);
    }
    lua_pop(L, 1);
    decided_set = 0;
  }
  decide(out);
  lua_settop(sandbox->L(), top);

  if (failure) {
    out.status = OutcomeStatus::failed;
    out.failure = *failure;
    out.decisions.lines.clear();
    out.documents.clear();
  }
  if (out.trace) out.trace->nanos = steady_ns() - started;
  views.unbind();  // views handed out during this item stop working now
  item = nullptr;
  outcome = nullptr;

  if (sandbox->poisoned()) {
    // A breach may have left module-level state half-written: start the next item afresh.
    ++rebuilds;
    if (auto st = build(); !st) {
      // The pack compiled before; failing now means the machine is out of memory.
      throw std::runtime_error(fmt::format("rebuilding rule pack '{}': {}", pack->name(), st.message()));
    }
  }
}

// Reads the hook results off the stack and checks them; any misuse fails the item with a
// message naming the hook, its file:line and what came back.
void Evaluator::Impl::decide(Outcome& out) {
  // Results are read raw (lua_rawget, lua_next, lua_objlen): this runs outside the protected
  // call, the CPU budget and the memory cap, so none of the script's code (a metamethod) may run
  // here. A table with a metatable is refused, but for the read-only tables ctx hands out
  // (push_contents), and every string taken from a result is checked (result_text.hpp).
  lua_State* L = sandbox->L();
  const size_t top_level = pack->levels().size() - 1;
  auto hook_label = [&](int h, int line) {
    return fmt::format("hook '{}'{} ({})", kHookNames[static_cast<size_t>(h)],
                       line > 0 ? fmt::format(" (line {})", line) : "",
                       hook_where(h, resolved[top_level][static_cast<size_t>(h)].from));
  };
  auto bad_result = [&](int h, int line, const std::string& expected) {
    std::string got;
    lua_to_json(L, -1, got, JsonFor::message);
    fail("unexpected_failure", fmt::format("{} returned {}; expected {}", hook_label(h, line), got, expected));
  };
  // Replaces the result table at -1 by what is read from it: itself, or a read-only table's
  // contents. Any other metatable fails the item (its metamethods are never run).
  auto result_table = [&](int h, int line) {
    if (push_contents(L, -1) == TableKind::foreign) {
      fail("unexpected_failure",
           fmt::format("{} returned a table with a metatable; return a plain table (or a read-only table from ctx)",
                       hook_label(h, line)));
      return false;
    }
    lua_replace(L, -2);
    return true;
  };
  // A string result, viewed where Lua keeps it (valid while it is on the stack): results are
  // copied once, into the outcome, whose strings keep their capacity from item to item.
  auto optional_string = [&](int index) -> std::optional<std::string_view> {
    if (lua_type(L, index) != LUA_TSTRING) return std::nullopt;
    size_t len = 0;
    const char* s = lua_tolstring(L, index, &len);
    return std::string_view(s, len);
  };
  // A string result (at -1) checked as text: false (and the item failed) when it is not.
  auto checked_text = [&](int h, int line, std::string_view s, TextRule rule, const char* expected) {
    const std::string problem = text_problem(s, rule);
    if (problem.empty()) return true;
    bad_result(h, line, fmt::format("{}: it {}", expected, problem));
    return false;
  };
  auto number_text = [](double d) -> std::string {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    return fmt::format("{}", d);
  };

  if (resolved[top_level][kValidate].from >= 0) {
    if (!call(kValidate, 0, 0)) return;
  }

  // Decision point 1 (domain brief §7): the bookkeeping method.
  if (!call(kMethod, 0, 2)) return;
  const auto method = optional_string(-2);
  if (!method || (*method != "journal" && *method != "accounts_payable" && *method != "skip")) {
    lua_pop(L, 1);
    return bad_result(kMethod, 0, "\"journal\", \"accounts_payable\" or \"skip\"");
  }
  if (*method == "skip") {
    const auto reason = optional_string(-1);
    if (reason && !checked_text(kMethod, 0, *reason, kDescriptionText, "a skip reason (text) as the 2nd result"))
      return;
    out.status = OutcomeStatus::skipped;
    out.skip_reason = reason.value_or("skipped by the rule pack");
    return;
  }
  // Copied before the results leave the stack: a string off the stack may be collected.
  out.decisions.method = *method;
  const bool accounts_payable = *method == "accounts_payable";
  lua_pop(L, 2);

  // Decision point 28: which way the money goes (the pack's posting matrix, §2.3). A pack
  // chain without the hook books every item as money out.
  if (resolved[top_level][kDirection].from >= 0) {
    if (!call(kDirection, 0, 1)) return;
    const auto direction = optional_string(-1);
    if (!direction || (*direction != "out" && *direction != "in"))
      return bad_result(kDirection, 0, "\"out\" (lines debited) or \"in\" (lines credited)");
    out.decisions.direction = *direction == "out" ? Direction::out : Direction::in;
    lua_pop(L, 1);
  }

  // Decision point 6: the vendor, for accounts payable.
  if (accounts_payable) {
    if (!call(kVendor, 0, 1)) return;
    std::optional<std::string_view> vendor = optional_string(-1);
    if (!vendor && lua_istable(L, -1)) {
      if (!result_table(kVendor, 0)) return;
      lua_pushliteral(L, "code");
      lua_rawget(L, -2);
      vendor = optional_string(-1);
      lua_pop(L, 1);  // the table keeps the code alive
    }
    if (!vendor && lua_isnil(L, -1)) {
      lua_pop(L, 1);
      return fail("vendor_unknown", "No vendor could be resolved for this accounts-payable entry.");
    }
    constexpr const char* kExpected = "a vendor code (string) or a vendor table with a code";
    if (!vendor || vendor->empty()) return bad_result(kVendor, 0, kExpected);
    if (!checked_text(kVendor, 0, *vendor, kCodeText, kExpected)) return;
    out.decisions.vendor = std::string(*vendor);
    lua_pop(L, 1);
  }

  // Decision points 4/5: the counter (wallet, out-of-pocket, AP, clearing) account.
  if (!call(kCounter, 0, 1)) return;
  auto counter = optional_string(-1);
  if (!counter && lua_isnil(L, -1)) {
    return fail("missing_configuration",
                "The entry has no counter account: no rule chose the wallet, out-of-pocket, payables or clearing account.");
  }
  if (!counter || counter->empty()) return bad_result(kCounter, 0, "an account code (string)");
  if (!checked_text(kCounter, 0, *counter, kCodeText, "an account code (string)")) return;
  out.decisions.counterAccount = *counter;
  lua_pop(L, 1);

  // AP items that also moved wallet money get a payment document on this account (§2.3).
  if (accounts_payable && resolved[top_level][kPayment].from >= 0) {
    if (!call(kPayment, 0, 1)) return;
    auto payment = optional_string(-1);
    constexpr const char* kExpected = "nil (no payment) or an account code";
    if (payment && payment->empty()) return bad_result(kPayment, 0, kExpected);
    if (!payment && !lua_isnil(L, -1)) return bad_result(kPayment, 0, kExpected);
    if (payment && !checked_text(kPayment, 0, *payment, kCodeText, kExpected)) return;
    if (payment) out.decisions.paymentAccount = std::string(*payment);
    lua_pop(L, 1);
  }

  // Per line: account, tax, dimensions (decision points 3, 11, 14).
  const bool has_tax = resolved[top_level][kTax].from >= 0;
  const bool has_dims = resolved[top_level][kDimensions].from >= 0;
  auto& lines = out.decisions.lines;
  lines.resize(item->accountingEntryLines.size());
  for (size_t i = 0; i < item->accountingEntryLines.size(); ++i) {
    const int line = static_cast<int>(i + 1);
    LineDecision& ld = lines[i];
    ld.tax.reset();
    ld.dimensions.clear();
    ld.accountingEntryLineId.assign(item->accountingEntryLines[i].accountingEntryLineId);
    if (!call(kAccount, line, 1)) return;
    auto account = optional_string(-1);
    if (!account && lua_isnil(L, -1)) {
      return fail("missing_configuration",
                  fmt::format("Line {} has no account: no rule mapped it to an account in the accounting system.", line));
    }
    if (!account || account->empty()) return bad_result(kAccount, line, "an account code (string)");
    if (!checked_text(kAccount, line, *account, kCodeText, "an account code (string)")) return;
    ld.account.assign(*account);
    lua_pop(L, 1);

    if (has_tax) {
      if (!call(kTax, line, 1)) return;
      if (const auto code = optional_string(-1)) {
        constexpr const char* kExpected = "nil (no tax), a non-empty tax code, or a tax table";
        if (code->empty()) return bad_result(kTax, line, kExpected);
        if (!checked_text(kTax, line, *code, kCodeText, kExpected)) return;
        ld.tax = TaxDecision{std::string(*code), {}, {}, {}, {}};
      } else if (lua_istable(L, -1)) {
        if (!result_table(kTax, line)) return;
        TaxDecision t;
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          const std::string_view key = optional_string(-2).value_or("?");
          const auto text = optional_string(-1);
          std::string problem;  // about the field's value, to follow "field 'key' "
          auto code_field = [&](auto& into) {
            problem = text_problem(*text, kCodeText);
            into = std::string(*text);
          };
          if (key == "code" && text) code_field(t.code);
          else if (key == "type" && text) t.type = std::string(*text);  // one of kTaxTypes, below
          else if (key == "ingoingTaxAccount" && text) code_field(t.ingoingTaxAccount);
          else if (key == "outgoingTaxAccount" && text) code_field(t.outgoingTaxAccount);
          else if (key == "rate" && lua_type(L, -1) == LUA_TNUMBER) {
            // Domain brief §2.6: a rate is a decimal fraction (0.2 = 20%), as in the directory.
            const double rate = lua_tonumber(L, -1);
            if (!(rate >= 0 && rate <= 1))
              problem = fmt::format("must be a fraction between 0 and 1 (0.25 is 25%), got {}", number_text(rate));
            t.rate = rate;
          } else if (key == "name" || key == "blocked") {
            // a ctx.erp.tax_code() record returned as it is: these fields are the ERP's, not decisions
          } else {
            problem = "is unknown or of the wrong type";
          }
          if (!problem.empty()) {
            const std::string field(key);
            lua_pop(L, 2);
            return bad_result(kTax, line,
                              fmt::format("a tax code or {{code, type, rate, ingoingTaxAccount, outgoingTaxAccount}} "
                                          "(field '{}' {})",
                                          field, problem));
          }
          lua_pop(L, 1);
        }
        if (t.code.empty()) return bad_result(kTax, line, "a table with a non-empty 'code'");
        if (t.type && !model::is_one_of(*t.type, model::kTaxTypes))
          return bad_result(kTax, line, "type inclusive, exclusive or reverse");
        ld.tax = std::move(t);
      } else if (!lua_isnil(L, -1)) {
        return bad_result(kTax, line, "nil (no tax), a tax code, or a tax table");
      }
      lua_pop(L, 1);
    }

    if (has_dims) {
      if (!call(kDimensions, line, 1)) return;
      if (lua_istable(L, -1)) {
        if (!result_table(kDimensions, line)) return;
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          const auto code = optional_string(-2);
          const auto value = optional_string(-1);
          std::string problem;
          if (!code || !value) problem = "codes and values must be strings";
          else if (code->empty() || value->empty()) problem = "a dimension code or value is empty";
          else if (ld.dimensions.size() == kMaxDimensions)
            problem = fmt::format("more than {} dimensions", kMaxDimensions);
          else if (auto c = text_problem(*code, kCodeText); !c.empty()) problem = "a dimension code " + c;
          else if (auto v = text_problem(*value, kCodeText); !v.empty()) problem = "a dimension value " + v;
          if (!problem.empty()) {
            lua_pop(L, 2);
            return bad_result(kDimensions, line,
                              "a table of dimension code -> value code (strings); " + problem);
          }
          ld.dimensions.emplace_back(*code, *value);
          lua_pop(L, 1);
        }
        std::sort(ld.dimensions.begin(), ld.dimensions.end());
      } else if (!lua_isnil(L, -1)) {
        return bad_result(kDimensions, line, "nil or a table of dimension code -> value code");
      }
      lua_pop(L, 1);
    }
  }

  // Decision points 16, 18-20, 23: posting. Pleo's documented defaults for what the hook leaves
  // out: the item date (§2.9), the reconciliation id as reference (§2.7), draft (§2.10), and
  // supplier · user · note as the description (§2.7).
  PostingDecision& p = out.decisions.posting;
  p.date.assign(item->date, 0, 10);
  p.reference.assign(item->additionalInformation.reconciliationId);
  p.documentDate.reset();
  p.dueDate.reset();
  p.draft = true;
  bool description_set = false;
  if (resolved[top_level][kPosting].from >= 0) {
    if (!call(kPosting, 0, 1)) return;
    if (lua_istable(L, -1)) {
      if (!result_table(kPosting, 0)) return;
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        const std::string_view key = optional_string(-2).value_or("?");
        const auto text = optional_string(-1);
        std::string problem = "is unknown or invalid";
        auto date_field = [&](std::string& into) {
          if (!text || !model::is_iso_date(*text)) return;
          into = *text;
          problem.clear();
        };
        auto text_field = [&](std::string& into, TextRule rule) {
          if (!text) return;
          problem = text_problem(*text, rule);
          into.assign(*text);
        };
        if (key == "date") date_field(p.date);
        else if (key == "documentDate") date_field(p.documentDate.emplace());
        else if (key == "dueDate") date_field(p.dueDate.emplace());
        else if (key == "description") {
          text_field(p.description, kDescriptionText);
          description_set = true;
        } else if (key == "reference") text_field(p.reference, kReferenceText);
        else if (key == "draft" && lua_type(L, -1) == LUA_TBOOLEAN) {
          p.draft = lua_toboolean(L, -1);
          problem.clear();
        }
        if (!problem.empty()) {
          const std::string field(key);
          lua_pop(L, 2);
          return bad_result(kPosting, 0,
                            fmt::format("a table of date, documentDate, dueDate (YYYY-MM-DD), description, "
                                        "reference (strings), draft (boolean); field '{}' {}",
                                        field, problem));
        }
        lua_pop(L, 1);
      }
    } else if (!lua_isnil(L, -1)) {
      return bad_result(kPosting, 0, "nil or a table");
    }
    lua_pop(L, 1);
  }
  if (!description_set) {
    std::string d;
    auto add = [&](const std::optional<std::string>& part) {
      if (part && !part->empty()) d += (d.empty() ? "" : " · ") + *part;
    };
    add(item->supplier ? item->supplier->name : std::nullopt);
    add(item->user ? std::optional<std::string>(item->user->name) : std::nullopt);
    add(item->note);
    p.description = std::move(d);
  }

  // Issue #3: documents are built and checked here, so nothing unbalanced leaves the engine.
  if (auto st = posting::build_documents(*item, out.decisions, out.documents); !st)
    return fail("validation_failure", "The entry cannot be booked: " + st.message() + ".");
  if (out.documents.empty()) {
    out.status = OutcomeStatus::skipped;
    out.skip_reason = "The entry amount is zero: there is nothing to post.";
    return;
  }
  out.status = OutcomeStatus::decided;
}

Evaluator::Evaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Evaluator::~Evaluator() = default;

Result<std::unique_ptr<Evaluator>> Evaluator::create(std::shared_ptr<const Pack> pack, EvalOptions options) {
  if (!options.directory) return Error{"Evaluator: an ERP directory is required"};
  // The ceiling holds whoever set the limits. An override (options.limits) above it is refused
  // like a pack above it rather than let win: override and ceiling come from the same caller,
  // so one above the other is a mistake to report, and "nothing runs above the ceiling" then
  // holds with no exception an operator would have to know about.
  if (options.limits) {
    if (auto st = check_ceiling_range(options.ceiling); !st) return Error{st.message()};
    const auto over = [](const char* key, int64_t value, int64_t cap) {
      return Error{fmt::format("the evaluator's limits override sets {} = {}, above this installation's ceiling of {}",
                               key, value, cap)};
    };
    const std::size_t bytes = options.limits->memory_bytes;
    if (bytes > static_cast<std::size_t>(options.ceiling.memory_mb) << 20)
      return over("memory_mb", static_cast<int64_t>((bytes + (1u << 20) - 1) >> 20), options.ceiling.memory_mb);
    if (options.limits->hook_budget.count() > options.ceiling.hook_cpu_ms)
      return over("hook_cpu_ms", options.limits->hook_budget.count(), options.ceiling.hook_cpu_ms);
  } else if (auto st = check_limit_ceiling(*pack, options.ceiling); !st) {
    return Error{st.message()};
  }
  auto impl = std::make_unique<Impl>();
  impl->limits = options.limits.value_or(pack->limits());
  impl->settings = pack->settings();
  if (auto st = merge_overrides(impl->settings, options.settings_override); !st) {
    if (options.overrides_from.empty()) return Error{st.message()};
    return Error{fmt::format("{}: {}", options.overrides_from, st.message())};
  }
  if (options.now == 0) {
    options.now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  }
  impl->pack = std::move(pack);
  impl->options = std::move(options);
  try {
    if (auto st = impl->build(); !st) return Error{st.message()};
  } catch (const std::exception& e) {
    return Error{e.what()};
  }
  return std::unique_ptr<Evaluator>(new Evaluator(std::move(impl)));
}

Outcome Evaluator::evaluate(const model::ExportItem& item, bool trace) {
  Outcome out;
  impl_->evaluate(item, out, trace);
  return out;
}

void Evaluator::evaluate(const model::ExportItem& item, Outcome& out, bool trace) { impl_->evaluate(item, out, trace); }

void Evaluator::set_directory(const model::Directory* directory) {
  impl_->options.directory = directory;
  impl_->clear_erp_caches();
}

const Pack& Evaluator::pack() const { return *impl_->pack; }
const nlohmann::json& Evaluator::settings() const { return impl_->settings; }

int Evaluator::rebuilds() const { return impl_->rebuilds; }

}  // namespace lb::rules
