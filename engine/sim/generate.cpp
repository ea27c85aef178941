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

namespace lb::sim {
namespace {

using Json = nlohmann::ordered_json;  // keeps Pleo's field order, so lines read like real ones

// Own helpers over mt19937_64 rather than <random>'s distributions: those may differ between
// standard libraries, and a seed must give the same items everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t u64() { return engine_(); }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : u64() % n; }
  int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1))); }
  double unit() { return static_cast<double>(u64() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  double log_uniform(double lo, double hi) { return std::exp(std::log(lo) + unit() * (std::log(hi) - std::log(lo))); }
  template <typename C>
  const auto& pick(const C& c) {
    return c[static_cast<size_t>(below(std::size(c)))];
  }
  // Index drawn with the given relative weights.
  size_t weighted(std::span<const int> weights) {
    int total = 0;
    for (int w : weights) total += w;
    auto x = static_cast<int>(below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

std::string uuid(Rng& r) {
  const uint64_t a = (r.u64() & 0xFFFFFFFFFFFF0FFFull) | 0x4000ull;
  const uint64_t b = (r.u64() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48,
                     b & 0xFFFFFFFFFFFFull);
}

std::string hex(Rng& r, size_t n) {
  std::string s;
  while (s.size() < n) s += fmt::format("{:016x}", r.u64());
  s.resize(n);
  return s;
}

std::string digits(Rng& r, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('0' + r.below(10));
  return s;
}

// --- calendar (H. Hinnant's civil-from-days) ----------------------------------------------------

int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string iso_date(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return fmt::format("{:04d}-{:02d}-{:02d}", yoe + era * 400 + (m <= 2), m, d);
}

std::string iso_date_time(int64_t day, int64_t seconds) {
  return fmt::format("{}T{:02d}:{:02d}:{:02d}Z", iso_date(day), seconds / 3600, seconds / 60 % 60, seconds % 60);
}

// Items are dated over 32 months; 21 of them are closed in the ERP, in runs of up to nine, so
// that moving a date to the next open one can take several steps (REPORT §3 e).
const int64_t kFirstDay = days_from_civil(2023, 6, 1);
const int64_t kLastDay = days_from_civil(2026, 1, 31);
constexpr std::array<const char*, 21> kClosedMonths = {
    "2023-06", "2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-04", "2024-05",
    "2024-06", "2024-07", "2024-09", "2024-10", "2024-11", "2024-12", "2025-02", "2025-03", "2025-05", "2025-06"};

// --- the fixed world -------------------------------------------------------------------------------

struct Company {
  const char* id;
  const char* country;
  const char* currency;  // the wallet's
};
// tests/bench/pack/pack.toml lists these ids with their countries.
constexpr std::array<Company, 20> kCompanies = {{
    {"6513270e-269e-4d37-b2a7-4de452e6b438", "DK", "DKK"}, {"d23f0824-128b-4f33-8c5c-7fd0a6a3a450", "DK", "DKK"},
    {"9531985d-5d9d-49f8-9818-e811892f902b", "DK", "DKK"}, {"36f675cc-81e7-4ef5-a8e2-5d940ed90475", "DK", "DKK"},
    {"6b0d549b-6f03-475a-9600-a35a099950d8", "DK", "DKK"}, {"8d116ece-1738-47d9-bd9c-172411e20b8f", "GB", "GBP"},
    {"90c192cf-d3ac-44af-8f21-ddb66cad4a26", "GB", "GBP"}, {"a170b338-3926-4059-b28c-105d1fb17c23", "GB", "GBP"},
    {"0fd630f1-f29d-4da9-953f-48f1a09f76b5", "GB", "GBP"}, {"0cb1e29c-658c-4a14-95e6-0af593bd04cf", "SE", "SEK"},
    {"8e81973e-0bec-47b0-b898-d190f9ebdacc", "SE", "SEK"}, {"6b4cb242-4a23-4596-a217-beaddbc496cb", "SE", "SEK"},
    {"92276658-1e27-41c0-8a6a-63ec24ede6a4", "DE", "EUR"}, {"ae97ba94-d0ed-482f-8f6d-05584ef8aa38", "DE", "EUR"},
    {"923a7369-94e3-4f91-9a61-dbe22e44158b", "ES", "EUR"}, {"18f135d2-5f55-4203-b018-50c5a38fd547", "ES", "EUR"},
    {"907a70c3-1012-4037-b64c-e4228c38fb29", "IE", "EUR"}, {"7f150524-34b9-45df-9e77-69b10f4205b4", "NL", "EUR"},
    {"c6f87718-6d76-407e-881e-d162ae2eb154", "FI", "EUR"}, {"ec66a787-95e7-41d1-b731-af10506bf2ef", "US", "USD"},
}};

struct Currency {
  const char* code;
  int digits;
  double in_eur;  // one major unit in EUR: FX between any two is consistent
};
constexpr std::array<Currency, 8> kCurrencies = {{{"GBP", 2, 1.17},
                                                   {"EUR", 2, 1.0},
                                                   {"DKK", 2, 0.134},
                                                   {"SEK", 2, 0.087},
                                                   {"USD", 2, 0.92},
                                                   {"JPY", 0, 0.0061},
                                                   {"NOK", 2, 0.086},
                                                   {"CHF", 2, 1.04}}};

const Currency& currency(std::string_view code) {
  for (const auto& c : kCurrencies)
    if (code == c.code) return c;
  return kCurrencies[1];
}

// The ERP account that stands for the Pleo wallet in each wallet currency (item.contraAccount).
struct Wallet {
  const char* currency;
  const char* code;
  const char* id;
};
constexpr std::array<Wallet, 5> kWallets = {{{"GBP", "1810", "4a3e9c1f-2b7d-4e58-9a61-0c5d8f2e7b10"},
                                             {"EUR", "1812", "b81f0d2e-6c4a-4f97-8e35-1a9c7d3e5f12"},
                                             {"DKK", "5810", "0d6e2a9b-3f58-4c71-a4e2-8b1f9c6d0a58"},
                                             {"SEK", "1814", "e5c7a1b3-9d2f-4e60-b8a4-3f6c0e9d2b14"},
                                             {"USD", "1816", "7f2b4d6e-1a3c-4b85-9e07-c5d8a2f4b616"}}};

const Wallet& wallet(std::string_view currency_code) {
  for (const auto& w : kWallets)
    if (currency_code == w.currency) return w;
  return kWallets[1];
}

// ERP accounts the benchmark pack's settings name (tests/bench/pack/pack.toml).
constexpr std::array<std::array<const char*, 2>, 6> kSpecialAccounts = {{{"69990", "Unmapped expenses (suspense)"},
                                                                        {"69500", "Research & development"},
                                                                        {"24000", "Accounts payable"},
                                                                        {"24100", "Accounts payable, group vendors"},
                                                                        {"24500", "Employee out-of-pocket"},
                                                                        {"19900", "Pleo clearing"}}};

constexpr std::array<const char*, 40> kCategories = {
    "Travel", "Flights", "Hotels", "Taxi & rideshare", "Train & bus", "Meals & entertainment", "Team events",
    "Client entertainment", "Office supplies", "Furniture", "IT equipment", "Software subscriptions",
    "Cloud hosting", "Telephone & internet", "Postage & courier", "Marketing", "Advertising online",
    "Events & conferences", "Training & courses", "Books & literature", "Consulting", "Legal fees",
    "Accounting fees", "Recruitment", "Insurance", "Rent", "Utilities", "Repairs & maintenance", "Cleaning",
    "Fuel", "Parking", "Mileage allowance", "Per diem", "Bank fees & interest", "Gifts", "Subscriptions, media",
    "Small tools", "Research materials", "Welfare", "Miscellaneous"};

struct PleoAccount {
  std::string id;
  std::string name;
  std::string code;
  std::string erp;  // empty: not in the account map
};

struct Vendor {
  std::string pleo_id;
  std::string code;
  std::string name;
  std::string country;
  std::string currency;
  std::string external_id;
  std::string tax_number;
  std::string registration;
  std::optional<std::string> payables;
  bool blocked = false;
};

constexpr std::array<const char*, 64> kMerchants = {
    "Target", "Amazon Web Services", "Google Workspace", "Slack Technologies", "Atlassian", "Uber", "Bolt",
    "Scandinavian Airlines", "Lufthansa", "Ryanair", "easyJet", "DSB", "SJ AB", "Deutsche Bahn", "Eurostar",
    "Hotel d'Angleterre", "Scandic Hotels", "Premier Inn", "NH Hoteles", "Café Møller", "Bäckerei Müller",
    "Ølbaren", "Smørrebrød & Co", "Åhléns", "Systembolaget", "Zürich Hauptbahnhof Kiosk", "Brasserie Lipp",
    "Pizzeria 🍕 Napoli", "Sushi 寿司 Kyoto", "東京ストア", "Starbucks", "Pret A Manger", "Wolt", "Just Eat",
    "IKEA", "Staples", "Office Depot", "Apple Store", "Elgiganten", "MediaMarkt", "Adobe", "Figma", "Notion Labs",
    "GitHub", "Microsoft", "LinkedIn", "Meta Platforms Ireland", "Zoom Video", "Dropbox", "Circle K", "Shell",
    "Q8", "Parkering København", "APCOA Parking", "Post Danmark", "DHL Express", "Boots", "Tesco", "Netto",
    "El Corte Inglés", "Føtex", "Blomsterbutikken 💐", "Mötley Café ☕", "Straße 12 Büro"};

constexpr std::array<const char*, 12> kLegalSuffixes = {"ApS", "A/S", "AB", "GmbH", "Ltd", "S.L.", "B.V.",
                                                         "Oy", "Inc.", "SAS", "plc", "& Søn"};

constexpr std::array<const char*, 11> kCountries = {"DK", "GB", "SE", "DE", "ES", "IE", "NL", "FI", "FR", "US", "JP"};

struct World {
  std::vector<PleoAccount> accounts;
  std::vector<size_t> mapped;    // indexes into accounts
  std::vector<size_t> unmapped;
  std::vector<Vendor> vendors;
  std::vector<std::array<std::string, 3>> users;  // id, name, code ("" = null)

  World() {
    Rng r(0x1edb41d6e0000001ull);
    // 260 Pleo account codes; 200 of them are in the account map.
    const std::array<std::pair<int, int>, 5> ranges = {{{4, 20}, {5, 40}, {6, 120}, {7, 60}, {8, 20}}};
    for (auto [prefix, count] : ranges) {
      for (int i = 0; i < count; ++i) {
        PleoAccount a;
        a.id = uuid(r);
        a.code = std::to_string(prefix * 1000 + 10 + i * 8 + static_cast<int>(r.below(8)));
        a.name = r.pick(kCategories);
        accounts.push_back(std::move(a));
      }
    }
    std::vector<size_t> order(accounts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[r.below(i + 1)]);
    for (size_t k = 0; k < order.size(); ++k) {
      if (k < 200) {
        accounts[order[k]].erp = accounts[order[k]].code + "0";
        mapped.push_back(order[k]);
      } else {
        unmapped.push_back(order[k]);
      }
    }
    std::sort(mapped.begin(), mapped.end());
    std::sort(unmapped.begin(), unmapped.end());

    vendors.reserve(5000);
    for (int i = 0; i < 5000; ++i) {
      Vendor v;
      v.pleo_id = uuid(r);
      v.code = "V" + std::to_string(10000 + i);
      v.country = r.pick(kCountries);
      v.name = fmt::format("{} {}{}", r.pick(kMerchants), r.pick(kLegalSuffixes),
                           r.chance(0.3) ? fmt::format(" ({})", i) : "");
      v.currency = v.country == "GB" ? "GBP" : v.country == "DK" ? "DKK" : v.country == "SE" ? "SEK"
                 : v.country == "US" ? "USD" : v.country == "JP" ? "JPY" : "EUR";
      v.external_id = r.chance(0.5) ? v.code : fmt::format("ext-{:05d}", i);
      // A few vendors share a tax number with an earlier one: the look-up must find the first.
      v.tax_number = (i > 10 && r.chance(0.02)) ? vendors[r.below(vendors.size())].tax_number
                                                : v.country + digits(r, 8);
      v.registration = digits(r, 8);
      if (r.chance(0.1)) v.payables = "24100";
      v.blocked = r.chance(0.01);
      vendors.push_back(std::move(v));
    }

    constexpr std::array<const char*, 24> first = {"Luke", "Natalie", "Søren", "José", "Zoë", "Åsa", "Jürgen",
                                                    "Chloé", "Mikkel", "Ingrid", "Oliver", "Freja", "Björn", "Siobhán",
                                                    "Ana", "Kenji", "Mette", "Lars", "Émile", "Niamh", "Ola", "Ayşe",
                                                    "Pål", "Maja"};
    constexpr std::array<const char*, 24> last = {"Richardson", "White", "Kierkegård", "Núñez", "Ångström", "Müller",
                                                   "Hansen", "Nielsen", "Lindqvist", "O'Brien", "García", "Jensen",
                                                   "Pedersen", "Dupont", "Yamamoto", "Schröder", "Kowalski", "Smith",
                                                   "Öztürk", "Virtanen", "Ó Súilleabháin", "Holm", "Berg", "Fernández"};
    for (int i = 0; i < 400; ++i) {
      users.push_back({uuid(r), fmt::format("{} {}", r.pick(first), r.pick(last)),
                       r.chance(0.4) ? fmt::format("E{:04d}", i) : std::string()});
    }
  }
};

const World& world() {
  static const World w;
  return w;
}

struct TaxCode {
  const char* code;
  const char* name;
  double rate;
  const char* type;
};
constexpr std::array<TaxCode, 14> kTaxCodes = {{{"S25", "VAT 25%", 0.25, "inclusive"},
                                                {"S24", "VAT 24%", 0.24, "inclusive"},
                                                {"S23", "VAT 23%", 0.23, "inclusive"},
                                                {"S21", "VAT 21%", 0.21, "inclusive"},
                                                {"S20", "VAT 20%", 0.2, "inclusive"},
                                                {"S19", "VAT 19%", 0.19, "inclusive"},
                                                {"S12", "VAT 12%", 0.12, "inclusive"},
                                                {"S7", "VAT 7%", 0.07, "inclusive"},
                                                {"S6", "VAT 6%", 0.06, "inclusive"},
                                                {"Z0", "Zero rated", 0.0, "exclusive"},
                                                {"RC25", "Reverse charge 25%", 0.25, "reverse"},
                                                {"RC20", "Reverse charge 20%", 0.2, "reverse"},
                                                {"RC19", "Reverse charge 19%", 0.19, "reverse"},
                                                {"RCEU", "Reverse charge EU services", 0.0, "reverse"}}};

// The standard and reduced codes of each company country, as Pleo's tax settings would send them.
struct CountryTax {
  const char* country;
  std::array<const char*, 3> codes;  // standard first
};
constexpr std::array<CountryTax, 10> kCountryTax = {{{"DK", {"S25", "S25", "Z0"}},
                                                     {"GB", {"S20", "S20", "Z0"}},
                                                     {"SE", {"S25", "S12", "S6"}},
                                                     {"DE", {"S19", "S19", "S7"}},
                                                     {"ES", {"S21", "S21", "Z0"}},
                                                     {"IE", {"S23", "S23", "Z0"}},
                                                     {"NL", {"S21", "S21", "Z0"}},
                                                     {"FI", {"S24", "S24", "Z0"}},
                                                     {"FR", {"S20", "S20", "Z0"}},
                                                     {"US", {"Z0", "Z0", "Z0"}}}};

double tax_rate(std::string_view code) {
  for (const auto& t : kTaxCodes)
    if (code == t.code) return t.rate;
  return 0.25;
}

// Codes a company's Pleo settings still send but the ERP no longer has.
constexpr std::array<const char*, 4> kRetiredTaxCodes = {"S22", "VAT-OLD", "T1", "S9"};

struct Dimension {
  const char* code;
  std::vector<std::string> values;
};
const std::vector<Dimension>& dimensions() {
  static const std::vector<Dimension> d = [] {
    std::vector<Dimension> out;
    out.push_back({"DEPT", {"ENG", "SALES", "MKT", "OPS", "FIN", "HR", "SUPPORT", "LEGAL"}});
    Dimension project{"PROJECT", {}};
    for (int i = 0; i < 40; ++i) project.values.push_back(fmt::format("P-{}", 1000 + i));
    out.push_back(project);
    Dimension cc{"COSTCENTER", {}};
    for (int i = 0; i < 30; ++i) cc.values.push_back(fmt::format("CC{}", 100 + i));
    out.push_back(cc);
    out.push_back({"REGION", {"NORDICS", "UK", "DACH", "IBERIA", "BENELUX"}});
    return out;
  }();
  return d;
}

struct Team {
  const char* id;
  const char* name;
  const char* code;  // nullptr = null
  int weight;
};
constexpr std::array<Team, 9> kTeams = {{{"0b7e4c1a-5d2f-4a96-8c13-e4f7a9b2d501", "Research & Development", "R&D", 12},
                                         {"747aaf60-56c6-4b46-ad92-f8a0cb59cf8b", "Engineering", "5678", 14},
                                         {"3c9a2f7e-8b1d-4e64-a5f2-7d0c6b9e1a03", "Engineering", "ENG", 14},
                                         {"9e1d5b3a-2c7f-4f08-b6a4-1e8d3c5f7a04", "Sales", "SALES", 16},
                                         {"5a8c0e2d-7f4b-4c19-9d63-b2e5a8c1f705", "Marketing", "MKT", 12},
                                         {"d2f6b9a1-4e3c-4a5d-8f70-6c1b9e4d2a06", "Operations", "OPS", 10},
                                         {"71c4e8b2-9a5d-4b3f-a062-d8e1f5c7b907", "Finance", "FIN", 8},
                                         {"e8a3d6c0-1b9f-4d72-b5e8-4a7c2f0d9b08", "People", "HR", 6},
                                         {"2f5b8e1d-6c0a-4e93-9b47-f1d4a8c6e309", "Customer Support", nullptr, 8}}};

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

  std::string next() {
    const World& w = world();
    const Company& co = r.pick(kCompanies);
    std::array<int, kTypes.size()> weights{};
    for (size_t i = 0; i < kTypes.size(); ++i) weights[i] = kTypes[i].weight;
    const TypeSpec& t = kTypes[r.weighted(weights)];
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

std::string ItemGenerator::next() { return impl_->next(); }

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

namespace {

// A YAML double-quoted scalar: JSON string syntax is a subset of it.
std::string q(std::string_view s) { return Json(s).dump(-1, ' ', false); }

}  // namespace

void write_directory(std::ostream& out) {
  const World& w = world();
  out << "# The ERP directory of the generated world (engine/sim/generate.cpp).\naccounts:\n";
  for (const auto& [code, name] : kSpecialAccounts) out << "  - {code: " << q(code) << ", name: " << q(name) << "}\n";
  for (const auto& wl : kWallets) {
    out << "  - {code: " << q(wl.code) << ", name: " << q(fmt::format("Pleo {} Account", wl.currency))
        << ", currency: " << wl.currency << "}\n";
  }
  out << "  - {code: \"66010\", name: \"Input VAT\"}\n  - {code: \"66020\", name: \"Output VAT\"}\n";
  for (size_t i : w.mapped) {
    const PleoAccount& a = w.accounts[i];
    out << "  - {code: " << q(a.erp) << ", name: " << q(a.name) << (i % 37 == 0 ? ", blocked: true" : "") << "}\n";
  }
  out << "vendors:\n";
  for (const Vendor& v : w.vendors) {
    out << "  - {code: " << q(v.code) << ", name: " << q(v.name) << ", externalId: " << q(v.external_id)
        << ", taxNumber: " << q(v.tax_number) << ", registrationNumber: " << q(v.registration)
        << ", currency: " << v.currency;
    if (v.payables) out << ", payablesAccount: " << q(*v.payables);
    if (v.blocked) out << ", blocked: true";
    out << "}\n";
  }
  out << "tax_codes:\n";
  for (const auto& t : kTaxCodes) {
    out << "  - {code: " << q(t.code) << ", name: " << q(t.name) << ", rate: " << t.rate << ", type: " << t.type
        << ", ingoingTaxAccount: \"66010\", outgoingTaxAccount: \"66020\"}\n";
  }
  out << "dimensions:\n";
  for (const auto& d : dimensions()) {
    out << "  " << d.code << ": [";
    for (size_t i = 0; i < d.values.size(); ++i) out << (i ? ", " : "") << q(d.values[i]);
    out << "]\n";
  }
  out << "periods:\n";
  for (const char* m : kClosedMonths) out << "  - " << q(m) << "\n";
}

void write_account_map(std::ostream& out) {
  const World& w = world();
  out << "pleo_account,erp_account,name\n";
  for (size_t i : w.mapped) {
    const PleoAccount& a = w.accounts[i];
    std::string name = a.name;
    if (name.find_first_of(",\"") != std::string::npos) {
      std::string quoted = "\"";
      for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      name = quoted + "\"";
    }
    out << a.code << ',' << a.erp << ',' << name << '\n';
  }
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
