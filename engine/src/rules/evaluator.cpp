#include "rules/evaluator.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <lua.hpp>
#include <string_view>

#include "model/currency.hpp"
#include "model/enums.hpp"
#include "model/json_writer.hpp"
#include "rules/item_view.hpp"
#include "rules/sandbox.hpp"

namespace lb::rules {
namespace {

using model::JsonWriter;

// The hooks of DESIGN §4, in the order they run. Line hooks get (line, item, ctx).
enum Hook { kValidate, kMethod, kVendor, kCounter, kAccount, kTax, kDimensions, kPosting, kHookCount };
constexpr std::array<const char*, kHookCount> kHookNames = {
    "validate", "bookkeeping_method", "vendor", "counter_account", "account", "tax", "dimensions", "posting"};
constexpr bool is_line_hook(int h) { return h == kAccount || h == kTax || h == kDimensions; }

std::string hook_list() {
  std::string s;
  for (const char* h : kHookNames) s += (s.empty() ? "" : ", ") + std::string(h);
  return s;
}

// A hook's own failure: ctx.fail, or a result the engine cannot use. Raised as a Lua error so
// the script stops; the recorded failure is what counts, whatever the script does with it.
struct HookFailure {};

bool valid_iso_date(std::string_view s) { return model::is_iso_date(s); }

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Hooks may return read-only tables (a ctx.erp record, a settings table), which are empty
// proxies over their contents: pushes what lua_next should walk for the table at `index`.
void push_iterable(lua_State* L, int index) {
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  if (lua_getmetatable(L, index)) {
    lua_getfield(L, -1, "__index");
    if (lua_istable(L, -1)) {
      lua_remove(L, -2);
      return;
    }
    lua_pop(L, 2);
  }
  lua_pushvalue(L, index);
}

// Lua value -> JSON text, for traces. Bounded: traces must not blow up on a huge table.
void lua_to_json(lua_State* L, int index, std::string& out, int depth = 0) {
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  JsonWriter w(out);
  switch (lua_type(L, index)) {
    case LUA_TNIL: w.null(); return;
    case LUA_TBOOLEAN: w.value(static_cast<bool>(lua_toboolean(L, index))); return;
    case LUA_TNUMBER: w.value(static_cast<double>(lua_tonumber(L, index))); return;
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);
      w.value(std::string_view(s, len));
      return;
    }
    case LUA_TTABLE: {
      if (depth > 4) {
        w.value("{…}");
        return;
      }
      push_iterable(L, index);  // read-only tables show their contents
      index = lua_gettop(L);
      // Arrays as arrays, anything else as an object with string keys sorted.
      const size_t n = lua_objlen(L, index);
      if (n > 0) {
        w.begin_array();
        for (size_t i = 1; i <= std::min<size_t>(n, 20); ++i) {
          lua_rawgeti(L, index, static_cast<int>(i));
          std::string item;
          lua_to_json(L, -1, item, depth + 1);
          w.raw(item);
          lua_pop(L, 1);
        }
        w.end_array();
        lua_pop(L, 1);
        return;
      }
      std::vector<std::pair<std::string, std::string>> fields;
      lua_pushnil(L);
      while (lua_next(L, index) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && fields.size() < 40) {
          std::string v;
          lua_to_json(L, -1, v, depth + 1);
          fields.emplace_back(lua_tostring(L, -2), std::move(v));
        }
        lua_pop(L, 1);
      }
      std::sort(fields.begin(), fields.end());
      w.begin_object();
      for (auto& [k, v] : fields) w.key(k).raw(v);
      w.end_object();
      lua_pop(L, 1);
      return;
    }
    default: w.value(fmt::format("<{}>", lua_typename(L, lua_type(L, index))));
  }
}

void push_json(lua_State* L, const nlohmann::json& j);


void push_json_object(lua_State* L, const nlohmann::json& j) {
  lua_createtable(L, 0, static_cast<int>(j.size()));
  for (auto it = j.begin(); it != j.end(); ++it) {
    push_json(L, it.value());
    lua_setfield(L, -2, it.key().c_str());
  }
}

void push_json(lua_State* L, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: push_json_object(L, j); break;
    case nlohmann::json::value_t::array:
      lua_createtable(L, static_cast<int>(j.size()), 0);
      for (size_t i = 0; i < j.size(); ++i) {
        push_json(L, j[i]);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
      break;
    case nlohmann::json::value_t::string: lua_pushstring(L, j.get_ref<const std::string&>().c_str()); break;
    case nlohmann::json::value_t::boolean: lua_pushboolean(L, j.get<bool>()); break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: lua_pushnumber(L, j.get<double>()); break;
    default: lua_pushnil(L);
  }
}

