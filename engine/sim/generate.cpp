#include "sim/generate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "sim/world.hpp"

namespace lb::sim {
using namespace detail;

namespace {

using Json = nlohmann::ordered_json;  // keeps Pleo's field order, so lines read like real ones

constexpr std::array<const char*, 24> kNotePhrases = {
    "Printer ink", "Team lunch", "Client dinner with Acme", "Taxi to the airport", "Flight CPH–LHR",
    "Hotel, 2 nights, conference", "Monthly subscription", "Office supplies", "Kaffe og kage til mødet",
    "Resa till Göteborg", "Übernachtung München", "Parking at client site", "Train Paris → Lyon",
    "Software licence renewal", "Equipment for new hire", "Déjeuner d'équipe", "Bücher für das Team",
    "Quarterly offsite – venue deposit", "Cloud hosting (usage based)", "Tip\tincluded", "Receipt lost,\nsee email",
    "Ref:\x07 scanned twice", "Annual plan, prepaid", "Courier to Århus"};
constexpr std::array<const char*, 6> kEmojiPhrases = {"Pizza for the release night 🍕", "Conference ticket 🎟️",
                                                       "Flowers for Åse 💐", "Ferry ⛴ to Malmö",
                                                       "Workshop snacks 🥨🥤", "Gift for client – 🎁"};

// ExportItemTypeV3 with realistic weights (per mille) and what each type carries.
enum class Kind {
  card_purchase, card_invoice, out_of_pocket, mileage, per_diem, external_reimbursement, direct_reimbursement,
  invoice, invoice_payment, chargeback, refund, cashback, atm_withdrawal, wallet_topup, wallet_unload,
  personal_spend, fee
};
struct TypeSpec {
  Kind kind;
  const char* name;
  int weight;
  bool balance;     // moves wallet money: carries contraAccount (domain brief §2.3)
  bool merchant;    // has a supplier
  bool expense;     // lines carry an account, tags and tax
  bool splittable;  // may have 2-3 lines
  double min_eur, max_eur;
};
constexpr std::array<TypeSpec, 17> kTypes = {{
    {Kind::card_purchase, "card_purchase", 620, true, true, true, true, 2, 3000},
    {Kind::card_invoice, "card_invoice", 20, true, true, true, true, 50, 20000},
    {Kind::out_of_pocket, "out_of_pocket", 50, false, true, true, true, 5, 800},
    {Kind::mileage, "mileage", 15, false, false, true, false, 10, 400},
    {Kind::per_diem, "per_diem", 10, false, false, true, false, 20, 300},
    {Kind::external_reimbursement, "external_reimbursement", 10, false, false, true, false, 10, 2000},
    {Kind::direct_reimbursement, "direct_reimbursement", 20, true, false, false, false, 10, 2000},
    {Kind::invoice, "invoice", 60, false, true, true, true, 100, 80000},
    {Kind::invoice_payment, "invoice_payment", 50, true, true, false, false, 100, 80000},
    {Kind::chargeback, "chargeback", 8, true, true, true, false, 5, 800},
    {Kind::refund, "refund", 40, true, true, true, true, 5, 1500},
    {Kind::cashback, "cashback", 7, true, true, true, false, 1, 300},
    {Kind::atm_withdrawal, "atm_withdrawal", 10, true, true, true, false, 20, 500},
    {Kind::wallet_topup, "wallet_topup", 25, true, false, false, false, 1000, 200000},
    {Kind::wallet_unload, "wallet_unload", 5, true, false, false, false, 500, 50000},
    {Kind::personal_spend, "personal_spend", 10, true, true, true, false, 5, 300},
    {Kind::fee, "fee", 40, true, false, true, false, 5, 500},
}};

Json money(const char* currency_code, int64_t value) {
  Json m = Json::object();
  m["currency"] = currency_code;
  m["value"] = value;
  return m;
}

Json amount(const char* supplier_currency, int64_t supplier_value, const char* wallet_currency, int64_t wallet_value) {
  Json a = Json::object();
  a["inSupplierCurrency"] = money(supplier_currency, supplier_value);
  a["inWalletCurrency"] = money(wallet_currency, wallet_value);
  return a;
}

int64_t to_minor(double major, const Currency& c) {
  return std::max<int64_t>(1, std::llround(major * std::pow(10.0, c.digits)));
}

// Splits `total` into shares proportional to `weights` that add up to `total` exactly.
std::vector<int64_t> split(int64_t total, const std::vector<int>& weights) {
  int sum = 0;
  for (int w : weights) sum += w;
  std::vector<int64_t> parts;
  int64_t given = 0;
  for (size_t i = 0; i + 1 < weights.size(); ++i) {
    parts.push_back(total * weights[i] / sum);
    given += parts.back();
  }
  parts.push_back(total - given);
  return parts;
}

int64_t round_half_away(double x) { return x >= 0 ? static_cast<int64_t>(std::floor(x + 0.5)) : -static_cast<int64_t>(std::floor(-x + 0.5)); }

}  // namespace

// kTypes and the public kItemTypes must list the types in the same order.
constexpr bool same_type_order() {
  for (size_t i = 0; i < kTypes.size(); ++i)
    if (std::string_view(kTypes[i].name) != kItemTypes[i]) return false;
  return std::size(kItemTypes) == kTypes.size();
}
static_assert(same_type_order());

struct ItemGenerator::Impl {
  explicit Impl(uint64_t seed) : r(seed) {}
  Rng r;

