#include "rules/sandbox.hpp"

#include <fmt/format.h>
#include <lua.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <ctime>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

#include "rules/lua_values.hpp"
#include "rules/shipped_lua.hpp"

namespace lb::rules {
namespace {

// Registry slots of this file.
constexpr const char* kSandboxKey = "lb.sandbox";
constexpr const char* kPreludeKey = "lb.prelude";
constexpr std::size_t kMaxStringBytes = 16u << 20;

int abs_index(lua_State* L, int i) {
  return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + i + 1;
}

std::string position_of(lua_State* L, lua_Debug* ar) {
  if (ar && lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
    return fmt::format("{}:{}", ar->short_src, ar->currentline);
  }
  return {};
}

// "pack/rules.lua:12: ..." (or "[string ...]:12:")
bool has_position(const std::string& message) {
  const auto lua = message.find(".lua:");
  if (lua == std::string::npos) return false;
  size_t i = lua + 5;
  while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i]))) ++i;
  return i > lua + 5 && i < message.size() && message[i] == ':';
}

// The innermost Lua frame with a line: where a non-string error was raised.
std::string innermost_position(lua_State* L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
      return fmt::format("{}:{}", ar.short_src, ar.currentline);
  }
  return {};
}

// Shipped chunks (engine/lua): the host's own and the lb library rule authors call. Their
// chunk names are "@prelude.lua", "@lb/money.lua", ...; a pack's are "@<pack>/<file>".
bool is_shipped_chunk(std::string_view name) {
  if (name.starts_with("@")) name.remove_prefix(1);
  return name == "prelude.lua" || name == "views.lua" || name == "ctx.lua" || name.starts_with("lb/");
}

// The innermost frame of the pack's own code: where a rule called the shipped code that failed.
std::string innermost_rule_position(lua_State* L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && !is_shipped_chunk(ar.source))
      return fmt::format("{}:{}", ar.short_src, ar.currentline);
  }
  return {};
}

// When `message` starts with a position in a shipped chunk ("ctx.lua:106: "), the length of
// that prefix; else 0.
size_t shipped_position_length(std::string_view message) {
  const auto lua = message.find(".lua:");
  if (lua == std::string_view::npos || !is_shipped_chunk(message.substr(0, lua + 4))) return 0;
  size_t i = lua + 5;
  while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i]))) ++i;
  if (i == lua + 5 || message.substr(i, 2) != ": ") return 0;
  return i + 2;
}

// Message handler for every protected call. Errors can be any value; only strings (and numbers)
// are shown as they are, but for one thing: an error raised inside shipped code (a ctx.erp
// argument check, lb.money's unknown currency) names the rule's line that made the call, not a
// line of the engine's Lua the author never wrote. Nothing here calls a metamethod (a hostile
// __tostring could loop).
int message_handler(lua_State* L) {
  if (lua_type(L, 1) == LUA_TSTRING) {
    size_t len = 0;
    const char* s = lua_tolstring(L, 1, &len);
    const std::string_view message(s, len);
    if (const size_t prefix = shipped_position_length(message)) {
      const std::string where = innermost_rule_position(L);
      if (!where.empty()) lua_pushstring(L, fmt::format("{}: {}", where, message.substr(prefix)).c_str());
    }
    return 1;
  }
  if (lua_type(L, 1) == LUA_TNUMBER) return 1;
  std::string text;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushstring(L, "message");
    lua_rawget(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) text = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (text.empty()) text = "error object is a table value";
  } else {
    text = fmt::format("error object is a {} value", luaL_typename(L, 1));
  }
  std::string where = innermost_rule_position(L);
  if (where.empty()) where = innermost_position(L);
  lua_pushstring(L, where.empty() ? text.c_str() : (where + ": " + text).c_str());
  return 1;
}

