#pragma once
// The inside of an Evaluator, shared by evaluator.cpp (the hook pipeline) and ctx.cpp (the
// ctx functions scripts call). Nothing outside engine/src/rules includes this.
#include <lua.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "rules/evaluator.hpp"
#include "rules/item_view.hpp"
#include "rules/lua_values.hpp"
#include "rules/result_text.hpp"
#include "rules/sandbox.hpp"

namespace lb::rules {

// The hooks of DESIGN §4, in the order they run. Line hooks get (line, item, ctx).
enum Hook {
  kValidate, kMethod, kDirection, kVendor, kCounter, kPayment, kAccount, kTax, kDimensions, kPosting, kHookCount
};
inline constexpr std::array<const char*, kHookCount> kHookNames = {
    "validate", "bookkeeping_method", "direction", "vendor", "counter_account", "payment_account",
    "account", "tax", "dimensions", "posting"};
constexpr bool is_line_hook(int h) { return h == kAccount || h == kTax || h == kDimensions; }

inline std::string hook_list() {
  std::string s;
  for (const char* h : kHookNames) s += (s.empty() ? "" : ", ") + std::string(h);
  return s;
}

inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Text a script hands the engine (ctx.warn and ctx.fail messages, print) lives outside the
// pack's memory cap, in the outcome and the trace, so it is bounded: each message to
// kMaxMessageBytes (cut at a character boundary, ending in "…"), each item to kMaxWarnings
// warnings and each hook call to kMaxPrints printed lines.
constexpr size_t kMaxMessageBytes = 2000;
constexpr size_t kMaxWarnings = 100;
constexpr size_t kMaxPrints = 100;
inline std::string bounded_text(std::string_view text) { return displayable_text(text, kMaxMessageBytes); }

struct Evaluator::Impl : ReadRecorder {
  std::shared_ptr<const Pack> pack;
  EvalOptions options;
  Limits limits;
  nlohmann::json settings;
  std::unique_ptr<Sandbox> sandbox;
  ItemViews views;
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
  int call_ref = LUA_NOREF;     // views.lua's call(fn, ctx [, line node])
  int clear_erp_ref = LUA_NOREF;  // ctx.lua's clear_erp(): forgets the memoised ctx.erp answers
  void clear_erp_caches() {
    lua_State* L = sandbox->L();
    lua_rawgeti(L, LUA_REGISTRYINDEX, clear_erp_ref);
    lua_call(L, 0, 0);
  }
  // Each ctx.erp function's memo (ctx.lua) keeps two generations of at most this many answers.
  // They live in the pack's Lua state and count against its memory cap, so the bound follows
  // the cap: a record (~1 KiB with its read-only proxy) gets 128 KiB of cap, which keeps the six
  // record functions' memos under a tenth of it (500 from a 64 MiB cap up); a date answer (a
  // boolean or a date string, ~100 bytes) gets 16 KiB (2,000: years of days).
  int erp_cache_limit() const { return static_cast<int>(std::clamp<std::size_t>(limits.memory_bytes >> 17, 4, 500)); }
  int erp_date_cache_limit() const {
    return static_cast<int>(std::clamp<std::size_t>(limits.memory_bytes >> 14, 16, 2000));
  }

  // The evaluation in progress.
  const model::ExportItem* item = nullptr;
  Outcome* outcome = nullptr;
  std::optional<Failure> failure;
  bool tracing = false;
  std::vector<size_t> step_stack;  // indexes into outcome->trace->steps

  // --- tracing ---------------------------------------------------------------------------------
  TraceStep* step() {
    if (!tracing || step_stack.empty()) return nullptr;
    return &outcome->trace->steps[step_stack.back()];
  }
  void read(std::string_view path, std::string_view value, bool container) override {
    TraceStep* s = step();
    if (!s) return;
    // `item.supplier.name` reads item.supplier first: one line for both. An object or list read
    // alone (item.team ~= nil) stays. The same read twice in a row is shown once.
    if (!s->reads.empty()) {
      const TraceRead& last = s->reads.back();
      if (last.path == path && last.value == value) return;
      if (last.container && path.size() > last.path.size() && path.starts_with(last.path) &&
          (path[last.path.size()] == '.' || path[last.path.size()] == '['))
        s->reads.pop_back();
    }
    s->reads.push_back({std::string(path), std::string(value), container});
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
  // Messages carry script text (errors, ctx.fail): bounded and made valid UTF-8 here, once.
  void fail(std::string type, std::string_view message) {
    if (!failure) failure = Failure{std::move(type), bounded_text(message)};
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

// The ctx functions (ctx.cpp): C closures whose upvalue 1 is the Impl.

namespace ctx_api {
int fail(lua_State* L);
int warn(lua_State* L);
int record(lua_State* L);
int base_call(lua_State* L);
int base_missing(lua_State* L);
int currency_digits(lua_State* L);
}  // namespace ctx_api

}  // namespace lb::rules