void set_string(lua_State* L, const char* key, const std::string& value) {
  lua_pushlstring(L, value.data(), value.size());
  lua_setfield(L, -2, key);
}
void set_optional(lua_State* L, const char* key, const std::optional<std::string>& value) {
  if (value) set_string(L, key, *value);
}
void set_bool(lua_State* L, const char* key, bool value) {
  lua_pushboolean(L, value);
  lua_setfield(L, -2, key);
}

}  // namespace

struct Evaluator::Impl : ReadRecorder {
  std::shared_ptr<const Pack> pack;
  EvalOptions options;
  Limits limits;
  nlohmann::json settings;
  std::unique_ptr<Sandbox> sandbox;
  ViewState views;
  int rebuilds = 0;

  // Per level: registry refs of its ctx, and for each hook the function that answers at that
  // level (its own or the nearest parent's) and the level it comes from (-1: none).
  struct Resolved {
    int fn_ref = LUA_NOREF;
    int from = -1;
    std::string where;  // file:line where the function is defined
  };
  std::vector<int> ctx_refs;
  std::vector<std::array<Resolved, kHookCount>> resolved;
  int decided_ref = LUA_NOREF;  // hook number -> what it returned for the current item
  int item_slot = LUA_NOREF;    // registry slots the per-item views are kept in
  int line_slot = LUA_NOREF;
  int freeze_ref = LUA_NOREF;   // the prelude's freeze()
  std::vector<int> erp_cache_refs;  // one memo table per ctx.erp function (registry refs)
  int erp_cache_entries = 0;
  // The memo lives in the pack's Lua state and counts against its memory cap: keep it small.
  static constexpr int kErpCacheLimit = 2000;
  void clear_erp_caches() {
    lua_State* L = sandbox->L();
    for (int ref : erp_cache_refs) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
      }
      lua_pop(L, 1);
    }
    erp_cache_entries = 0;
  }

  // The evaluation in progress.
  const model::ExportItem* item = nullptr;
  int item_view_ref = LUA_NOREF;  // one view per item, one per line, shared by the hook calls
  int line_view_ref = LUA_NOREF;
  int line_view_index = 0;
  Outcome* outcome = nullptr;
  std::optional<Failure> failure;
  bool tracing = false;
  std::vector<size_t> step_stack;  // indexes into outcome->trace->steps

  // --- tracing ---------------------------------------------------------------------------------
  TraceStep* step() {
    if (!tracing || step_stack.empty()) return nullptr;
    return &outcome->trace->steps[step_stack.back()];
  }
  void read(std::string_view path, std::string_view value) override {
    if (TraceStep* s = step()) s->reads.push_back({std::string(path), std::string(value)});
  }
  // `describe` renders the call ("ctx.erp.account(\"6800\")"); only run while tracing.
  template <typename Describe>
  void lookup(Describe&& describe, lua_State* L, int result_index) {
    if (TraceStep* s = step()) {
      std::string result;
      lua_to_json(L, result_index, result);
      s->lookups.push_back({describe(), std::move(result)});
    }
  }
  size_t begin_step(int hook, int level, int line, int depth) {
    outcome->trace->steps.push_back(TraceStep{});
    TraceStep& s = outcome->trace->steps.back();
    s.hook = kHookNames[static_cast<size_t>(hook)];
    s.pack = pack->levels()[static_cast<size_t>(level)].name;
    s.line = line;
    s.depth = depth;
    s.nanos = steady_ns();
    step_stack.push_back(outcome->trace->steps.size() - 1);
    return step_stack.back();
  }
  void end_step(size_t index, lua_State* L, int result_index, const std::string& error) {
    TraceStep& s = outcome->trace->steps[index];
    s.nanos = steady_ns() - s.nanos;
    if (!error.empty()) s.error = error;
    else if (result_index != 0) lua_to_json(L, result_index, s.result);
    while (!step_stack.empty() && step_stack.back() >= index) step_stack.pop_back();
  }

  static Impl& of(lua_State* L) { return *static_cast<Impl*>(lua_touserdata(L, lua_upvalueindex(1))); }

  // --- the state ---------------------------------------------------------------------------------
  Status build();
  void push_ctx_tables(lua_State* L, int level);
  void push_erp(lua_State* L);
  void push_tables(lua_State* L);

  // --- running hooks -----------------------------------------------------------------------------
  void fail(std::string type, std::string message) {
    if (!failure) failure = Failure{std::move(type), std::move(message)};
  }
  const std::string& hook_where(int h, int level) const;
  // "hook 'account' (line 2)", built once: labels are only read when a call goes wrong.
  std::array<std::vector<std::string>, kHookCount> labels;
  const std::string& label(int h, int line);
  uint32_t decided_set = 0;  // bit per hook: which decided[] entries this item wrote
  bool call(int h, int line_index, int nresults);
  void evaluate(const model::ExportItem& it, Outcome& out, bool trace);
  void decide(Outcome& out);
};