// A C function that calls back into Lua (gsub with a function, sort with a comparator,
// tostring with __tostring, coroutine.resume) runs nested on the C stack. Unbounded, a script
// recursing through one crashes the process (bench LUAJIT-BUDGET.md §6), so the wrapped
// function is called through here with a depth count.
int guarded_call(lua_State* L) {
  Sandbox& sb = Sandbox::of(L);
  if (sb.callback_depth >= sb.limits().max_callback_depth) {
    return luaL_error(L, "%s: too many nested calls (limit %d)",
                      lua_tostring(L, lua_upvalueindex(2)), sb.limits().max_callback_depth);
  }
  const int nargs = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  ++sb.callback_depth;
  const int rc = lua_pcall(L, nargs, LUA_MULTRET, 0);
  --sb.callback_depth;
  if (rc != 0) return lua_error(L);  // rethrow as it was: the budget hook's error stays sticky
  return lua_gettop(L);
}

int host_guard(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushcclosure(L, guarded_call, 2);
  return 1;
}

int host_now(lua_State* L) {
  lua_pushnumber(L, static_cast<lua_Number>(Sandbox::of(L).now()));
  return 1;
}

// os.time{...} in UTC: a rule's dates must not depend on the machine's time zone.
int host_timegm(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  auto field = [&](const char* key, int fallback) {
    lua_getfield(L, 1, key);
    const int v = lua_isnumber(L, -1) ? static_cast<int>(lua_tointeger(L, -1)) : fallback;
    if (fallback < 0 && !lua_isnumber(L, -1)) luaL_error(L, "os.time: field '%s' missing in date table", key);
    lua_pop(L, 1);
    return v;
  };
  std::tm tm{};
  tm.tm_year = field("year", -1) - 1900;
  tm.tm_mon = field("month", -1) - 1;
  tm.tm_mday = field("day", -1);
  tm.tm_hour = field("hour", 12);
  tm.tm_min = field("min", 0);
  tm.tm_sec = field("sec", 0);
  lua_pushnumber(L, static_cast<lua_Number>(timegm(&tm)));
  return 1;
}

int host_print(lua_State* L) {
  Sandbox& sb = Sandbox::of(L);
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  if (sb.on_print) sb.on_print(std::string(s, len));
  return 0;
}

// load_text(source, chunkname, env) -> function. Text only: "t" mode refuses bytecode, which
// could otherwise break out of the VM's safety checks.
int host_load_text(lua_State* L) {
  size_t len = 0;
  const char* source = luaL_checklstring(L, 1, &len);
  const char* chunkname = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (len > 0 && source[0] == '\x1b') {
    return luaL_error(L, "%s: rule files must be Lua source text; precompiled bytecode is refused", chunkname + 1);
  }
  if (luaL_loadbufferx(L, source, len, chunkname, "t") != 0) return lua_error(L);
  lua_pushvalue(L, 3);
  lua_setfenv(L, -2);
  return 1;
}

int host_shipped_source(lua_State* L) {
  std::string path = luaL_checkstring(L, 1);
  for (char& c : path)
    if (c == '.') c = '/';
  path += ".lua";
  const std::string_view source = shipped_lua(path);
  if (source.empty()) return 0;
  lua_pushlstring(L, source.data(), source.size());
  return 1;
}

}  // namespace

void run_host_lua(lua_State* L, const char* file, int nargs) {
  const std::string_view source = shipped_lua(file);
  const std::string chunkname = fmt::format("@{}", file);
  if (luaL_loadbufferx(L, source.data(), source.size(), chunkname.c_str(), "t") != 0 ||
      (lua_insert(L, -1 - nargs), lua_pcall(L, nargs, 1, 0) != 0)) {
    std::string error = lua_tostring(L, -1);
    lua_pop(L, 1);
    throw std::runtime_error(fmt::format("shipped {}: {}", file, error));
  }
}

namespace {

// An error outside any protected call (only the engine's own set-up calls run unprotected):
// said on stderr, as luaL_newstate's handler does, before LuaJIT ends the process.
int panic(lua_State* L) {
  const char* message = lua_tostring(L, -1);
  std::fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", message ? message : "?");
  std::fflush(stderr);
  return 0;
}

}  // namespace

Sandbox& Sandbox::of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kSandboxKey);
  auto* sb = static_cast<Sandbox*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *sb;
}

