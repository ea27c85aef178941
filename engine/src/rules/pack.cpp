#include "rules/pack.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <link.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "model/csv.hpp"

namespace lb::rules {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxChain = 16;

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot read file", path.string())};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json to_json(const toml::node& node) {
  if (auto* t = node.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = to_json(v);
    return j;
  }
  if (auto* a = node.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (auto* s = node.as_string()) return s->get();
  if (auto* i = node.as_integer()) return i->get();
  if (auto* f = node.as_floating_point()) return f->get();
  if (auto* b = node.as_boolean()) return b->get();
  // Dates and times: kept as the ISO text they were written as.
  std::ostringstream ss;
  if (auto* d = node.as_date()) ss << d->get();
  else if (auto* t = node.as_time()) ss << t->get();
  else if (auto* dt = node.as_date_time()) ss << dt->get();
  return ss.str();
}

std::string where(const fs::path& file, const toml::node& node) {
  return fmt::format("{}:{}", file.string(), node.source().begin.line);
}

// Every .lua file of the pack except fixtures, by path relative to the pack.
Status read_lua_files(PackLevel& level) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(level.dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) return Error{fmt::format("{}: {}", level.dir.string(), ec.message())};
    const fs::path rel = fs::relative(it->path(), level.dir);
    if (it->is_directory() && (rel == "fixtures" || rel.filename().string().starts_with("."))) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->path().extension() != ".lua") continue;
    auto source = read_file(it->path());
    if (!source) return Error{source.error().message};
    level.files[rel.generic_string()] = std::move(*source);
  }
  return {};
}

Status read_table(PackLevel& level, const fs::path& toml_path, const std::string& name,
                  const toml::node& spec) {
  PackTable table;
  table.name = name;
  std::string file;
  std::string key;
  if (auto* s = spec.as_string()) {
    file = s->get();
  } else if (auto* t = spec.as_table()) {
    for (const auto& [k, v] : *t) {
      if (k == "file" && v.is_string()) file = *v.value<std::string>();
      else if (k == "key" && v.is_string()) key = *v.value<std::string>();
      else
        return Error{fmt::format("{}: tables.{}.{}: unknown or mistyped field (expected file, key)",
                                 where(toml_path, v), name, k.str())};
    }
  }
  if (file.empty())
    return Error{fmt::format("{}: tables.{}: needs file = \"tables/<name>.csv\"", where(toml_path, spec), name)};
  const fs::path path = level.dir / file;
  // Inside the pack folder only, like its Lua files: a table is read into the rules, which could
  // otherwise carry any file the engine can read into outcomes and logs.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(path, ec);
  const fs::path root = fs::weakly_canonical(level.dir, ec);
  const fs::path inside = real.lexically_relative(root);
  if (fs::path(file).is_absolute() || inside.empty() || *inside.begin() == "..")
    return Error{fmt::format("{}: tables.{}: '{}' is outside the pack folder (a table file must be inside it)",
                             where(toml_path, spec), name, file)};
  auto csv = model::read_csv(path.string());
  if (!csv) return Error{fmt::format("{}: tables.{}: {}", where(toml_path, spec), name, csv.error().message)};
  table.source = (fs::path(level.chunk_prefix) / file).generic_string();
  table.columns = csv->header;
  if (table.columns.empty()) return Error{fmt::format("{}: the table has no header row", path.string())};
  table.key = key.empty() ? table.columns.front() : key;
  const auto key_col = csv->column(table.key);
  if (!key_col)
    return Error{fmt::format("{}: tables.{}: key column '{}' is not in {}", where(toml_path, spec), name,
                             table.key, table.source)};
  std::set<std::string> seen;
  for (size_t r = 0; r < csv->rows.size(); ++r) {
    const std::string& k = csv->rows[r][*key_col];
    if (!seen.insert(k).second)
      return Error{fmt::format("{}:{}: duplicate key '{}' in column '{}'", path.string(), csv->row_lines[r], k,
                               table.key)};
  }
  table.rows = std::move(csv->rows);
  level.tables.emplace(name, std::move(table));
  return {};
}

