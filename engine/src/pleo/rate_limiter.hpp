#pragma once
// §4.2: Pleo allows 600 requests a minute per credential; we aim for 500 to stay clear under
// load. One RateLimiter is shared by everything that uses one credential (every Client, the
// OAuth refresh, master-data fetches), so the budget holds however many workers run.
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "pleo/clock.hpp"

namespace lb::pleo {

class RateLimiter {
 public:
  static constexpr int kPleoMaxPerMinute = 600;  // §4.2, Pleo's documented limit
  static constexpr int kDefaultPerMinute = 500;  // §4.2, the design target

  // `per_minute` is clamped to [1, 600]: a configuration can lower the budget, never exceed
  // Pleo's limit. `window` is a minute except in tests of the window logic itself.
  explicit RateLimiter(int per_minute = kDefaultPerMinute, Clock& clock = system_clock(),
                       std::chrono::milliseconds window = std::chrono::minutes(1));

  // Blocks (sleeping through the clock) until one more request fits: at most per_minute()
  // requests in any window, and none while paused. Thread-safe.
  void acquire();

  // A 429 from the server (§4.2): nobody using this credential sends before now + duration.
  // A shorter pause never shortens a longer one already in force.
  void pause_for(std::chrono::milliseconds duration);

  int per_minute() const { return limit_; }
  std::size_t granted() const;  // total acquisitions so far (for tests and metrics)

 private:
  const int limit_;
  Clock& clock_;
  const std::chrono::milliseconds window_;
  mutable std::mutex mutex_;
  std::deque<std::chrono::steady_clock::time_point> sent_;  // grant times inside the window
  std::chrono::steady_clock::time_point paused_until_{};
  std::size_t granted_ = 0;
};

// The process-wide limiter for a credential, created on first use. `credential_id` is any
// non-secret name for the credential (the company id, or the configured auth name); the same id
// always gets the same limiter. A later call with another budget keeps the first one.
std::shared_ptr<RateLimiter> shared_rate_limiter(const std::string& credential_id,
                                                 int per_minute = RateLimiter::kDefaultPerMinute);

}  // namespace lb::pleo
