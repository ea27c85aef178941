#include "rules/fixtures.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <dtl/dtl.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>

#include "model/decode.hpp"
#include "model/directory.hpp"
#include "model/directory_yaml.hpp"
#include "rules/evaluator.hpp"
#include "rules/outcome.hpp"
#include "rules/pack.hpp"

namespace lb::rules {
namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace {

// A fixed clock unless a case sets one, so that rules using today's date give the same outcome
// on every run.
constexpr std::string_view kDefaultNow = "2026-01-15T12:00:00Z";
constexpr std::string_view kKeys = "description, item, settings, directory, now, expect";

// A case's own problem ("file:line: what"): caught per case, so one bad file never stops a run.
struct CaseError {
  std::string message;
};

// yaml-cpp lines are 0-based; a node built without a position (null values) has line -1.
int line_of(const YAML::Node& node, const YAML::Node& fallback) {
  if (node.IsDefined() && node.Mark().line >= 0) return node.Mark().line + 1;
  if (fallback.IsDefined() && fallback.Mark().line >= 0) return fallback.Mark().line + 1;
  return 1;
}

[[noreturn]] void fail_at(const std::string& file, int line, std::string_view what) {
  throw CaseError{fmt::format("{}:{}: {}", file, line, what)};
}

Result<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read file"};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{"cannot read file"};
  return ss.str();
}

// --- YAML scalars as JSON values --------------------------------------------------------------
// The YAML 1.2 core schema, minus its rarely written forms (hex, octal, .inf): what a plain
// scalar means here decides both how an expectation is read and which strings the canonical
// writer must quote, so the two stay in step and approvals read back as what was written.

enum class Plain { null, boolean, integer, decimal, string };

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_decimal(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  const size_t exp = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, exp);
  if (exp != std::string_view::npos) {
    std::string_view e = s.substr(exp + 1);
    if (!e.empty() && (e[0] == '-' || e[0] == '+')) e.remove_prefix(1);
    if (!all_digits(e)) return false;
  }
  const size_t dot = mantissa.find('.');
  if (dot == std::string_view::npos) return all_digits(mantissa);
  const std::string_view whole = mantissa.substr(0, dot);
  const std::string_view frac = mantissa.substr(dot + 1);
  return (whole.empty() || all_digits(whole)) && (frac.empty() || all_digits(frac)) &&
         !(whole.empty() && frac.empty());
}

Plain classify(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Plain::null;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE")
    return Plain::boolean;
  std::string_view digits = s;
  if (digits[0] == '-' || digits[0] == '+') digits.remove_prefix(1);
  if (all_digits(digits)) return Plain::integer;
  if (is_decimal(s)) return Plain::decimal;
  return Plain::string;
}

ordered_json plain_scalar(const std::string& s) {
  switch (classify(s)) {
    case Plain::null: return nullptr;
    case Plain::boolean: return s[0] == 't' || s[0] == 'T';
    case Plain::integer: {
      const char* first = s.data() + (s[0] == '+' ? 1 : 0);
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(first, s.data() + s.size(), n);
      if (ec == std::errc() && end == s.data() + s.size()) return n;
      [[fallthrough]];  // too large for int64: read it as a number all the same
    }
    case Plain::decimal: {
      const char* first = s.data() + (s[0] == '+' ? 1 : 0);
      double d = 0;
      std::from_chars(first, s.data() + s.size(), d);
      return d;
    }
    case Plain::string: break;
  }
  return s;
}

ordered_json yaml_to_json(const YAML::Node& node, const std::string& file) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar:
      // Quoted, block and explicitly tagged scalars are text, whatever they look like.
      if (node.Tag() != "?") return node.Scalar();
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      ordered_json a = ordered_json::array();
      for (const auto& element : node) a.push_back(yaml_to_json(element, file));
      return a;
    }
    case YAML::NodeType::Map: {
      ordered_json o = ordered_json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) fail_at(file, line_of(kv.first, node), "mapping keys must be plain text");
        o[kv.first.Scalar()] = yaml_to_json(kv.second, file);
      }
      return o;
    }
  }
  return nullptr;
}

