// The directory file loaders: a YAML/JSON file, a YAML node, or a folder of CSV files. Every
// entry is checked and staged first and added to the MemoryDirectory only when the whole input
// is good, so a bad file never leaves a half-loaded directory behind.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/csv.hpp"
#include "model/directory.hpp"
#include "model/directory_yaml.hpp"

namespace lb::model {

namespace {

namespace fs = std::filesystem;

// Thrown only inside this file, to leave nested sections in one step; the public functions
// turn it into a Status.
struct LoadFailure {
  std::string message;
};

// "<source>:<line>: <path>: <message>"; line 0 and an empty path are left out.
[[noreturn]] void fail(const std::string& source, std::size_t line, std::string_view path,
                       std::string_view message) {
  std::string text = source;
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  throw LoadFailure{std::move(text)};
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// --- "did you mean" ------------------------------------------------------------------------

// Case and separators are ignored, so tax_number and TaxNumber both find taxNumber.
std::string name_shape(std::string_view s) {
  std::string out;
  for (char c : ascii_lower(s)) {
    if (c != '_' && c != '-' && c != ' ') out.push_back(c);
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// A typo (a few edits) or an abbreviation sharing a long prefix (taxNo for taxNumber).
std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> known) {
  const std::string u = name_shape(unknown);
  std::string_view best;
  std::size_t best_distance = std::string::npos;
  for (std::string_view candidate : known) {
    const std::string k = name_shape(candidate);
    const std::size_t d = edit_distance(u, k);
    const auto mismatch = std::mismatch(u.begin(), u.end(), k.begin(), k.end());
    const auto common_prefix = static_cast<std::size_t>(mismatch.first - u.begin());
    const bool close = d <= std::max<std::size_t>(1, k.size() / 3) || common_prefix >= 4;
    if (close && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best.empty()) return {};
  return " (did you mean " + std::string(best) + "?)";
}

std::string join(std::span<const std::string_view> names, std::string_view last_separator) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? last_separator : std::string_view(", ");
    out += names[i];
  }
  return out;
}

// --- field values --------------------------------------------------------------------------
// Setters get the trimmed text and return an error message, or an empty string when the value
// is accepted. An empty text means "not given": optional fields keep their default.

std::string set_text(std::string& out, std::string_view v) {
  out.assign(v);
  return {};
}

std::string set_optional(std::optional<std::string>& out, std::string_view v) {
  if (v.empty()) {
    out.reset();
  } else {
    out.emplace(v);
  }
  return {};
}

std::string set_currency(std::optional<std::string>& out, std::string_view v) {
  const bool iso_shape =
      v.size() == 3 && std::all_of(v.begin(), v.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!v.empty() && !iso_shape) {
    return "expected a 3-letter ISO 4217 currency code, got " + in_quotes(v);
  }
  return set_optional(out, v);
}

std::string set_flag(bool& out, std::string_view v) {
  if (v.empty()) return {};
  const std::string s = ascii_lower(v);
  if (s == "true" || s == "yes" || s == "1") {
    out = true;
  } else if (s == "false" || s == "no" || s == "0") {
    out = false;
  } else {
    return "expected true or false, got " + in_quotes(v);
  }
  return {};
}

std::string set_rate(double& out, std::string_view v) {
  if (v.empty()) return {};
  double rate = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), rate);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(rate) || rate < 0 ||
      rate > 1) {
    return "expected a number between 0 and 1, got " + in_quotes(v);
  }
  out = rate;
  return {};
}

std::string set_tax_type(std::string& out, std::string_view v) {
  const std::string s = ascii_lower(v);
  if (s != "inclusive" && s != "exclusive" && s != "reverse") {
    return "expected inclusive, exclusive or reverse, got " + in_quotes(v);
  }
  out = s;
  return {};
}

std::string set_date(std::string& out, std::string_view v) {
  if (!is_iso_date(v)) return "expected a date YYYY-MM-DD, got " + in_quotes(v);
  out.assign(v);
  return {};
}

template <typename T>
struct Field {
  std::string_view name;
  bool required;
  std::string (*set)(T&, std::string_view);
};

