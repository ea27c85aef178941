// workflow/config.cpp and workflow/runner.cpp: the operator's TOML file, and run_once over it
// against the simulated Pleo by URL and API key (what `ledgerbridge run --config` does).
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <fstream>

#include "erp/factory.hpp"
#include "erp/sqlite_erp.hpp"
#include "workflow/config.hpp"
#include "workflow/runner.hpp"
#include "workflow_test_util.hpp"

using namespace lb;
using namespace lb::workflow;
using namespace lb::workflow::test;

namespace {

std::string write(const ScratchDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("workflow config: companies, secrets by reference, relative paths", "[workflow]") {
  ScratchDir dir("wf-config");
  const auto path = write(dir, "lb.toml", R"(
[ledger]
path = "state/ledger.sqlite"

[[companies]]
id = "6513270e-269e-4d37-b2a7-4de452e6b438"
name = "Acme DK"
pleo = "http://127.0.0.1:1"
api_key = "env:LB_SOME_KEY"
rules = "rules/acme"
erp = { kind = "sqlite", path = "erp.sqlite", url_prefix = "https://erp/" }
reexport = "fail"
attachments_required = true
requests_per_minute = 120
)");
  auto c = load_config(path);
  REQUIRE(c.ok());
  CHECK(c->ledger == dir.path() / "state/ledger.sqlite");
  REQUIRE(c->companies.size() == 1);
  const CompanyConfig& co = c->companies[0];
  CHECK(co.api_key == "env:LB_SOME_KEY");  // kept as a reference, resolved only when used
  CHECK(co.rules == dir.path() / "rules/acme");
  CHECK(co.erp_path == (dir.path() / "erp.sqlite").string());
  CHECK(co.erp_options.at("url_prefix") == "https://erp/");
  CHECK(co.reexport == ReexportPolicy::fail);
  CHECK(co.attachments_required);
  CHECK(co.requests_per_minute == 120);
}

TEST_CASE("workflow config §2.8: the ERP's attachment settings reach the sink", "[workflow]") {
  ScratchDir dir("wf-config-attachments");
  const auto path = write(dir, "lb.toml", R"(
[[companies]]
id = "6513270e-269e-4d37-b2a7-4de452e6b438"
pleo = "sim"
rules = "rules/acme"
erp = { kind = "sqlite", path = "erp.sqlite", single_attachment = true, max_attachment_bytes = 5000000, attachment_types = ["application/pdf", "image/jpeg"] }
)");
  auto c = load_config(path);
  INFO((c ? "" : c.error().message));
  REQUIRE(c.ok());
  const CompanyConfig& co = c->companies.at(0);
  CHECK(co.erp_options.at("single_attachment") == "true");
  CHECK(co.erp_options.at("max_attachment_bytes") == "5000000");
  CHECK(co.erp_options.at("attachment_types") == "application/pdf,image/jpeg");
  // As run_once builds it.
  erp::SinkConfig sink{.kind = co.erp_kind, .path = co.erp_path, .directory = co.erp_directory};
  sink.options = co.erp_options;
  sink.sqlite.create = true;
  auto made = erp::make_sink(sink);
  INFO((made ? "" : made.error().message));
  REQUIRE(made.ok());
  const erp::Capabilities caps = (*made)->capabilities();
  CHECK(caps.single_attachment);
  CHECK(caps.max_attachment_bytes == 5000000);
  CHECK(caps.attachment_types == std::vector<std::string>{"application/pdf", "image/jpeg"});

  const auto bad = write(dir, "bad.toml", R"(
[[companies]]
id = "c1"
pleo = "sim"
rules = "r"
erp = { kind = "sqlite", path = "erp.sqlite", single_attachment = 1.5 }
)");
  auto refused = load_config(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("bad.toml:6: erp setting 'single_attachment'"));
}

TEST_CASE("workflow config: errors name the file, the line and the key", "[workflow]") {
  ScratchDir dir("wf-config-bad");
  const std::string head = "[[companies]]\nid = \"c1\"\npleo = \"http://x\"\napi_key = \"k\"\nrules = \"r\"\n";
  auto error_of = [&](const std::string& text) {
    auto c = load_config(write(dir, "bad.toml", text));
    REQUIRE_FALSE(c.ok());
    return c.error().message;
  };
  CHECK_THAT(error_of("[[companies]]\npleo = \"http://x\"\n"),
             Catch::Contains("bad.toml:1") && Catch::Contains("'id'"));
  CHECK_THAT(error_of(head), Catch::Contains("'erp' is required"));
  CHECK_THAT(error_of(head + "erp = { kind = \"sqlite\" }\nreexport = \"maybe\"\n"),
             Catch::Contains("reexport must be"));
  CHECK_THAT(error_of(head + "erp = { kind = \"sqlite\" }\nrequests_per_minute = 601\n"),
             Catch::Contains("bad.toml:7") && Catch::Contains("1..600"));
  CHECK_THAT(error_of("[[companies]]\nid = \"c1\"\npleo = \"http://x\"\nrules = \"r\"\nerp = { kind = \"sqlite\" }\n"),
             Catch::Contains("needs api_key or oauth"));
  CHECK_THAT(error_of("[ledger]\npath = 3\n\n" + head + "erp = { kind = \"sqlite\" }\n"),
             Catch::Contains("bad.toml:2") && Catch::Contains("'path' must be text"));
  CHECK_THAT(error_of("x = [\n"), Catch::Contains("bad.toml:"));
}

TEST_CASE("workflow config: [limits] is the operator's ceiling on every company's rule pack", "[workflow]") {
  ScratchDir dir("wf-config-limits");
  const std::string company = "[[companies]]\nid = \"c1\"\npleo = \"http://127.0.0.1:1\"\napi_key = \"k\"\n"
                              "rules = \"" + sim_pack_dir().string() + "\"\n"
                              "erp = { kind = \"sqlite\", path = \"erp.sqlite\" }\n";
  SECTION("read from the file; absent, the engine maxima (nothing is capped)") {
    auto c = load_config(write(dir, "lb.toml", "[limits]\nmax_memory_mb = 256\nmax_hook_cpu_ms = 1000\n\n" + company));
    INFO((c ? "" : c.error().message));
    REQUIRE(c.ok());
    CHECK(c->ceiling.memory_mb == 256);
    CHECK(c->ceiling.hook_cpu_ms == 1000);
    auto only_memory = load_config(write(dir, "lb.toml", "[limits]\nmax_memory_mb = 128\n\n" + company));
    REQUIRE(only_memory.ok());
    CHECK(only_memory->ceiling.memory_mb == 128);
    CHECK(only_memory->ceiling.hook_cpu_ms == rules::kMaxHookCpuMs);
    auto none = load_config(write(dir, "lb.toml", company));
    REQUIRE(none.ok());
    CHECK(none->ceiling.memory_mb == rules::kMaxMemoryMb);
    CHECK(none->ceiling.hook_cpu_ms == rules::kMaxHookCpuMs);
  }
  SECTION("errors name the file, the line and the key") {
    auto error_of = [&](const std::string& text) {
      auto c = load_config(write(dir, "bad.toml", text + "\n" + company));
      REQUIRE_FALSE(c.ok());
      return c.error().message;
    };
    const std::string file = dir.file("bad.toml");
    CHECK(error_of("[limits]\nmax_memory_mb = 0") == file + ":2: limits.max_memory_mb must be an integer 1..4096");
    CHECK(error_of("[limits]\nmax_memory_mb = 4097") == file + ":2: limits.max_memory_mb must be an integer 1..4096");
    CHECK(error_of("[limits]\n\nmax_hook_cpu_ms = \"1000\"") ==
          file + ":3: limits.max_hook_cpu_ms must be an integer 1..60000");
    CHECK(error_of("[limits]\nmemory_mb = 256") ==
          file + ":2: limits: unknown key 'memory_mb' (the ceiling's keys are max_memory_mb and max_hook_cpu_ms)");
    CHECK(error_of("limits = 256") == file + ":1: limits must be a table: [limits] max_memory_mb = N, max_hook_cpu_ms = N");
  }
  SECTION("run_once refuses a company whose pack is above it, and names the pack") {
    REQUIRE(erp::SqliteErp::open(dir.file("erp.sqlite"), {.create = true}).ok());
    auto c = load_config(write(dir, "lb.toml", "[limits]\nmax_memory_mb = 32\n\n" + company));
    REQUIRE(c.ok());
    const auto results = run_once(*c, {});
    REQUIRE(results.size() == 1);
    CHECK(results[0].error ==
          "rule pack: rule pack 'pleo-sim' sets no [limits] memory_mb and gets the default of 64, above this "
          "installation's ceiling of 32");
  }
}

TEST_CASE("workflow: run_once over a config file, against Pleo by URL and API key", "[workflow]") {
  LogCapture log;
  sim::PleoServerConfig cfg;
  cfg.seed = 11;
  cfg.companies = 2;
  cfg.jobs_per_company = 1;
  cfg.items_per_job = 15;
  World w(cfg);
  w.close_ledger();
  std::string companies;
  for (size_t i = 0; i < w.companies().size(); ++i) {
    const std::string var = "LB_WF_TEST_KEY_" + std::to_string(i);
    REQUIRE(::setenv(var.c_str(), w.company(i).info.api_key.c_str(), 1) == 0);
    companies += fmt::format(
        "[[companies]]\nid = \"{}\"\npleo = \"{}\"\napi_key = \"env:{}\"\nrules = \"{}\"\n"
        "erp = {{ kind = \"sqlite\", path = \"erp-{}.sqlite\" }}\n\n",
        w.company(i).info.id, w.pleo().base_url(), var, sim_pack_dir().string(), w.company(i).info.id.substr(0, 8));
  }
  auto config = load_config(write(w.dir(), "lb.toml", "[ledger]\npath = \"ledger.sqlite\"\n\n" + companies));
  REQUIRE(config.ok());
  const auto results = run_once(*config, {});
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    INFO(r.company_id << ": " << r.error);
    CHECK(r.error.empty());
    REQUIRE(r.summary.jobs.size() == 1);
    CHECK(r.summary.jobs[0].stopped.empty());
  }
  w.reopen_ledger();
  for (size_t i = 0; i < w.companies().size(); ++i) check_exactly_once(w, i);
  CHECK(w.pleo().counters().auth_refused == 0);
  const std::string text = log.text();
  for (size_t i = 0; i < w.companies().size(); ++i)
    CHECK(text.find(w.company(i).info.api_key) == std::string::npos);

  // A key Pleo does not know stops that company only, with a clear error and no secret.
  REQUIRE(::setenv("LB_WF_TEST_KEY_0", "sim_key_not_issued_000000000000000", 1) == 0);
  const auto refused = run_once(*config, {});
  CHECK_FALSE(refused[0].summary.error.empty());
  CHECK(refused[0].summary.error.find("sim_key_not_issued") == std::string::npos);
  CHECK(refused[1].summary.error.empty());
}