// Comparison ignores key order (a hand-written expectation may list keys in any order);
// numbers compare by value whatever their JSON type.
nlohmann::json unordered(const ordered_json& j) {
  switch (j.type()) {
    case ordered_json::value_t::object: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, v] : j.items()) o[k] = unordered(v);
      return o;
    }
    case ordered_json::value_t::array: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& v : j) a.push_back(unordered(v));
      return a;
    }
    case ordered_json::value_t::string: return j.get<std::string>();
    case ordered_json::value_t::boolean: return j.get<bool>();
    case ordered_json::value_t::number_integer: return j.get<int64_t>();
    case ordered_json::value_t::number_unsigned: return j.get<uint64_t>();
    case ordered_json::value_t::number_float: return j.get<double>();
    default: return nullptr;
  }
}

// A key no outcome has (a typo like `failur:`) would only show as a line of the diff.
std::string unknown_outcome_keys(const ordered_json& expected) {
  static constexpr std::string_view kOutcomeKeys[] = {"status", "failure", "reason", "method", "direction",
                                                      "vendor", "documents", "warnings"};
  if (!expected.is_object()) return {};
  std::string out;
  for (const auto& [k, v] : expected.items()) {
    if (std::find(std::begin(kOutcomeKeys), std::end(kOutcomeKeys), k) != std::end(kOutcomeKeys)) continue;
    out += fmt::format("{}expect: no outcome has a key '{}'", out.empty() ? "" : "\n", k);
  }
  if (!out.empty()) out += " (an outcome has status, failure, reason, method, direction, vendor, documents, warnings)";
  return out;
}

// The expectation with its keys in the outcome's order, so a diff shows what differs rather
// than how the author ordered the keys.
ordered_json aligned(const ordered_json& expected, const ordered_json& actual) {
  if (expected.is_object() && actual.is_object()) {
    ordered_json out = ordered_json::object();
    for (const auto& [k, v] : actual.items())
      if (expected.contains(k)) out[k] = aligned(expected.at(k), v);
    for (const auto& [k, v] : expected.items())
      if (!out.contains(k)) out[k] = v;
    return out;
  }
  if (expected.is_array() && actual.is_array()) {
    ordered_json out = ordered_json::array();
    for (size_t i = 0; i < expected.size(); ++i)
      out.push_back(i < actual.size() ? aligned(expected[i], actual[i]) : expected[i]);
    return out;
  }
  return expected;
}

// --- canonical YAML -----------------------------------------------------------------------------

void emit(YAML::Emitter& e, const ordered_json& j) {
  switch (j.type()) {
    case ordered_json::value_t::object:
      if (j.empty()) {
        e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      e << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        e << YAML::Key << k << YAML::Value;
        emit(e, v);
      }
      e << YAML::EndMap;
      return;
    case ordered_json::value_t::array:
      if (j.empty()) {
        e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      e << YAML::BeginSeq;
      for (const auto& v : j) emit(e, v);
      e << YAML::EndSeq;
      return;
    case ordered_json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      // yaml-cpp writes "true" or "6800" plain, which would read back as a bool or a number.
      if (classify(s) != Plain::string) e << YAML::DoubleQuoted;
      e << s;
      return;
    }
    case ordered_json::value_t::boolean: e << j.get<bool>(); return;
    case ordered_json::value_t::number_integer:
    case ordered_json::value_t::number_unsigned:
    case ordered_json::value_t::number_float:
      // nlohmann's shortest round-trip form; a JSON number is always a plain YAML scalar.
      e << j.dump();
      return;
    default: e << YAML::Null; return;
  }
}

std::string canonical_yaml(const ordered_json& j, std::string_view root_key = {}) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetNullFormat(YAML::LowerNull);
  if (!root_key.empty()) e << YAML::BeginMap << YAML::Key << std::string(root_key) << YAML::Value;
  emit(e, j);
  if (!root_key.empty()) e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// --- the clock ------------------------------------------------------------------------------------

bool number_at(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size() || !all_digits(s.substr(pos, len))) return false;
  std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return true;
}

