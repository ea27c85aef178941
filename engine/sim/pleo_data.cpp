#include "sim/pleo_data.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

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

// --- file bytes -------------------------------------------------------------------------------

uint32_t crc32(std::string_view data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

std::string png_chunk(std::string_view type, std::string_view data) {
  std::string c;
  put_be32(c, static_cast<uint32_t>(data.size()));
  std::string body(type);
  body += data;
  c += body;
  put_be32(c, crc32(body));
  return c;
}

// Printable filler that differs per file.
std::string filler(uint64_t seed, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve(n);
  uint64_t x = seed;
  while (s.size() < n) {
    x = splitmix(x);
    for (int i = 0; i < 10 && s.size() < n; ++i) s += kAlphabet[(x >> (i * 6)) & 63];
  }
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
  const size_t n = size > 0 ? static_cast<size_t>(size) : 0;
  const uint64_t seed = fnv1a(file_id);
  std::string head, tail;
  if (type == "application/pdf") {
    head = fmt::format(
        "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
        "% receipt {}\n",
        file_id);
    tail = "\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
  } else if (type == "image/png") {
    head = std::string("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr;
    put_be32(ihdr, 1);
    put_be32(ihdr, 1);
    ihdr += std::string("\x08\x06\x00\x00\x00", 5);  // 8-bit RGBA, 1x1
    head += png_chunk("IHDR", ihdr);
    head += png_chunk("IDAT", std::string("\x78\x9c\x63\x00\x01\x00\x00\x05\x00\x01", 10));
    tail = png_chunk("IEND", "");
    // The filler goes into a tEXt chunk so the file stays a valid PNG at any size >= 69 bytes.
    const size_t overhead = head.size() + tail.size() + 12 + 8;  // chunk frame + "Comment\0"
    if (n > overhead) {
      const std::string text = "Comment" + std::string(1, '\0') + filler(seed, n - overhead);
      head += png_chunk("tEXt", text);
      std::string out = head + tail;
      return out;
    }
  } else if (type == "image/jpeg" || type == "image/jpg") {
    head = std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20);
    tail = std::string("\xFF\xD9", 2);
    // Filler as COM segments (each at most 65533 payload bytes).
    std::string body;
    size_t room = n > head.size() + tail.size() ? n - head.size() - tail.size() : 0;
    uint64_t s = seed;
    while (room >= 5) {
      const size_t payload = std::min<size_t>(room - 4, 65533);
      body += "\xFF\xFE";
      body += static_cast<char>(((payload + 2) >> 8) & 0xFF);
      body += static_cast<char>((payload + 2) & 0xFF);
      body += filler(s++, payload);
      room -= payload + 4;
    }
    body += std::string(room, '\0');  // fewer than 5 bytes left: padding before EOI
    return head + body + tail;
  }
  std::string out = head;
  if (out.size() + tail.size() < n) out += filler(seed, n - out.size() - tail.size());
  out += tail;
  out.resize(n, '\n');
  return out;
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
