#include "rules/watchdog.hpp"

#include <lua.hpp>
#include <pthread.h>
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
  thread_local pthread_t cached_thread{};
  thread_local clockid_t cached_clock{};
  thread_local bool cached = false;
  if (!cached || !pthread_equal(cached_thread, pthread_self())) {
    cached_thread = pthread_self();
    cached = pthread_getcpuclockid(cached_thread, &cached_clock) == 0;
  }
  if (cached && (!has_cpu_clock_.load(std::memory_order_relaxed) ||
                 cpu_clock_.load(std::memory_order_relaxed) != cached_clock)) {
    cpu_clock_.store(cached_clock, std::memory_order_relaxed);
    has_cpu_clock_.store(true, std::memory_order_release);
  }
  seq_.fetch_add(1, std::memory_order_relaxed);
  budget_ns_.store(budget.count(), std::memory_order_relaxed);
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

namespace {
int64_t cpu_ns(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

void BudgetSlot::check(int64_t now) {
  const int64_t deadline = deadline_ns_.load(std::memory_order_acquire);
  if (deadline == 0 || armed_.load(std::memory_order_relaxed)) return;
  const uint64_t seq = seq_.load(std::memory_order_relaxed);
  const bool has_clock = has_cpu_clock_.load(std::memory_order_acquire);
  const clockid_t clock = cpu_clock_.load(std::memory_order_relaxed);
  if (seq != seen_seq_) {  // a call the watchdog has not looked at yet: note where its CPU clock is
    seen_seq_ = seq;
    seen_cpu_ns_ = has_clock ? cpu_ns(clock) : -1;
    seen_wall_ns_ = now;
    return;
  }
  if (now < deadline) return;
  const int64_t budget = budget_ns_.load(std::memory_order_relaxed);
  if (has_clock && seen_cpu_ns_ >= 0) {
    const int64_t cpu_now = cpu_ns(clock);
    const int64_t before_seen = std::max<int64_t>(0, seen_wall_ns_ - (deadline - budget));
    if (cpu_now >= 0 && cpu_now - seen_cpu_ns_ + before_seen < budget) return;  // waiting, not spinning
  }
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

