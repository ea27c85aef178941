// What the C ABI costs over the C++ API: the same items through RulePack::evaluate (C++, one
// reused Outcome) and ledgerbridge_pack_evaluate (C, one result handle per item), both from
// libledgerbridge.so. The machine is shared, so the two alternate every batch of items and are
// timed in thread CPU time: a neighbour's load then hits both alike instead of one round. The
// Python side is tests/bench/capi_overhead.py; tests/bench/capi_overhead.sh runs all three.
//
//   lb_capi_overhead_bench <pack> <items.jsonl> <directory.yaml> [rounds]
#include <ledgerbridge.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <ledgerbridge/ledgerbridge.hpp>
#include <ctime>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr size_t kBatch = 500;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s <pack> <items.jsonl> <directory.yaml> [rounds]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 4 ? std::max(1, std::atoi(argv[4])) : 5;
  std::vector<std::string> items;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) items.push_back(std::move(line));
  if (items.empty()) return 2;
  const int64_t now = 1769947200;  // 2026-02-01T12:00:00Z, as `ledgerbridge bench`

  // C++ API.
  const ledgerbridge::Engine engine({.now = now});
  const ledgerbridge::RulePack cpp = engine.load_pack({.path = argv[1], .directory_path = argv[3]});
  // C ABI: its own pack, so neither path warms the other's Lua state.
  ledgerbridge_engine* c_engine = nullptr;
  ledgerbridge_pack* c_pack = nullptr;
  char* error = nullptr;
  if (ledgerbridge_engine_new(&c_engine, &error) != LEDGERBRIDGE_OK ||
      ledgerbridge_engine_set_now(c_engine, now) != LEDGERBRIDGE_OK ||
      ledgerbridge_pack_load(c_engine, argv[1], nullptr, argv[3], nullptr, &c_pack, &error) != LEDGERBRIDGE_OK) {
    std::fprintf(stderr, "error: %s\n", error ? error : "?");
    return 1;
  }

  size_t bytes = 0;  // keeps the work observable
  ledgerbridge::Outcome out;
  auto run_cpp = [&](size_t from, size_t to) {
    const double t = cpu_seconds();
    for (size_t i = from; i < to; ++i) {
      cpp.evaluate(items[i], out);
      bytes += out.json.size();
    }
    return cpu_seconds() - t;
  };
  auto run_c = [&](size_t from, size_t to) {
    const double t = cpu_seconds();
    for (size_t i = from; i < to; ++i) {
      ledgerbridge_result* r = nullptr;
      if (ledgerbridge_pack_evaluate(c_pack, items[i].data(), items[i].size(), 0, &r, nullptr) != LEDGERBRIDGE_OK)
        std::abort();
      size_t n = 0;
      ledgerbridge_result_outcome_json(r, &n);
      bytes += n;
      ledgerbridge_result_free(r);
    }
    return cpu_seconds() - t;
  };

  run_cpp(0, items.size()), run_c(0, items.size());  // warm-up: JIT traces, buffers, caches
  double cpp_s = 0, c_s = 0;
  for (int r = 0; r < rounds; ++r) {
    for (size_t from = 0; from < items.size(); from += kBatch) {
      const size_t to = std::min(items.size(), from + kBatch);
      // Alternate which goes first, so neither always runs on a cache the other warmed.
      if ((from / kBatch + static_cast<size_t>(r)) % 2 == 0) cpp_s += run_cpp(from, to), c_s += run_c(from, to);
      else c_s += run_c(from, to), cpp_s += run_cpp(from, to);
    }
  }
  if (bytes == 0) std::abort();
  const double n = static_cast<double>(items.size()) * rounds;
  std::printf("items %zu x %d rounds, thread CPU time\n", items.size(), rounds);
  std::printf("C++ API  %10.0f items/s\n", n / cpp_s);
  std::printf("C ABI    %10.0f items/s  overhead %+.1f%%\n", n / c_s, (c_s / cpp_s - 1) * 100);
  ledgerbridge_pack_free(c_pack);
  ledgerbridge_engine_free(c_engine);
  return 0;
}