// The key field (code) comes first in every list: staging relies on index 0 (or 1 for
// dimension values, after dimension).
constexpr Field<ErpAccount> kAccountFields[] = {
    {"code", true, [](ErpAccount& a, std::string_view v) { return set_text(a.code, v); }},
    {"name", false, [](ErpAccount& a, std::string_view v) { return set_text(a.name, v); }},
    {"currency", false,
     [](ErpAccount& a, std::string_view v) { return set_currency(a.currency, v); }},
    {"blocked", false, [](ErpAccount& a, std::string_view v) { return set_flag(a.blocked, v); }},
};

constexpr Field<ErpVendor> kVendorFields[] = {
    {"code", true, [](ErpVendor& e, std::string_view v) { return set_text(e.code, v); }},
    {"name", false, [](ErpVendor& e, std::string_view v) { return set_text(e.name, v); }},
    {"externalId", false,
     [](ErpVendor& e, std::string_view v) { return set_optional(e.externalId, v); }},
    {"taxNumber", false,
     [](ErpVendor& e, std::string_view v) { return set_optional(e.taxNumber, v); }},
    {"registrationNumber", false,
     [](ErpVendor& e, std::string_view v) { return set_optional(e.registrationNumber, v); }},
    {"currency", false,
     [](ErpVendor& e, std::string_view v) { return set_currency(e.currency, v); }},
    {"payablesAccount", false,
     [](ErpVendor& e, std::string_view v) { return set_optional(e.payablesAccount, v); }},
    {"blocked", false, [](ErpVendor& e, std::string_view v) { return set_flag(e.blocked, v); }},
};

constexpr Field<ErpTaxCode> kTaxCodeFields[] = {
    {"code", true, [](ErpTaxCode& t, std::string_view v) { return set_text(t.code, v); }},
    {"name", false, [](ErpTaxCode& t, std::string_view v) { return set_text(t.name, v); }},
    {"rate", false, [](ErpTaxCode& t, std::string_view v) { return set_rate(t.rate, v); }},
    // Required: no type is a safe default, and rules branch on it.
    {"type", true, [](ErpTaxCode& t, std::string_view v) { return set_tax_type(t.type, v); }},
    {"ingoingTaxAccount", false,
     [](ErpTaxCode& t, std::string_view v) { return set_optional(t.ingoingTaxAccount, v); }},
    {"outgoingTaxAccount", false,
     [](ErpTaxCode& t, std::string_view v) { return set_optional(t.outgoingTaxAccount, v); }},
    {"blocked", false, [](ErpTaxCode& t, std::string_view v) { return set_flag(t.blocked, v); }},
};

constexpr Field<ErpDimensionValue> kDimensionValueFields[] = {
    {"dimension", true,
     [](ErpDimensionValue& d, std::string_view v) { return set_text(d.dimension, v); }},
    {"code", true, [](ErpDimensionValue& d, std::string_view v) { return set_text(d.code, v); }},
    {"name", false, [](ErpDimensionValue& d, std::string_view v) { return set_text(d.name, v); }},
    {"blocked", false,
     [](ErpDimensionValue& d, std::string_view v) { return set_flag(d.blocked, v); }},
};

// The compact form `dimensions: {DEPT: [...]}`, where the key gives the dimension.
constexpr Field<ErpDimensionValue> kCompactDimensionValueFields[] = {
    {"code", true, [](ErpDimensionValue& d, std::string_view v) { return set_text(d.code, v); }},
    {"name", false, [](ErpDimensionValue& d, std::string_view v) { return set_text(d.name, v); }},
    {"blocked", false,
     [](ErpDimensionValue& d, std::string_view v) { return set_flag(d.blocked, v); }},
};

constexpr Field<ErpPeriod> kPeriodFields[] = {
    {"from", true, [](ErpPeriod& p, std::string_view v) { return set_date(p.from, v); }},
    {"to", true, [](ErpPeriod& p, std::string_view v) { return set_date(p.to, v); }},
    {"closed", false, [](ErpPeriod& p, std::string_view v) { return set_flag(p.closed, v); }},
};

