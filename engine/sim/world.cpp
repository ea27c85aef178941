#include "sim/world.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "sim/generate.hpp"

namespace lb::sim {
namespace detail {

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

const Currency& currency(std::string_view code) {
  for (const auto& c : kCurrencies)
    if (code == c.code) return c;
  return kCurrencies[1];
}

const Wallet& wallet(std::string_view currency_code) {
  for (const auto& w : kWallets)
    if (currency_code == w.currency) return w;
  return kWallets[1];
}

World::World() {
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

const World& world() {
  static const World w;
  return w;
}

double tax_rate(std::string_view code) {
  for (const auto& t : kTaxCodes)
    if (code == t.code) return t.rate;
  return 0.25;
}

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

}  // namespace detail

using namespace detail;

namespace {

// A YAML double-quoted scalar: JSON string syntax is a subset of it.
std::string q(std::string_view s) { return nlohmann::json(s).dump(-1, ' ', false); }

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

}  // namespace lb::sim
