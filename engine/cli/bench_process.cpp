// ledgerbridge bench: generates synthetic Pleo v3 items (engine/sim), runs the same pipeline as
// `process` over them with the sandbox limits on, and reports throughput and peak memory next to
// the targets (>= 150k items/s on one core; peak RSS < 64 MB whatever the input size). Targets
// are reported, not asserted: the command exits 0 whether they are met or not.
//
// Generation and the measured run each happen in a child process. Linux carries a process's peak
// RSS across fork (and exec), so a pipeline run in the process that generated the data would
// report the generator's peak, not its own; the parent stays small and only forks and reports.
//
// The end-to-end benchmark (--e2e) is bench_e2e.cpp; the command's options and what the two
// share, bench_cmd.cpp and bench_common.hpp.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cli/bench_common.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "rules/pipeline.hpp"
#include "sim/generate.hpp"

namespace lb::cli::bench {
namespace {

constexpr double kTargetItemsPerSecond = 150000;  // on one core
constexpr double kTargetPeakRssMb = 64;           // whatever the input size

// The middle value; for an even count, the mean of the two middle ones.
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// A "VmHWM:"-style line of /proc/self/status, in MB; -1 when unavailable.
double proc_status_mb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atof(line.c_str() + prefix.size()) / 1024.0;  // kB
  }
  return -1;
}

// Resets the process's peak RSS to its current RSS (Linux >= 4.0), so that the pipeline's own
// peak can be told from the setup's.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// --- the data set ----------------------------------------------------------------------------------

struct DataSetInfo {
  sim::DataSet files;
  bool reused = false;
  double seconds = 0;
};

json manifest_for(const BenchArgs& a) {
  return {{"items", a.items}, {"seed", a.seed}, {"generator", sim::kGeneratorVersion}};
}

// A kept data set is reused when it was made with the same size, seed and generator.
std::optional<DataSetInfo> reusable(const fs::path& dir, const BenchArgs& a) {
  std::ifstream in(dir / "bench-dataset.json");
  if (!in) return std::nullopt;
  const json m = json::parse(in, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("bytes")) return std::nullopt;
  json want = manifest_for(a);
  want["bytes"] = m["bytes"];
  if (m != want) return std::nullopt;
  DataSetInfo info;
  info.files = {dir / "items.jsonl", dir / "directory.yaml", m["bytes"].get<uint64_t>()};
  std::error_code ec;
  if (!fs::exists(info.files.directory) || fs::file_size(info.files.items, ec) != info.files.item_bytes || ec)
    return std::nullopt;
  info.reused = true;
  return info;
}

Result<DataSetInfo> prepare_data_set(const fs::path& dir, const BenchArgs& a) {
  if (auto kept = reusable(dir, a)) return *kept;
  const auto started = Clock::now();
  const ChildResult gen = in_child([&] {
    auto ds = sim::write_data_set(dir, a.items, a.seed);
    if (!ds) return json{{"error", ds.error().message}};
    return json{{"bytes", ds->item_bytes}};
  });
  if (gen.report.contains("error")) return Error{fmt::format("generating the data set: {}", gen.report["error"].get<std::string>())};
  DataSetInfo info;
  info.seconds = since(started);
  info.files = {dir / "items.jsonl", dir / "directory.yaml", gen.report["bytes"].get<uint64_t>()};
  json m = manifest_for(a);
  m["bytes"] = info.files.item_bytes;
  std::ofstream(dir / "bench-dataset.json") << m.dump() << '\n';
  return info;
}

// --- the measured run --------------------------------------------------------------------------------

