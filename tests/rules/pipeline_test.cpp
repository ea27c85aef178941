// Offline processing: several workers give exactly the single-worker output, in input order,
// and bad input is reported without stopping the run.
#include <catch2/catch.hpp>

#include <sstream>

#include "model/directory.hpp"
#include "rules/pipeline.hpp"
#include "rules_test_util.hpp"
#include "sim/generate.hpp"

using namespace lb;

namespace {

std::string run(const std::string& input, int workers, size_t batch, rules::PipelineSummary& summary,
                std::vector<std::string>* errors = nullptr) {
  auto pack = rules::Pack::load(std::string(LB_TEST_DATA_DIR) + "/../bench/pack");
  REQUIRE(pack);
  model::MemoryDirectory directory;
  std::stringstream dir_yaml;
  sim::write_directory(dir_yaml);
  test::TempDir tmp;
  tmp.write("directory.yaml", dir_yaml.str());
  REQUIRE(model::load_directory((tmp.path() / "directory.yaml").string(), directory).ok());
  rules::PipelineOptions options;
  options.workers = workers;
  options.batch_size = batch;
  options.eval.directory = &directory;
  options.eval.now = 1768478400;
  if (errors) options.on_input_error = [errors](const std::string& e) { errors->push_back(e); };
  std::istringstream in(input);
  std::ostringstream out;
  auto s = rules::run_pipeline(in, "items.jsonl", out, *pack, options);
  REQUIRE(s);
  summary = *s;
  return out.str();
}

}  // namespace

TEST_CASE("two workers produce the one-worker output, byte for byte and in order", "[rules][pipeline]") {
  std::ostringstream items;
  sim::write_items(items, 3000, 7);
  rules::PipelineSummary one, two;
  const std::string a = run(items.str(), 1, 256, one);
  const std::string b = run(items.str(), 2, 256, two);
  CHECK(one.items == 3000);
  CHECK(one.decided + one.failed + one.skipped == 3000);
  CHECK(one.failures_by_type == two.failures_by_type);
  CHECK(a == b);
}

TEST_CASE("bad items are reported and skipped, the rest still processed", "[rules][pipeline]") {
  std::ostringstream items;
  sim::write_items(items, 10, 3);
  std::string input = items.str();
  input.insert(input.find('\n') + 1, "{\"not\": \"an item\"}\nnot json at all\n");
  rules::PipelineSummary s;
  std::vector<std::string> errors;
  const std::string out = run(input, 1, 4, s, &errors);
  CHECK(s.items == 10);
  CHECK(s.input_errors == 2);
  REQUIRE(errors.size() == 2);
  CHECK_THAT(errors[0], Catch::StartsWith("items.jsonl:2:"));
  CHECK_THAT(errors[1], Catch::StartsWith("items.jsonl:3:"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 10);
}