// --- ctx functions (C closures; upvalue 1 is the Impl) -------------------------------------------

namespace {

int ctx_fail(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const char* type = luaL_checkstring(L, 1);
  size_t len = 0;
  const char* message = luaL_optlstring(L, 2, "", &len);
  if (!model::is_one_of(type, model::kItemFailureReasonTypes)) {
    std::string known;
    for (auto k : model::kItemFailureReasonTypes) known += (known.empty() ? "" : ", ") + std::string(k);
    return luaL_error(L, "ctx.fail: unknown failure type '%s' (Pleo's types: %s)", type, known.c_str());
  }
  impl.fail(type, std::string(message, len));
  if (TraceStep* s = impl.step()) s->lookups.push_back({fmt::format("ctx.fail(\"{}\")", type), "null"});
  luaL_where(L, 1);
  lua_pushfstring(L, "ctx.fail(%s): %s", type, message);
  lua_concat(L, 2);
  return lua_error(L);
}

int ctx_warn(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  size_t len = 0;
  const char* message = luaL_checklstring(L, 1, &len);
  impl.outcome->warnings.emplace_back(message, len);
  if (TraceStep* s = impl.step()) s->warnings.emplace_back(message, len);
  return 0;
}

std::string quoted(lua_State* L, int index) {
  std::string s;
  lua_to_json(L, index, s);
  return s;
}

const model::Directory& directory_of(Evaluator::Impl& impl) { return *impl.options.directory; }

std::string_view arg(lua_State* L, int i) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, i, &len);
  return {s, len};
}

void push_vendor(lua_State* L, const std::optional<model::ErpVendor>& v) {
  if (!v) return lua_pushnil(L);
  lua_createtable(L, 0, 8);
  set_string(L, "code", v->code);
  set_string(L, "name", v->name);
  set_optional(L, "externalId", v->externalId);
  set_optional(L, "taxNumber", v->taxNumber);
  set_optional(L, "registrationNumber", v->registrationNumber);
  set_optional(L, "currency", v->currency);
  set_optional(L, "payablesAccount", v->payablesAccount);
  set_bool(L, "blocked", v->blocked);
}

template <typename Lookup>
int vendor_lookup(lua_State* L, const char* name, Lookup lookup) {
  auto& impl = Evaluator::Impl::of(L);
  push_vendor(L, lookup(directory_of(impl), arg(L, 1)));
  impl.lookup([&] { return fmt::format("ctx.erp.{}({})", name, quoted(L, 1)); }, L, -1);
  return 1;
}

int erp_account(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const auto a = directory_of(impl).account(arg(L, 1));
  if (!a) {
    lua_pushnil(L);
  } else {
    lua_createtable(L, 0, 4);
    set_string(L, "code", a->code);
    set_string(L, "name", a->name);
    set_optional(L, "currency", a->currency);
    set_bool(L, "blocked", a->blocked);
  }
  impl.lookup([&] { return fmt::format("ctx.erp.account({})", quoted(L, 1)); }, L, -1);
  return 1;
}

int erp_vendor_by_code(lua_State* L) {
  return vendor_lookup(L, "vendor_by_code", [](const model::Directory& d, std::string_view k) { return d.vendor_by_code(k); });
}
int erp_vendor_by_external_id(lua_State* L) {
  return vendor_lookup(L, "vendor_by_external_id",
                       [](const model::Directory& d, std::string_view k) { return d.vendor_by_external_id(k); });
}
int erp_vendor_by_tax_number(lua_State* L) {
  return vendor_lookup(L, "vendor_by_tax_number",
                       [](const model::Directory& d, std::string_view k) { return d.vendor_by_tax_number(k); });
}