json run_pipeline_measured(const BenchArgs& a, const sim::DataSet& ds, const fs::path& outcomes_path) {
  const rusage at_start = self_usage();
  const auto started = Clock::now();
  auto pack = rules::Pack::load(a.rules);
  if (!pack) return {{"error", pack.error().message}};
  const double pack_seconds = since(started);

  const auto directory_started = Clock::now();
  model::MemoryDirectory directory;
  if (auto st = model::load_directory(ds.directory.string(), directory); !st) return {{"error", st.message()}};
  const double directory_seconds = since(directory_started);
  const double setup_peak_mb = proc_status_mb("VmHWM");
  const double setup_rss_mb = proc_status_mb("VmRSS");
  const bool peak_was_reset = reset_peak_rss();

  rules::PipelineOptions options;
  options.workers = a.workers;
  options.eval.directory = &directory;
  options.eval.now = *parse_now(kBenchNow);
  json input_errors = json::array();
  options.on_input_error = [&](const std::string& e) {
    if (input_errors.size() < 5) input_errors.push_back(e);
  };
  std::ifstream in(ds.items, std::ios::binary);
  std::ofstream out(outcomes_path, std::ios::binary | std::ios::trunc);
  if (!in || !out) return {{"error", fmt::format("cannot open {} or {}", ds.items.string(), outcomes_path.string())}};

  const rusage before = self_usage();
  const auto pipeline_started = Clock::now();
  auto s = rules::run_pipeline(in, ds.items.filename().string(), out, *pack, options);
  out.flush();
  const double pipeline_seconds = since(pipeline_started);
  const rusage after = self_usage();
  const double pipeline_peak_mb = peak_was_reset ? proc_status_mb("VmHWM") : -1;
  if (!s) return {{"error", s.error().message}};
  if (!out) return {{"error", fmt::format("{}: write failed (disk full?)", outcomes_path.string())}};

  return {{"pack", (*pack)->name()},
          {"pack_seconds", pack_seconds},
          {"directory_seconds", directory_seconds},
          {"pipeline_seconds", pipeline_seconds},
          {"total_seconds", since(started)},
          {"pipeline_cpu_seconds", cpu_seconds(after) - cpu_seconds(before)},
          {"inherited_rss_mb", max_rss_mb(at_start)},
          {"setup_peak_mb", setup_peak_mb},
          {"setup_rss_mb", setup_rss_mb},
          {"pipeline_peak_mb", pipeline_peak_mb},
          {"items", s->items},
          {"decided", s->decided},
          {"skipped", s->skipped},
          {"failed", s->failed},
          {"input_errors", s->input_errors},
          {"input_error_examples", input_errors},
          {"warnings", s->warnings},
          {"decided_by_method", s->decided_by_method},
          {"failures_by_type", s->failures_by_type}};
}

// --- which branches of the bench pack the data set took ------------------------------------------------

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool has_astral(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0xF0) return true;
  return false;
}

struct Branches {
  int64_t lines = 0, rd_override = 0, mapped = 0, default_account = 0;
  int64_t tax_none = 0, tax_unknown = 0, tax_reverse = 0, tax_code = 0;
  int64_t with_dimensions = 0;
  int64_t vendor_found = 0, vendor_unknown = 0, vendor_missing = 0;
  int64_t dates_moved = 0, truncated = 0, truncated_astral = 0;
};

std::string setting(const json& settings, std::initializer_list<const char*> path) {
  const json* node = &settings;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return {};
    node = &(*node)[key];
  }
  return node->is_string() ? node->get<std::string>() : std::string();
}