// The state's small objects, up to 256 bytes (views, strings, tables and their parts: nearly all
// of what a hook allocates, and garbage after the item), come from free lists, one per 8-byte
// size class, carved from 64 KB chunks: taking and giving back a block is a few instructions,
// where a general allocator spends most of a hook's allocation time. Blocks are never handed
// back to the system while the state lives; the lists stay as large as the most small objects
// the state ever held at once. LuaJIT frees a block with the size it asked for, so a block goes
// back to its own size class.
class SmallBlocks {
 public:
  static constexpr std::size_t kLargest = 256;
  static constexpr std::size_t kChunk = 64 * 1024;

  // What the lists hold: every block ever carved, free ones included. (The rest of a chunk is
  // not touched yet, so the system has not given it.)
  std::size_t held() const { return carved_; }

  // What take(size) would carve: 0 when a free block serves it.
  std::size_t carving(std::size_t size) const {
    const std::size_t c = class_of(size);
    if (free_[c] || (left_ < c * kGrain && larger_free(c) != 0)) return 0;
    return c * kGrain;
  }

  // A free block of the size's class, or nullptr: nothing new is held.
  void* take_free(std::size_t size) {
    void*& head = free_[class_of(size)];
    void* block = head;
    if (block) {
      head = *static_cast<void**>(block);
      // Freed blocks go cold before they are handed out again: reading the next one's link is
      // the allocation's cache miss. Fetching it now overlaps that miss with the work the
      // caller does before it allocates again (take: 4.6% of the benchmark's time -> 1%).
      __builtin_prefetch(head, 1);
    }
    return block;
  }

  void* take(std::size_t size) {
    if (void* block = take_free(size)) return block;
    const std::size_t c = class_of(size);
    if (left_ < c * kGrain) {
      // Rather than a new chunk, a free block of a larger class: freed, it joins this class's
      // list. Every carved byte counts against the cap, so scattering a state's memory over
      // size classes it no longer uses would make a small-cap pack fail early.
      if (const std::size_t larger = larger_free(c)) {
        void* block = free_[larger];
        free_[larger] = *static_cast<void**>(block);
        return block;
      }
    }
    return carve(c * kGrain);
  }

  void give(void* block, std::size_t size) {
    void*& head = free_[class_of(size)];
    *static_cast<void**>(block) = head;
    head = block;
  }

  static std::size_t class_of(std::size_t size) { return (size + kGrain - 1) / kGrain; }

 private:
  static constexpr std::size_t kGrain = 8;  // LuaJIT aligns its objects to 8 bytes

  // The smallest class above `c` with a free block, or 0.
  std::size_t larger_free(std::size_t c) const {
    for (std::size_t k = c + 1; k < free_.size(); ++k)
      if (free_[k]) return k;
    return 0;
  }

  void* carve(std::size_t size) {
    if (left_ < size) {
      auto* chunk = new (std::nothrow) std::byte[kChunk];
      if (!chunk) return nullptr;
      chunks_.emplace_back(chunk);
      next_ = chunk;
      left_ = kChunk;
    }
    void* block = next_;
    next_ += size;
    left_ -= size;
    carved_ += size;
    return block;
  }

  std::array<void*, kLargest / kGrain + 1> free_{};
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  std::byte* next_ = nullptr;
  std::size_t left_ = 0;
  std::size_t carved_ = 0;
};