int erp_tax_code(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const auto t = directory_of(impl).tax_code(arg(L, 1));
  if (!t) {
    lua_pushnil(L);
  } else {
    lua_createtable(L, 0, 7);
    set_string(L, "code", t->code);
    set_string(L, "name", t->name);
    lua_pushnumber(L, t->rate);
    lua_setfield(L, -2, "rate");
    set_string(L, "type", t->type);
    set_optional(L, "ingoingTaxAccount", t->ingoingTaxAccount);
    set_optional(L, "outgoingTaxAccount", t->outgoingTaxAccount);
    set_bool(L, "blocked", t->blocked);
  }
  impl.lookup([&] { return fmt::format("ctx.erp.tax_code({})", quoted(L, 1)); }, L, -1);
  return 1;
}

int erp_dimension_value(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const auto d = directory_of(impl).dimension_value(arg(L, 1), arg(L, 2));
  if (!d) {
    lua_pushnil(L);
  } else {
    lua_createtable(L, 0, 4);
    set_string(L, "dimension", d->dimension);
    set_string(L, "code", d->code);
    set_string(L, "name", d->name);
    set_bool(L, "blocked", d->blocked);
  }
  impl.lookup([&] { return fmt::format("ctx.erp.dimension_value({}, {})", quoted(L, 1), quoted(L, 2)); }, L, -1);
  return 1;
}

std::string_view date_arg(lua_State* L, int i, const char* fn) {
  std::string_view d = arg(L, i);
  if (d.size() > 10) d = d.substr(0, 10);  // a date-time: its date
  if (!valid_iso_date(d)) luaL_error(L, "ctx.erp.%s: expected a date YYYY-MM-DD, got '%s'", fn, lua_tostring(L, i));
  return d;
}

int erp_period_open(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  lua_pushboolean(L, directory_of(impl).period_open(date_arg(L, 1, "period_open")));
  impl.lookup([&] { return fmt::format("ctx.erp.period_open({})", quoted(L, 1)); }, L, -1);
  return 1;
}

int erp_next_open_date(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const auto d = directory_of(impl).next_open_date(date_arg(L, 1, "next_open_date"));
  if (d) lua_pushlstring(L, d->data(), d->size());
  else lua_pushnil(L);
  impl.lookup([&] { return fmt::format("ctx.erp.next_open_date({})", quoted(L, 1)); }, L, -1);
  return 1;
}

// ctx.lookup(table, key [, column]): upvalue 2 is {name -> {rows = {key -> row}, columns = {col -> true}}}.
int ctx_lookup(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const char* name = luaL_checkstring(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNUMBER)
    return luaL_error(L, "ctx.lookup('%s', key): key must be a string, got %s", name, luaL_typename(L, 2));
  const bool has_column = !lua_isnoneornil(L, 3);
  lua_getfield(L, lua_upvalueindex(2), name);
  if (lua_isnil(L, -1)) {
    std::string names;
    for (const auto& [n, t] : impl.pack->tables()) names += (names.empty() ? "" : ", ") + n;
    return luaL_error(L, "ctx.lookup: no table '%s' (this pack has: %s)", name, names.empty() ? "none" : names.c_str());
  }
  const int table = lua_gettop(L);
  if (has_column) {
    lua_getfield(L, table, "columns");
    lua_pushvalue(L, 3);
    lua_gettable(L, -2);  // through the read-only proxy
    if (lua_isnil(L, -1))
      return luaL_error(L, "ctx.lookup: table '%s' has no column '%s'", name, luaL_checkstring(L, 3));
    lua_pop(L, 2);
  }
  lua_getfield(L, table, "rows");
  lua_pushvalue(L, 2);
  lua_tostring(L, -1);  // numbers as keys: the CSV's keys are text
  lua_gettable(L, -2);  // through the read-only proxy
  if (has_column && !lua_isnil(L, -1)) {
    lua_pushvalue(L, 3);
    lua_gettable(L, -2);
  }
  impl.lookup(
      [&] {
        return has_column ? fmt::format("ctx.lookup(\"{}\", {}, {})", name, quoted(L, 2), quoted(L, 3))
                          : fmt::format("ctx.lookup(\"{}\", {})", name, quoted(L, 2));
      },
      L, -1);
  return 1;
}

