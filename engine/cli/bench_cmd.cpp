// ledgerbridge bench: generates synthetic Pleo v3 items (engine/sim), runs the same pipeline as
// `process` over them with the sandbox limits on, and reports throughput and peak memory next to
// the targets (>= 150k items/s on one core; peak RSS < 64 MB whatever the input size). Targets
// are reported, not asserted: the command exits 0 whether they are met or not.
//
// Generation and the measured run each happen in a child process. Linux carries a process's peak
// RSS across fork (and exec), so a pipeline run in the process that generated the data would
// report the generator's peak, not its own; the parent stays small and only forks and reports.
//
// --e2e measures the whole export instead (issue #4): the simulated Pleo on loopback HTTP with
// N jobs x M items per company, one SQLite ERP per company and the SQLite ledger in a temporary
// folder, and the real workflow (workflow::run_once, as `ledgerbridge run` calls it, in the
// measured child) with the shipped pleo-sim pack. It reports items per second end to end, Export API
// requests per job against the minimum (workflow/minimum_requests.hpp), the 429s Pleo answered
// and peak RSS. Those three counts are correctness, not speed, and are checked: the command
// exits 1 when a job did not finish, a request more than the minimum was made, or a 429 came.
#include <fcntl.h>
#include <fmt/format.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "pleo/rate_limiter.hpp"
#include "rules/pipeline.hpp"
#include "sim/generate.hpp"
#include "sim/pleo_server.hpp"
#include "workflow/minimum_requests.hpp"
#include "workflow/runner.hpp"

namespace lb::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kTargetItemsPerSecond = 150000;  // on one core
constexpr double kTargetPeakRssMb = 64;           // whatever the input size
// The rules' clock is frozen so that two runs of the same data set decide the same things.
constexpr const char* kBenchNow = "2026-02-01T12:00:00Z";

struct BenchArgs {
  std::size_t items = 100000;
  int workers = 1;
  int runs = 1;  // measured pipeline runs over the same data set; the targets judge their median
  uint64_t seed = 1;
  std::string keep;
  std::string rules = LB_BENCH_PACK_DIR;
  bool rules_given = false;
  // --e2e
  bool e2e = false;
  int companies = 1;
  int jobs = 5;         // pending jobs per company: a backlog, worked oldest first
  int job_items = 600;  // items per job
  bool attachments = true;  // fetch receipts and attach them (§2.8), as `run` does by default
};

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double seconds_of(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }
double cpu_seconds(const rusage& ru) { return seconds_of(ru.ru_utime) + seconds_of(ru.ru_stime); }
double max_rss_mb(const rusage& ru) { return static_cast<double>(ru.ru_maxrss) / 1024.0; }  // Linux: KiB

rusage self_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru;
}

// The middle value; for an even count, the mean of the two middle ones.
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
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

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

struct ChildResult {
  bool exited_ok = false;
  rusage usage{};
  json report;  // what the child wrote to the pipe; {"error": ...} when it failed
};

void write_all(int fd, const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// Runs `fn(input)` in a forked child; `fn` returns a JSON report that comes back through a
// pipe. `make_input` runs in the parent after the fork, and its JSON reaches the child through
// a second pipe (the child waits for it): what the parent does for the child (e.g. start the
// simulated Pleo's threads) is neither inherited by the child nor counted in its peak RSS, and
// the child is forked from a single-threaded process. An input with "error" makes the child
// return it unrun. The child leaves with _exit so that it never flushes stdio buffers or runs
// destructors it shares with the parent.
template <typename MakeInput, typename Fn>
ChildResult in_child_with_input(MakeInput make_input, Fn fn) {
  ChildResult result;
  int out[2];
  int in[2];
  if (pipe(out) != 0) {
    result.report = {{"error", fmt::format("pipe: {}", std::strerror(errno))}};
    return result;
  }
  if (pipe(in) != 0) {
    close(out[0]);
    close(out[1]);
    result.report = {{"error", fmt::format("pipe: {}", std::strerror(errno))}};
    return result;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], in[0], in[1]}) close(fd);
    result.report = {{"error", fmt::format("fork: {}", std::strerror(errno))}};
    return result;
  }
  if (pid == 0) {
    close(out[0]);
    close(in[1]);
    const std::string input_text = read_all(in[0]);
    close(in[0]);
    std::string text;
    try {
      const json input = json::parse(input_text.empty() ? std::string("null") : input_text);
      text = input.is_object() && input.contains("error") ? input.dump() : fn(input).dump();
    } catch (const std::exception& e) {
      text = json{{"error", e.what()}}.dump();
    }
    write_all(out[1], text);
    close(out[1]);
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(0);
  }
  close(out[1]);
  close(in[0]);
  json input;
  try {
    input = make_input();
  } catch (const std::exception& e) {
    input = {{"error", e.what()}};
  }
  write_all(in[1], input.dump());
  close(in[1]);
  const std::string text = read_all(out[0]);
  close(out[0]);
  int status = 0;
  while (wait4(pid, &status, 0, &result.usage) < 0 && errno == EINTR) {
  }
  result.exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!result.exited_ok) {
    result.report = {{"error", WIFSIGNALED(status) ? fmt::format("the child process died of signal {}", WTERMSIG(status))
                                                   : fmt::format("the child process exited with {}", WEXITSTATUS(status))}};
  } else if (!json::accept(text)) {
    result.exited_ok = false;
    result.report = {{"error", "the child process sent no report"}};
  } else {
    result.report = json::parse(text);
  }
  return result;
}

