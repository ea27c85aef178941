#include "pleo/retry.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <string>

namespace lb::pleo {

using std::chrono::milliseconds;

milliseconds backoff_delay(const RetryPolicy& policy, int retry, double unit) {
  if (retry < 1) retry = 1;
  const int64_t cap = std::max<int64_t>(0, policy.cap.count());
  int64_t delay = std::max<int64_t>(0, policy.base.count());
  for (int i = 1; i < retry && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  unit = std::clamp(unit, 0.0, 1.0);
  // Half fixed, half random: spreads clients that failed together without ever retrying at once.
  return milliseconds(delay / 2 + static_cast<int64_t>(static_cast<double>(delay - delay / 2) * unit));
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    return milliseconds(std::min<int64_t>(seconds, 86'400) * 1000);
  }
  // §4.2: an HTTP date. libcurl already parses every RFC 7231 date form.
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(target - now);
}

namespace {
double default_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}
}  // namespace

Backoff::Backoff(const RetryPolicy& policy, Clock& clock, std::function<double()> random)
    : policy_(policy), clock_(clock), random_(random ? std::move(random) : default_random) {}

milliseconds Backoff::next_delay(std::optional<milliseconds> retry_after) {
  if (!planned_) planned_ = retry_after ? *retry_after : backoff_delay(policy_, attempts_, random_());
  return *planned_;
}

bool Backoff::wait(std::optional<milliseconds> retry_after) {
  if (attempts_ >= std::max(1, policy_.max_attempts)) return false;
  if (retry_after && *retry_after > policy_.max_retry_after) return false;
  const milliseconds delay = next_delay(retry_after);
  planned_.reset();
  clock_.sleep_for(delay);
  ++attempts_;
  return true;
}

}  // namespace lb::pleo