// YYYY-MM-DD (midnight UTC) or an RFC 3339 date-time (Z or ±HH:MM), as epoch seconds.
std::optional<int64_t> parse_instant(std::string_view s) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !number_at(s, 0, 4, y) || !number_at(s, 5, 2, mo) ||
      !number_at(s, 8, 2, d))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t seconds = sys_seconds(sys_days(ymd)).time_since_epoch().count();
  if (s.size() == 10) return seconds;
  int h = 0, mi = 0, se = 0;
  if ((s[10] != 'T' && s[10] != 't') || s.size() < 19 || s[13] != ':' || s[16] != ':' ||
      !number_at(s, 11, 2, h) || !number_at(s, 14, 2, mi) || !number_at(s, 17, 2, se) || h > 23 || mi > 59 ||
      se > 60)
    return std::nullopt;
  seconds += h * 3600 + mi * 60 + se;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t digits_from = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == digits_from) return std::nullopt;
  }
  const std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") return seconds;
  int oh = 0, om = 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':' || !number_at(zone, 1, 2, oh) ||
      !number_at(zone, 4, 2, om))
    return std::nullopt;
  const int64_t offset = oh * 3600 + om * 60;
  return zone[0] == '+' ? seconds - offset : seconds + offset;
}

// --- running cases --------------------------------------------------------------------------------

struct Case {
  std::string file;  // as shown in messages
  std::string text;  // the file as read, for --approve
  YAML::Node root;
  // yaml-cpp has no "absent" node (a default Node is a defined null), hence the optionals.
  std::optional<YAML::Node> expect_key;
  YAML::Node expect;
  model::ExportItem item;
  nlohmann::json settings = nlohmann::json::object();
  int64_t now = 0;
  std::optional<model::MemoryDirectory> directory;  // unset: the pack's default directory
};

class Runner {
 public:
  Runner(std::shared_ptr<const Pack> pack, const FixtureRunOptions& options)
      : pack_(std::move(pack)), options_(options), default_now_(*parse_instant(kDefaultNow)) {
    for (const auto& level : pack_->levels()) pack_dirs_.emplace_back(level.dir.string(), level.chunk_prefix);
  }

  Status load_default_directory(const fs::path& fixtures_dir) {
    const fs::path file = fixtures_dir / "directory.yaml";
    std::error_code ec;
    if (!fs::exists(file, ec)) return {};
    default_directory_.emplace();
    if (auto st = model::load_directory(file.string(), *default_directory_); !st)
      return Error{"default fixture directory: " + st.message()};
    return {};
  }

  // An error only when the pack cannot run at all (its rules do not compile).
  Result<FixtureResult> run(const fs::path& file, const std::string& name) {
    FixtureResult r;
    r.path = file;
    r.name = name;
    Case c;
    c.file = file.string();
    try {
      read_case(c, r);
    } catch (const CaseError& e) {
      r.error = e.message;
      return r;
    } catch (const YAML::Exception& e) {
      r.error = e.mark.is_null() ? fmt::format("{}: {}", c.file, e.msg)
                                 : fmt::format("{}:{}: {}", c.file, e.mark.line + 1, e.msg);
      return r;
    } catch (const std::exception& e) {
      r.error = fmt::format("{}: {}", c.file, e.what());
      return r;
    }

    auto ev = evaluator(c.settings, c.now);
    if (!ev) return Error{ev.error().message};
    try {
      check(c, **ev, r);
    } catch (const CaseError& e) {
      r.error = e.message;
    } catch (const std::exception& e) {
      r.error = fmt::format("{}: {}", c.file, e.what());
    }
    // The case's directory dies with this call; the evaluator must never see it again.
    (*ev)->set_directory(&empty_);
    return r;
  }

  void check(const Case& c, Evaluator& ev, FixtureResult& r) {
    ev.set_directory(c.directory ? &*c.directory : default_directory());
    const Outcome outcome = ev.evaluate(c.item, options_.trace);

    const ordered_json actual = actual_json(outcome);
    if (!c.expect_key || c.expect.IsNull()) {
      r.error = "no expectation yet: run with --approve";
      r.diff = unified_diff("", canonical_yaml(actual));
    } else {
      const ordered_json expected = yaml_to_json(c.expect, c.file);
      r.passed = unordered(expected) == unordered(actual);
      if (!r.passed) r.error = unknown_outcome_keys(expected);
      if (!r.passed) {
        r.diff = unified_diff(canonical_yaml(aligned(expected, actual)), canonical_yaml(actual));
        if (r.diff.empty())
          r.diff = fmt::format("expected and actual differ only in value types:\n  expected: {}\n  actual:   {}\n",
                               expected.dump(), actual.dump());
      }
    }
    if (!r.passed && options_.approve) approve(c, actual, r);
    if (!r.passed && options_.trace) r.trace = render_trace_text(outcome);
  }