  std::string note() {
    const double x = r.unit();
    if (x < 0.30) return {};  // caller turns this into null
    auto phrase = [&]() -> const char* { return r.chance(0.06) ? r.pick(kEmojiPhrases) : r.pick(kNotePhrases); };
    std::string s = phrase();
    if (x < 0.62) return s;
    // Long notes: longer than the 60 code points a description keeps.
    while (s.size() < 70 || r.chance(0.4)) {
      s += r.chance(0.5) ? " – " : ", ";
      s += phrase();
      if (s.size() > 200) break;
    }
    return s;
  }

  Json files() {
    if (r.chance(0.1)) return nullptr;
    Json list = Json::array();
    const uint64_t n = r.chance(0.15) ? 0 : r.chance(0.82) ? 1 : 2;
    for (uint64_t i = 0; i < n; ++i) {
      const bool pdf = r.chance(0.25);
      Json f = Json::object();
      f["url"] = fmt::format("https://files.pleo.io/r/{}.{}?token={}", uuid(r), pdf ? "pdf" : "jpg", hex(r, 32));
      f["type"] = pdf ? "application/pdf" : (r.chance(0.8) ? "image/jpeg" : "image/png");
      f["size"] = r.between(8000, 2500000);
      list.push_back(std::move(f));
    }
    return list;
  }

  Json supplier(const Company& co, const TypeSpec& t, std::string& country) {
    Json s = Json::object();
    const bool pleo = t.kind == Kind::fee;
    const double place = r.unit();
    country = pleo ? "DK" : place < 0.70 ? co.country : place < 0.95 ? r.pick(kCountries) : "";
    s["code"] = r.chance(0.4) ? Json(digits(r, 10)) : Json(nullptr);
    s["name"] = pleo ? "Pleo" : r.pick(kMerchants);
    s["categoryCode"] = r.chance(0.8) ? Json(std::to_string(r.between(4000, 8999))) : Json(nullptr);
    s["country"] = country.empty() ? Json(nullptr) : Json(country);
    s["account"] = r.chance(0.1) ? Json(digits(r, 8)) : Json(nullptr);
    s["taxIdentifier"] = r.chance(0.3) ? Json((country.empty() ? "EU" : country) + digits(r, 8)) : Json(nullptr);
    return s;
  }

  Json account_for_line(const TypeSpec& t) {
    const World& w = world();
    if (!t.expense || r.chance(0.03)) return nullptr;  // uncategorised
    const PleoAccount& a = w.accounts[r.chance(0.85) ? r.pick(w.mapped) : r.pick(w.unmapped)];
    Json j = Json::object();
    j["id"] = a.id;
    j["name"] = a.name;
    j["code"] = a.code;
    j["identifier"] = a.code;
    return j;
  }