template <typename T>
std::vector<std::string_view> field_names(std::span<const Field<T>> fields) {
  std::vector<std::string_view> names;
  for (const auto& f : fields) names.push_back(f.name);
  return names;
}

template <typename T>
std::optional<std::size_t> field_index(std::span<const Field<T>> fields, std::string_view name) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return i;
  }
  return std::nullopt;
}

template <typename T>
void set_field(T& entity, const Field<T>& field, std::string_view raw, const std::string& source,
               std::size_t line, std::string_view path) {
  const std::string_view v = trim(raw);
  if (field.required && v.empty()) fail(source, line, path, "must not be empty");
  if (std::string message = field.set(entity, v); !message.empty()) {
    fail(source, line, path, message);
  }
}

std::optional<ErpPeriod> month_period(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  ErpPeriod p;
  p.from = std::string(text) + "-01";
  if (!is_iso_date(p.from)) return std::nullopt;
  int year = 0;
  unsigned month = 0;
  std::from_chars(text.data(), text.data() + 4, year);
  std::from_chars(text.data() + 5, text.data() + 7, month);
  const std::chrono::year_month_day_last last{
      std::chrono::year{year}, std::chrono::month_day_last{std::chrono::month{month}}};
  const auto day = static_cast<unsigned>(last.day());
  p.to = std::string(text) + "-" + std::to_string(day);
  return p;
}

// --- staging -------------------------------------------------------------------------------

struct Staged {
  std::vector<ErpAccount> accounts;
  std::vector<ErpVendor> vendors;
  std::vector<ErpTaxCode> tax_codes;
  std::vector<ErpDimensionValue> dimension_values;
  std::vector<ErpPeriod> periods;
  // Key -> line of its first entry. Entries from earlier loads may be replaced, but the same
  // key twice in one input is a mistake that would otherwise hide the first entry.
  std::unordered_map<std::string, std::size_t> account_lines, vendor_lines, tax_code_lines,
      dimension_value_lines;

  void apply_to(MemoryDirectory& into) {
    for (auto& a : accounts) into.add(std::move(a));
    for (auto& v : vendors) into.add(std::move(v));
    for (auto& t : tax_codes) into.add(std::move(t));
    for (auto& d : dimension_values) into.add(std::move(d));
    for (auto& p : periods) into.add(std::move(p));
  }
};

void check_unique(std::unordered_map<std::string, std::size_t>& lines, std::string key,
                  const std::string& what, const std::string& source, std::size_t line,
                  std::string_view path) {
  auto [it, fresh] = lines.emplace(std::move(key), line);
  if (!fresh) {
    fail(source, line, path,
         "duplicate " + what + " (first at line " + std::to_string(it->second) + ")");
  }
}

// `key_line` is where the entry's key (code) is, for the duplicate message.
void stage(Staged& s, ErpAccount a, const std::string& source, std::size_t key_line,
           std::string_view key_path) {
  check_unique(s.account_lines, a.code, "account code " + in_quotes(a.code), source, key_line,
               key_path);
  s.accounts.push_back(std::move(a));
}

void stage(Staged& s, ErpVendor v, const std::string& source, std::size_t key_line,
           std::string_view key_path) {
  check_unique(s.vendor_lines, v.code, "vendor code " + in_quotes(v.code), source, key_line,
               key_path);
  s.vendors.push_back(std::move(v));
}

void stage(Staged& s, ErpTaxCode t, const std::string& source, std::size_t key_line,
           std::string_view key_path) {
  check_unique(s.tax_code_lines, t.code, "tax code " + in_quotes(t.code), source, key_line,
               key_path);
  s.tax_codes.push_back(std::move(t));
}

void stage(Staged& s, ErpDimensionValue d, const std::string& source, std::size_t key_line,
           std::string_view key_path) {
  // Same folding as the look-up: ENG and eng are one value.
  check_unique(s.dimension_value_lines, ascii_lower(d.dimension) + '\0' + ascii_lower(d.code),
               "value " + in_quotes(d.code) + " of dimension " + in_quotes(d.dimension), source,
               key_line, key_path);
  s.dimension_values.push_back(std::move(d));
}

