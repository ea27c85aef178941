#include "rules/lua_values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "model/json_writer.hpp"
#include "rules/result_text.hpp"

namespace lb::rules {

using model::JsonWriter;

const char kFrozenMapKey = 0;

TableKind push_contents(lua_State* L, int index) {
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  if (!lua_getmetatable(L, index)) {  // raw: __metatable is not consulted
    lua_pushvalue(L, index);
    return TableKind::plain;
  }
  lua_pop(L, 1);
  lua_pushlightuserdata(L, const_cast<char*>(&kFrozenMapKey));
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (lua_istable(L, -1)) {
    lua_pushvalue(L, index);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_istable(L, -1)) return TableKind::frozen;
  }
  lua_pop(L, 1);
  return TableKind::foreign;
}

void push_iterable(lua_State* L, int index) {
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  if (push_contents(L, index) == TableKind::foreign) lua_pushvalue(L, index);
}

namespace {

constexpr int kMaxNodes = 200;
constexpr std::size_t kMaxBytes = 2048;
constexpr std::size_t kMaxStringBytes = 200;
constexpr int kMaxDepth = 4;
constexpr std::size_t kMaxArray = 20;
constexpr std::size_t kMaxFields = 40;
constexpr std::string_view kMore = "…";

class Renderer {
 public:
  Renderer(lua_State* L, JsonFor purpose) : L_(L), purpose_(purpose) {}

  void render(int index, std::string& out, int depth) {
    JsonWriter w(out);
    if (--nodes_left_ < 0 || bytes_ >= kMaxBytes) {
      w.value(kMore);
      return;
    }
    switch (lua_type(L_, index)) {
      case LUA_TNIL: w.null(); return;
      case LUA_TBOOLEAN: w.value(static_cast<bool>(lua_toboolean(L_, index))); return;
      case LUA_TNUMBER: {
        const double d = lua_tonumber(L_, index);
        if (std::isfinite(d)) {
          w.value(d);
        } else {
          const char* name = std::isnan(d) ? "nan" : d > 0 ? "inf" : "-inf";
          if (purpose_ == JsonFor::message) w.raw(name);
          else w.value(fmt::format("<{}>", name));
        }
        bytes_ += 8;
        return;
      }
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, index, &len);  // a string: no conversion
        const std::string text = displayable_text(std::string_view(s, len), room());
        w.value(text);
        bytes_ += text.size() + 2;
        return;
      }
      case LUA_TTABLE: break;
      default:
        w.value(fmt::format("<{}>", lua_typename(L_, lua_type(L_, index))));
        bytes_ += 12;
        return;
    }
    if (depth > kMaxDepth) {
      w.value("{…}");
      bytes_ += 7;
      return;
    }
    // Read-only tables show their contents; a table with any other metatable shows its own
    // raw contents (its metamethods never run).
    push_iterable(L_, index);
    const int t = lua_gettop(L_);
    // Arrays as arrays, anything else as an object with string keys sorted.
    const size_t n = lua_objlen(L_, t);  // raw: __len is not called
    if (n > 0) {
      w.begin_array();
      bytes_ += 2;
      for (size_t i = 1; i <= n; ++i) {
        if (i > kMaxArray || nodes_left_ <= 0 || bytes_ >= kMaxBytes) {
          w.value(kMore);
          break;
        }
        lua_rawgeti(L_, t, static_cast<int>(i));
        std::string item;
        render(lua_gettop(L_), item, depth + 1);
        w.raw(item);
        bytes_ += 1;
        lua_pop(L_, 1);
      }
      w.end_array();
      lua_pop(L_, 1);
      return;
    }
    // The kMaxFields smallest string keys, whatever the table's size (a max-heap of views into
    // the keys, which the table keeps alive), so the text does not depend on traversal order.
    std::vector<std::string_view> keys;
    size_t string_keys = 0;
    lua_pushnil(L_);
    while (lua_next(L_, t) != 0) {
      if (lua_type(L_, -2) == LUA_TSTRING) {
        ++string_keys;
        size_t len = 0;
        const char* k = lua_tolstring(L_, -2, &len);  // a string: no conversion, so lua_next is safe
        const std::string_view key(k, len);
        if (keys.size() < kMaxFields) {
          keys.push_back(key);
          std::push_heap(keys.begin(), keys.end());
        } else if (key < keys.front()) {
          std::pop_heap(keys.begin(), keys.end());
          keys.back() = key;
          std::push_heap(keys.begin(), keys.end());
        }
      }
      lua_pop(L_, 1);
    }
    std::sort_heap(keys.begin(), keys.end());
    w.begin_object();
    bytes_ += 2;
    size_t shown = 0;
    for (const std::string_view key : keys) {
      if (nodes_left_ <= 0 || bytes_ >= kMaxBytes) break;
      const std::string k = displayable_text(key, room());
      lua_pushlstring(L_, key.data(), key.size());
      lua_rawget(L_, t);
      std::string v;
      bytes_ += k.size() + 4;
      render(lua_gettop(L_), v, depth + 1);
      w.key(k).raw(v);
      lua_pop(L_, 1);
      ++shown;
    }
    if (shown < string_keys) w.key(kMore).value(kMore);
    w.end_object();
    lua_pop(L_, 1);
  }

 private:
  std::size_t room() const {
    return std::clamp<std::size_t>(kMaxBytes > bytes_ ? kMaxBytes - bytes_ : 0, 16, kMaxStringBytes);
  }

  lua_State* L_;
  JsonFor purpose_;
  int nodes_left_ = kMaxNodes;
  std::size_t bytes_ = 0;  // about what has been written so far
};

}  // namespace

void lua_to_json(lua_State* L, int index, std::string& out, JsonFor purpose) {
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  Renderer(L, purpose).render(index, out, 0);
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