  Json tags() {
    Json list = Json::array();
    const double x = r.unit();
    const size_t n = x < 0.45 ? 0 : x < 0.8 ? 1 : x < 0.95 ? 2 : 3;
    for (size_t i = 0; i < n; ++i) {
      const auto& d = dimensions()[i];
      Json tag = Json::object();
      tag["id"] = uuid(r);
      tag["groupCode"] = d.code;
      tag["code"] = r.chance(0.97) ? r.pick(d.values) : fmt::format("{}-ARCHIVED", r.pick(d.values));
      list.push_back(std::move(tag));
    }
    return list;
  }

  // gross is the line amount (per currency); returns the tax object or null and sets the net.
  Json tax(const Company& co, const std::string& supplier_country, const TypeSpec& t, const char* sc, int64_t gross_s,
           const char* wc, int64_t gross_w, int64_t& net_s, int64_t& net_w) {
    net_s = gross_s;
    net_w = gross_w;
    if (!t.expense || t.kind == Kind::mileage || t.kind == Kind::per_diem || r.chance(0.12)) return nullptr;
    const bool foreign = !supplier_country.empty() && supplier_country != co.country;
    std::string code;
    double rate = 0;
    std::string type = "inclusive";
    const CountryTax* ct = &kCountryTax[0];
    for (const auto& c : kCountryTax)
      if (std::string_view(c.country) == co.country) ct = &c;
    const double x = r.unit();
    if (x < 0.08) {
      code = r.pick(kRetiredTaxCodes);
      rate = 0.25;
    } else {
      code = x < 0.7 ? ct->codes[0] : r.pick(ct->codes);
      rate = tax_rate(code);
      if (foreign && r.chance(0.4)) {
        rate = 0;  // no VAT charged abroad: the ERP must self-assess it (reverse charge)
        type = "reverse";
      } else if (r.chance(0.2)) {
        type = "exclusive";
      }
    }
    Json j = Json::object();
    j["id"] = uuid(r);
    j["code"] = r.chance(0.02) ? Json(nullptr) : Json(code);
    j["rate"] = rate;
    j["type"] = type;
    const int64_t tax_s = round_half_away(static_cast<double>(gross_s) * rate / (1 + rate));
    const int64_t tax_w = round_half_away(static_cast<double>(gross_w) * rate / (1 + rate));
    if (type == "exclusive") net_s = gross_s - tax_s, net_w = gross_w - tax_w;
    j["amount"] = amount(sc, tax_s, wc, tax_w);
    if (type == "reverse" || r.chance(0.3)) {
      j["ingoingTaxAccount"] = "66010";
      j["outgoingTaxAccount"] = "66020";
    }
    return j;
  }

  Json vendor_object(const Company& co, const std::string& supplier_country, bool ap) {
    const World& w = world();
    const Vendor& v = r.pick(w.vendors);
    Json j = Json::object();
    j["id"] = v.pleo_id;
    j["name"] = v.name;
    j["defaultCurrency"] = v.currency;
    // For AP items, how the ERP can find the vendor: by code (most), only by tax number, or not
    // at all (a vendor created in Pleo but never synced).
    const double x = ap ? r.unit() : 0.0;
    if (x < 0.82) {
      j["code"] = v.code;
      j["externalId"] = v.external_id;
    } else if (x < 0.9) {
      j["code"] = fmt::format("V9{:04d}", r.below(10000));
      j["externalId"] = nullptr;
    } else {
      j["code"] = nullptr;
      j["externalId"] = nullptr;
    }
    j["country"] = supplier_country.empty() ? Json(co.country) : Json(supplier_country);
    j["registrationNumber"] = r.chance(0.5) ? Json(v.registration) : Json(nullptr);
    if (x >= 0.95) j["taxRegistrationNumber"] = fmt::format("XX{}", digits(r, 9));
    else if (x >= 0.82 || r.chance(0.6)) j["taxRegistrationNumber"] = v.tax_number;
    else j["taxRegistrationNumber"] = nullptr;
    return j;
  }

