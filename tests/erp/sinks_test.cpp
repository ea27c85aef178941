// The JSON-lines sink, the host sink and the sink factory (engine/src/erp).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "../ledger/ledger_test_util.hpp"
#include "erp/factory.hpp"
#include "erp/host_sink.hpp"
#include "erp/jsonl_sink.hpp"

using lb::erp::ErrorKind;
using lb::erp::JsonlSink;
using lb::erp::Posted;
using lb::erp::SinkError;
using lb::testing::journal;
using lb::testing::ScratchDir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
const T& ok(const lb::erp::SinkResult<T>& r) {
  if (const auto* e = std::get_if<SinkError>(&r)) FAIL(lb::erp::to_string(e->kind) << ": " << e->message);
  return std::get<T>(r);
}

template <typename T>
SinkError sink_error(const lb::erp::SinkResult<T>& r) {
  REQUIRE(std::holds_alternative<SinkError>(r));
  return std::get<SinkError>(r);
}

std::unique_ptr<JsonlSink> open_jsonl(const std::string& path, std::string directory = {}) {
  auto s = JsonlSink::open({.path = path, .directory = std::move(directory)});
  INFO((s ? "" : s.error().message));
  REQUIRE(s.ok());
  return std::move(s).value();
}

}  // namespace

TEST_CASE("jsonl sink: appends canonical lines, and a reopened file still knows them", "[erp]") {
  ScratchDir dir("jsonl");
  const auto path = dir.file("out.jsonl");
  {
    auto sink = open_jsonl(path);
    const Posted a = ok(sink->post(journal("a")));
    CHECK(a.externalId == "out.jsonl:1");
    CHECK_THAT(a.url, Catch::StartsWith("file://") && Catch::EndsWith("out.jsonl#L1"));
    CHECK(ok(sink->post(journal("b"))).externalId == "out.jsonl:2");
    CHECK(sink_error(sink->post(journal("a", 1))).kind == ErrorKind::conflict);
    auto bad = journal("c");
    bad.lines.pop_back();
    CHECK(sink_error(sink->post(bad)).kind == ErrorKind::validation);
  }
  CHECK(slurp(path) == lb::posting::document_json(journal("a")) + "\n" + lb::posting::document_json(journal("b")) + "\n");

  auto sink = open_jsonl(path);
  CHECK(sink->size() == 2);
  auto found = ok(sink->lookup("b"));
  REQUIRE(found);
  CHECK(found->externalId == "out.jsonl:2");
  CHECK_FALSE(ok(sink->lookup("c")));
  CHECK(sink_error(sink->post(journal("b"))).kind == ErrorKind::conflict);
  CHECK(ok(sink->post(journal("c"))).externalId == "out.jsonl:3");
}

TEST_CASE("jsonl sink: an incomplete last line from a crash is cut off on open", "[erp]") {
  ScratchDir dir("jsonl");
  const auto path = dir.file("out.jsonl");
  const std::string whole = lb::posting::document_json(journal("a")) + "\n";
  std::ofstream(path, std::ios::binary) << whole << lb::posting::document_json(journal("b")).substr(0, 40);
  auto sink = open_jsonl(path);
  CHECK(sink->size() == 1);
  CHECK_FALSE(ok(sink->lookup("b")));  // never answered: the ledger has it in `posting`
  CHECK(ok(sink->post(journal("b"))).externalId == "out.jsonl:2");
  CHECK(slurp(path) == whole + lb::posting::document_json(journal("b")) + "\n");
}

TEST_CASE("jsonl sink: a damaged line is refused with its position", "[erp]") {
  ScratchDir dir("jsonl");
  const auto path = dir.file("out.jsonl");
  std::ofstream(path, std::ios::binary) << lb::posting::document_json(journal("a")) << "\n{\"kind\":\n";
  auto s = JsonlSink::open({.path = path});
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains(path + ":2:"));
}

