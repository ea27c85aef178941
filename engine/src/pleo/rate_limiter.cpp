#include "pleo/rate_limiter.hpp"

#include <algorithm>
#include <map>

namespace lb::pleo {

using std::chrono::milliseconds;

RateLimiter::RateLimiter(int per_minute, Clock& clock, milliseconds window)
    : limit_(std::clamp(per_minute, 1, kPleoMaxPerMinute)), clock_(clock), window_(window) {}

void RateLimiter::acquire() {
  for (;;) {
    std::chrono::steady_clock::duration wait{};
    {
      std::lock_guard lock(mutex_);
      const auto now = clock_.now();
      while (!sent_.empty() && sent_.front() + window_ <= now) sent_.pop_front();
      if (paused_until_ > now) {
        wait = paused_until_ - now;
      } else if (sent_.size() < static_cast<std::size_t>(limit_)) {
        sent_.push_back(now);
        ++granted_;
        return;
      } else {
        wait = sent_.front() + window_ - now;  // the oldest grant leaves the window then
      }
    }
    // Sleep outside the lock; round up so we never wake a hair too early and spin.
    auto ms = std::chrono::ceil<milliseconds>(wait);
    clock_.sleep_for(std::max(ms, milliseconds(1)));
  }
}

void RateLimiter::pause_for(milliseconds duration) {
  std::lock_guard lock(mutex_);
  const auto until = clock_.now() + duration;
  paused_until_ = std::max(paused_until_, until);
}

std::size_t RateLimiter::granted() const {
  std::lock_guard lock(mutex_);
  return granted_;
}

std::shared_ptr<RateLimiter> shared_rate_limiter(const std::string& credential_id, int per_minute) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<RateLimiter>> limiters;
  std::lock_guard lock(mutex);
  auto& slot = limiters[credential_id];
  if (!slot) slot = std::make_shared<RateLimiter>(per_minute);
  return slot;
}

}  // namespace lb::pleo
