#include "cli/common.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "erp/directory_content.hpp"
#include "erp/sqlite_erp.hpp"
#include "sim/generate.hpp"
#include "sim/pleo_server.hpp"
#include "workflow/config.hpp"

namespace lb::cli {

Result<std::filesystem::path> shipped_pack(const std::string& name) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code ec;
  for (const auto& dir : rules::shipped_pack_dirs()) candidates.push_back(dir / name);
  std::string looked;
  for (const auto& dir : candidates) {
    if (fs::is_regular_file(dir / "pack.toml", ec)) return dir;
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  return Error{fmt::format("the shipped rule pack '{}' was not found (looked in {}); give its folder with --rules",
                           name, looked)};
}

bool configure_sim_companies(const std::filesystem::path& state, const std::filesystem::path& rules,
                             const sim::PleoServer& server, workflow::Config& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(state, ec);
  const fs::path world = state / "world-directory.yaml";
  {
    std::ofstream out(world);
    sim::write_directory(out);
  }
  auto content = erp::read_directory_content(world.string());
  if (!content) {
    fmt::print(stderr, "error: {}\n", content.error().message);
    return false;
  }
  config.ledger = state / "ledger.sqlite";
  for (const auto& company : server.companies()) {
    workflow::CompanyConfig c;
    c.id = company.id;
    c.name = fmt::format("{} ({})", company.country, company.currency);
    c.pleo = "sim";
    c.rules = rules;
    c.erp_kind = "sqlite";
    c.erp_path = (state / fmt::format("erp-{}.sqlite", company.id.substr(0, 8))).string();
    const bool fresh = !fs::exists(c.erp_path);
    auto erp = erp::SqliteErp::open(c.erp_path, {.create = true});
    if (!erp) {
      fmt::print(stderr, "error: {}\n", erp.error().message);
      return false;
    }
    if (fresh) {
      if (auto st = (*erp)->seed(*content); !st) {
        fmt::print(stderr, "error: seeding {}: {}\n", c.erp_path, st.message());
        return false;
      }
    }
    config.companies.push_back(std::move(c));
  }
  return true;
}

std::shared_ptr<const rules::Pack> load_pack_or_report(const std::string& dir) {
  auto pack = rules::Pack::load(dir);
  if (!pack) {
    fmt::print(stderr, "error: {}\n", pack.error().message);
    return nullptr;
  }
  return *pack;
}

bool load_directory_or_report(const std::string& path, model::MemoryDirectory& into) {
  if (path.empty()) return true;
  if (auto st = model::load_directory(path, into); !st) {
    fmt::print(stderr, "error: {}\n", st.message());
    return false;
  }
  return true;
}

bool parse_overrides(const std::vector<std::string>& sets, nlohmann::json& into) {
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "error: --set {}: expected key=value (key may be dotted: policies.closed_period=fail)\n", s);
      return false;
    }
    nlohmann::json* node = &into;
    std::istringstream keys(s.substr(0, eq));
    std::string key;
    while (std::getline(keys, key, '.')) {
      if (!node->is_object()) *node = nlohmann::json::object();
      node = &(*node)[key];
    }
    // Account codes look like numbers ("5810", "0810"): keep scalars as text unless they are
    // JSON booleans, null, objects, arrays or quoted strings. Text for a numeric setting becomes
    // a number when the evaluator merges the overrides (rules::merge_overrides).
    const std::string value = s.substr(eq + 1);
    const bool structured = value == "true" || value == "false" || value == "null" ||
                            (!value.empty() && (value[0] == '{' || value[0] == '[' || value[0] == '"'));
    *node = structured && nlohmann::json::accept(value) ? nlohmann::json::parse(value) : nlohmann::json(value);
  }
  return true;
}

std::optional<int64_t> parse_now(const std::string& iso) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const int n = std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s);
  if (n != 3 && n != 6) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto days = std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(static_cast<unsigned>(mo)) /
                                          std::chrono::day(static_cast<unsigned>(d)));
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count() + h * 3600 + mi * 60 + s;
}

void add_ceiling_options(CLI::App* cmd, CeilingArgs& args, bool from_config) {
  const auto help = [from_config](const char* limit, int default_value) {
    return fmt::format("Refuse a rule pack whose [limits] {} (after extends; default {}) is above this{}", limit,
                       default_value,
                       from_config ? fmt::format("; replaces the configuration's [limits] max_{}", limit) : "");
  };
  cmd->add_option("--max-memory-mb", args.max_memory_mb, help("memory_mb", 64))
      ->check(CLI::Range(int64_t{1}, rules::kMaxMemoryMb));
  cmd->add_option("--max-hook-cpu-ms", args.max_hook_cpu_ms, help("hook_cpu_ms", 100))
      ->check(CLI::Range(int64_t{1}, rules::kMaxHookCpuMs));
}

rules::LimitCeiling ceiling_of(const CeilingArgs& args, rules::LimitCeiling base) {
  return base.replaced_by(args.max_memory_mb, args.max_hook_cpu_ms);
}

void add_eval_options(CLI::App* cmd, EvalArgs& args) {
  cmd->add_option("-d,--directory", args.directory, "ERP directory: a YAML/JSON file or a folder of CSV files");
  cmd->add_option("--set", args.sets, "Override a pack setting: key=value (dotted keys)");
  cmd->add_option("--now", args.now, "Freeze the rules' clock at this UTC date/time (default: now)");
  add_ceiling_options(cmd, args.ceiling);
}

bool make_eval_options(const EvalArgs& args, model::MemoryDirectory& directory, rules::EvalOptions& out) {
  if (!load_directory_or_report(args.directory, directory)) return false;
  out.directory = &directory;
  out.ceiling = ceiling_of(args.ceiling);
  if (!parse_overrides(args.sets, out.settings_override)) return false;
  out.overrides_from = "--set";
  if (!args.now.empty()) {
    const auto now = parse_now(args.now);
    if (!now) {
      fmt::print(stderr, "error: --now {}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n", args.now);
      return false;
    }
    out.now = *now;
  }
  return true;
}

}  // namespace lb::cli