struct Manifest {
  PackLevel level;
  std::string extends;
  std::optional<size_t> memory_bytes;  // [limits], each key on its own: children override per key
  std::optional<std::chrono::milliseconds> hook_budget;
};

Result<Manifest> read_manifest(const fs::path& dir) {
  Manifest m;
  m.level.dir = fs::weakly_canonical(dir);
  const fs::path toml_path = m.level.dir / "pack.toml";
  if (!fs::exists(toml_path))
    return Error{fmt::format("{}: not a rule pack (no pack.toml)", m.level.dir.string())};
  toml::table doc;
  try {
    doc = toml::parse_file(toml_path.string());
  } catch (const toml::parse_error& e) {
    return Error{fmt::format("{}:{}:{}: {}", toml_path.string(), e.source().begin.line, e.source().begin.column,
                             e.description())};
  }
  m.level.name = m.level.dir.filename().string();
  for (const auto& [k, v] : doc) {
    const std::string key(k.str());
    if (key == "name" && v.is_string()) m.level.name = *v.value<std::string>();
    else if (key == "extends" && v.is_string()) m.extends = *v.value<std::string>();
    else if (key == "description" && v.is_string()) m.level.description = *v.value<std::string>();
    else if (key == "settings" && v.is_table()) m.level.settings = to_json(v);
    else if (key == "tables" && v.is_table()) continue;  // after the name is known
    else if (key == "limits" && v.is_table()) {
      for (const auto& [lk, lv] : *v.as_table()) {
        const int64_t max = lk == "memory_mb" ? kMaxMemoryMb : lk == "hook_cpu_ms" ? kMaxHookCpuMs : 0;
        if (max == 0)
          return Error{fmt::format("{}: limits.{}: unknown limit (expected memory_mb (1-{}) or hook_cpu_ms (1-{}))",
                                   where(toml_path, lv), lk.str(), kMaxMemoryMb, kMaxHookCpuMs)};
        const auto n = lv.value<int64_t>();
        if (!n)
          return Error{fmt::format("{}: limits.{}: expected an integer (1-{}), got {}", where(toml_path, lv), lk.str(),
                                   max, to_json(lv).dump())};
        if (*n < 1 || *n > max)
          return Error{fmt::format("{}: limits.{}: {} is out of range (1-{})", where(toml_path, lv), lk.str(), *n, max)};
        if (lk == "memory_mb") m.memory_bytes = static_cast<size_t>(*n) << 20;
        else m.hook_budget = std::chrono::milliseconds(*n);
      }
    } else {
      return Error{fmt::format("{}: unknown or mistyped key '{}' (pack.toml has name, extends, description, "
                               "settings, tables, limits)",
                               where(toml_path, v), key)};
    }
  }
  m.level.chunk_prefix = m.level.name + "/";
  if (auto* tables = doc["tables"].as_table()) {
    for (const auto& [name, spec] : *tables) {
      if (auto st = read_table(m.level, toml_path, std::string(name.str()), spec); !st) return Error{st.message()};
    }
  }
  if (auto st = read_lua_files(m.level); !st) return Error{st.message()};
  return m;
}

Result<fs::path> find_parent(const std::string& extends, const fs::path& child_dir,
                             const std::vector<fs::path>& search_path) {
  std::vector<fs::path> candidates;
  auto add = [&](const fs::path& c) {
    if (std::find(candidates.begin(), candidates.end(), c) == candidates.end()) candidates.push_back(c);
  };
  const bool is_path = extends.find('/') != std::string::npos;
  if (is_path) add(child_dir / extends);
  add(child_dir.parent_path() / extends);
  for (const auto& p : search_path) add(p / extends);
  // The shipped packs last, for a name (a path is relative to the pack): those that exist, so a
  // build tree's error does not list an install folder that was never made.
  std::error_code ec;
  if (!is_path)
    for (const auto& p : shipped_pack_dirs())
      if (fs::is_directory(p, ec)) add(fs::weakly_canonical(p, ec) / extends);
  for (const auto& c : candidates)
    if (fs::exists(c / "pack.toml")) return c;
  std::string looked;
  for (const auto& c : candidates) looked += "\n  " + c.string();
  return Error{fmt::format("{}/pack.toml: extends \"{}\", which was not found; looked in:{}", child_dir.string(),
                           extends, looked)};
}

}  // namespace

