#pragma once
// §4.2: bounded exponential backoff with jitter for network errors, 5xx and 429, honouring
// Retry-After. The policy is plain data so every HTTP user (Pleo client, OAuth refresh, the ERP
// HTTP sink) shares one configuration and one implementation.
//
//   Backoff backoff(policy, clock);
//   for (;;) {
//     auto result = attempt();
//     if (!transient(result) || !backoff.wait(retry_after_of(result))) return result;
//   }
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "pleo/clock.hpp"

namespace lb::pleo {

struct RetryPolicy {
  int max_attempts = 5;                            // total tries, the first included (>= 1)
  std::chrono::milliseconds base{500};             // delay before the first retry, doubled each time
  std::chrono::milliseconds cap{30'000};           // no single backoff delay is longer
  std::chrono::milliseconds max_retry_after{120'000};  // a longer Retry-After ends the retries
};

// The delay before retry number `retry` (1 = first retry): "full jitter", a uniform draw in
// [delay/2, delay] where delay = min(cap, base * 2^(retry-1)). `unit` is a draw in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double unit);

// Retry-After as delta-seconds ("120") or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"),
// relative to `now`; nullopt when absent or unparseable. A date in the past gives 0.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// One operation's retry budget. Not thread-safe; make one per operation.
class Backoff {
 public:
  // `random` returns draws in [0, 1); defaults to a thread-local PRNG.
  Backoff(const RetryPolicy& policy, Clock& clock, std::function<double()> random = {});

  // Called after a transient failure. Sleeps (through the clock) for the Retry-After the server
  // gave, or else the jittered backoff, and returns true; returns false without sleeping when
  // the attempts are used up or the Retry-After exceeds policy.max_retry_after.
  bool wait(std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

  // The delay wait() would use next (for callers that pause a shared limiter first).
  std::chrono::milliseconds next_delay(std::optional<std::chrono::milliseconds> retry_after);

  int attempts() const { return attempts_; }  // tries made so far (starts at 1)

 private:
  RetryPolicy policy_;
  Clock& clock_;
  std::function<double()> random_;
  int attempts_ = 1;
  std::optional<std::chrono::milliseconds> planned_{};
};

}  // namespace lb::pleo