TEST_CASE("jsonl sink: attachments are written next to the file once per key; directory from config", "[erp]") {
  ScratchDir dir("jsonl");
  auto sink = open_jsonl(dir.file("out.jsonl"), std::string(LB_TEST_DATA_DIR) + "/../../examples/data/directory.yaml");
  CHECK(sink->directory().account("6010"));
  CHECK_FALSE(sink->directory().period_open("2025-02-01"));

  const Posted p = ok(sink->post(journal("e1")));
  const lb::posting::Attachment receipt{.key = "e1/0", .url = "u", .type = "application/pdf", .size = 4};
  ok(sink->upload_attachment(p, receipt, "%PDF"));
  const auto file = dir.path() / "out.jsonl.attachments" / "out.jsonl%3A1" / "e1%2F0";
  REQUIRE(std::filesystem::exists(file));
  CHECK(slurp(file.string()) == "%PDF");
  ok(sink->upload_attachment(p, receipt, "CHANGED"));  // same key: not written again
  CHECK(slurp(file.string()) == "%PDF");
  CHECK(sink_error(sink->upload_attachment(p, {.key = "e1/1"}, std::string(31 * 1024 * 1024, 'x'))).kind ==
        ErrorKind::attachment);

  auto missing = JsonlSink::open({.path = dir.file("x.jsonl"), .directory = dir.file("nope.yaml")});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("nope.yaml"));
}

TEST_CASE("host sink: forwards every call to the host's callbacks", "[erp]") {
  std::vector<std::string> calls;
  lb::erp::HostCallbacks cb;
  cb.name = "acme-erp";
  cb.capabilities.single_attachment = true;
  cb.post = [&](const lb::posting::Document& d) -> lb::erp::SinkResult<Posted> {
    calls.push_back("post " + d.externalKey);
    if (d.externalKey == "bad") return SinkError{ErrorKind::validation, "closed period"};
    if (d.externalKey == "throw") throw std::runtime_error("host bug");
    return Posted{"H-" + d.externalKey, "https://acme/" + d.externalKey};
  };
  cb.lookup = [&](std::string_view key) -> lb::erp::SinkResult<std::optional<Posted>> {
    calls.push_back("lookup " + std::string(key));
    if (key == "known") return std::optional<Posted>(Posted{"H-known"});
    return std::optional<Posted>{};
  };
  cb.upload_attachment = [&](const Posted& p, const lb::posting::Attachment& a,
                             std::string_view bytes) -> lb::erp::SinkResult<std::monostate> {
    calls.push_back("upload " + p.externalId + " " + a.key + " " + std::string(bytes));
    return std::monostate{};
  };
  cb.directory.account = [&](std::string_view code) -> std::optional<lb::model::ErpAccount> {
    calls.push_back("account " + std::string(code));
    if (code == "6010") return lb::model::ErpAccount{.code = "6010", .name = "Office"};
    return std::nullopt;
  };
  cb.directory.period_open = [](std::string_view date) { return date >= "2025-04-01"; };
  cb.directory.tax_code = [](std::string_view) -> std::optional<lb::model::ErpTaxCode> {
    throw std::runtime_error("directory down");
  };

  lb::erp::HostSink sink(std::move(cb));
  CHECK(sink.name() == "acme-erp");
  CHECK(sink.capabilities().single_attachment);
  CHECK(ok(sink.post(journal("e1"))).url == "https://acme/e1");
  CHECK(sink_error(sink.post(journal("bad"))).message == "closed period");
  const auto thrown = sink_error(sink.post(journal("throw")));
  CHECK(thrown.kind == ErrorKind::timeout);  // the host may have written it: uncertain
  CHECK_THAT(thrown.message, Catch::Contains("acme-erp: post callback threw: host bug"));
  CHECK(ok(sink.lookup("known"))->externalId == "H-known");
  CHECK_FALSE(ok(sink.lookup("e9")));
  ok(sink.upload_attachment(Posted{"H-e1"}, {.key = "e1/0"}, "bytes"));
  CHECK(std::holds_alternative<std::monostate>(sink.check()));  // no check callback: fine

  const lb::model::Directory& d = sink.directory();
  CHECK(d.account("6010")->name == "Office");
  CHECK_FALSE(d.account("1"));
  CHECK_FALSE(d.vendor_by_code("V1"));  // no callback: unknown
  CHECK_FALSE(d.tax_code("S20"));       // threw: unknown
  CHECK_FALSE(d.period_open("2025-03-01"));
  CHECK(d.period_open("2025-04-01"));
  CHECK_FALSE(d.period_open("not a date"));
  CHECK(d.next_open_date("2025-04-02") == "2025-04-02");

  CHECK(calls == std::vector<std::string>{"post e1", "post bad", "post throw", "lookup known", "lookup e9",
                                          "upload H-e1 e1/0 bytes", "account 6010", "account 1"});

  lb::erp::HostSink empty({});
  const auto none = sink_error(empty.post(journal("e1")));
  CHECK(none.kind == ErrorKind::unreachable);
  CHECK_THAT(none.message, Catch::Contains("no post callback"));
}