void stage(Staged& s, ErpPeriod p, const std::string& source, std::size_t line,
           std::string_view path) {
  if (p.from > p.to) fail(source, line, path, "from " + p.from + " is after to " + p.to);
  s.periods.push_back(std::move(p));
}

constexpr std::string_view kSections[] = {"accounts", "vendors", "tax_codes", "dimensions",
                                          "periods"};

// --- YAML ----------------------------------------------------------------------------------

class YamlStager {
 public:
  YamlStager(const std::string& source, Staged& staged) : source_(source), staged_(staged) {}

  void stage_root(const YAML::Node& root, std::string_view prefix) {
    if (!root || root.IsNull()) return;
    const std::size_t root_line = line_of(root, 1);
    if (!root.IsMap()) {
      fail(source_, root_line, prefix,
           "expected a mapping with the sections " + join(kSections, " and "));
    }
    std::unordered_map<std::string, std::size_t> seen;
    for (const auto& kv : root) {
      const std::size_t key_line = line_of(kv.first, root_line);
      if (!kv.first.IsScalar()) fail(source_, key_line, prefix, "expected section names as keys");
      const std::string& name = kv.first.Scalar();
      const std::string path = prefix.empty() ? name : std::string(prefix) + "." + name;
      if (auto [it, fresh] = seen.emplace(name, key_line); !fresh) {
        fail(source_, key_line, path,
             "duplicate section (first at line " + std::to_string(it->second) + ")");
      }
      const YAML::Node& value = kv.second;
      const std::size_t line = value_line(value, key_line);
      if (name == "accounts") {
        stage_keyed_list<ErpAccount>(value, line, path, "accounts", kAccountFields, 0);
      } else if (name == "vendors") {
        stage_keyed_list<ErpVendor>(value, line, path, "vendors", kVendorFields, 0);
      } else if (name == "tax_codes") {
        stage_keyed_list<ErpTaxCode>(value, line, path, "tax codes", kTaxCodeFields, 0);
      } else if (name == "dimensions") {
        if (value.IsMap()) {
          stage_compact_dimensions(value, line, path);
        } else {
          stage_keyed_list<ErpDimensionValue>(value, line, path,
                                              "dimension values (or a mapping of dimension to "
                                              "value codes)",
                                              kDimensionValueFields, 1);
        }
      } else if (name == "periods") {
        stage_periods(value, line, path);
      } else {
        fail(source_, key_line, path, "unknown section" + did_you_mean(name, kSections));
      }
    }
  }

 private:
  std::size_t line_of(const YAML::Node& node, std::size_t fallback) const {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? fallback : static_cast<std::size_t>(mark.line) + 1;
  }

  // yaml-cpp marks an empty value (`key:`) at the token after it, often on the next line.
  std::size_t value_line(const YAML::Node& value, std::size_t key_line) const {
    return value.IsNull() ? key_line : line_of(value, key_line);
  }

  template <typename OnItem>
  void for_each_item(const YAML::Node& list, std::size_t list_line, const std::string& path,
                     std::string_view what, OnItem on_item) {
    if (list.IsNull()) return;
    if (!list.IsSequence())
      fail(source_, list_line, path, "expected a list of " + std::string(what));
    std::size_t index = 0;
    for (const auto& item : list) {
      on_item(item, line_of(item, list_line), path + "[" + std::to_string(index) + "]");
      ++index;
    }
  }

