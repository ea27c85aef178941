#pragma once
// One sandboxed LuaJIT state: the allow-listed environment, the memory cap, the CPU budget and
// the nesting limit for C functions that call back into Lua. It knows nothing of items or
// packs; the Evaluator (evaluator.hpp) builds on it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rules/watchdog.hpp"

struct lua_State;

namespace lb::rules {

class SmallBlocks;  // sandbox.cpp: the state's allocator for small objects

struct Limits {
  std::size_t memory_bytes = 64u << 20;                // per pack state, baseline included
  std::chrono::milliseconds hook_budget{100};          // per hook call
  int max_callback_depth = 50;                         // C-to-Lua re-entry (gsub, sort, ...)
};

// The most a pack's pack.toml [limits] may set: memory_mb 1-4096, hook_cpu_ms 1-60000.
inline constexpr int64_t kMaxMemoryMb = 4096;
inline constexpr int64_t kMaxHookCpuMs = 60000;

// The operator's cap on the limits a pack chain may give itself (EvalOptions::ceiling), in the
// units pack.toml and the operator write them. The default is the engine maxima: no cap.
struct LimitCeiling {
  int64_t memory_mb = kMaxMemoryMb;    // 1-kMaxMemoryMb
  int64_t hook_cpu_ms = kMaxHookCpuMs;  // 1-kMaxHookCpuMs

  // This ceiling with each value that was given (non-zero) in its place: how a command-line
  // flag or an embedder's setting replaces the configuration file's value.
  LimitCeiling replaced_by(int64_t given_memory_mb, int64_t given_hook_cpu_ms) const {
    return {given_memory_mb != 0 ? given_memory_mb : memory_mb, given_hook_cpu_ms != 0 ? given_hook_cpu_ms : hook_cpu_ms};
  }
};

enum class Breach { none, error, budget, memory };

// Runs a shipped host-only chunk (engine/lua/<file>: views.lua, ctx.lua) with the `nargs` values
// on top of the stack as its arguments, outside any limit, and leaves its one result there.
// Such chunks run with the state's full standard library (the FFI included) and hand scripts
// only what they return. Throws std::runtime_error naming the file when it fails.
void run_host_lua(lua_State* L, const char* file, int nargs);

struct CallOutcome {
  Breach breach = Breach::none;
  std::string message;  // "<file>:<line>: <what>" when the position is known
};

class Sandbox {
 public:
  explicit Sandbox(const Limits& limits);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  lua_State* L() const { return L_; }
  const Limits& limits() const { return limits_; }
  std::size_t memory_used() const { return used_; }

  // Loads Lua source as text (never bytecode) into a function on the stack, with `env` (the
  // value at stack index env_index) as its environment. Chunk names are shown in errors.
  bool load_text(const std::string& source, const std::string& chunkname, int env_index,
                 std::string& error);

  // Calls the function below its `nargs` arguments on the stack, inside the limits. `what`
  // names the call in limit messages ("hook 'account'"); `where` is used when a memory breach
  // has no better position (the hook's definition). Both must outlive the call; they are only
  // read when something goes wrong. Results stay on the stack on success.
  CallOutcome call(int nargs, int nresults, const std::string& what, const std::string& where);

  // Stack slots below this one belong to the sandbox (the message handler); callers keep
  // their own values above it.
  static constexpr int kReservedSlots = 1;

  // A breach leaves a state whose module-level values may be half-updated: the caller drops it.
  bool poisoned() const { return poisoned_; }

  // The frozen clock exposed as os.time()/os.date() (seconds since the epoch, UTC).
  void set_now(int64_t epoch_seconds) { now_ = epoch_seconds; }
  int64_t now() const { return now_; }

  // print() from scripts goes here (explain and fixture runs show it; the CLI logs it).
  std::function<void(const std::string&)> on_print;

  static Sandbox& of(lua_State* L);  // the sandbox that owns L (for C functions)

 private:
  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize);
  static void budget_hook(lua_State* L, struct lua_Debug* ar);
  void install_environment();
  void collect_if_near_cap();

  Limits limits_;
  lua_State* L_ = nullptr;
  std::unique_ptr<SmallBlocks> small_;  // members outlive ~Sandbox()'s body, which closes L_
  std::unique_ptr<BudgetSlot> budget_;
  std::size_t used_ = 0;  // held from the system (Sandbox::allocate)
  std::size_t after_collect_ = 0;  // used_ after the last full collection collect_if_near_cap made
  bool enforce_cap_ = false;
  bool memory_refused_ = false;
  bool budget_hit_ = false;
  bool poisoned_ = false;
  int64_t now_ = 0;
  const std::string* current_what_ = nullptr;
  std::string budget_message_;

 public:
  int callback_depth = 0;  // maintained by the guarded wrappers (sandbox.cpp)
};

}  // namespace lb::rules