// The state's allocator, from its first object to lua_close(): counts what the state holds and
// refuses to grow past the cap; small objects come from SmallBlocks, larger ones from the C
// library. (Wrapping LuaJIT's own allocator instead kept its arena alive after lua_close: LuaJIT
// only releases it when it is the state's allocator.)
void* Sandbox::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* sb = static_cast<Sandbox*>(ud);
  SmallBlocks& small = *sb->small_;
  const bool was_small = ptr && osize <= SmallBlocks::kLargest;
  const bool is_small = nsize > 0 && nsize <= SmallBlocks::kLargest;
  // Most calls: a new small object from its free list, or a small object freed; neither
  // changes what the state holds.
  if (!ptr && is_small) {
    if (void* block = small.take_free(nsize)) return block;
  } else if (nsize == 0 && was_small) {
    small.give(ptr, osize);
    return nullptr;
  }
  if (was_small && is_small && SmallBlocks::class_of(osize) == SmallBlocks::class_of(nsize)) return ptr;
  // The cap counts what the state holds from the system: C-library blocks by their size, small
  // blocks by what was carved for them. A freed small block stays on its size class's list, so
  // it still counts (counting live bytes let a script that filled one size class after another
  // hold twelve times its cap). Lua expects a shrink never to fail: only growth is refused.
  const std::size_t gained = is_small ? small.carving(nsize) : nsize;
  const std::size_t released = ptr && !was_small ? osize : 0;
  if (nsize > osize && sb->enforce_cap_ && sb->used_ + gained > sb->limits_.memory_bytes + released) {
    // Refused allocations raise "not enough memory" in the script. The breach is remembered,
    // so a script that catches that error with pcall still fails the item.
    sb->memory_refused_ = true;
    return nullptr;
  }
  void* p = nullptr;
  if (nsize == 0) {
    if (was_small) small.give(ptr, osize);
    else std::free(ptr);
  } else if (!ptr) {
    p = is_small ? small.take(nsize) : std::malloc(nsize);
  } else if (!was_small && !is_small) {
    p = std::realloc(ptr, nsize);
  } else {  // between small blocks and the C library
    p = is_small ? small.take(nsize) : std::malloc(nsize);
    if (!p) return nullptr;  // the old block stays valid, as Lua expects
    std::memcpy(p, ptr, std::min(osize, nsize));
    if (was_small) small.give(ptr, osize);
    else std::free(ptr);
  }
  if (p || nsize == 0) sb->used_ = sb->used_ + gained - released;
  return p;
}

void Sandbox::budget_hook(lua_State* L, lua_Debug* ar) {
  Sandbox& sb = of(L);
  if (!sb.budget_->expired_in_hook()) return;
  sb.budget_hit_ = true;
  std::string where = position_of(L, ar);
  sb.budget_message_ =
      fmt::format("{}{}{} exceeded its CPU budget of {} ms", where, where.empty() ? "" : ": ",
                  sb.current_what_ ? *sb.current_what_ : std::string("the call"), sb.limits_.hook_budget.count());
  lua_pushstring(L, sb.budget_message_.c_str());
  lua_error(L);
}

Sandbox::Sandbox(const Limits& limits) : limits_(limits), small_(std::make_unique<SmallBlocks>()) {
  L_ = lua_newstate(&Sandbox::allocate, this);
  if (!L_) throw std::runtime_error("cannot create a Lua state");
  lua_atpanic(L_, panic);
  lua_pushlightuserdata(L_, this);
  lua_setfield(L_, LUA_REGISTRYINDEX, kSandboxKey);
  luaL_openlibs(L_);
  budget_ = std::make_unique<BudgetSlot>(L_, &Sandbox::budget_hook);
  // The message handler lives at stack slot 1 for the state's whole life: pushing a C function
  // per call would allocate a closure per hook call.
  lua_pushcfunction(L_, message_handler);
  install_environment();
  // LuaJIT starts a collection when the heap has doubled since the last one, garbage that
  // counts against the cap until then. A small cap gets a collector that starts when the heap
  // has grown by half: a 1 MiB pack whose hook churns through a few hundred ERP records a call
  // otherwise reached its cap in the middle of a call on garbage alone.
  if (limits_.memory_bytes < (16u << 20)) lua_gc(L_, LUA_GCSETPAUSE, 150);
}

Sandbox::~Sandbox() {
  budget_.reset();  // unregister from the watchdog before the state goes
  if (L_) lua_close(L_);
}