  // Fills `entity` from a mapping; returns the line of each field given (0 if absent).
  template <typename T>
  std::vector<std::size_t> read_record(const YAML::Node& node, std::size_t node_line,
                                       const std::string& path, std::span<const Field<T>> fields,
                                       T& entity) {
    const auto names = field_names(fields);
    if (!node.IsMap()) {
      fail(source_, node_line, path, "expected a mapping with the fields " + join(names, " and "));
    }
    std::vector<std::size_t> lines(fields.size(), 0);
    for (const auto& kv : node) {
      const std::size_t key_line = line_of(kv.first, node_line);
      if (!kv.first.IsScalar()) fail(source_, key_line, path, "expected field names as keys");
      const std::string& name = kv.first.Scalar();
      const std::string field_path = path + "." + name;
      const auto index = field_index(fields, name);
      if (!index) fail(source_, key_line, field_path, "unknown field" + did_you_mean(name, names));
      if (lines[*index] != 0) {
        fail(source_, key_line, field_path,
             "duplicate field (first at line " + std::to_string(lines[*index]) + ")");
      }
      lines[*index] = key_line;
      const std::size_t line = value_line(kv.second, key_line);
      set_field(entity, fields[*index], scalar_text(kv.second, line, field_path), source_, line,
                field_path);
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].required && lines[i] == 0) {
        fail(source_, node_line, path, "missing required field " + std::string(fields[i].name));
      }
    }
    return lines;
  }

  std::string scalar_text(const YAML::Node& value, std::size_t line, const std::string& path) {
    if (value.IsNull()) return {};
    if (!value.IsScalar()) {
      fail(source_, line, path,
           value.IsSequence() ? "expected a single value, got a list"
                              : "expected a single value, got a mapping");
    }
    return value.Scalar();
  }

  template <typename T>
  void stage_keyed_list(const YAML::Node& list, std::size_t list_line, const std::string& path,
                        std::string_view what, std::span<const Field<T>> fields,
                        std::size_t key_field) {
    for_each_item(list, list_line, path, what,
                  [&](const YAML::Node& item, std::size_t line, const std::string& item_path) {
                    T entity{};
                    const auto lines = read_record(item, line, item_path, fields, entity);
                    stage(staged_, std::move(entity), source_, lines[key_field],
                          item_path + "." + std::string(fields[key_field].name));
                  });
  }

  void stage_compact_dimensions(const YAML::Node& map, std::size_t map_line,
                                const std::string& path) {
    for (const auto& kv : map) {
      const std::size_t key_line = line_of(kv.first, map_line);
      const std::string dimension =
          kv.first.IsScalar() ? std::string(trim(kv.first.Scalar())) : std::string();
      if (dimension.empty()) fail(source_, key_line, path, "expected dimension names as keys");
      const std::string dimension_path = path + "." + dimension;
      const YAML::Node& values = kv.second;
      for_each_item(
          values, value_line(values, key_line), dimension_path, "value codes",
          [&](const YAML::Node& item, std::size_t line, const std::string& item_path) {
            ErpDimensionValue value;
            value.dimension = dimension;
            if (item.IsScalar()) {
              set_field(value, kCompactDimensionValueFields[0], item.Scalar(), source_, line,
                        item_path);
              stage(staged_, std::move(value), source_, line, item_path);
            } else if (item.IsMap()) {
              const auto lines = read_record<ErpDimensionValue>(
                  item, line, item_path, kCompactDimensionValueFields, value);
              stage(staged_, std::move(value), source_, lines[0], item_path + ".code");
            } else {
              fail(source_, line, item_path,
                   "expected a value code or a mapping with the fields code, name and blocked");
            }
          });
    }
  }

  void stage_periods(const YAML::Node& list, std::size_t list_line, const std::string& path) {
    for_each_item(list, list_line, path, "periods",
                  [&](const YAML::Node& item, std::size_t line, const std::string& item_path) {
                    if (item.IsMap()) {
                      ErpPeriod period;
                      read_record<ErpPeriod>(item, line, item_path, kPeriodFields, period);
                      stage(staged_, std::move(period), source_, line, item_path);
                      return;
                    }
                    const std::string text = item.IsScalar() ? item.Scalar() : std::string();
                    auto month = month_period(trim(text));
                    if (!month) {
                      fail(source_, line, item_path,
                           "expected a month YYYY-MM or a mapping with the fields from, to and "
                           "closed, got " +
                               (item.IsScalar() ? in_quotes(text) : std::string("a list or null")));
                    }
                    stage(staged_, std::move(*month), source_, line, item_path);
                  });
  }

  const std::string& source_;
  Staged& staged_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read " + path, 0, {}, std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void stage_yaml_file(const std::string& path, Staged& staged) {
  const std::string text = read_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(path, e.mark.is_null() ? 0 : static_cast<std::size_t>(e.mark.line) + 1, {}, e.msg);
  }
  YamlStager(path, staged).stage_root(root, {});
}

