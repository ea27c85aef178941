#pragma once
// The CPU budget of a hook call, enforced from outside the Lua state.
//
// A count hook that is always armed costs LuaJIT's JIT dearly (compiled traces keep exiting to
// the interpreter), and Debian's prebuilt LuaJIT never fires it inside compiled loops at all
// (../shared/bench/LUAJIT-BUDGET.md). So the hook stays off while a call is within budget, and
// one process-wide watchdog thread arms it only once the call's deadline has passed. LuaJIT is
// built with LUAJIT_ENABLE_CHECKHOOK (scripts/setup.sh), so compiled traces check the hook
// mask too. The armed hook fires on every instruction and raises an error each time, so a
// script's pcall cannot swallow it: the next instruction after the catch fails again.
//
// The budget is CPU time, not wall time: a loaded machine must not fail items whose rules are
// merely waiting for a core. Reading a thread's CPU clock is a system call, too slow for every
// hook call, so the watchdog reads it instead: when it first sees a call running it notes the
// worker's CPU clock, and once the call's wall-clock deadline has passed it arms the hook only
// if the CPU time used since then (plus the wall time before it looked, at most one tick)
// reaches the budget.
//
// Arming from another thread is lua_sethook's intended asynchronous use: LuaJIT's own
// command-line interpreter calls it from a SIGINT handler. It only stores the hook fields and
// rewrites the dispatch table; the mutex below keeps the watchdog's arming and the worker's
// disarming from interleaving, and the per-call sequence number stops a late arming from
// hitting the next call.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <time.h>

struct lua_State;
struct lua_Debug;

namespace lb::rules {

// One per Lua state: the worker thread writes the atomics on every hook call (no locks), the
// watchdog reads them every tick.
class BudgetSlot {
 public:
  using Hook = void (*)(lua_State*, lua_Debug*);
  // `hook` is what gets armed: it should call expired_in_hook() and raise when that is true.
  BudgetSlot(lua_State* L, Hook hook);
  ~BudgetSlot();
  BudgetSlot(const BudgetSlot&) = delete;
  BudgetSlot& operator=(const BudgetSlot&) = delete;

  // Worker thread, around each hook call.
  void begin_call(std::chrono::nanoseconds budget);
  void end_call();

  // Worker thread, inside the hook: true when the running call is over budget (the hook then
  // raises); false for a stale arming, which this also disarms.
  bool expired_in_hook();

  // Watchdog thread.
  void check(int64_t now_ns);

  static int64_t now_ns();  // the coarse monotonic clock both sides use

 private:
  void disarm_locked();

  lua_State* L_;
  Hook hook_;
  std::atomic<uint64_t> seq_{0};
  std::atomic<int64_t> deadline_ns_{0};  // 0: no call running
  std::atomic<int64_t> budget_ns_{0};
  // The CPU clock of the thread making calls; an evaluator may move between worker threads.
  std::atomic<clockid_t> cpu_clock_{};
  std::atomic<bool> has_cpu_clock_{false};
  // The watchdog's own notes on the call it is watching (watchdog thread only).
  uint64_t seen_seq_ = 0;
  int64_t seen_cpu_ns_ = 0;
  int64_t seen_wall_ns_ = 0;
  std::atomic<bool> armed_{false};
  uint64_t armed_seq_ = 0;  // guarded by mutex_
  std::mutex mutex_;
};

}  // namespace lb::rules
