# Writes a C++ source holding every engine/lua/**/*.lua file as a string literal.
# Invoked at build time: cmake -DLUA_DIR=... -DOUT=... -P embed_lua.cmake
file(GLOB_RECURSE files RELATIVE "${LUA_DIR}" "${LUA_DIR}/*.lua")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  file(READ "${LUA_DIR}/${f}" content)
  # Raw string literals have a length limit per token on some compilers; split every 8 KiB.
  string(LENGTH "${content}" len)
  set(pieces "")
  set(pos 0)
  while(pos LESS len)
    string(SUBSTRING "${content}" ${pos} 8000 piece)
    string(APPEND pieces "R\"__lb__(${piece})__lb__\"\n")
    math(EXPR pos "${pos} + 8000")
  endwhile()
  if(pieces STREQUAL "")
    set(pieces "\"\"")
  endif()
  string(APPEND body "    {\"${f}\", std::string_view(\n${pieces})},\n")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from engine/lua by engine/cmake/embed_lua.cmake. Do not edit.
#include \"rules/shipped_lua.hpp\"

#include <array>
#include <utility>

namespace lb::rules {
namespace {
const std::pair<std::string_view, std::string_view> kFiles[] = {
${body}};
}  // namespace

std::string_view shipped_lua(std::string_view path) {
  for (const auto& [name, source] : kFiles)
    if (name == path) return source;
  return {};
}

}  // namespace lb::rules
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