 private:
  const model::Directory* default_directory() const {
    return default_directory_ ? static_cast<const model::Directory*>(&*default_directory_) : &empty_;
  }

  // One evaluator (one Lua state) per distinct settings and clock: both are fixed at creation.
  Result<Evaluator*> evaluator(const nlohmann::json& settings, int64_t now) {
    const std::string key = fmt::format("{}@{}", settings.dump(), now);
    if (auto it = evaluators_.find(key); it != evaluators_.end()) return it->second.get();
    EvalOptions eo;
    eo.directory = &empty_;
    eo.settings_override = settings;
    eo.now = now;
    eo.ceiling = options_.ceiling;
    auto created = Evaluator::create(pack_, std::move(eo));
    if (!created) return Error{created.error().message};
    Evaluator* raw = created->get();
    evaluators_.emplace(key, std::move(*created));
    return raw;
  }

  ordered_json actual_json(const Outcome& outcome) const {
    std::string text;
    write_outcome_json(outcome, text);
    ordered_json j = ordered_json::parse(text);
    j.erase("accountingEntryId");
    auto scrub = [&](ordered_json& s) {
      if (s.is_string()) s = scrub_volatile(s.get<std::string>(), pack_dirs_);
    };
    if (j.contains("failure") && j["failure"].is_object() && j["failure"].contains("message"))
      scrub(j["failure"]["message"]);
    if (j.contains("reason")) scrub(j["reason"]);
    if (j.contains("warnings"))
      for (auto& w : j["warnings"]) scrub(w);
    return j;
  }

  void read_case(Case& c, FixtureResult& r) {
    auto text = read_text(c.file);
    if (!text) throw CaseError{fmt::format("{}: {}", c.file, text.error().message)};
    c.text = std::move(*text);
    c.root = YAML::Load(c.text);
    if (!c.root.IsMap())
      fail_at(c.file, line_of(c.root, c.root), fmt::format("a fixture is a mapping of {}", kKeys));

    std::vector<std::string> seen;
    const size_t count = c.root.size();
    size_t index = 0;
    struct Entry {
      YAML::Node key;
      YAML::Node value;
    };
    std::optional<Entry> item, settings, directory, now;
    for (const auto& kv : c.root) {
      const YAML::Node key = kv.first;
      const int line = line_of(key, c.root);
      const std::string name = key.IsScalar() ? key.Scalar() : std::string();
      if (std::find(seen.begin(), seen.end(), name) != seen.end())
        fail_at(c.file, line, fmt::format("'{}' is given twice", name));
      seen.push_back(name);
      if (name == "description") {
        if (!kv.second.IsScalar() && !kv.second.IsNull()) fail_at(c.file, line, "description: expected text");
        r.description = kv.second.IsScalar() ? kv.second.Scalar() : "";
      } else if (name == "item") {
        item.emplace(Entry{key, kv.second});
      } else if (name == "settings") {
        settings.emplace(Entry{key, kv.second});
      } else if (name == "directory") {
        directory.emplace(Entry{key, kv.second});
      } else if (name == "now") {
        now.emplace(Entry{key, kv.second});
      } else if (name == "expect") {
        if (index + 1 != count)
          fail_at(c.file, line, "'expect' must be the last key: --approve rewrites the file from 'expect:' to its end");
        c.expect_key.emplace(key);
        c.expect = kv.second;
      } else {
        fail_at(c.file, line, fmt::format("unknown key '{}' (a fixture has {})", name, kKeys));
      }
      ++index;
    }

    if (!item) fail_at(c.file, 1, "no 'item': give a path to a Pleo v3 JSON item, or the item inline");
    read_item(c, item->key, item->value);

    if (settings && !settings->value.IsNull()) {
      if (!settings->value.IsMap())
        fail_at(c.file, line_of(settings->value, settings->key), "settings: expected a mapping");
      c.settings = unordered(yaml_to_json(settings->value, c.file));
      // A setting this case cannot give is the case's error, not the pack's: the other cases run.
      nlohmann::json merged = pack_->settings();
      if (auto st = merge_overrides(merged, c.settings); !st)
        fail_at(c.file, line_of(settings->value, settings->key), "settings: " + st.message());
    }

    c.now = default_now_;
    if (now && !now->value.IsNull()) {
      const std::string text_now = now->value.IsScalar() ? now->value.Scalar() : "";
      std::optional<int64_t> parsed;
      if (all_digits(text_now)) {
        int64_t n = 0;
        const char* end = text_now.data() + text_now.size();
        if (const auto res = std::from_chars(text_now.data(), end, n); res.ec == std::errc() && res.ptr == end)
          parsed = n;
      } else {
        parsed = parse_instant(text_now);
      }
      // EvalOptions reads 0 as "the real clock", and earlier instants are not a plausible run date.
      if (!parsed || *parsed <= 0)
        fail_at(c.file, line_of(now->value, now->key),
                fmt::format("now: expected a date-time after 1970-01-01 like {} (or epoch seconds), got '{}'",
                            kDefaultNow, text_now));
      c.now = *parsed;
    }

    if (directory && !directory->value.IsNull()) read_directory(c, directory->key, directory->value);
  }