std::vector<fs::path> shipped_pack_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  // The binary this code is in: libledgerbridge.so when a host loaded it (its link map entry has
  // a name), else the executable (the main program's entry has none).
  static const char anchor = 0;
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(&anchor, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) != 0 && map && map->l_name &&
      map->l_name[0] != '\0') {
    const fs::path lib = fs::weakly_canonical(fs::absolute(map->l_name, ec), ec);
    if (!ec) dirs.push_back((lib.parent_path() / LB_INSTALL_RULES_FROM_LIB).lexically_normal());
  } else {
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) dirs.push_back((exe.parent_path() / LB_INSTALL_RULES_FROM_BIN).lexically_normal());
  }
  dirs.emplace_back(LB_SOURCE_RULES_DIR);
  return dirs;
}

void merge_settings(nlohmann::json& into, const nlohmann::json& over) {
  if (into.is_object() && over.is_object()) {
    for (auto it = over.begin(); it != over.end(); ++it) merge_settings(into[it.key()], it.value());
  } else {
    into = over;
  }
}

namespace {

Status merge_override(nlohmann::json& into, const nlohmann::json& over, const std::string& path) {
  if (into.is_object() && over.is_object()) {
    for (auto it = over.begin(); it != over.end(); ++it)
      if (auto st = merge_override(into[it.key()], it.value(), path.empty() ? it.key() : path + "." + it.key()); !st)
        return st;
    return {};
  }
  if (into.is_number() && !over.is_number() && !over.is_null()) {
    if (over.is_string()) {
      const auto& text = over.get_ref<const std::string&>();
      auto number = nlohmann::json::parse(text, nullptr, false);
      if (!number.is_discarded() && number.is_number()) {
        into = std::move(number);
        return {};
      }
    }
    return Error{fmt::format("setting {}: expected a number (the pack's value is {}), got {}", path, into.dump(),
                             over.dump())};
  }
  // A scalar for a table of settings would drop every key of it, and rules reading one of them
  // would index a string.
  if (into.is_object() && !over.is_object() && !over.is_null()) {
    std::string keys;
    auto it = into.begin();
    for (; it != into.end() && keys.size() < 60; ++it) keys += (keys.empty() ? "" : ", ") + it.key();
    if (it != into.end()) keys += ", …";
    return Error{fmt::format("setting {}: expected a table of settings (the pack's has {}), got {}", path,
                             keys.empty() ? "no keys yet" : keys, over.dump())};
  }
  if (into.is_array() && !over.is_array() && !over.is_null())
    return Error{fmt::format("setting {}: expected a list (the pack's value is {}), got {}", path, into.dump(), over.dump())};
  // Codes look like numbers: YAML reads `wallet: 5810` as one, and --set "true" as a boolean.
  if (into.is_string() && (over.is_number() || over.is_boolean())) {
    into = over.dump();
    return {};
  }
  if (into.is_boolean() && !over.is_boolean() && !over.is_null()) {
    if (over == "true" || over == "false") {
      into = over == "true";
      return {};
    }
    return Error{fmt::format("setting {}: expected a boolean, true or false (the pack's value is {}), got {}", path,
                             into.dump(), over.dump())};
  }
  into = over;
  return {};
}

}  // namespace

Status merge_overrides(nlohmann::json& into, const nlohmann::json& over) { return merge_override(into, over, ""); }

