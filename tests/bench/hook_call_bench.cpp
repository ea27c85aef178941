// Micro benchmarks of what one item costs inside `ledgerbridge bench`, piece by piece:
//   - a bare lua_pcall of an empty function (the floor, REPORT §4.3 point 5: ~20 ns),
//   - the same call through Sandbox::call (CPU budget armed and disarmed, memory cap, message
//     handler): the per-call overhead of the sandbox limits,
//   - Evaluator::evaluate with a trivial pack over items of 0..16 lines: every extra line is one
//     more empty `account` hook call with its views, so the slope is the cost of one empty hook
//     call through the whole evaluator,
//   - the bench pack over generated items (rules only: no reading, decoding or writing),
//   - decoding an item into a reused object (what the pipeline's batch slots do) and into a fresh
//     one per item (what it did before reusing them: the gap is allocation), and writing an
//     outcome line.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <lua.hpp>
#include <random>
#include <sstream>

#include "model/decode.hpp"
#include "model/directory.hpp"
#include "rules/evaluator.hpp"
#include "rules/outcome.hpp"
#include "rules/pack.hpp"
#include "rules/sandbox.hpp"
#include "sim/generate.hpp"

namespace {

namespace fs = std::filesystem;
using namespace lb;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("lb-bench-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr const char* kTrivialHooks = R"lua(
local hooks = {}
function hooks.bookkeeping_method(item, ctx) return "journal" end
function hooks.counter_account(item, ctx) return "1810" end
function hooks.account(line, item, ctx) return "6000" end
return hooks
)lua";

std::vector<std::string> generated_lines(size_t n) {
  sim::ItemGenerator gen(11);
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) lines.push_back(gen.next());
  return lines;
}

std::vector<model::ExportItem> generated_items(size_t n) {
  std::vector<model::ExportItem> items;
  for (const auto& line : generated_lines(n)) items.push_back(std::get<model::ExportItem>(model::decode_export_item(line)));
  return items;
}

// A generated card purchase with exactly `lines` copies of its first line.
model::ExportItem item_with_lines(size_t lines) {
  for (auto& it : generated_items(50)) {
    if (it.type != "card_purchase" || it.accountingEntryLines.empty()) continue;
    const model::Line first = it.accountingEntryLines.front();
    it.accountingEntryLines.assign(lines, first);
    return it;
  }
  throw std::runtime_error("no card purchase among the generated items");
}

const model::MemoryDirectory& generated_directory() {
  static const model::MemoryDirectory directory = [] {
    TempDir dir;
    {
      std::ofstream out(dir.path() / "directory.yaml");
      sim::write_directory(out);
    }
    model::MemoryDirectory d;
    if (auto st = model::load_directory((dir.path() / "directory.yaml").string(), d); !st)
      throw std::runtime_error(st.message());
    return d;
  }();
  return directory;
}

std::unique_ptr<rules::Evaluator> evaluator_for(const fs::path& pack_dir, const model::Directory& directory) {
  auto pack = rules::Pack::load(pack_dir);
  if (!pack) throw std::runtime_error(pack.error().message);
  rules::EvalOptions options;
  options.directory = &directory;
  options.now = 1769947200;  // 2026-02-01
  auto e = rules::Evaluator::create(*pack, options);
  if (!e) throw std::runtime_error(e.error().message);
  return std::move(*e);
}

void BM_RawPcall(benchmark::State& state) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  luaL_loadstring(L, "return function() end");
  lua_call(L, 0, 1);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  for (auto _ : state) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (lua_pcall(L, 0, 0, 0) != 0) state.SkipWithError("pcall failed");
  }
  lua_close(L);
}
BENCHMARK(BM_RawPcall);