// Reads items and outcomes side by side (outcomes keep input order) and counts each branch of
// REPORT §3's rule set. Only meaningful for the bench pack, whose settings name the accounts.
std::optional<Branches> count_branches(const sim::DataSet& ds, const fs::path& outcomes_path, const json& settings) {
  const std::string rd = setting(settings, {"accounts", "rd_override"});
  const std::string fallback = setting(settings, {"accounts", "default"});
  const std::string none = setting(settings, {"tax", "none"});
  const std::string unknown = setting(settings, {"tax", "unknown"});
  if (rd.empty() || fallback.empty() || none.empty() || unknown.empty()) return std::nullopt;
  std::set<std::string> reverse_codes = {setting(settings, {"tax", "reverse_charge_fallback"})};
  if (settings.contains("tax") && settings["tax"].contains("reverse_charge")) {
    for (const auto& [k, v] : settings["tax"]["reverse_charge"].items())
      if (v.is_string()) reverse_codes.insert(v.get<std::string>());
  }

  Branches b;
  std::ifstream items(ds.items, std::ios::binary);
  std::ifstream outcomes(outcomes_path, std::ios::binary);
  simdjson::dom::parser item_parser;
  simdjson::dom::parser outcome_parser;
  std::string item_line;
  std::string outcome_line;
  while (std::getline(items, item_line) && std::getline(outcomes, outcome_line)) {
    simdjson::dom::element item;
    simdjson::dom::element outcome;
    if (item_parser.parse(item_line).get(item) || outcome_parser.parse(outcome_line).get(outcome)) return std::nullopt;
    std::string_view status;
    if (outcome["status"].get(status)) return std::nullopt;
    if (status == "failed") {
      std::string_view type;
      std::string_view message;
      if (!outcome["failure"]["type"].get(type) && type == "vendor_unknown" && !outcome["failure"]["message"].get(message))
        ++(message.find("names no vendor") != std::string_view::npos ? b.vendor_missing : b.vendor_unknown);
      continue;
    }
    if (status != "decided") continue;
    simdjson::dom::element decisions = outcome;
    std::string_view vendor;
    if (!decisions["vendor"].get(vendor)) ++b.vendor_found;
    simdjson::dom::array lines;
    if (decisions["lines"].get(lines)) return std::nullopt;
    for (simdjson::dom::element line : lines) {
      ++b.lines;
      std::string_view account;
      if (line["account"].get(account)) continue;
      if (account == rd) ++b.rd_override;
      else if (account == fallback) ++b.default_account;
      else ++b.mapped;
      std::string_view tax;
      if (!line["tax"]["code"].get(tax)) {
        if (tax == none) ++b.tax_none;
        else if (tax == unknown) ++b.tax_unknown;
        else if (reverse_codes.count(std::string(tax))) ++b.tax_reverse;
        else ++b.tax_code;
      }
      simdjson::dom::object dims;
      if (!line["dimensions"].get(dims) && dims.size() > 0) ++b.with_dimensions;
    }
    std::string_view posted;
    std::string_view dated;
    if (!decisions["posting"]["date"].get(posted) && !item["date"].get(dated) && posted != dated.substr(0, 10))
      ++b.dates_moved;
    std::string_view source;
    if (item["note"].get(source) || source.empty()) {
      if (item["supplier"]["name"].get(source)) source = {};
    }
    if (code_points(source) > 60) {
      ++b.truncated;
      if (has_astral(source)) ++b.truncated_astral;
    }
  }
  return b;
}

// --- the report -----------------------------------------------------------------------------------

std::string counts(const json& by) {
  std::string s;
  for (const auto& [k, v] : by.items()) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", k, grouped(v.get<int64_t>()));
  return s.empty() ? "" : "  (" + s + ")";
}

std::string percent(int64_t part, int64_t whole) {
  return whole > 0 ? fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole)) : "-";
}

}  // namespace