  void read_item(Case& c, const YAML::Node& key, const YAML::Node& node) {
    const int line = line_of(node, key);
    std::string json;
    std::string label;
    if (node.IsScalar()) {
      const fs::path path = fs::path(c.file).parent_path() / node.Scalar();
      auto text = read_text(path);
      if (!text)
        fail_at(c.file, line, fmt::format("item: cannot read {} (paths are relative to the fixture)", node.Scalar()));
      json = std::move(*text);
      label = node.Scalar() + ": ";
    } else if (node.IsMap()) {
      json = yaml_to_json(node, c.file).dump();
    } else {
      fail_at(c.file, line, "item: expected a path to a Pleo v3 JSON item, or the item as a mapping");
    }
    auto decoded = model::decode_export_item(std::string_view(json));
    if (auto* e = std::get_if<model::DecodeError>(&decoded)) fail_at(c.file, line, label + e->to_string());
    c.item = std::move(std::get<model::ExportItem>(decoded));
  }

  void read_directory(Case& c, const YAML::Node& key, const YAML::Node& node) {
    const int line = line_of(node, key);
    if (node.IsScalar()) {
      // A file of its own replaces the default directory rather than adding to it.
      const fs::path path = fs::path(c.file).parent_path() / node.Scalar();
      c.directory.emplace();
      if (auto st = model::load_directory(path.string(), *c.directory); !st)
        fail_at(c.file, line, "directory: " + st.message());
    } else if (node.IsMap()) {
      if (default_directory_) c.directory.emplace(*default_directory_);
      else c.directory.emplace();
      if (auto st = model::load_directory_node(node, c.file, *c.directory, "directory"); !st)
        throw CaseError{st.message()};
    } else {
      fail_at(c.file, line, "directory: expected a path to a directory file, or directory sections as a mapping");
    }
  }

  void approve(const Case& c, const ordered_json& actual, FixtureResult& r) {
    std::string text = c.text;
    if (c.expect_key) {
      const YAML::Mark mark = c.expect_key->Mark();
      if (mark.column != 0) {
        r.error = fmt::format("{}:{}: cannot approve: 'expect:' must start its line (a block mapping)", c.file,
                              mark.line + 1);
        return;
      }
      size_t offset = 0;
      for (int line = 0; line < mark.line && offset != std::string::npos; ++line) {
        offset = text.find('\n', offset);
        if (offset != std::string::npos) ++offset;
      }
      text.resize(offset == std::string::npos ? text.size() : offset);
    }
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += canonical_yaml(actual, "expect");

    // Written beside the case and renamed over it, so an interrupted run never leaves half a file.
    const fs::path tmp = fs::path(c.file).concat(".approve.tmp");
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      out.close();
      if (!out) {
        r.error = fmt::format("{}: cannot approve: cannot write {}", c.file, tmp.string());
        return;
      }
    }
    std::error_code ec;
    fs::rename(tmp, c.file, ec);
    if (ec) {
      fs::remove(tmp, ec);
      r.error = fmt::format("{}: cannot approve: {}", c.file, ec.message());
      return;
    }
    r.error.clear();
    r.approved = true;
    r.passed = true;
  }

  std::shared_ptr<const Pack> pack_;
  FixtureRunOptions options_;
  int64_t default_now_;
  std::vector<std::pair<std::string, std::string>> pack_dirs_;
  // Declared before the evaluators: each may point at it until it is destroyed.
  model::MemoryDirectory empty_;
  std::optional<model::MemoryDirectory> default_directory_;
  std::map<std::string, std::unique_ptr<Evaluator>> evaluators_;
};

