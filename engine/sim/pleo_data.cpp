#include "sim/pleo_data.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "sim/receipt_files.hpp"
#include "sim/world.hpp"

namespace lb::sim::pleo {
namespace {

using namespace lb::sim::detail;

// Master data was "created" before any item of the world (kFirstDay is 2023-06-01).
constexpr const char* kCreatedAt = "2023-05-02T08:30:00Z";

uint64_t fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string uuid_of(uint64_t h1, uint64_t h2) {
  const uint64_t a = (h1 & 0xFFFFFFFFFFFF0FFFull) | 0x4000ull;
  const uint64_t b = (h2 & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48,
                     b & 0xFFFFFFFFFFFFull);
}

bool is_string(const Json& j, const char* key) { return j.is_object() && j.contains(key) && j[key].is_string(); }

std::string title_case(std::string_view code) {
  std::string s;
  for (size_t i = 0; i < code.size(); ++i)
    s += static_cast<char>(i == 0 ? code[i] : std::tolower(static_cast<unsigned char>(code[i])));
  return s;
}

}  // namespace

std::string scoped_id(std::string_view company_id, std::string_view kind, std::string_view key) {
  const uint64_t h = fnv1a(key, fnv1a("|", fnv1a(kind, fnv1a("|", fnv1a(company_id)))));
  return uuid_of(splitmix(h), splitmix(h ^ 0x5851f42d4c957f2dull));
}

std::string adapt_item(Json& item, const std::string& company_id, bool scope_ids, bool escape_non_ascii,
                       std::map<std::string, FileInfo>& files) {
  item["companyId"] = company_id;
  const std::string entry = is_string(item, "accountingEntryId") ? item["accountingEntryId"].get<std::string>() : "";
  if (scope_ids) {
    if (item.contains("contraAccount") && is_string(item["contraAccount"], "code"))
      item["contraAccount"]["id"] = scoped_id(company_id, "account", item["contraAccount"]["code"].get<std::string>());
    if (item.contains("vendor") && is_string(item["vendor"], "id"))
      item["vendor"]["id"] = scoped_id(company_id, "vendor", item["vendor"]["id"].get<std::string>());
    if (item.contains("accountingEntryLines") && item["accountingEntryLines"].is_array()) {
      for (auto& line : item["accountingEntryLines"]) {
        if (line.contains("account") && is_string(line["account"], "code"))
          line["account"]["id"] = scoped_id(company_id, "account", line["account"]["code"].get<std::string>());
        // A tax code without a code cannot be matched to the company's list: it keeps its id.
        if (line.contains("tax") && is_string(line["tax"], "code"))
          line["tax"]["id"] = scoped_id(company_id, "tax", line["tax"]["code"].get<std::string>());
        if (line.contains("tags") && line["tags"].is_array()) {
          for (auto& tag : line["tags"]) {
            if (is_string(tag, "groupCode") && is_string(tag, "code"))
              tag["id"] = scoped_id(company_id, "tag",
                                    tag["groupCode"].get<std::string>() + "/" + tag["code"].get<std::string>());
          }
        }
      }
    }
  }
  if (item.contains("files") && item["files"].is_array()) {
    size_t index = 0;
    for (auto& f : item["files"]) {
      if (!f.is_object()) continue;
      const std::string id = scoped_id(company_id, "file", fmt::format("{}#{}", entry, index++));
      FileInfo info;
      info.type = is_string(f, "type") ? f["type"].get<std::string>() : "application/octet-stream";
      info.size = f.contains("size") && f["size"].is_number_integer() ? f["size"].get<int64_t>() : 0;
      files[id] = info;
      f["url"] = fmt::format("{}/files/{}", kBasePlaceholder, id);
    }
  }
  return item.dump(-1, ' ', escape_non_ascii);
}

std::string file_bytes(std::string_view file_id, std::string_view type, int64_t size) {
  // Real receipts (sim/receipt_files.hpp) for the types Pleo's receipts come in; printable
  // filler for the others (Word, Excel, text), of exactly `size` bytes.
  return receipt_file(fnv1a(file_id), type, size);
}

MasterData make_master_data(const std::string& company_id) {
  MasterData md;
  const World& w = world();

  auto tax = [&](const char* code, const char* name, double rate, const char* type) {
    Json t = Json::object();
    t["id"] = scoped_id(company_id, "tax", code);
    t["companyId"] = company_id;
    t["name"] = name;
    t["code"] = code;
    t["rate"] = rate;
    t["type"] = type;
    t["archived"] = false;
    t["ingoingTaxAccount"] = "66010";
    t["outgoingTaxAccount"] = "66020";
    t["accountingIntegrationSystem"] = nullptr;
    t["createdAt"] = kCreatedAt;
    t["updatedAt"] = kCreatedAt;
    md.tax_codes.push_back(std::move(t));
  };
  for (const auto& t : kTaxCodes) tax(t.code, t.name, t.rate, t.type);
  // Pleo still sends these codes (world.hpp kRetiredTaxCodes); the ERP no longer has them.
  for (const char* code : kRetiredTaxCodes) tax(code, "VAT (legacy)", 0.25, "inclusive");

  for (const auto& d : dimensions()) {
    const std::string group_id = scoped_id(company_id, "tag-group", d.code);
    Json g = Json::object();
    g["id"] = group_id;
    g["companyId"] = company_id;
    g["code"] = d.code;
    g["name"] = title_case(d.code);
    g["archived"] = false;
    g["metadata"] = Json::object();
    g["createdAt"] = kCreatedAt;
    g["updatedAt"] = kCreatedAt;
    md.tag_groups.push_back(std::move(g));
    auto tag = [&](const std::string& code, bool archived) {
      Json t = Json::object();
      t["id"] = scoped_id(company_id, "tag", std::string(d.code) + "/" + code);
      t["groupId"] = group_id;
      t["code"] = code;
      t["name"] = code;
      t["archived"] = archived;
      t["createdAt"] = kCreatedAt;
      t["updatedAt"] = kCreatedAt;
      md.tags.push_back(std::move(t));
    };
    // Items carry "<value>-ARCHIVED" now and then (generate.cpp): a tag archived in Pleo.
    for (const auto& v : d.values) tag(v, false);
    for (const auto& v : d.values) tag(v + "-ARCHIVED", true);
  }

  auto account = [&](const std::string& code, const std::string& name) {
    Json a = Json::object();
    a["id"] = scoped_id(company_id, "account", code);
    a["companyId"] = company_id;
    a["externalId"] = code;
    a["code"] = code;
    a["name"] = name;
    a["archived"] = false;
    a["metadata"] = nullptr;
    a["taxCodeExternalId"] = nullptr;
    md.accounts.push_back(std::move(a));
  };
  for (const auto& a : w.accounts) account(a.code, a.name);
  for (const auto& wl : kWallets) account(wl.code, fmt::format("Pleo {} Account", wl.currency));

  md.vendors.reserve(w.vendors.size());
  for (const Vendor& v : w.vendors) {
    Json j = Json::object();
    j["id"] = scoped_id(company_id, "vendor", v.pleo_id);
    j["companyId"] = company_id;
    j["name"] = v.name;
    j["code"] = v.code;
    j["externalId"] = v.external_id;
    j["country"] = v.country;
    j["defaultCurrency"] = v.currency;
    j["registrationNumber"] = v.registration;
    j["taxRegistrationNumber"] = v.tax_number;
    // A vendor blocked in the ERP is archived in Pleo; the rest are in sync (VendorState).
    j["state"] = v.blocked ? "ARCHIVED" : "ACTIVE";
    j["accountingSystem"] = nullptr;
    j["createdAt"] = kCreatedAt;
    j["updatedAt"] = kCreatedAt;
    md.vendors.push_back(std::move(j));
  }
  return md;
}

}  // namespace lb::sim::pleo