// ctx.base.<hook>(args...) for a line or item hook: upvalues are impl, fn, parent ctx, hook id, level.
int base_call(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const int hook = static_cast<int>(lua_tointeger(L, lua_upvalueindex(4)));
  const int level = static_cast<int>(lua_tointeger(L, lua_upvalueindex(5)));
  const int nargs = is_line_hook(hook) ? 2 : 1;
  lua_settop(L, nargs);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, 1);
  lua_pushvalue(L, lua_upvalueindex(3));
  size_t step = 0;
  if (impl.tracing) {
    const int depth = impl.step() ? impl.step()->depth + 1 : 1;
    const int line = impl.step() ? impl.step()->line : 0;
    step = impl.begin_step(hook, level, line, depth);
  }
  lua_call(L, nargs + 1, LUA_MULTRET);  // errors go straight through to the hook that called us
  const int results = lua_gettop(L);   // all of them: bookkeeping_method's skip reason too
  if (impl.tracing) impl.end_step(step, L, results > 0 ? 1 : 0, {});
  return results;
}

// ctx.decided(hook): what an earlier hook returned for this item (the vendor record the vendor
// hook chose, the method), so later hooks build on it instead of deciding it again.
int ctx_decided(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const char* hook = luaL_checkstring(L, 1);
  const auto it =
      std::find_if(kHookNames.begin(), kHookNames.end(), [&](const char* h) { return std::strcmp(h, hook) == 0; });
  if (it == kHookNames.end()) {
    return luaL_error(L, "ctx.decided: no hook '%s' (hooks are: %s)", hook, hook_list().c_str());
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, impl.decided_ref);
  lua_rawgeti(L, -1, static_cast<int>(it - kHookNames.begin()) + 1);
  impl.lookup([&] { return fmt::format("ctx.decided(\"{}\")", hook); }, L, -1);
  return 1;
}

int base_missing(lua_State* L) {
  return luaL_error(L, "ctx.base.%s: no parent pack defines '%s'", lua_tostring(L, lua_upvalueindex(1)),
                    lua_tostring(L, lua_upvalueindex(1)));
}

int currency_digits(lua_State* L) {
  const auto digits = model::currency_minor_units(arg(L, 1));
  if (!digits) return luaL_error(L, "unknown currency '%s' (expected an ISO 4217 code)", lua_tostring(L, 1));
  lua_pushinteger(L, *digits);
  return 1;
}

}  // namespace

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

// ctx.erp answers are memoised per evaluator: the directory does not change while items are
// evaluated (set_directory() clears them), and building a 7-field table per call was a fifth of
// a typical pack's time. Results are frozen, since every later item shares them.
// Upvalues: impl, the uncached function, its cache table.
int erp_cached(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const int nargs = lua_gettop(L);
  // The key: the arguments joined by a byte no code contains.
  for (int i = 1; i <= nargs; ++i) luaL_checkstring(L, i);
  lua_pushvalue(L, 1);
  for (int i = 2; i <= nargs; ++i) {
    lua_pushliteral(L, "\x1f");
    lua_pushvalue(L, i);
  }
  if (nargs > 1) lua_concat(L, 2 * nargs - 1);
  const int key = lua_gettop(L);
  lua_pushvalue(L, key);
  lua_rawget(L, lua_upvalueindex(3));
  if (!lua_isnil(L, -1)) {
    // A cached nil is stored as the impl's light userdata (false is a real answer of period_open).
    if (lua_touserdata(L, -1) == &impl) lua_pushnil(L);
    if (impl.tracing) {
      lua_pushvalue(L, lua_upvalueindex(2));
      for (int i = 1; i <= nargs; ++i) lua_pushvalue(L, i);
      lua_call(L, nargs, 1);  // again, only so that the trace records the look-up
      lua_pop(L, 1);
    }
    return 1;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(2));
  for (int i = 1; i <= nargs; ++i) lua_pushvalue(L, i);
  lua_call(L, nargs, 1);
  const int result = lua_gettop(L);
  if (lua_istable(L, result)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, impl.freeze_ref);
    lua_pushvalue(L, result);
    lua_call(L, 1, 1);
    lua_replace(L, result);
  }
  if (++impl.erp_cache_entries > Evaluator::Impl::kErpCacheLimit) {
    impl.clear_erp_caches();  // a bounded memo: start afresh rather than grow without limit
  }
  lua_pushvalue(L, key);
  if (lua_isnil(L, result)) lua_pushlightuserdata(L, &impl);
  else lua_pushvalue(L, result);
  lua_rawset(L, lua_upvalueindex(3));
  lua_settop(L, result);
  return 1;
}

