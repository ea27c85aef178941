#pragma once
// Moving values between Lua and the engine's JSON: settings into Lua tables, hook results and
// look-ups into JSON text for traces. Read-only tables (rules/prelude) are walked through to
// their contents.
#include <lua.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lb::rules {

// Registry slot (a light userdata key) of the prelude's `frozen` map: read-only proxy -> its
// contents (engine/lua/prelude.lua, freeze()). Sandbox sets it when it runs the prelude.
extern const char kFrozenMapKey;

// Reading a table a hook returned, without running any of the script's code: its metatable
// is only looked at raw, and never used to read through except for the prelude's read-only
// proxies, whose contents the host finds in the `frozen` map.
enum class TableKind {
  plain,    // no metatable: the table itself was pushed
  frozen,   // a read-only proxy (a ctx.erp record, a ctx.lookup row, settings): its contents were pushed
  foreign,  // any other metatable: nothing was pushed
};
TableKind push_contents(lua_State* L, int index);

// Pushes what lua_next should walk for the table at `index`: its contents when it is a
// read-only proxy, else the table itself (raw: another metatable is not followed).
void push_iterable(lua_State* L, int index);

// A Lua value as JSON text for traces and messages, read raw (no metamethod runs) and bounded
// as a whole: at most ~200 values and ~2 KB, a depth of 5, 20 array elements, the 40 smallest
// string keys of a map (sorted: the same text every run), strings cut at 200 bytes; what is
// left out shows as "…". Bytes that are not UTF-8 show as U+FFFD. Numbers JSON cannot hold
// (NaN, infinities) are `nan`, `inf`, `-inf` in a message and the strings "<nan>", "<inf>",
// "<-inf>" in a trace (which must stay JSON).
enum class JsonFor { trace, message };
void lua_to_json(lua_State* L, int index, std::string& out, JsonFor purpose = JsonFor::trace);

void push_json(lua_State* L, const nlohmann::json& j);

// Fields of the table on top of the stack.
void set_string(lua_State* L, const char* key, const std::string& value);
void set_optional(lua_State* L, const char* key, const std::optional<std::string>& value);
void set_bool(lua_State* L, const char* key, bool value);

}  // namespace lb::rules
