#pragma once
// Moving values between Lua and the engine's JSON: settings into Lua tables, hook results and
// look-ups into JSON text for traces. Read-only tables (rules/prelude) are walked through to
// their contents.
#include <lua.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lb::rules {

// Pushes what lua_next should walk for the table at `index`: its contents when it is a
// read-only proxy (a ctx.erp record, a settings table), else the table itself.
void push_iterable(lua_State* L, int index);

// A Lua value as JSON text, bounded in depth and size (traces must not blow up on a huge table).
void lua_to_json(lua_State* L, int index, std::string& out, int depth = 0);

void push_json(lua_State* L, const nlohmann::json& j);

// Fields of the table on top of the stack.
void set_string(lua_State* L, const char* key, const std::string& value);
void set_optional(lua_State* L, const char* key, const std::optional<std::string>& value);
void set_bool(lua_State* L, const char* key, bool value);

}  // namespace lb::rules
