#include "erp/directory_content.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>

#include "model/csv.hpp"

namespace lb::erp {

namespace {

namespace fs = std::filesystem;

// The file has already passed model::load_directory, so values here are known to be well
// formed; these readers only map names to fields.

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::optional<std::string> opt(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v;
}

bool flag(const std::string& v, bool fallback) {
  if (v.empty()) return fallback;
  std::string s;
  for (char c : v) s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  return s == "true" || s == "yes" || s == "1";
}

double rate(const std::string& v) {
  double r = 0;
  if (!v.empty()) std::from_chars(v.data(), v.data() + v.size(), r);
  return r;
}

std::string lower(std::string v) {
  for (char& c : v)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return v;
}

using Fields = std::map<std::string, std::string>;

model::ErpAccount account_of(const Fields& f) {
  auto get = [&](const char* k) { auto it = f.find(k); return it == f.end() ? std::string() : it->second; };
  return {.code = get("code"), .name = get("name"), .currency = opt(get("currency")), .blocked = flag(get("blocked"), false)};
}

model::ErpVendor vendor_of(const Fields& f) {
  auto get = [&](const char* k) { auto it = f.find(k); return it == f.end() ? std::string() : it->second; };
  return {.code = get("code"),
          .name = get("name"),
          .externalId = opt(get("externalId")),
          .taxNumber = opt(get("taxNumber")),
          .registrationNumber = opt(get("registrationNumber")),
          .currency = opt(get("currency")),
          .payablesAccount = opt(get("payablesAccount")),
          .blocked = flag(get("blocked"), false)};
}

model::ErpTaxCode tax_code_of(const Fields& f) {
  auto get = [&](const char* k) { auto it = f.find(k); return it == f.end() ? std::string() : it->second; };
  return {.code = get("code"),
          .name = get("name"),
          .rate = rate(get("rate")),
          .type = lower(get("type")),
          .ingoingTaxAccount = opt(get("ingoingTaxAccount")),
          .outgoingTaxAccount = opt(get("outgoingTaxAccount")),
          .blocked = flag(get("blocked"), false)};
}

model::ErpDimensionValue dimension_of(const Fields& f) {
  auto get = [&](const char* k) { auto it = f.find(k); return it == f.end() ? std::string() : it->second; };
  return {.dimension = get("dimension"), .code = get("code"), .name = get("name"), .blocked = flag(get("blocked"), false)};
}

model::ErpPeriod period_of(const Fields& f) {
  auto get = [&](const char* k) { auto it = f.find(k); return it == f.end() ? std::string() : it->second; };
  return {.from = get("from"), .to = get("to"), .closed = flag(get("closed"), true)};
}

model::ErpPeriod month(const std::string& text) {
  int year = 0;
  unsigned m = 0;
  std::from_chars(text.data(), text.data() + 4, year);
  std::from_chars(text.data() + 5, text.data() + 7, m);
  const std::chrono::year_month_day_last last{std::chrono::year{year},
                                              std::chrono::month_day_last{std::chrono::month{m}}};
  const auto day = static_cast<unsigned>(last.day());
  return {.from = text + "-01", .to = text + (day < 10 ? "-0" : "-") + std::to_string(day), .closed = true};
}

Fields fields_of(const YAML::Node& node) {
  Fields f;
  for (const auto& kv : node) f[kv.first.Scalar()] = kv.second.IsNull() ? std::string() : trim(kv.second.Scalar());
  return f;
}

void read_yaml(const std::string& path, DirectoryContent& out) {
  const YAML::Node root = YAML::LoadFile(path);
  if (!root || !root.IsMap()) return;
  for (const auto& section : root) {
    const std::string name = section.first.Scalar();
    const YAML::Node& list = section.second;
    if (list.IsNull()) continue;
    if (name == "accounts") {
      for (const auto& item : list) out.accounts.push_back(account_of(fields_of(item)));
    } else if (name == "vendors") {
      for (const auto& item : list) out.vendors.push_back(vendor_of(fields_of(item)));
    } else if (name == "tax_codes") {
      for (const auto& item : list) out.tax_codes.push_back(tax_code_of(fields_of(item)));
    } else if (name == "dimensions") {
      if (list.IsMap()) {
        for (const auto& dim : list) {
          const std::string dimension = trim(dim.first.Scalar());
          for (const auto& item : dim.second) {
            Fields f = item.IsScalar() ? Fields{{"code", trim(item.Scalar())}} : fields_of(item);
            f["dimension"] = dimension;
            out.dimension_values.push_back(dimension_of(f));
          }
        }
      } else {
        for (const auto& item : list) out.dimension_values.push_back(dimension_of(fields_of(item)));
      }
    } else if (name == "periods") {
      for (const auto& item : list)
        out.periods.push_back(item.IsScalar() ? month(trim(item.Scalar())) : period_of(fields_of(item)));
    }
  }
}

Status read_csv_folder(const std::string& folder, DirectoryContent& out) {
  auto each = [&](const char* file, const std::function<void(const Fields&)>& add) -> Status {
    const fs::path p = fs::path(folder) / file;
    std::error_code ec;
    if (!fs::exists(p, ec)) return {};
    auto table = model::read_csv(p.string());
    if (!table) return table.error();
    for (const auto& row : table->rows) {
      Fields f;
      for (size_t c = 0; c < table->header.size(); ++c) f[table->header[c]] = trim(row[c]);
      add(f);
    }
    return {};
  };
  if (auto st = each("accounts.csv", [&](const Fields& f) { out.accounts.push_back(account_of(f)); }); !st) return st;
  if (auto st = each("vendors.csv", [&](const Fields& f) { out.vendors.push_back(vendor_of(f)); }); !st) return st;
  if (auto st = each("tax_codes.csv", [&](const Fields& f) { out.tax_codes.push_back(tax_code_of(f)); }); !st)
    return st;
  if (auto st = each("dimensions.csv", [&](const Fields& f) { out.dimension_values.push_back(dimension_of(f)); });
      !st)
    return st;
  return each("periods.csv", [&](const Fields& f) { out.periods.push_back(period_of(f)); });
}

}  // namespace

Result<DirectoryContent> read_directory_content(const std::string& path) {
  model::MemoryDirectory check;
  if (auto st = model::load_directory(path, check); !st) return Error{st.message()};
  DirectoryContent out;
  try {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      if (auto st = read_csv_folder(path, out); !st) return Error{st.message()};
    } else {
      read_yaml(path, out);
    }
  } catch (const YAML::Exception& e) {
    return Error{path + ": " + e.what()};
  }
  return out;
}

}  // namespace lb::erp