// --- CSV folder ----------------------------------------------------------------------------

// `key_path` names the key column in duplicate messages (empty for periods, which have none).
template <typename T>
void stage_csv_table(const CsvTable& table, std::span<const Field<T>> fields,
                     std::string_view key_path, Staged& staged) {
  const auto names = field_names(fields);
  std::vector<std::size_t> field_of_column;
  for (const std::string& column : table.header) {
    const auto index = field_index(fields, column);
    if (!index) {
      fail(table.source, table.header_line, column, "unknown column" + did_you_mean(column, names));
    }
    field_of_column.push_back(*index);
  }
  for (const auto& field : fields) {
    if (field.required && !table.column(field.name)) {
      fail(table.source, table.header_line, {},
           "missing required column " + std::string(field.name));
    }
  }
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::size_t line = table.row_lines[r];
    T entity{};
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      set_field(entity, fields[field_of_column[c]], table.rows[r][c], table.source, line,
                table.header[c]);
    }
    stage(staged, std::move(entity), table.source, line, key_path);
  }
}

constexpr std::string_view kCsvFiles[] = {"accounts.csv", "vendors.csv", "tax_codes.csv",
                                          "dimensions.csv", "periods.csv"};

void stage_csv_folder(const std::string& folder, Staged& staged) {
  std::vector<std::string> present;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.path().extension() == ".csv") present.push_back(entry.path().filename().string());
  }
  if (ec) fail("cannot read " + folder, 0, {}, ec.message());
  std::sort(present.begin(), present.end());  // the same error first on every file system
  // A misspelt file name would otherwise drop its entries without a word.
  for (const std::string& file : present) {
    if (std::find(std::begin(kCsvFiles), std::end(kCsvFiles), file) == std::end(kCsvFiles)) {
      fail((fs::path(folder) / file).string(), 0, {},
           "unknown directory file" + did_you_mean(file, kCsvFiles));
    }
  }
  if (present.empty()) {
    fail(folder, 0, {}, "no directory files (expected " + join(kCsvFiles, " or ") + ")");
  }

  auto table = [&](std::string_view file) -> std::optional<CsvTable> {
    if (std::find(present.begin(), present.end(), file) == present.end()) return std::nullopt;
    auto read = read_csv((fs::path(folder) / file).string());
    if (!read) throw LoadFailure{read.error().message};
    return std::move(read).value();
  };
  if (auto t = table("accounts.csv")) {
    stage_csv_table<ErpAccount>(*t, kAccountFields, "code", staged);
  }
  if (auto t = table("vendors.csv")) {
    stage_csv_table<ErpVendor>(*t, kVendorFields, "code", staged);
  }
  if (auto t = table("tax_codes.csv")) {
    stage_csv_table<ErpTaxCode>(*t, kTaxCodeFields, "code", staged);
  }
  if (auto t = table("dimensions.csv")) {
    stage_csv_table<ErpDimensionValue>(*t, kDimensionValueFields, "code", staged);
  }
  if (auto t = table("periods.csv")) {
    stage_csv_table<ErpPeriod>(*t, kPeriodFields, "", staged);
  }
}

}  // namespace

Status load_directory(const std::string& path, MemoryDirectory& into) {
  try {
    Staged staged;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      stage_csv_folder(path, staged);
    } else {
      stage_yaml_file(path, staged);
    }
    staged.apply_to(into);
    return {};
  } catch (const LoadFailure& failure) {
    return Error{failure.message};
  } catch (const YAML::Exception& e) {
    return Error{path + ": " + e.what()};
  }
}

Status load_directory_node(const YAML::Node& node, const std::string& source_name,
                           MemoryDirectory& into, std::string_view path_prefix) {
  try {
    Staged staged;
    YamlStager(source_name, staged).stage_root(node, path_prefix);
    staged.apply_to(into);
    return {};
  } catch (const LoadFailure& failure) {
    return Error{failure.message};
  } catch (const YAML::Exception& e) {
    return Error{source_name + ": " + e.what()};
  }
}

}  // namespace lb::model
