#pragma once
// Time as a dependency: retries, the rate limiter and token expiry read the clock and sleep
// through this interface, so tests run with a ManualClock that advances when something sleeps
// (no timed unit tests, DESIGN §6).
#include <chrono>
#include <mutex>
#include <vector>

namespace lb::pleo {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for intervals (backoff, rate windows).
  virtual std::chrono::steady_clock::time_point now() = 0;
  // Wall time for HTTP dates (Retry-After) and token expiry.
  virtual std::chrono::system_clock::time_point wall_now() = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

// The real clocks; one process-wide instance, thread-safe.
Clock& system_clock();

// For tests: time stands still until someone sleeps; sleep_for advances both clocks by the
// duration and records it. Thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock();
  std::chrono::steady_clock::time_point now() override;
  std::chrono::system_clock::time_point wall_now() override;
  void sleep_for(std::chrono::milliseconds duration) override;
  void advance(std::chrono::milliseconds duration);
  std::vector<std::chrono::milliseconds> sleeps() const;
  std::chrono::milliseconds total_slept() const;

 private:
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point steady_;
  std::chrono::system_clock::time_point wall_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace lb::pleo