int run_process(const BenchArgs& a) {
  // The pack is checked here, before anything is generated, so that a typo fails fast.
  auto pack = load_pack_or_report(a.rules);
  if (!pack) return kExitUsage;

  const bool temporary = a.keep.empty();
  const fs::path dir = temporary ? make_temp_dir() : fs::path(a.keep);
  if (dir.empty()) return kExitUsage;
  const Cleanup cleanup{dir, temporary};

  fmt::print("ledgerbridge bench: {} items, seed {}, {} worker{}, rule pack '{}'\n", grouped(static_cast<int64_t>(a.items)),
             a.seed, a.workers, a.workers == 1 ? "" : "s", pack->name());
  fmt::print("  machine      {}, {} hardware thread{}\n", cpu_model(), std::thread::hardware_concurrency(),
             std::thread::hardware_concurrency() == 1 ? "" : "s");
  fmt::print("  build        ledgerbridge {}, {}\n", LB_CLI_VERSION, LB_BUILD_KIND);

  auto data = prepare_data_set(dir, a);
  if (!data) {
    fmt::print(stderr, "error: {}\n", data.error().message);
    return kExitUsage;
  }
  const double mb = static_cast<double>(data->files.item_bytes) / 1e6;
  fmt::print("  data set     {} ({:.1f} MB of JSON lines, {:.2f} KB per item; {}){}\n", dir.string(), mb,
             static_cast<double>(data->files.item_bytes) / 1e3 / static_cast<double>(std::max<size_t>(a.items, 1)),
             data->reused ? "reused" : fmt::format("generated in {:.1f} s", data->seconds),
             temporary ? ", removed afterwards" : "");

  // Each run is its own child process, so every run starts from the same state (a fresh Lua
  // state, a cold JIT, its own peak RSS). A shared machine drifts from run to run: with several
  // runs the targets judge the median, and the spread is shown.
  const fs::path outcomes_path = dir / "outcomes.jsonl";
  std::vector<double> rates, per_cores, peaks;
  ChildResult measured;
  for (int round = 1; round <= a.runs; ++round) {
    measured = in_child([&] { return run_pipeline_measured(a, data->files, outcomes_path); });
    const json& r = measured.report;
    if (r.contains("error")) {
      fmt::print(stderr, "error: {}\n", r["error"].get<std::string>());
      return kExitUsage;
    }
    const auto items = r["items"].get<int64_t>();
    const double wall = r["pipeline_seconds"].get<double>();
    const double cpu = r["pipeline_cpu_seconds"].get<double>();
    const double rate = wall > 0 ? static_cast<double>(items) / wall : 0;
    const double per_core = cpu > 0 ? static_cast<double>(items) / cpu : 0;
    rates.push_back(rate), per_cores.push_back(per_core), peaks.push_back(max_rss_mb(measured.usage));
    if (round == 1) {
      fmt::print("  setup        pack {:.3f} s, ERP directory {:.3f} s (5,000 vendors, YAML)\n",
                 r["pack_seconds"].get<double>(), r["directory_seconds"].get<double>());
    }
    fmt::print("  pipeline     {}{:.3f} s wall, {:.3f} s CPU: {} items/s ({:.0f} MB/s), {} items per CPU-second\n",
               a.runs > 1 ? fmt::format("run {}: ", round) : "", wall, cpu, grouped(static_cast<int64_t>(rate)),
               mb / std::max(wall, 1e-9), grouped(static_cast<int64_t>(per_core)));
  }
  const json& r = measured.report;  // the last run's; every run writes the same outcomes
  const auto items = r["items"].get<int64_t>();
  const double rate = median(rates);
  const double per_core = median(per_cores);
  const double peak = *std::max_element(peaks.begin(), peaks.end());
  if (a.runs > 1) {
    const auto [low, high] = std::minmax_element(rates.begin(), rates.end());
    const auto [low_core, high_core] = std::minmax_element(per_cores.begin(), per_cores.end());
    fmt::print("  median       {} items/s ({}–{}), {} items per CPU-second ({}–{}) over {} runs\n",
               grouped(static_cast<int64_t>(rate)), grouped(static_cast<int64_t>(*low)),
               grouped(static_cast<int64_t>(*high)), grouped(static_cast<int64_t>(per_core)),
               grouped(static_cast<int64_t>(*low_core)), grouped(static_cast<int64_t>(*high_core)), a.runs);
  } else {
    fmt::print("  whole run    {:.3f} s wall incl. setup, {:.3f} s CPU: {} items/s\n", r["total_seconds"].get<double>(),
               cpu_seconds(measured.usage),
               grouped(static_cast<int64_t>(static_cast<double>(items) / r["total_seconds"].get<double>())));
  }
  fmt::print("  peak RSS     {:.1f} MB, the whole measured process{} ({:.1f} MB of it inherited at fork)\n", peak,
             a.runs > 1 ? ", highest run" : "", r["inherited_rss_mb"].get<double>());
  fmt::print("               setup (pack + ERP directory): peak {:.1f} MB, {:.1f} MB resident after it\n",
             r["setup_peak_mb"].get<double>(), r["setup_rss_mb"].get<double>());
  if (r["pipeline_peak_mb"].get<double>() >= 0)
    fmt::print("               pipeline: peak {:.1f} MB\n", r["pipeline_peak_mb"].get<double>());
  fmt::print("  outcomes     {}\n", temporary ? "(in the temporary folder)" : outcomes_path.string());
  fmt::print("    decided    {} ({}){}\n", grouped(r["decided"].get<int64_t>()), percent(r["decided"].get<int64_t>(), items),
             counts(r["decided_by_method"]));
  fmt::print("    skipped    {}\n", grouped(r["skipped"].get<int64_t>()));
  fmt::print("    failed     {} ({}){}\n", grouped(r["failed"].get<int64_t>()), percent(r["failed"].get<int64_t>(), items),
             counts(r["failures_by_type"]));
  fmt::print("    bad input  {}\n", grouped(r["input_errors"].get<int64_t>()));
  for (const auto& e : r["input_error_examples"]) fmt::print("               {}\n", e.get<std::string>());
  fmt::print("    warnings   {}\n", grouped(r["warnings"].get<int64_t>()));

  if (r["input_errors"].get<int64_t>() == 0) {
    if (auto b = count_branches(data->files, outcomes_path, pack->settings())) {
      fmt::print("  branches (decided items)\n");
      fmt::print("    account    {} lines: mapped {}, R&D override {}, default {}; {} with dimensions\n", grouped(b->lines),
                 grouped(b->mapped), grouped(b->rd_override), grouped(b->default_account), grouped(b->with_dimensions));
      fmt::print("    tax        no tax {}, unknown code {}, reverse charge {}, Pleo's code {}\n", grouped(b->tax_none),
                 grouped(b->tax_unknown), grouped(b->tax_reverse), grouped(b->tax_code));
      fmt::print("    vendor     found {}; vendor_unknown: not in the ERP {}, no reference {}\n", grouped(b->vendor_found),
                 grouped(b->vendor_unknown), grouped(b->vendor_missing));
      fmt::print("    posting    {} dates moved out of closed months, {} descriptions truncated ({} with emoji)\n",
                 grouped(b->dates_moved), grouped(b->truncated), grouped(b->truncated_astral));
    }
  }

  const bool one_core = a.workers == 1;
  const double measured_rate = one_core ? rate : per_core;
  fmt::print("  targets\n");
  fmt::print("    {:<48}{:>12} {:<18}{}\n",
             fmt::format("throughput >= {} items/s on one core", grouped(static_cast<int64_t>(kTargetItemsPerSecond))),
             grouped(static_cast<int64_t>(measured_rate)), one_core ? "items/s" : "items/CPU-second",
             measured_rate >= kTargetItemsPerSecond ? "PASS" : "MISS");
  fmt::print("    {:<48}{:>12.1f} {:<18}{}\n", fmt::format("peak RSS < {:.0f} MB whatever the input size", kTargetPeakRssMb),
             peak, "MB", peak < kTargetPeakRssMb ? "PASS" : "MISS");
  if (!one_core) fmt::print("    (with {} workers, throughput per core is items per CPU-second of the pipeline)\n", a.workers);
  if (a.runs > 1) fmt::print("    (throughput: the median of {} runs; peak RSS: the highest run)\n", a.runs);
  return kExitOk;
}

}  // namespace lb::cli::bench
