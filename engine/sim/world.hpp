#pragma once
// The fixed world of the generated data (generate.hpp): companies, currencies and wallets, the
// Pleo chart of accounts and its ERP mapping, 5,000 vendors, tax codes, dimensions, teams and
// closed months, plus the seeded random source both the world and the items draw from.
// Internal to engine/sim.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lb::sim::detail {

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

std::string uuid(Rng& r);
std::string hex(Rng& r, size_t n);
std::string digits(Rng& r, size_t n);

// Calendar (H. Hinnant's civil-from-days).
int64_t days_from_civil(int y, int m, int d);
std::string iso_date(int64_t z);
std::string iso_date_time(int64_t day, int64_t seconds);

// that moving a date to the next open one can take several steps (REPORT §3 e).
inline const int64_t kFirstDay = days_from_civil(2023, 6, 1);
inline const int64_t kLastDay = days_from_civil(2026, 1, 31);
inline constexpr std::array<const char*, 21> kClosedMonths = {
    "2023-06", "2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-04", "2024-05",
    "2024-06", "2024-07", "2024-09", "2024-10", "2024-11", "2024-12", "2025-02", "2025-03", "2025-05", "2025-06"};


// --- the fixed world -------------------------------------------------------------------------------

struct Company {
  const char* id;
  const char* country;
  const char* currency;  // the wallet's
};
// tests/bench/pack/pack.toml lists these ids with their countries.
inline constexpr std::array<Company, 20> kCompanies = {{
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
inline constexpr std::array<Currency, 8> kCurrencies = {{{"GBP", 2, 1.17},
                                                   {"EUR", 2, 1.0},
                                                   {"DKK", 2, 0.134},
                                                   {"SEK", 2, 0.087},
                                                   {"USD", 2, 0.92},
                                                   {"JPY", 0, 0.0061},
                                                   {"NOK", 2, 0.086},
                                                   {"CHF", 2, 1.04}}};

const Currency& currency(std::string_view code);

// The ERP account that stands for the Pleo wallet in each wallet currency (item.contraAccount).
struct Wallet {
  const char* currency;
  const char* code;
  const char* id;
};
inline constexpr std::array<Wallet, 5> kWallets = {{{"GBP", "1810", "4a3e9c1f-2b7d-4e58-9a61-0c5d8f2e7b10"},
                                             {"EUR", "1812", "b81f0d2e-6c4a-4f97-8e35-1a9c7d3e5f12"},
                                             {"DKK", "5810", "0d6e2a9b-3f58-4c71-a4e2-8b1f9c6d0a58"},
                                             {"SEK", "1814", "e5c7a1b3-9d2f-4e60-b8a4-3f6c0e9d2b14"},
                                             {"USD", "1816", "7f2b4d6e-1a3c-4b85-9e07-c5d8a2f4b616"}}};

const Wallet& wallet(std::string_view currency_code);

// ERP accounts the benchmark pack's settings name (tests/bench/pack/pack.toml).
inline constexpr std::array<std::array<const char*, 2>, 6> kSpecialAccounts = {{{"69990", "Unmapped expenses (suspense)"},
                                                                        {"69500", "Research & development"},
                                                                        {"24000", "Accounts payable"},
                                                                        {"24100", "Accounts payable, group vendors"},
                                                                        {"24500", "Employee out-of-pocket"},
                                                                        {"19900", "Pleo clearing"}}};

inline constexpr std::array<const char*, 40> kCategories = {
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

inline constexpr std::array<const char*, 64> kMerchants = {
    "Target", "Amazon Web Services", "Google Workspace", "Slack Technologies", "Atlassian", "Uber", "Bolt",
    "Scandinavian Airlines", "Lufthansa", "Ryanair", "easyJet", "DSB", "SJ AB", "Deutsche Bahn", "Eurostar",
    "Hotel d'Angleterre", "Scandic Hotels", "Premier Inn", "NH Hoteles", "Café Møller", "Bäckerei Müller",
    "Ølbaren", "Smørrebrød & Co", "Åhléns", "Systembolaget", "Zürich Hauptbahnhof Kiosk", "Brasserie Lipp",
    "Pizzeria 🍕 Napoli", "Sushi 寿司 Kyoto", "東京ストア", "Starbucks", "Pret A Manger", "Wolt", "Just Eat",
    "IKEA", "Staples", "Office Depot", "Apple Store", "Elgiganten", "MediaMarkt", "Adobe", "Figma", "Notion Labs",
    "GitHub", "Microsoft", "LinkedIn", "Meta Platforms Ireland", "Zoom Video", "Dropbox", "Circle K", "Shell",
    "Q8", "Parkering København", "APCOA Parking", "Post Danmark", "DHL Express", "Boots", "Tesco", "Netto",
    "El Corte Inglés", "Føtex", "Blomsterbutikken 💐", "Mötley Café ☕", "Straße 12 Büro"};

inline constexpr std::array<const char*, 12> kLegalSuffixes = {"ApS", "A/S", "AB", "GmbH", "Ltd", "S.L.", "B.V.",
                                                         "Oy", "Inc.", "SAS", "plc", "& Søn"};

inline constexpr std::array<const char*, 11> kCountries = {"DK", "GB", "SE", "DE", "ES", "IE", "NL", "FI", "FR", "US", "JP"};


struct World {
  std::vector<PleoAccount> accounts;
  std::vector<size_t> mapped;    // indexes into accounts
  std::vector<size_t> unmapped;
  std::vector<Vendor> vendors;
  std::vector<std::array<std::string, 3>> users;  // id, name, code ("" = null)

  World();  // world.cpp: the fixed world, drawn from its own seed
};

const World& world();

struct TaxCode {
  const char* code;
  const char* name;
  double rate;
  const char* type;
};
inline constexpr std::array<TaxCode, 14> kTaxCodes = {{{"S25", "VAT 25%", 0.25, "inclusive"},
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
inline constexpr std::array<CountryTax, 10> kCountryTax = {{{"DK", {"S25", "S25", "Z0"}},
                                                     {"GB", {"S20", "S20", "Z0"}},
                                                     {"SE", {"S25", "S12", "S6"}},
                                                     {"DE", {"S19", "S19", "S7"}},
                                                     {"ES", {"S21", "S21", "Z0"}},
                                                     {"IE", {"S23", "S23", "Z0"}},
                                                     {"NL", {"S21", "S21", "Z0"}},
                                                     {"FI", {"S24", "S24", "Z0"}},
                                                     {"FR", {"S20", "S20", "Z0"}},
                                                     {"US", {"Z0", "Z0", "Z0"}}}};

double tax_rate(std::string_view code);

// Codes a company's Pleo settings still send but the ERP no longer has.
inline constexpr std::array<const char*, 4> kRetiredTaxCodes = {"S22", "VAT-OLD", "T1", "S9"};


struct Dimension {
  const char* code;
  std::vector<std::string> values;
};
const std::vector<Dimension>& dimensions();

struct Team {
  const char* id;
  const char* name;
  const char* code;  // nullptr = null
  int weight;
};
inline constexpr std::array<Team, 9> kTeams = {{{"0b7e4c1a-5d2f-4a96-8c13-e4f7a9b2d501", "Research & Development", "R&D", 12},
                                         {"747aaf60-56c6-4b46-ad92-f8a0cb59cf8b", "Engineering", "5678", 14},
                                         {"3c9a2f7e-8b1d-4e64-a5f2-7d0c6b9e1a03", "Engineering", "ENG", 14},
                                         {"9e1d5b3a-2c7f-4f08-b6a4-1e8d3c5f7a04", "Sales", "SALES", 16},
                                         {"5a8c0e2d-7f4b-4c19-9d63-b2e5a8c1f705", "Marketing", "MKT", 12},
                                         {"d2f6b9a1-4e3c-4a5d-8f70-6c1b9e4d2a06", "Operations", "OPS", 10},
                                         {"71c4e8b2-9a5d-4b3f-a062-d8e1f5c7b907", "Finance", "FIN", 8},
                                         {"e8a3d6c0-1b9f-4d72-b5e8-4a7c2f0d9b08", "People", "HR", 6},
                                         {"2f5b8e1d-6c0a-4e93-9b47-f1d4a8c6e309", "Customer Support", nullptr, 8}}};


}  // namespace lb::sim::detail
