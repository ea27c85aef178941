#include "pleo/clock.hpp"

#include <thread>

namespace lb::pleo {

namespace {
class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() override {
    return std::chrono::system_clock::now();
  }
  void sleep_for(std::chrono::milliseconds duration) override {
    if (duration.count() > 0) std::this_thread::sleep_for(duration);
  }
};
}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

// A fixed start (2026-01-01T00:00:00Z) so wall-clock tests can write literal HTTP dates.
ManualClock::ManualClock()
    : steady_(std::chrono::steady_clock::time_point{} + std::chrono::hours(1000)),
      wall_(std::chrono::system_clock::time_point{} + std::chrono::seconds(1767225600)) {}

std::chrono::steady_clock::time_point ManualClock::now() {
  std::lock_guard lock(mutex_);
  return steady_;
}

std::chrono::system_clock::time_point ManualClock::wall_now() {
  std::lock_guard lock(mutex_);
  return wall_;
}

void ManualClock::sleep_for(std::chrono::milliseconds duration) {
  std::lock_guard lock(mutex_);
  sleeps_.push_back(duration);
  if (duration.count() > 0) {
    steady_ += duration;
    wall_ += duration;
  }
}

void ManualClock::advance(std::chrono::milliseconds duration) {
  std::lock_guard lock(mutex_);
  steady_ += duration;
  wall_ += duration;
}

std::vector<std::chrono::milliseconds> ManualClock::sleeps() const {
  std::lock_guard lock(mutex_);
  return sleeps_;
}

std::chrono::milliseconds ManualClock::total_slept() const {
  std::lock_guard lock(mutex_);
  std::chrono::milliseconds total{0};
  for (auto s : sleeps_) total += s;
  return total;
}

}  // namespace lb::pleo