bool is_case_file(const fs::path& path) {
  const std::string file = path.filename().string();
  const std::string ext = path.extension().string();
  return (ext == ".yaml" || ext == ".yml") && !file.starts_with("_") && path.stem() != "directory";
}

}  // namespace

std::string scrub_volatile(std::string text, const std::vector<std::pair<std::string, std::string>>& pack_dirs) {
  // Longest directory first: a pack nested inside another pack's folder keeps its own prefix.
  std::vector<std::pair<std::string, std::string>> dirs = pack_dirs;
  std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  auto replace_all = [&text](const std::string& from, const std::string& to) {
    if (from.empty()) return;
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
      text.replace(pos, from.size(), to);
  };
  for (const auto& [dir, prefix] : dirs) {
    std::string bare = prefix;
    while (!bare.empty() && bare.back() == '/') bare.pop_back();
    replace_all(dir + "/", prefix);
    replace_all(dir, bare.empty() ? "." : bare);
  }
  // Addresses as Lua prints them ("table: 0x7f3a2c001234") change with every run.
  std::string out;
  out.reserve(text.size());
  auto is_hex = [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); };
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "0x") == 0 && i + 2 < text.size() && is_hex(text[i + 2])) {
      out += "0x…";
      i += 2;
      while (i < text.size() && is_hex(text[i])) ++i;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string unified_diff(const std::string& expected, const std::string& actual) {
  if (expected == actual) return {};
  const std::vector<std::string> a = split_lines(expected);
  const std::vector<std::string> b = split_lines(actual);
  std::ostringstream out;
  out << "--- expected\n+++ actual\n";
  // dtl numbers an empty side from 1; diff -u says 0,0.
  if (a.empty() || b.empty()) {
    const auto& lines = a.empty() ? b : a;
    out << (a.empty() ? fmt::format("@@ -0,0 +1,{} @@\n", b.size()) : fmt::format("@@ -1,{} +0,0 @@\n", a.size()));
    for (const auto& l : lines) out << (a.empty() ? '+' : '-') << l << '\n';
    return out.str();
  }
  dtl::Diff<std::string, std::vector<std::string>> diff(a, b);
  diff.compose();
  diff.composeUnifiedHunks();
  diff.printUnifiedFormat(out);
  return out.str();
}

Result<std::vector<FixtureResult>> run_pack_fixtures(const fs::path& pack_dir, const FixtureRunOptions& options) {
  auto pack = Pack::load(pack_dir);
  if (!pack) return Error{pack.error().message};
  // Here as well as in Evaluator::create: a pack without cases must not pass either.
  if (auto st = check_limit_ceiling(**pack, options.ceiling); !st) return Error{st.message()};

  const fs::path fixtures_dir = pack_dir / "fixtures";
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(fixtures_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(fixtures_dir, ec)) {
      if (entry.is_regular_file() && is_case_file(entry.path())) files.push_back(entry.path());
    }
    if (ec) return Error{fmt::format("{}: {}", fixtures_dir.string(), ec.message())};
  }
  std::sort(files.begin(), files.end());

  Runner runner(*pack, options);
  if (auto st = runner.load_default_directory(fixtures_dir); !st) return Error{st.message()};

  std::vector<FixtureResult> results;
  for (const auto& file : files) {
    const std::string name = (*pack)->name() + "/" + file.stem().string();
    if (!options.filter.empty() && name.find(options.filter) == std::string::npos) continue;
    auto r = runner.run(file, name);
    if (!r) return Error{r.error().message};
    results.push_back(std::move(*r));
  }
  return results;
}

}  // namespace lb::rules