void Evaluator::Impl::push_erp(lua_State* L) {
  const luaL_Reg fns[] = {{"account", erp_account},
                          {"vendor_by_code", erp_vendor_by_code},
                          {"vendor_by_external_id", erp_vendor_by_external_id},
                          {"vendor_by_tax_number", erp_vendor_by_tax_number},
                          {"tax_code", erp_tax_code},
                          {"dimension_value", erp_dimension_value},
                          {"period_open", erp_period_open},
                          {"next_open_date", erp_next_open_date},
                          {nullptr, nullptr}};
  lua_newtable(L);
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushlightuserdata(L, this);
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, f->func, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    erp_cache_refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
    lua_pushcclosure(L, erp_cached, 3);
    lua_setfield(L, -2, f->name);
  }
}

void Evaluator::Impl::push_tables(lua_State* L) {
  lua_newtable(L);
  for (const auto& [name, table] : pack->tables()) {
    lua_createtable(L, 0, 2);
    lua_createtable(L, 0, static_cast<int>(table->columns.size()));
    for (const auto& c : table->columns) set_bool(L, c.c_str(), true);
    lua_setfield(L, -2, "columns");
    const auto key_col = static_cast<size_t>(
        std::find(table->columns.begin(), table->columns.end(), table->key) - table->columns.begin());
    lua_createtable(L, 0, static_cast<int>(table->rows.size()));
    for (const auto& row : table->rows) {
      lua_createtable(L, 0, static_cast<int>(row.size()));
      for (size_t c = 0; c < row.size(); ++c) set_string(L, table->columns[c].c_str(), row[c]);
      lua_setfield(L, -2, row[key_col].c_str());
    }
    lua_setfield(L, -2, "rows");
    lua_setfield(L, -2, name.c_str());
  }
}

Status Evaluator::Impl::build() {
  sandbox = std::make_unique<Sandbox>(limits);
  decided_set = 0;
  sandbox->set_now(options.now);
  sandbox->on_print = [this](const std::string& text) {
    if (TraceStep* s = step()) s->prints.push_back(text);
    else spdlog::debug("print from rule pack '{}': {}", pack->name(), text);
  };
  lua_State* L = sandbox->L();
  register_item_views(L, &views);
  const auto& levels = pack->levels();
  resolved.assign(levels.size(), {});
  ctx_refs.assign(levels.size(), LUA_NOREF);

  lua_newtable(L);
  decided_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  item_slot = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  line_slot = luaL_ref(L, LUA_REGISTRYINDEX);
  erp_cache_refs.clear();
  erp_cache_entries = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, "lb.prelude");
  const int prelude = lua_gettop(L);
  lua_getfield(L, prelude, "freeze");
  freeze_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  // Shared by every level's ctx: the ERP directory, the tables, the shipped helper modules.
  push_erp(L);
  const int erp = lua_gettop(L);
  lua_pushlightuserdata(L, this);
  lua_getfield(L, prelude, "freeze");  // rows are shared by every item: scripts must not edit them
  push_tables(L);
  lua_call(L, 1, 1);
  lua_pushcclosure(L, ctx_lookup, 2);
  const int lookup = lua_gettop(L);
  lua_newtable(L);
  lua_pushcfunction(L, currency_digits);
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
    const int hooks = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, hooks) != 0) {
      const std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      const auto it = std::find(kHookNames.begin(), kHookNames.end(), key);
      if (it == kHookNames.end())
        return Error{fmt::format("{}rules.lua returned unknown hook '{}' (hooks are: {})", pl.chunk_prefix, key,
                                 hook_list())};
      if (lua_type(L, -1) != LUA_TFUNCTION)
        return Error{fmt::format("{}rules.lua: hook '{}' must be a function, got {}", pl.chunk_prefix, key,
                                 luaL_typename(L, -1))};
      lua_pop(L, 1);
    }
    for (int h = 0; h < kHookCount; ++h) {
      lua_getfield(L, hooks, kHookNames[static_cast<size_t>(h)]);
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
    lua_pushvalue(L, erp);
    lua_setfield(L, -2, "erp");
    lua_pushvalue(L, lookup);
    lua_setfield(L, -2, "lookup");
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, ctx_fail, 1);
    lua_setfield(L, -2, "fail");
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, ctx_warn, 1);
    lua_setfield(L, -2, "warn");
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, ctx_decided, 1);
    lua_setfield(L, -2, "decided");
    for (const char* module : {"money", "date", "text"}) {
      require_shipped(fmt::format("lb.{}", module).c_str());
      lua_setfield(L, -2, module);
    }
    lua_newtable(L);  // base
    for (int h = 0; h < kHookCount; ++h) {
      const Resolved parent = level > 0 ? resolved[level - 1][static_cast<size_t>(h)] : Resolved{};
      if (parent.from < 0) {
        lua_pushstring(L, kHookNames[static_cast<size_t>(h)]);
        lua_pushcclosure(L, base_missing, 1);
      } else {
        lua_pushlightuserdata(L, this);
        lua_rawgeti(L, LUA_REGISTRYINDEX, parent.fn_ref);
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_refs[static_cast<size_t>(parent.from)]);
        lua_pushinteger(L, h);
        lua_pushinteger(L, parent.from);
        lua_pushcclosure(L, base_call, 5);
      }
      lua_setfield(L, -2, kHookNames[static_cast<size_t>(h)]);
    }
    lua_setfield(L, -2, "base");
    lua_call(L, 1, 1);  // freeze
    ctx_refs[level] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_settop(L, prelude - 1);
  return {};
}

