#pragma once
// The Lua files of engine/lua, compiled into the binary (engine/cmake/embed_lua.cmake) so that
// an installed engine needs no files beside it and no rule pack can swap them.
#include <string_view>

namespace lb::rules {

// Source of a shipped file by path relative to engine/lua ("prelude.lua", "lb/money.lua"),
// or an empty view if there is none.
std::string_view shipped_lua(std::string_view path);

}  // namespace lb::rules