Result<std::shared_ptr<const Pack>> Pack::load(const fs::path& dir, const std::vector<fs::path>& search_path) {
  auto pack = std::make_shared<Pack>();
  std::vector<Manifest> chain;
  std::set<fs::path> seen;
  fs::path current = dir;
  while (true) {
    auto m = read_manifest(current);
    if (!m) return Error{m.error().message};
    if (!seen.insert(m->level.dir).second) {
      std::string names;
      for (const auto& c : chain) names += c.level.name + " -> ";
      return Error{fmt::format("{}: extends forms a cycle: {}{}", (m->level.dir / "pack.toml").string(), names,
                               m->level.name)};
    }
    if (chain.size() >= kMaxChain) return Error{fmt::format("{}: extends chain deeper than {}", dir.string(), kMaxChain)};
    std::string extends = m->extends;
    fs::path child_dir = m->level.dir;
    chain.push_back(std::move(*m));
    if (extends.empty()) break;
    auto parent = find_parent(extends, child_dir, search_path);
    if (!parent) return Error{parent.error().message};
    current = *parent;
  }
  // Root first. Limits: the most derived pack that sets them wins.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (it->memory_bytes) {
      pack->limits_.memory_bytes = *it->memory_bytes;
      pack->limit_sources_.memory_mb = it->level.name;
    }
    if (it->hook_budget) {
      pack->limits_.hook_budget = *it->hook_budget;
      pack->limit_sources_.hook_cpu_ms = it->level.name;
    }
    pack->levels_.push_back(std::move(it->level));
  }
  std::map<std::string, fs::path> names;  // name -> the folder of the nearest-the-root pack with it
  for (const auto& level : pack->levels_) {
    if (auto [it, fresh] = names.emplace(level.name, level.dir); !fresh)
      return Error{fmt::format("two packs in the extends chain are named '{}': {} and {}", level.name,
                               (level.dir / "pack.toml").string(), (it->second / "pack.toml").string())};
  }
  pack->settings_ = nlohmann::json::object();
  for (const auto& level : pack->levels_) {
    merge_settings(pack->settings_, level.settings);
    for (const auto& [name, table] : level.tables) pack->tables_[name] = &table;
  }
  return std::shared_ptr<const Pack>(std::move(pack));
}

Status check_ceiling_range(const LimitCeiling& ceiling) {
  if (ceiling.memory_mb < 1 || ceiling.memory_mb > kMaxMemoryMb)
    return Error{fmt::format("limit ceiling: memory_mb {} is out of range (1-{})", ceiling.memory_mb, kMaxMemoryMb)};
  if (ceiling.hook_cpu_ms < 1 || ceiling.hook_cpu_ms > kMaxHookCpuMs)
    return Error{
        fmt::format("limit ceiling: hook_cpu_ms {} is out of range (1-{})", ceiling.hook_cpu_ms, kMaxHookCpuMs)};
  return {};
}

Status check_limit_ceiling(const Pack& pack, const LimitCeiling& ceiling) {
  if (auto st = check_ceiling_range(ceiling); !st) return st;
  // Refused, never clamped: a pack that ran with less than it asked for would behave unlike
  // its fixtures. The message is for the pack's author, who may not know the ceiling exists.
  auto check = [&](const char* key, int64_t value, int64_t cap, const std::string& source) -> Status {
    if (value <= cap) return {};
    if (source.empty())
      return Error{fmt::format("rule pack '{}' sets no [limits] {} and gets the default of {}, above this "
                               "installation's ceiling of {}",
                               pack.name(), key, value, cap)};
    // Names are unique within a chain (Pack::load), so another name is a parent's.
    const std::string parent = source == pack.name() ? "" : fmt::format(" (in '{}', which it extends)", source);
    return Error{fmt::format("rule pack '{}' sets [limits] {} = {}{}, above this installation's ceiling of {}",
                             pack.name(), key, value, parent, cap)};
  };
  // Pack values and the default are whole MiB.
  const auto memory_mb = static_cast<int64_t>(pack.limits().memory_bytes >> 20);
  if (auto st = check("memory_mb", memory_mb, ceiling.memory_mb, pack.limit_sources().memory_mb); !st) return st;
  return check("hook_cpu_ms", pack.limits().hook_budget.count(), ceiling.hook_cpu_ms,
               pack.limit_sources().hook_cpu_ms);
}

}  // namespace lb::rules
