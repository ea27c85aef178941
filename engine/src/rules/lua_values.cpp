#include "rules/lua_values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "model/json_writer.hpp"

namespace lb::rules {

using model::JsonWriter;

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

void lua_to_json(lua_State* L, int index, std::string& out, int depth) {
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


}  // namespace lb::rules