bool Evaluator::Impl::call(int h, int line_index, int nresults) {
  lua_State* L = sandbox->L();
  const size_t top_level = pack->levels().size() - 1;
  const Resolved& r = resolved[top_level][static_cast<size_t>(h)];
  if (r.from < 0) {
    fail("unexpected_failure",
         fmt::format("rule pack '{}' defines no '{}' hook", pack->name(), kHookNames[static_cast<size_t>(h)]));
    return false;
  }
  const std::string& what = label(h, line_index);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r.fn_ref);
  if (is_line_hook(h)) {
    if (line_view_index != line_index) {
      push_line_view(L, views, item->accountingEntryLines[static_cast<size_t>(line_index - 1)], "line");
      lua_rawseti(L, LUA_REGISTRYINDEX, line_view_ref);
      line_view_index = line_index;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, line_view_ref);
  }
  if (item_view_ref == LUA_NOREF) {
    push_item_view(L, views, *item, "item");
    lua_rawseti(L, LUA_REGISTRYINDEX, item_slot);
    item_view_ref = item_slot;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, item_view_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_refs[static_cast<size_t>(r.from)]);
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
  out.trace.reset();
  if (trace) out.trace.emplace();
  item = &it;
  outcome = &out;
  item_view_ref = LUA_NOREF;
  line_view_ref = line_slot;
  line_view_index = 0;
  failure.reset();
  tracing = trace;
  step_stack.clear();
  ++views.generation;
  views.paths.clear();
  views.recorder = trace ? this : nullptr;
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
  }
  if (out.trace) out.trace->nanos = steady_ns() - started;
  views.recorder = nullptr;
  ++views.generation;  // views handed out during this item stop working now
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
  lua_State* L = sandbox->L();
  const size_t top_level = pack->levels().size() - 1;
  auto bad_result = [&](int h, int line, const std::string& expected) {
    std::string got;
    lua_to_json(L, -1, got);
    const std::string where = hook_where(h, resolved[top_level][static_cast<size_t>(h)].from);
    fail("unexpected_failure",
         fmt::format("hook '{}'{} ({}) returned {}; expected {}", kHookNames[static_cast<size_t>(h)],
                     line > 0 ? fmt::format(" (line {})", line) : "", where, got, expected));
  };
  auto optional_string = [&](int index) -> std::optional<std::string> {
    if (lua_type(L, index) != LUA_TSTRING) return std::nullopt;
    size_t len = 0;
    const char* s = lua_tolstring(L, index, &len);
    return std::string(s, len);
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
    out.status = OutcomeStatus::skipped;
    out.skip_reason = optional_string(-1).value_or("skipped by the rule pack");
    return;
  }
  lua_pop(L, 2);
  out.decisions.method = *method;

  // Decision point 6: the vendor, for accounts payable.
  if (*method == "accounts_payable") {
    if (!call(kVendor, 0, 1)) return;
    std::optional<std::string> vendor = optional_string(-1);
    if (!vendor && lua_istable(L, -1)) {
      lua_getfield(L, -1, "code");
      vendor = optional_string(-1);
      lua_pop(L, 1);
    }
    if (!vendor && lua_isnil(L, -1)) {
      lua_pop(L, 1);
      return fail("vendor_unknown", "No vendor could be resolved for this accounts-payable entry.");
    }
    if (!vendor || vendor->empty()) return bad_result(kVendor, 0, "a vendor code (string) or a vendor table with a code");
    out.decisions.vendor = *vendor;
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
  out.decisions.counterAccount = *counter;
  lua_pop(L, 1);

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
    ld.account.assign(*account);
    lua_pop(L, 1);

    if (has_tax) {
      if (!call(kTax, line, 1)) return;
      if (lua_type(L, -1) == LUA_TSTRING) {
        if (optional_string(-1)->empty()) return bad_result(kTax, line, "nil (no tax), a non-empty tax code, or a tax table");
        ld.tax = TaxDecision{*optional_string(-1), {}, {}, {}, {}};
      } else if (lua_istable(L, -1)) {
        TaxDecision t;
        push_iterable(L, -1);
        lua_replace(L, -2);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          const std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
          const bool is_string = lua_type(L, -1) == LUA_TSTRING;
          if (key == "code" && is_string) t.code = lua_tostring(L, -1);
          else if (key == "type" && is_string) t.type = lua_tostring(L, -1);
          else if (key == "ingoingTaxAccount" && is_string) t.ingoingTaxAccount = lua_tostring(L, -1);
          else if (key == "outgoingTaxAccount" && is_string) t.outgoingTaxAccount = lua_tostring(L, -1);
          else if (key == "rate" && lua_type(L, -1) == LUA_TNUMBER) t.rate = lua_tonumber(L, -1);
          else if (key == "name" || key == "blocked") {
            // a ctx.erp.tax_code() record returned as it is: these fields are the ERP's, not decisions
          } else {
            lua_pop(L, 2);
            return bad_result(kTax, line,
                              fmt::format("a tax code or {{code, type, rate, ingoingTaxAccount, outgoingTaxAccount}} "
                                          "(field '{}' is unknown or of the wrong type)",
                                          key));
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
        push_iterable(L, -1);
        lua_replace(L, -2);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 2);
            return bad_result(kDimensions, line, "a table of dimension code -> value code (strings)");
          }
          ld.dimensions.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
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
  {
    std::string d;
    auto add = [&](const std::optional<std::string>& part) {
      if (part && !part->empty()) d += (d.empty() ? "" : " · ") + *part;
    };
    add(item->supplier ? item->supplier->name : std::nullopt);
    add(item->user ? std::optional<std::string>(item->user->name) : std::nullopt);
    add(item->note);
    p.description = std::move(d);
  }
  if (resolved[top_level][kPosting].from >= 0) {
    if (!call(kPosting, 0, 1)) return;
    if (lua_istable(L, -1)) {
      push_iterable(L, -1);
      lua_replace(L, -2);
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        const std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        const int type = lua_type(L, -1);
        auto date_field = [&](std::string& into) {
          if (type != LUA_TSTRING || !valid_iso_date(lua_tostring(L, -1))) return false;
          into = lua_tostring(L, -1);
          return true;
        };
        bool ok = true;
        if (key == "date") ok = date_field(p.date);
        else if (key == "documentDate") ok = date_field(p.documentDate.emplace());
        else if (key == "dueDate") ok = date_field(p.dueDate.emplace());
        else if (key == "description" && type == LUA_TSTRING) p.description = lua_tostring(L, -1);
        else if (key == "reference" && type == LUA_TSTRING) p.reference = lua_tostring(L, -1);
        else if (key == "draft" && type == LUA_TBOOLEAN) p.draft = lua_toboolean(L, -1);
        else ok = false;
        if (!ok) {
          lua_pop(L, 2);
          return bad_result(kPosting, 0,
                            fmt::format("a table of date, documentDate, dueDate (YYYY-MM-DD), description, "
                                        "reference (strings), draft (boolean); field '{}' is unknown or invalid",
                                        key));
        }
        lua_pop(L, 1);
      }
    } else if (!lua_isnil(L, -1)) {
      return bad_result(kPosting, 0, "nil or a table");
    }
    lua_pop(L, 1);
  }
  out.status = OutcomeStatus::decided;
}

Evaluator::Evaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Evaluator::~Evaluator() = default;

Result<std::unique_ptr<Evaluator>> Evaluator::create(std::shared_ptr<const Pack> pack, EvalOptions options) {
  if (!options.directory) return Error{"Evaluator: an ERP directory is required"};
  auto impl = std::make_unique<Impl>();
  impl->limits = options.limits.value_or(pack->limits());
  impl->settings = pack->settings();
  merge_settings(impl->settings, options.settings_override);
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

int Evaluator::rebuilds() const { return impl_->rebuilds; }

}  // namespace lb::rules
