#pragma once
// Shared by the Pleo client tests: a scripted cpp-httplib server on a free local port, a
// spdlog logger that writes into a string (so tests can grep what was logged), and client
// options wired to a ManualClock (no real sleeping, no timed tests).
#include <httplib.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "pleo/client.hpp"

namespace lb::pleo::test {

inline std::string read_data(const std::string& name) {
  std::ifstream in(std::string(LB_TEST_DATA_DIR) + "/pleo/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class TestServer {
 public:
  httplib::Server http;

  // Register handlers on `http` first, then start().
  void start() {
    port_ = http.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // One request before the test's own. cpp-httplib (Debian's prebuilt, uninstrumented .so)
    // builds function-local statics on its first request, e.g. the method set in
    // Server::parse_request_line. ThreadSanitizer cannot see the static's guard, so when the
    // first requests of a process arrive at once (the concurrent-401 test, alone in its CTest
    // process) one worker building the set and another reading it is reported as a race.
    // Made here, one at a time, the first request orders that initialisation (through the
    // socket) before everything the test does. The path has no handler: 404, nothing counted.
    httplib::Client warm_up("127.0.0.1", port_);
    (void)warm_up.Get("/__lb_test_warm_up");
  }
  ~TestServer() {
    http.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  std::thread thread_;
};

class LogCapture {
 public:
  LogCapture() : stream_(std::make_shared<std::ostringstream>()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*stream_);
    logger = std::make_shared<spdlog::logger>("pleo-test", sink);
    logger->set_level(spdlog::level::trace);
    logger->set_pattern("%l %v");
  }
  std::string text() const {
    logger->flush();
    return stream_->str();
  }
  std::shared_ptr<spdlog::logger> logger;

 private:
  std::shared_ptr<std::ostringstream> stream_;
};

// Client options for `server` with an API key, a ManualClock and a fixed jitter draw of 0.5.
inline ClientOptions options_for(const std::string& url, ManualClock& clock, const LogCapture& log,
                                 std::shared_ptr<Auth> auth = nullptr) {
  ClientOptions o;
  o.base_url = url;
  o.auth = auth ? std::move(auth) : std::make_shared<ApiKeyAuth>("test-api-key-123");
  o.clock = &clock;
  o.random = [] { return 0.5; };
  o.limiter = std::make_shared<RateLimiter>(600, clock);
  o.transport.logger = log.logger;
  o.transport.total_timeout = std::chrono::seconds(10);
  return o;
}

inline std::string page_json(const std::string& data, bool has_next, const std::string& end_cursor = "") {
  std::string out = "{\"data\":" + data + ",\"pagination\":{\"hasNextPage\":" + (has_next ? "true" : "false") +
                    ",\"hasPreviousPage\":false,\"currentRequestPagination\":{\"parameters\":{}}";
  if (!end_cursor.empty()) out += ",\"endCursor\":\"" + end_cursor + "\"";
  return out + "}}";
}

}  // namespace lb::pleo::test