  Json invoice_information(int64_t day, bool payment) {
    Json inv = Json::object();
    const int64_t invoice_day = day - r.between(0, 40);
    inv["invoiceNumber"] = fmt::format("INV-{}-{:05d}", 2023 + r.below(3), r.below(100000));
    inv["invoiceDate"] = iso_date(invoice_day);
    constexpr std::array<const char*, 13> statuses = {
        "paid", "paid", "paid", "paid", "paid", "paid", "paid", "marked_as_paid", "marked_as_paid", "scheduled",
        "payment_in_progress", "prepared", "failed_payment"};
    inv["status"] = payment ? "paid" : r.pick(statuses);
    inv["dueDate"] = iso_date(invoice_day + 30);
    inv["paymentDate"] = iso_date(day);
    if (payment || r.chance(0.3)) {
      inv["supplierBankAccount"] = nullptr;
    } else {
      Json b = Json::object();
      b["bankName"] = r.pick(std::array<const char*, 6>{"Danske Bank", "Nordea", "Barclays", "Deutsche Bank",
                                                        "Handelsbanken", "Banco Santander"});
      b["country"] = r.pick(kCountries);
      const bool iban = r.chance(0.6);
      b["accountNumber"] = iban ? Json(nullptr) : Json(digits(r, 10));
      b["bankCode"] = iban ? Json(nullptr) : Json(digits(r, 6));
      b["bic"] = iban ? Json("DABADKKK") : Json(nullptr);
      b["iban"] = iban ? Json("DK" + digits(r, 16)) : Json(nullptr);
      inv["supplierBankAccount"] = std::move(b);
    }
    return inv;
  }

