// The retry policy and the shared rate limiter (domain brief §4.2), with a ManualClock: every
// "sleep" advances fake time, so nothing here waits and every number is exact.
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>
#include <vector>

#include "pleo/clock.hpp"
#include "pleo/rate_limiter.hpp"
#include "pleo/retry.hpp"

using namespace lb::pleo;
using std::chrono::milliseconds;

TEST_CASE("backoff doubles from base, stays under the cap and jitters in [d/2, d]", "[pleo]") {
  RetryPolicy p{.max_attempts = 10, .base = milliseconds(100), .cap = milliseconds(1000)};
  CHECK(backoff_delay(p, 1, 0.0) == milliseconds(50));
  CHECK(backoff_delay(p, 1, 1.0) == milliseconds(100));
  CHECK(backoff_delay(p, 2, 1.0) == milliseconds(200));
  CHECK(backoff_delay(p, 3, 0.5) == milliseconds(300));  // 400: 200 fixed + 100 jitter
  CHECK(backoff_delay(p, 5, 1.0) == milliseconds(1000));  // 1600 capped
  CHECK(backoff_delay(p, 60, 1.0) == milliseconds(1000)); // no overflow
}

TEST_CASE("Retry-After is read as seconds or as an HTTP date", "[pleo]") {
  ManualClock clock;  // 2026-01-01T00:00:00Z
  CHECK(parse_retry_after("7", clock.wall_now()) == milliseconds(7000));
  CHECK(parse_retry_after(" 0 ", clock.wall_now()) == milliseconds(0));
  CHECK(parse_retry_after("Thu, 01 Jan 2026 00:00:05 GMT", clock.wall_now()) == milliseconds(5000));
  CHECK(parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", clock.wall_now()) == milliseconds(0));
  CHECK_FALSE(parse_retry_after("soon", clock.wall_now()).has_value());
  CHECK_FALSE(parse_retry_after("", clock.wall_now()).has_value());
}

TEST_CASE("Backoff stops after max_attempts and honours Retry-After up to its limit", "[pleo]") {
  ManualClock clock;
  RetryPolicy p{.max_attempts = 3, .base = milliseconds(100), .cap = milliseconds(1000),
                .max_retry_after = milliseconds(10'000)};
  Backoff b(p, clock, [] { return 1.0; });
  CHECK(b.wait());                       // after try 1
  CHECK(b.wait(milliseconds(4000)));     // after try 2: the server's delay, not ours
  CHECK_FALSE(b.wait());                 // 3 tries made
  CHECK(clock.sleeps() == std::vector<milliseconds>{milliseconds(100), milliseconds(4000)});

  Backoff too_long(p, clock);
  CHECK_FALSE(too_long.wait(milliseconds(60'000)));  // longer than max_retry_after: give up now
}

TEST_CASE("the rate limiter clamps its budget to Pleo's 600 a minute", "[pleo]") {
  ManualClock clock;
  CHECK(RateLimiter(1000, clock).per_minute() == 600);
  CHECK(RateLimiter(0, clock).per_minute() == 1);
  CHECK(RateLimiter(500, clock).per_minute() == 500);
  CHECK(RateLimiter().per_minute() == RateLimiter::kDefaultPerMinute);
}

namespace {
// The limiter reads the clock under its lock and grants at that reading. Reading the clock again
// after acquire() returns does not give the grant's time: in between, another thread can find
// the window full and sleep, which advances the ManualClock by a whole window at once. A grant
// of one window is then recorded in the next, and the next window looks like 51 grants. So the
// limiter gets this clock, which remembers per thread the last time it handed out: when
// acquire() has returned, that is exactly the time this thread's grant was made at.
class GrantTimeClock final : public Clock {
 public:
  explicit GrantTimeClock(ManualClock& clock) : clock_(clock) {}
  std::chrono::steady_clock::time_point now() override { return last_now_ = clock_.now(); }
  std::chrono::system_clock::time_point wall_now() override { return clock_.wall_now(); }
  void sleep_for(milliseconds duration) override { clock_.sleep_for(duration); }
  // The last now() this thread read through this clock.
  static std::chrono::steady_clock::time_point last_now() { return last_now_; }

 private:
  ManualClock& clock_;
  inline static thread_local std::chrono::steady_clock::time_point last_now_{};
};
}  // namespace

TEST_CASE("the rate limiter never grants more than its budget in any window, across threads", "[pleo]") {
  ManualClock manual;
  GrantTimeClock clock(manual);
  RateLimiter limiter(50, clock);
  std::mutex m;
  std::vector<std::chrono::steady_clock::time_point> grants;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 60; ++i) {
        limiter.acquire();
        std::lock_guard lock(m);
        grants.push_back(GrantTimeClock::last_now());  // not clock.now(): see GrantTimeClock
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(grants.size() == 240);
  REQUIRE(limiter.granted() == 240);
  std::sort(grants.begin(), grants.end());
  // Any 60 s window holds at most 50 grants: grant i and grant i+50 are >= 60 s apart.
  for (std::size_t i = 0; i + 50 < grants.size(); ++i)
    CHECK(grants[i + 50] - grants[i] >= std::chrono::minutes(1));
}

TEST_CASE("the rate limiter waits only as long as the window needs", "[pleo]") {
  ManualClock clock;
  RateLimiter limiter(50, clock);
  for (int i = 0; i < 101; ++i) limiter.acquire();
  // 50 at once, 50 a minute later, the 101st two minutes later: exactly 120 s of sleeping.
  CHECK(clock.total_slept() == std::chrono::minutes(2));
}

TEST_CASE("a pause (after a 429) holds every caller of the limiter", "[pleo]") {
  ManualClock clock;
  RateLimiter limiter(600, clock);
  limiter.acquire();
  CHECK(clock.total_slept() == milliseconds(0));
  limiter.pause_for(milliseconds(7000));
  limiter.pause_for(milliseconds(1000));  // shorter: does not shorten the first
  limiter.acquire();
  CHECK(clock.total_slept() == milliseconds(7000));
}

TEST_CASE("shared_rate_limiter gives one limiter per credential id", "[pleo]") {
  auto a = shared_rate_limiter("company-a-test", 100);
  auto b = shared_rate_limiter("company-a-test", 300);
  auto c = shared_rate_limiter("company-b-test", 300);
  CHECK(a.get() == b.get());
  CHECK(a->per_minute() == 100);
  CHECK(a.get() != c.get());
}
