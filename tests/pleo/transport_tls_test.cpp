// §6.2: credentials travel only over verified TLS. Peer and host verification are always on;
// a CA file can be added, never verification turned off.
#include <catch2/catch.hpp>

#include <httplib.h>

#include "pleo/http.hpp"
#include "pleo_test_util.hpp"

using namespace lb::pleo;
using lb::pleo::test::LogCapture;

namespace {
const std::string kTls = std::string(LB_TEST_DATA_DIR) + "/../pleo/tls/";

struct TlsServer {
  httplib::SSLServer http;
  int port = 0;
  std::thread thread;
  TlsServer(const std::string& cert, const std::string& key) : http(cert.c_str(), key.c_str()) {
    http.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TlsServer() {
    http.stop();
    thread.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port) + "/ping"; }
};

Result<HttpResponse> get(const std::string& url, const std::string& ca_file) {
  LogCapture log;
  TransportOptions o;
  o.ca_file = ca_file;
  o.logger = log.logger;
  o.total_timeout = std::chrono::seconds(10);
  HttpTransport transport(o);
  return transport.perform({"GET", url, "/ping"});
}
}  // namespace

TEST_CASE("TLS: an unknown certificate is refused; a configured CA file is trusted", "[pleo]") {
  TlsServer server(kTls + "localhost-cert.pem", kTls + "localhost-key.pem");
  auto untrusted = get(server.url(), "");
  REQUIRE_FALSE(untrusted.ok());
  CHECK(untrusted.error().kind == ErrorKind::network);

  auto trusted = get(server.url(), kTls + "localhost-cert.pem");
  REQUIRE(trusted.ok());
  CHECK(trusted->status == 200);
  CHECK(trusted->body == "pong");
}

TEST_CASE("TLS: a trusted certificate for another host name is refused", "[pleo]") {
  TlsServer server(kTls + "other-cert.pem", kTls + "other-key.pem");
  auto mismatch = get(server.url(), kTls + "other-cert.pem");
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().kind == ErrorKind::network);
}