  std::string next(const Pin& pin) {
    const World& w = world();
    const Company& drawn_company = r.pick(kCompanies);
    const Company& co = pin.company >= 0 ? kCompanies.at(static_cast<size_t>(pin.company)) : drawn_company;
    std::array<int, kTypes.size()> weights{};
    for (size_t i = 0; i < kTypes.size(); ++i) weights[i] = kTypes[i].weight;
    const size_t drawn_type = r.weighted(weights);
    const TypeSpec& t = kTypes.at(pin.type >= 0 ? static_cast<size_t>(pin.type) : drawn_type);
    const std::string id = uuid(r);

    Json item = Json::object();
    item["companyId"] = co.id;
    item["accountingEntryId"] = id;
    item["type"] = t.name;
    switch (t.kind) {
      case Kind::direct_reimbursement: {
        const double x = r.unit();
        item["subType"] = x < 0.7 ? "reimbursement_to_employee" : x < 0.9 ? "reimbursement_to_company"
                                                                           : "reimbursement_to_employee_refund";
        break;
      }
      case Kind::invoice_payment:
        item["subType"] = r.chance(0.9) ? "invoice_payment_sent" : "invoice_payment_returned";
        break;
      case Kind::fee: item["subType"] = r.chance(0.25) ? Json("interest") : Json(nullptr); break;
      default: item["subType"] = nullptr;
    }
    const int64_t day = r.between(kFirstDay, kLastDay);
    item["date"] = iso_date_time(day, r.between(0, 86399));

    // Amounts: drawn in EUR, then expressed in the supplier's and the wallet's currency.
    const Currency& wc = currency(co.currency);
    const bool fx = t.merchant && t.kind != Kind::invoice_payment && r.chance(0.22);
    const Currency& sc = fx ? r.pick(kCurrencies) : wc;
    const double eur = r.log_uniform(t.min_eur, t.max_eur);
    const int64_t total_s = to_minor(eur / sc.in_eur, sc);
    const int64_t total_w = to_minor(static_cast<double>(total_s) / std::pow(10.0, sc.digits) * sc.in_eur / wc.in_eur, wc);
    item["amount"] = amount(sc.code, total_s, wc.code, total_w);

    const std::string n = t.kind == Kind::wallet_topup || t.kind == Kind::wallet_unload ? std::string() : note();
    item["note"] = n.empty() ? (r.chance(0.15) ? Json("") : Json(nullptr)) : Json(n);
    item["files"] = t.merchant || t.kind == Kind::mileage ? files() : Json(nullptr);

    std::string supplier_country;
    item["supplier"] = t.merchant || t.kind == Kind::fee ? supplier(co, t, supplier_country) : Json(nullptr);
    const bool has_user = t.kind != Kind::wallet_topup && t.kind != Kind::wallet_unload && t.kind != Kind::fee;
    if (has_user) {
      const auto& u = r.pick(w.users);
      Json user = Json::object();
      user["id"] = u[0];
      user["name"] = u[1];
      user["code"] = u[2].empty() ? Json(nullptr) : Json(u[2]);
      item["user"] = std::move(user);
    } else {
      item["user"] = nullptr;
    }
    if (has_user && r.chance(0.8)) {
      std::array<int, kTeams.size()> tw{};
      for (size_t i = 0; i < kTeams.size(); ++i) tw[i] = kTeams[i].weight;
      const Team& tm = kTeams[r.weighted(tw)];
      Json team = Json::object();
      team["id"] = tm.id;
      team["code"] = tm.code ? Json(tm.code) : Json(nullptr);
      team["name"] = tm.name;
      item["team"] = std::move(team);
    } else {
      item["team"] = nullptr;
    }

    // Lines: shares of the total that add up to it exactly, in both currencies.
    const double lx = r.unit();
    size_t line_count = !t.splittable ? 1 : lx < 0.72 ? 1 : lx < 0.92 ? 2 : 3;
    if (total_s < 10 || total_w < 10) line_count = 1;
    std::vector<int> line_weights;
    for (size_t i = 0; i < line_count; ++i) line_weights.push_back(static_cast<int>(r.between(1, 10)));
    const auto parts_s = split(total_s, line_weights);
    const auto parts_w = split(total_w, line_weights);
    Json lines = Json::array();
    for (size_t i = 0; i < line_count; ++i) {
      Json line = Json::object();
      line["accountingEntryLineId"] = uuid(r);
      int64_t net_s = 0;
      int64_t net_w = 0;
      Json account = account_for_line(t);
      Json tag_list = t.expense ? tags() : Json::array();
      Json tax_obj = tax(co, supplier_country, t, sc.code, parts_s[i], wc.code, parts_w[i], net_s, net_w);
      line["lineAmount"] = amount(sc.code, parts_s[i], wc.code, parts_w[i]);
      line["netAmount"] = amount(sc.code, net_s, wc.code, net_w);
      line["account"] = std::move(account);
      line["tags"] = std::move(tag_list);
      line["tax"] = std::move(tax_obj);
      lines.push_back(std::move(line));
    }
    item["accountingEntryLines"] = std::move(lines);

    Json info = Json::object();
    info["reconciliationId"] = uuid(r);
    if (t.kind == Kind::card_purchase && r.chance(0.1)) {
      Json attendees = Json::array();
      for (uint64_t i = 0, k = 1 + r.below(4); i < k; ++i) attendees.push_back(r.pick(w.users)[1]);
      info["attendees"] = std::move(attendees);
    } else {
      info["attendees"] = nullptr;
    }
    const bool reconciles = t.kind == Kind::refund || t.kind == Kind::chargeback || t.kind == Kind::invoice_payment;
    info["reconciledEntries"] = reconciles ? Json::array({uuid(r)}) : Json(nullptr);
    const bool invoice_like = t.kind == Kind::invoice || t.kind == Kind::card_invoice || t.kind == Kind::invoice_payment;
    info["invoiceInformation"] = invoice_like ? invoice_information(day, t.kind == Kind::invoice_payment) : Json(nullptr);
    item["additionalInformation"] = std::move(info);

    // Bookkeeping: null when Vendor Tagging is off (legacy), none for wallet movements.
    std::string method;
    const double mx = r.unit();
    if (t.kind == Kind::wallet_topup || t.kind == Kind::wallet_unload) method = "none";
    else if (mx < 0.08) method = "";
    else if (t.kind == Kind::invoice || t.kind == Kind::invoice_payment) method = mx < 0.92 ? "accounts_payable" : "journal";
    else if (t.kind == Kind::card_invoice) method = mx < 0.6 ? "accounts_payable" : "journal";
    else if (t.kind == Kind::card_purchase) method = mx < 0.2 ? "accounts_payable" : "journal";
    else method = "journal";
    if (method.empty()) {
      item["bookkeeping"] = nullptr;
    } else {
      Json b = Json::object();
      b["method"] = method;
      item["bookkeeping"] = std::move(b);
    }

    if (t.balance) {
      const Wallet& wl = wallet(co.currency);
      Json c = Json::object();
      c["id"] = wl.id;
      c["name"] = fmt::format("Pleo {} Account", wl.currency);
      c["code"] = wl.code;
      c["identifier"] = wl.code;
      item["contraAccount"] = std::move(c);
    } else {
      item["contraAccount"] = nullptr;
    }

    const bool ap = method == "accounts_payable";
    if ((ap && !r.chance(0.04)) || (!ap && t.merchant && r.chance(0.25))) {
      item["vendor"] = vendor_object(co, supplier_country, ap);
    } else {
      item["vendor"] = nullptr;
    }

    if ((t.kind == Kind::invoice || t.kind == Kind::card_purchase) && r.chance(0.05)) {
      Json sp = Json::object();
      sp["from"] = iso_date_time(day, 0);
      sp["to"] = iso_date_time(day + r.between(27, 365), 86399);
      item["servicePeriod"] = std::move(sp);
    } else {
      item["servicePeriod"] = nullptr;
    }

    Json links = Json::object();
    Json web = Json::object();
    web["exportItem"] = fmt::format("https://app.pleo.io/export-items/{}", id);
    Json mobile = Json::object();
    mobile["exportItem"] = fmt::format("pleo://export-items/{}", id);
    Json api = Json::object();
    api["exportItem"] = fmt::format("https://external.pleo.io/v3/export-items/{}", id);
    links["web"] = std::move(web);
    links["mobile"] = std::move(mobile);
    links["api"] = std::move(api);
    item["_links"] = std::move(links);

    const bool escape_all = r.chance(0.2);
    return item.dump(-1, ' ', escape_all);
  }
};

ItemGenerator::ItemGenerator(uint64_t seed) : impl_(std::make_unique<Impl>(seed)) {}
ItemGenerator::~ItemGenerator() = default;

std::string ItemGenerator::next() { return impl_->next(Pin{}); }
std::string ItemGenerator::next(const Pin& pin) { return impl_->next(pin); }

static_assert(std::size(kItemTypes) == 17);

uint64_t write_items(std::ostream& out, std::size_t count, uint64_t seed) {
  ItemGenerator gen(seed);
  uint64_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::string line = gen.next();
    line += '\n';
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    bytes += line.size();
  }
  return bytes;
}


Result<DataSet> write_data_set(const std::filesystem::path& dir, std::size_t count, uint64_t seed) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{fmt::format("{}: {}", dir.string(), ec.message())};
  DataSet ds;
  ds.items = dir / "items.jsonl";
  ds.directory = dir / "directory.yaml";
  {
    std::ofstream out(ds.items, std::ios::binary | std::ios::trunc);
    if (!out) return Error{fmt::format("{}: cannot write", ds.items.string())};
    ds.item_bytes = write_items(out, count, seed);
    out.flush();
    if (!out) return Error{fmt::format("{}: write failed (disk full?)", ds.items.string())};
  }
  std::ofstream out(ds.directory, std::ios::binary | std::ios::trunc);
  if (!out) return Error{fmt::format("{}: cannot write", ds.directory.string())};
  write_directory(out);
  out.flush();
  if (!out) return Error{fmt::format("{}: write failed (disk full?)", ds.directory.string())};
  return ds;
}

}  // namespace lb::sim