// in_child_with_input without input.
template <typename Fn>
ChildResult in_child(Fn fn) {
  return in_child_with_input([] { return json(); }, [&](const json&) { return fn(); });
}

// A fresh folder under $TMPDIR (or /tmp); empty (and reported) when it cannot be made.
fs::path make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (fs::path(tmp && *tmp ? tmp : "/tmp") / "ledgerbridge-bench-XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    fmt::print(stderr, "error: cannot create a temporary directory: {}\n", std::strerror(errno));
    return {};
  }
  return pattern;
}

struct Cleanup {
  fs::path dir;
  bool active;
  ~Cleanup() {
    std::error_code ec;
    if (active) fs::remove_all(dir, ec);
  }
};

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

int run(const BenchArgs& a) {
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

// --- end to end (--e2e) ------------------------------------------------------------------------------
// The simulated Pleo runs in this (parent) process; the workflow runs alone in the measured
// child, forked before the simulator starts, so the child's CPU time and peak RSS are the
// workflow's own (ledger, ERPs, rules, HTTP client), not the simulator's, which holds every
// job's items and serves the receipts.

int64_t count_of(const json& by, const char* key) { return by.contains(key) ? by[key].get<int64_t>() : 0; }

// In the parent, after the fork: the simulated Pleo and the ERPs; what the child needs to run.
json start_e2e_world(const BenchArgs& a, const fs::path& rules, const fs::path& state,
                     std::unique_ptr<sim::PleoServer>& server) {
  sim::PleoServerConfig sc;
  sc.seed = a.seed;
  sc.companies = a.companies;
  sc.jobs_per_company = a.jobs;
  sc.items_per_job = a.job_items;
  // Pleo's documented limit (§4.2), enforced: the client keeps to its own lower budget, so a
  // compliant run meets no 429.
  sc.rate_limit_per_minute = pleo::RateLimiter::kPleoMaxPerMinute;
  server = std::make_unique<sim::PleoServer>(sc);
  if (auto st = server->start(); !st) return {{"error", "simulated Pleo: " + st.message()}};
  workflow::Config config;
  if (!configure_sim_companies(state, rules, *server, config)) return {{"error", "setting up the simulated companies"}};
  json companies = json::array();
  for (const auto& c : config.companies)
    companies.push_back({{"id", c.id}, {"name", c.name}, {"rules", c.rules.string()}, {"erp", c.erp_path}});
  json keys = json::object();
  for (const auto& c : server->companies()) keys[c.id] = c.api_key;
  return {{"base_url", server->base_url()}, {"api_keys", keys}, {"ledger", config.ledger.string()},
          {"companies", companies}, {"attachments", a.attachments}};
}

// In the measured child: `ledgerbridge run` over the world the parent started.
json run_e2e_measured(const json& world) {
  const rusage at_start = self_usage();
  workflow::Config config;
  config.ledger = world["ledger"].get<std::string>();
  for (const auto& c : world["companies"]) {
    workflow::CompanyConfig company;
    company.id = c["id"].get<std::string>();
    company.name = c["name"].get<std::string>();
    company.pleo = "sim";
    company.rules = c["rules"].get<std::string>();
    company.erp_kind = "sqlite";
    company.erp_path = c["erp"].get<std::string>();
    company.attachments = world["attachments"].get<bool>();
    config.companies.push_back(std::move(company));
  }
  workflow::RunOptions options;
  options.sim_base_url = world["base_url"].get<std::string>();
  for (const auto& [id, key] : world["api_keys"].items()) options.sim_api_keys[id] = key.get<std::string>();
  options.now = *parse_now(kBenchNow);

  const rusage before = self_usage();
  const auto started = Clock::now();
  const auto results = workflow::run_once(config, options);
  const double seconds = since(started);
  const rusage after = self_usage();

  json errors = json::array();
  int64_t successful = 0, failed = 0, documents = 0;
  for (const auto& r : results) {
    if (!r.error.empty()) errors.push_back(r.company_id + ": " + r.error);
    if (!r.summary.error.empty()) errors.push_back(r.company_id + ": " + r.summary.error);
    for (const auto& j : r.summary.jobs) {
      successful += j.successful;
      failed += j.failed;
      documents += j.documents_posted;
      if (!j.stopped.empty()) errors.push_back("job " + j.job_id + " stopped: " + j.stopped);
    }
    if (r.summary.jobs_skipped) errors.push_back(fmt::format("{}: {} jobs skipped", r.company_id, r.summary.jobs_skipped));
  }
  return {{"run_seconds", seconds},
          {"run_cpu_seconds", cpu_seconds(after) - cpu_seconds(before)},
          {"inherited_rss_mb", max_rss_mb(at_start)},
          {"successful", successful},
          {"failed", failed},
          {"documents", documents},
          {"errors", errors}};
}

int run_e2e(const BenchArgs& a) {
  fs::path rules;
  if (a.rules_given) {
    rules = fs::absolute(a.rules);
  } else if (auto shipped = shipped_pack("pleo-sim")) {
    rules = *shipped;
  } else {
    fmt::print(stderr, "error: {}\n", shipped.error().message);
    return kExitUsage;
  }
  auto pack = load_pack_or_report(rules.string());
  if (!pack) return kExitUsage;
  const bool temporary = a.keep.empty();
  if (!temporary) {
    // The same seed makes the same job ids: a ledger left from an earlier run would take them
    // for jobs it already exported. Nothing is deleted here; the folder must start empty.
    std::error_code ec;
    if (fs::exists(a.keep, ec) && !fs::is_empty(a.keep, ec)) {
      fmt::print(stderr, "error: --keep {}: the folder is not empty; give a new or empty one\n", a.keep);
      return kExitUsage;
    }
  }
  const fs::path dir = temporary ? make_temp_dir() : fs::path(a.keep);
  if (dir.empty()) return kExitUsage;
  const Cleanup cleanup{dir, temporary};

  const int64_t planned = static_cast<int64_t>(a.companies) * a.jobs * a.job_items;
  fmt::print("ledgerbridge bench --e2e: {} compan{} x {} jobs x {} items = {} items, seed {}, rule pack '{}'\n",
             a.companies, a.companies == 1 ? "y" : "ies", a.jobs, grouped(a.job_items), grouped(planned), a.seed,
             pack->name());
  fmt::print("  machine      {}, {} hardware thread{}\n", cpu_model(), std::thread::hardware_concurrency(),
             std::thread::hardware_concurrency() == 1 ? "" : "s");
  fmt::print("  state        {} (ledger and SQLite ERPs{})\n", dir.string(), temporary ? ", removed afterwards" : "");
  fmt::print("  receipts     {}\n", a.attachments ? "downloaded and attached to the ERP documents (8 KB to 2.5 MB each)"
                                                  : "off (--no-attachments)");

  std::unique_ptr<sim::PleoServer> server;
  double setup_seconds = 0;
  rusage parent_before{};
  const ChildResult measured = in_child_with_input(
      [&] {
        const auto t = Clock::now();
        json world = start_e2e_world(a, rules, dir, server);
        setup_seconds = since(t);
        parent_before = self_usage();
        return world;
      },
      [](const json& world) { return run_e2e_measured(world); });
  const rusage parent_after = self_usage();
  const json& r = measured.report;
  if (r.contains("error")) {
    fmt::print(stderr, "error: {}\n", r["error"].get<std::string>());
    return kExitUsage;
  }

  // What Pleo holds and counted: the jobs' items and final states, every request.
  int64_t items = 0, jobs = 0, jobs_final = 0;
  json final_states = json::object();
  std::map<std::string, std::vector<int64_t>> items_per_job;  // by company
  for (const auto& id : server->job_ids()) {
    const auto job = server->job(id);
    if (!job) continue;
    ++jobs;
    items += static_cast<int64_t>(job->items.size());
    items_per_job[job->company_id].push_back(static_cast<int64_t>(job->items.size()));
    if (job->status == "completed" || job->status == "completed_with_errors" || job->status == "failed") {
      ++jobs_final;
      final_states[job->status] = count_of(final_states, job->status.c_str()) + 1;
    }
  }
  workflow::MinimumRequests m;
  for (const auto& [company, per_job] : items_per_job) {
    const auto one = workflow::minimum_requests(per_job, server->page_cap());
    m.listing += one.listing;
    m.control_pages += one.control_pages;
    m.data_pages += one.data_pages;
    m.updates += one.updates;
    m.events += one.events;
  }
  const sim::SimCounters c = server->counters();
  const auto op = [&](const char* name) {
    const auto it = c.requests.find(name);
    return static_cast<int64_t>(it == c.requests.end() ? 0 : it->second);
  };
  const int64_t requests = sim::export_api_requests(c);
  const int64_t minimum = m.total();
  const int64_t rate_limited = c.rate_limited + c.faults_rate_limit;
  const int64_t budget = pleo::RateLimiter::kDefaultPerMinute;

  const double wall = r["run_seconds"].get<double>();
  const double cpu = r["run_cpu_seconds"].get<double>();
  const double sim_cpu = cpu_seconds(parent_after) - cpu_seconds(parent_before);
  const int64_t done = r["successful"].get<int64_t>() + r["failed"].get<int64_t>();
  fmt::print("  setup        simulated Pleo started, ERPs seeded: {:.2f} s (not measured below)\n", setup_seconds);
  fmt::print("  run          {:.3f} s wall: {} items/s end to end; CPU {:.3f} s workflow, {:.3f} s simulated Pleo\n",
             wall, grouped(static_cast<int64_t>(wall > 0 ? static_cast<double>(done) / wall : 0)), cpu, sim_cpu);
  std::string states;
  for (const auto& [k, v] : final_states.items()) states += fmt::format("{}{} {}", states.empty() ? "" : ", ", k, v.get<int64_t>());
  fmt::print("  jobs         {} of {} final ({}); items successful {}, failed {}; {} documents posted\n", jobs_final,
             jobs, states, grouped(r["successful"].get<int64_t>()), grouped(r["failed"].get<int64_t>()),
             grouped(r["documents"].get<int64_t>()));
  for (const auto& e : r["errors"]) fmt::print("               {}\n", e.get<std::string>());
  const auto per_job = [&](int64_t n) { return jobs > 0 ? static_cast<double>(n) / static_cast<double>(jobs) : 0.0; };
  const int64_t listing = op(sim::PleoServer::kOpListJobs);
  fmt::print("  requests     Export API {} = {:.1f} per job + {} listing; minimum {} = {:.1f} per job + {} listing\n",
             grouped(requests), per_job(requests - listing), listing, grouped(minimum), per_job(minimum - m.listing),
             m.listing);
  fmt::print("               made:    control pages {}, data pages {}, item updates {}, job events {}, job reads {}\n",
             op(sim::PleoServer::kOpListJobItems), op(sim::PleoServer::kOpExportItems),
             op(sim::PleoServer::kOpUpdateJobItems), op(sim::PleoServer::kOpJobEvent), op(sim::PleoServer::kOpGetJob));
  fmt::print("               minimum: control pages {}, data pages {}, item updates {}, job events {} ({} items a page, "
             "the most the server gives; 100 updates a request)\n",
             m.control_pages, m.data_pages, m.updates, m.events, server->page_cap());
  const int64_t master = op(sim::PleoServer::kOpTaxCodes) + op(sim::PleoServer::kOpTags) +
                         op(sim::PleoServer::kOpAccounts) + op(sim::PleoServer::kOpVendors);
  fmt::print("               not Export API: master data {} (the rules read the ERP's directory), receipt downloads {}\n",
             master, grouped(op(sim::PleoServer::kOpFile)));
  // The client keeps to its budget per credential (one per company): past it, the budget paces
  // the run, not the engine, and items/s says so.
  const int64_t per_company = (requests + a.companies - 1) / a.companies;  // the companies' jobs are alike
  const std::string pacing =
      per_company <= budget ? std::string("each company's requests fit in one minute's budget: none waited")
                            : fmt::format("about {} requests a company: the budget paced the run (at least {} s of it)",
                                          grouped(per_company), (per_company - 1) / budget * 60);
  fmt::print("  rate limit   {} answered 429; the client's budget {}/min per credential, Pleo's limit {}/min; {}\n",
             rate_limited, budget, pleo::RateLimiter::kPleoMaxPerMinute, pacing);
  fmt::print("  peak RSS     {:.1f} MB, the workflow's process ({:.1f} MB of it inherited at fork; the simulated Pleo "
             "runs in another)\n",
             max_rss_mb(measured.usage), r["inherited_rss_mb"].get<double>());

  const bool all_final = jobs_final == jobs && done == items && r["errors"].empty();
  const bool at_minimum = requests == minimum;
  const bool no_429 = rate_limited == 0;
  fmt::print("  checks\n");
  fmt::print("    {:<40}{}\n", "every job final, every item reported", all_final ? "PASS" : "FAIL");
  fmt::print("    {:<40}{}  ({} made, minimum {})\n", "Export API requests == minimum", at_minimum ? "PASS" : "FAIL",
             requests, minimum);
  fmt::print("    {:<40}{}  ({})\n", "no 429 from Pleo", no_429 ? "PASS" : "FAIL", rate_limited);
  return all_final && at_minimum && no_429 ? kExitOk : kExitFailures;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench", "Generate synthetic Pleo v3 items and measure the process pipeline (throughput, peak memory), or "
               "with --e2e the whole export against the simulated Pleo");
  auto* items = cmd->add_option("-n,--items", args->items, "Number of items to generate")->check(CLI::Range(1, 100000000));
  auto* workers =
      cmd->add_option("-j,--workers", args->workers, "Worker threads, each with its own Lua state")->check(CLI::Range(1, 64));
  auto* runs = cmd->add_option("--runs", args->runs,
                               "Measure the pipeline this many times over the same data set, each run in a fresh "
                               "process; the targets judge the median (a shared machine drifts from run to run)")
                   ->check(CLI::Range(1, 100))
                   ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the item generator (same seed, same items)");
  cmd->add_option("--keep", args->keep,
                  "Write the data set and outcomes into this folder and keep them (reused by later runs with the "
                  "same --items and --seed); with --e2e, the ledger and the ERPs (a new or empty folder)");
  auto* rules = cmd->add_option("-r,--rules", args->rules,
                                "Rule pack folder (default: tests/bench/pack; with --e2e the shipped pleo-sim pack)");
  auto* e2e = cmd->add_flag("--e2e", args->e2e,
                            "End to end: the simulated Pleo over loopback HTTP, the workflow of `run`, a SQLite ledger "
                            "and ERPs; items/s, Export API requests per job against the minimum, 429s, peak RSS");
  e2e->excludes(items)->excludes(workers)->excludes(runs);
  cmd->add_option("--companies", args->companies, "--e2e: simulated companies, each its own credential")
      ->check(CLI::Range(1, 20))
      ->capture_default_str()
      ->needs(e2e);
  cmd->add_option("--jobs", args->jobs, "--e2e: pending jobs per company (a backlog, worked oldest first)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str()
      ->needs(e2e);
  cmd->add_option("--job-items", args->job_items, "--e2e: items per job")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str()
      ->needs(e2e);
  cmd->add_flag("!--no-attachments", args->attachments, "--e2e: do not fetch receipts or attach them to the ERP documents")
      ->needs(e2e);
  cmd->callback([args, rules, &exit_code] {
    args->rules_given = rules->count() > 0;
    exit_code = args->e2e ? run_e2e(*args) : run(*args);
  });
}

}  // namespace lb::cli