void BM_SandboxCall(benchmark::State& state) {
  rules::Sandbox sandbox{rules::Limits{}};
  lua_State* L = sandbox.L();
  lua_newtable(L);
  std::string error;
  if (!sandbox.load_text("return function() end", "=bench", -1, error)) throw std::runtime_error(error);
  lua_remove(L, -2);
  if (sandbox.call(0, 1, "loading", "bench").breach != rules::Breach::none) throw std::runtime_error("load failed");
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  const std::string what = "hook 'account'";
  const std::string where = "bench/rules.lua:1";
  for (auto _ : state) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (sandbox.call(0, 0, what, where).breach != rules::Breach::none) state.SkipWithError("call failed");
  }
}
BENCHMARK(BM_SandboxCall);

// 2 + lines hook calls per item (bookkeeping_method, counter_account, one account per line).
void BM_EvaluateTrivialPack(benchmark::State& state) {
  TempDir dir;
  fs::create_directories(dir.path() / "trivial");
  std::ofstream(dir.path() / "trivial" / "pack.toml") << "name = \"trivial\"\n";
  std::ofstream(dir.path() / "trivial" / "rules.lua") << kTrivialHooks;
  model::MemoryDirectory directory;
  auto evaluator = evaluator_for(dir.path() / "trivial", directory);
  const auto item = item_with_lines(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto outcome = evaluator->evaluate(item);
    if (outcome.status != rules::OutcomeStatus::decided) state.SkipWithError(outcome.failure.message.c_str());
    benchmark::DoNotOptimize(outcome);
  }
  state.counters["hook_calls"] = static_cast<double>(2 + state.range(0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateTrivialPack)->Arg(0)->Arg(1)->Arg(4)->Arg(16);

void BM_EvaluateBenchPack(benchmark::State& state) {
  auto evaluator = evaluator_for(LB_BENCH_PACK_DIR, generated_directory());
  const auto items = generated_items(2000);
  size_t i = 0;
  for (auto _ : state) {
    auto outcome = evaluator->evaluate(items[i]);
    benchmark::DoNotOptimize(outcome);
    i = (i + 1) % items.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateBenchPack);

std::vector<simdjson::padded_string> padded_lines(size_t n) {
  std::vector<simdjson::padded_string> out;
  for (const auto& line : generated_lines(n)) out.emplace_back(line);
  return out;
}

void BM_DecodeIntoReusedItem(benchmark::State& state) {
  const auto lines = padded_lines(2000);
  simdjson::dom::parser parser;
  model::ExportItem item;
  model::DecodeError error;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(lines[i]).get(root) || !model::decode_export_item(root, item, error)) state.SkipWithError("decode");
    bytes += lines[i].size();
    i = (i + 1) % lines.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeIntoReusedItem);

// A fresh item per decode, freed a batch later: what reusing decoded items saves.
void BM_DecodeIntoFreshItem(benchmark::State& state) {
  const auto lines = padded_lines(2000);
  simdjson::dom::parser parser;
  std::vector<model::ExportItem> batch;
  batch.reserve(2048);
  model::DecodeError error;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    simdjson::dom::element root;
    model::ExportItem item;
    if (parser.parse(lines[i]).get(root) || !model::decode_export_item(root, item, error)) state.SkipWithError("decode");
    batch.push_back(std::move(item));
    if (batch.size() == 2048) batch.clear();
    bytes += lines[i].size();
    i = (i + 1) % lines.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeIntoFreshItem);

void BM_WriteOutcome(benchmark::State& state) {
  auto evaluator = evaluator_for(LB_BENCH_PACK_DIR, generated_directory());
  std::vector<rules::Outcome> outcomes;
  for (const auto& item : generated_items(2000)) outcomes.push_back(evaluator->evaluate(item));
  std::string buffer;
  size_t i = 0;
  for (auto _ : state) {
    buffer.clear();
    rules::write_outcome_json(outcomes[i], buffer);
    benchmark::DoNotOptimize(buffer.data());
    i = (i + 1) % outcomes.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WriteOutcome);

}  // namespace

BENCHMARK_MAIN();
