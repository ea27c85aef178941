// The ctx functions rule scripts call (rules/README.md, "ctx") that are written in C: closures
// whose upvalue 1 is the evaluator's Impl. The ones every item calls (ctx.lookup, the ctx.erp
// memo, ctx.decided) are Lua in engine/lua/ctx.lua, which calls the directory look-ups here
// only for answers it has not memoised, and record() for the trace.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "model/currency.hpp"
#include "model/directory.hpp"
#include "model/enums.hpp"
#include "rules/evaluator_impl.hpp"
#include "rules/result_text.hpp"

namespace lb::rules {
namespace {

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
int vendor_lookup(lua_State* L, Lookup lookup) {
  push_vendor(L, lookup(directory_of(Evaluator::Impl::of(L)), arg(L, 1)));
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
  return 1;
}

int erp_vendor_by_code(lua_State* L) {
  return vendor_lookup(L, [](const model::Directory& d, std::string_view k) { return d.vendor_by_code(k); });
}

int erp_vendor_by_external_id(lua_State* L) {
  return vendor_lookup(L, [](const model::Directory& d, std::string_view k) { return d.vendor_by_external_id(k); });
}

int erp_vendor_by_tax_number(lua_State* L) {
  return vendor_lookup(L, [](const model::Directory& d, std::string_view k) { return d.vendor_by_tax_number(k); });
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
  return 1;
}

std::string_view date_arg(lua_State* L, int i, const char* fn) {
  std::string_view d = arg(L, i);
  if (d.size() > 10) d = d.substr(0, 10);  // a date-time: its date
  if (!model::is_iso_date(d)) luaL_error(L, "ctx.erp.%s: expected a date YYYY-MM-DD, got '%s'", fn, lua_tostring(L, i));
  return d;
}

int erp_period_open(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  lua_pushboolean(L, directory_of(impl).period_open(date_arg(L, 1, "period_open")));
  return 1;
}

int erp_next_open_date(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const auto d = directory_of(impl).next_open_date(date_arg(L, 1, "next_open_date"));
  if (d) lua_pushlstring(L, d->data(), d->size());
  else lua_pushnil(L);
  return 1;
}

}  // namespace

namespace {

// What the bookkeeper reads in Pleo when a rule gives a failure type and no message: the type's
// meaning, from the export spec's ExportJobItemFailureReasonType table.
std::string_view default_failure_message(std::string_view type) {
  static constexpr std::pair<std::string_view, std::string_view> kMeanings[] = {
      {"receipt_upload_failure", "The receipt could not be uploaded to the accounting system."},
      {"receipt_download_failure", "The receipt could not be downloaded from Pleo."},
      {"receipt_file_size_limit_exceeded", "The receipt file is larger than the accounting system accepts."},
      {"receipt_conversion_failure", "The receipt could not be converted to a file type the accounting system accepts."},
      {"unexpected_failure", "An unexpected error occurred."},
      {"invalid_configuration", "The configuration needed to export this item is invalid."},
      {"missing_configuration", "The configuration needed to export this item is incomplete."},
      {"accounting_system_authentication_failure", "The integration could not authenticate with the accounting system."},
      {"accounting_system_rate_limit", "The accounting system's rate limit stopped the export."},
      {"accounting_system_unreachable", "The accounting system could not be reached."},
      {"validation_failure", "The item did not pass validation for export."},
      {"accounting_system_validation_failure", "The accounting system rejected the item."},
      {"authorization_failure", "The authorization to the accounting system was revoked or lost."},
      {"accounting_system_timeout", "The accounting system timed out."},
      {"vendor_unknown", "Unknown or invalid vendor account number in the accounting system."},
      {"account_unknown", "Unknown or invalid account number in the accounting system."},
      {"tax_code_unknown", "Unknown or invalid tax code in the accounting system."},
      {"tag_unknown", "Unknown or invalid tag in the accounting system."},
  };
  static_assert(std::size(kMeanings) == model::kItemFailureReasonTypes.size());
  for (const auto& [t, meaning] : kMeanings)
    if (t == type) return meaning;
  return {};
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace

namespace ctx_api {

int fail(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  const char* type = luaL_checkstring(L, 1);
  size_t len = 0;
  const char* message = luaL_optlstring(L, 2, "", &len);
  if (!model::is_one_of(type, model::kItemFailureReasonTypes)) {
    std::string known;
    for (auto k : model::kItemFailureReasonTypes) known += (known.empty() ? "" : ", ") + std::string(k);
    return luaL_error(L, "ctx.fail: unknown failure type '%s' (Pleo's types: %s)", type, known.c_str());
  }
  const std::string_view given(message, len);
  impl.fail(type, blank(given) ? default_failure_message(type) : given);
  if (TraceStep* s = impl.step()) s->lookups.push_back({fmt::format("ctx.fail(\"{}\")", type), "null"});
  luaL_where(L, 1);
  lua_pushfstring(L, "ctx.fail(%s): %s", type, message);
  lua_concat(L, 2);
  return lua_error(L);
}

int warn(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  size_t len = 0;
  const char* message = luaL_checklstring(L, 1, &len);
  auto& warnings = impl.outcome->warnings;
  if (warnings.size() > kMaxWarnings) return 0;
  std::string text = warnings.size() < kMaxWarnings
                         ? bounded_text(std::string_view(message, len))
                         : fmt::format("ctx.warn: more than {} warnings for this item; the rest are left out", kMaxWarnings);
  if (TraceStep* s = impl.step()) s->warnings.push_back(text);
  warnings.push_back(std::move(text));
  return 0;
}

// record(call, result, args...): while tracing, the look-up `call` + the arguments as JSON + ")"
// answered `result` (ctx.lua builds the call's name, this renders the values).
int record(lua_State* L) {
  auto& impl = Evaluator::Impl::of(L);
  if (!impl.step()) return 0;
  std::string call = luaL_checkstring(L, 1);
  const int top = lua_gettop(L);
  for (int i = 3; i <= top; ++i) {
    if (i > 3) call += ", ";
    call += quoted(L, i);
  }
  call += ')';
  impl.lookup([&] { return std::move(call); }, L, 2);
  return 0;
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

}  // namespace ctx_api

void Evaluator::Impl::push_erp(lua_State* L) {
  // Each look-up with its arity and the size of its memo's generations (ctx.lua): date answers
  // are a boolean or a date string, a small fraction of a record.
  struct Function {
    const char* name;
    lua_CFunction uncached;
    int arity;
    int memo_limit;
  };
  const int records = erp_cache_limit(), dates = erp_date_cache_limit();
  const Function fns[] = {{"account", erp_account, 1, records},
                          {"vendor_by_code", erp_vendor_by_code, 1, records},
                          {"vendor_by_external_id", erp_vendor_by_external_id, 1, records},
                          {"vendor_by_tax_number", erp_vendor_by_tax_number, 1, records},
                          {"tax_code", erp_tax_code, 1, records},
                          {"dimension_value", erp_dimension_value, 2, records},
                          {"period_open", erp_period_open, 1, dates},
                          {"next_open_date", erp_next_open_date, 1, dates}};
  lua_createtable(L, 0, static_cast<int>(std::size(fns)));
  for (const Function& f : fns) {
    lua_createtable(L, 0, 3);
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, f.uncached, 1);
    lua_setfield(L, -2, "uncached");
    lua_pushinteger(L, f.arity);
    lua_setfield(L, -2, "arity");
    lua_pushinteger(L, f.memo_limit);
    lua_setfield(L, -2, "memo_limit");
    lua_setfield(L, -2, f.name);
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

}  // namespace lb::rules