TEST_CASE("sink factory: sqlite and jsonl are built in; unknown kinds are named", "[erp]") {
  ScratchDir dir("factory");
  lb::erp::SinkConfig sqlite{.kind = "sqlite", .path = dir.file("erp.sqlite")};
  auto missing = lb::erp::make_sink(sqlite);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("no such file"));
  sqlite.sqlite.create = true;
  auto s = lb::erp::make_sink(sqlite);
  REQUIRE(s.ok());
  CHECK((*s)->name() == "sqlite");

  auto j = lb::erp::make_sink({.kind = "jsonl", .path = dir.file("out.jsonl")});
  REQUIRE(j.ok());
  CHECK((*j)->name() == "jsonl");

  auto unknown = lb::erp::make_sink({.kind = "ftp"});
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::Contains("unknown sink kind 'ftp'"));

  auto http = lb::erp::make_sink({.kind = "http"});
  REQUIRE_FALSE(http.ok());
  CHECK_THAT(http.error().message, Catch::Contains("sink http"));

  lb::erp::register_sink_factory("test-host", [](const lb::erp::SinkConfig& c) -> lb::Result<std::unique_ptr<lb::erp::Sink>> {
    lb::erp::HostCallbacks cb;
    cb.name = c.options.at("name");
    return std::unique_ptr<lb::erp::Sink>(std::make_unique<lb::erp::HostSink>(std::move(cb)));
  });
  auto registered = lb::erp::make_sink({.kind = "test-host", .options = {{"name", "mine"}}});
  REQUIRE(registered.ok());
  CHECK((*registered)->name() == "mine");
}

TEST_CASE("sink factory §2.8: attachment capabilities are settings of every built-in kind; http is built in",
          "[erp]") {
  ScratchDir dir("factory-caps");
  const std::map<std::string, std::string> settings{
      {"single_attachment", "true"}, {"max_attachment_bytes", "1000"}, {"attachment_types", "application/pdf, image/png"}};
  auto caps = lb::erp::capabilities_from(settings);
  REQUIRE(caps.ok());
  CHECK(caps->single_attachment);
  CHECK(caps->max_attachment_bytes == 1000);
  CHECK(caps->attachment_types == std::vector<std::string>{"application/pdf", "image/png"});
  CHECK(lb::erp::capabilities_from({{"attachment_types", ""}})->attachment_types.empty());  // any type
  CHECK_THAT(lb::erp::capabilities_from({{"single_attachment", "yes"}}).error().message,
             Catch::Contains("single_attachment must be true or false"));
  CHECK_THAT(lb::erp::capabilities_from({{"max_attachment_bytes", "10MB"}}).error().message,
             Catch::Contains("max_attachment_bytes must be a positive number"));
  CHECK_THAT(lb::erp::capabilities_from({{"attachment_types", "pdf"}}).error().message,
             Catch::Contains("'pdf' is not a MIME type"));

  lb::erp::SinkConfig sqlite{.kind = "sqlite", .path = dir.file("erp.sqlite"), .options = settings};
  sqlite.sqlite.create = true;
  auto s = lb::erp::make_sink(sqlite);
  REQUIRE(s.ok());
  CHECK((*s)->capabilities().single_attachment);
  auto j = lb::erp::make_sink({.kind = "jsonl", .path = dir.file("out.jsonl"), .options = settings});
  REQUIRE(j.ok());
  CHECK((*j)->capabilities().max_attachment_bytes == 1000);

  auto h = lb::erp::make_sink({.kind = "http", .options = {{"url", "http://127.0.0.1:9/documents"},
                                                         {"single_attachment", "true"},
                                                         {"authorization", "env:LB_TEST_NO_SUCH_VARIABLE_SET"}}});
  REQUIRE_FALSE(h.ok());  // the secret reference must resolve
  CHECK_THAT(h.error().message, Catch::Contains("sink http: authorization"));
  auto http = lb::erp::make_sink({.kind = "http", .options = {{"url", "http://127.0.0.1:9/documents"},
                                                            {"single_attachment", "true"}}});
  REQUIRE(http.ok());
  CHECK((*http)->name() == "http");
  CHECK((*http)->capabilities().single_attachment);
  auto no_url = lb::erp::make_sink({.kind = "http"});
  REQUIRE_FALSE(no_url.ok());
  CHECK_THAT(no_url.error().message, Catch::Contains("'url' is required"));
  auto bad = lb::erp::make_sink({.kind = "sqlite", .path = dir.file("erp.sqlite"), .options = {{"single_attachment", "1"}}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("sink sqlite: erp setting single_attachment"));
}