void Sandbox::install_environment() {
  const std::string_view prelude = shipped_lua("prelude.lua");
  if (luaL_loadbufferx(L_, prelude.data(), prelude.size(), "@prelude.lua", "t") != 0) {
    throw std::runtime_error(fmt::format("shipped prelude: {}", lua_tostring(L_, -1)));
  }
  lua_newtable(L_);
  const luaL_Reg host[] = {{"guard", host_guard},
                           {"now", host_now},
                           {"print", host_print},
                           {"timegm", host_timegm},
                           {"load_text", host_load_text},
                           {"shipped_source", host_shipped_source},
                           {nullptr, nullptr}};
  for (const luaL_Reg* r = host; r->name; ++r) {
    lua_pushcfunction(L_, r->func);
    lua_setfield(L_, -2, r->name);
  }
  lua_pushnumber(L_, static_cast<lua_Number>(kMaxStringBytes));
  lua_setfield(L_, -2, "max_string_bytes");
  if (lua_pcall(L_, 1, 1, 0) != 0) {
    throw std::runtime_error(fmt::format("shipped prelude: {}", lua_tostring(L_, -1)));
  }
  lua_pushlightuserdata(L_, const_cast<char*>(&kFrozenMapKey));
  lua_pushliteral(L_, "frozen");
  lua_rawget(L_, -3);
  lua_rawset(L_, LUA_REGISTRYINDEX);
  lua_setfield(L_, LUA_REGISTRYINDEX, kPreludeKey);
  // Nothing privileged stays reachable from a script's globals: packs get their own
  // environments from the prelude, and the real globals table is never handed out.
}

bool Sandbox::load_text(const std::string& source, const std::string& chunkname, int env_index,
                        std::string& error) {
  env_index = abs_index(L_, env_index);
  if (luaL_loadbufferx(L_, source.data(), source.size(), chunkname.c_str(), "t") != 0) {
    error = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return false;
  }
  lua_pushvalue(L_, env_index);
  lua_setfenv(L_, -2);
  return true;
}

// The cap counts garbage the collector has not reached yet, and an allocator that refuses cannot
// collect. LuaJIT starts a cycle only when the heap has doubled since the last one, so with a
// small cap a few calls' garbage could make a hook fail that keeps little. So before a call, once
// the heap is past half the cap and has grown by half the room the last collection left, collect
// in full: a 64 MiB pack never gets there, a 1 MiB one every few calls.
void Sandbox::collect_if_near_cap() {
  const std::size_t cap = limits_.memory_bytes;
  // Compared as a sum: the heap may have shrunk below what the last collection left.
  if (used_ <= cap / 2 || used_ <= after_collect_ + (cap - std::min(cap, after_collect_)) / 2) return;
  lua_gc(L_, LUA_GCCOLLECT, 0);
  after_collect_ = used_;
}

CallOutcome Sandbox::call(int nargs, int nresults, const std::string& what,
                          const std::string& where) {
  current_what_ = &what;
  memory_refused_ = false;
  budget_hit_ = false;
  callback_depth = 0;
  collect_if_near_cap();
  enforce_cap_ = true;
  budget_->begin_call(limits_.hook_budget);
  const int rc = lua_pcall(L_, nargs, nresults, kReservedSlots);
  budget_->end_call();
  enforce_cap_ = false;

  CallOutcome out;
  if (budget_hit_) {
    out.breach = Breach::budget;
    out.message = budget_message_;
  } else if (memory_refused_) {
    out.breach = Breach::memory;
    out.message = fmt::format("{}{}{} exceeded the memory limit of {} MiB", where,
                              where.empty() ? "" : ": ", what, limits_.memory_bytes >> 20);
  } else if (rc != 0) {
    out.breach = Breach::error;
    // The message handler left a string (or a number: formatted here, since lua_tostring would
    // convert it in place, allocating outside the call).
    if (lua_type(L_, -1) == LUA_TSTRING) {
      size_t len = 0;
      const char* s = lua_tolstring(L_, -1, &len);
      out.message.assign(s, len);
    } else if (lua_type(L_, -1) == LUA_TNUMBER) {
      out.message = fmt::format("{}", static_cast<double>(lua_tonumber(L_, -1)));
    } else {
      out.message = "error without a message";
    }
    // Errors raised from C in a tail call (`return ctx.lookup(...)`) have no caller frame left
    // to name: fall back to where the hook is defined, so every message carries a file:line.
    if (!has_position(out.message) && !where.empty()) out.message = where + ": " + out.message;
  }
  if (out.breach != Breach::none) {
    if (rc == 0) lua_pop(L_, nresults);  // the script caught the breach; its results don't count
    else lua_pop(L_, 1);
    if (out.breach != Breach::error) poisoned_ = true;
  }
  return out;
}

}  // namespace lb::rules
