#include "rules/watchdog.hpp"

#include <lua.hpp>
#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <thread>
#include <vector>

namespace lb::rules {
namespace {

// Fine enough for budgets of tens of milliseconds, and cheaper than an exact clock on a path
// taken several times per item.
constexpr auto kTick = std::chrono::milliseconds(2);

// The registry of live slots and the thread that checks them. Started on first use and kept
// for the life of the process (a joinable thread in a function-local static is stopped at exit).
class Watchdog {
 public:
  static Watchdog& instance() {
    static Watchdog w;
    return w;
  }

  void add(BudgetSlot* slot) {
    std::lock_guard lock(mutex_);
    slots_.push_back(slot);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }

  void remove(BudgetSlot* slot) {
    std::lock_guard lock(mutex_);
    slots_.erase(std::remove(slots_.begin(), slots_.end(), slot), slots_.end());
  }

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, kTick);
      if (stop_) break;
      const int64_t now = BudgetSlot::now_ns();
      // Holding the registry lock while checking keeps a slot alive until check() returns:
      // remove() waits for it.
      for (BudgetSlot* slot : slots_) slot->check(now);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<BudgetSlot*> slots_;
  std::thread thread_;
  bool stop_ = false;
};

}  // namespace

BudgetSlot::BudgetSlot(lua_State* L, lua_Hook hook) : L_(L), hook_(hook) {
  Watchdog::instance().add(this);
}

BudgetSlot::~BudgetSlot() { Watchdog::instance().remove(this); }

int64_t BudgetSlot::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void BudgetSlot::begin_call(std::chrono::nanoseconds budget) {
  seq_.fetch_add(1, std::memory_order_relaxed);
  deadline_ns_.store(now_ns() + budget.count(), std::memory_order_release);
}

void BudgetSlot::end_call() {
  deadline_ns_.store(0, std::memory_order_release);
  if (armed_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    disarm_locked();
  }
}

bool BudgetSlot::expired_in_hook() {
  std::lock_guard lock(mutex_);
  if (deadline_ns_.load(std::memory_order_acquire) != 0 &&
      armed_seq_ == seq_.load(std::memory_order_relaxed))
    return true;
  disarm_locked();
  return false;
}

void BudgetSlot::check(int64_t now) {
  const int64_t deadline = deadline_ns_.load(std::memory_order_acquire);
  if (deadline == 0 || now < deadline || armed_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mutex_);
  if (deadline_ns_.load(std::memory_order_acquire) != deadline) return;  // that call ended
  armed_seq_ = seq_.load(std::memory_order_relaxed);
  armed_.store(true, std::memory_order_release);
  lua_sethook(L_, hook_, LUA_MASKCOUNT | LUA_MASKLINE, 1);
}

void BudgetSlot::disarm_locked() {
  if (!armed_.load(std::memory_order_relaxed)) return;
  lua_sethook(L_, nullptr, 0, 0);
  armed_.store(false, std::memory_order_release);
}

}  // namespace lb::rules

