#include "model/currency.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace lb::model {
namespace {

// A code packed big-endian into 24 bits, so that packed order equals alphabetical order.
constexpr uint32_t pack(const char (&c)[4]) {
  return (uint32_t(uint8_t(c[0])) << 16) | (uint32_t(uint8_t(c[1])) << 8) | uint32_t(uint8_t(c[2]));
}

struct Entry {
  uint32_t code;
  int8_t digits;
};

// ISO 4217 list one (current) plus the historic codes that Pleo's MoneyModel enum still lists
// (BYR, HRK, LTL, MRO, RUR, SLL, STD, USS, VEF, ZWL, CUC, ANG), with the minor units ISO gave
// them. Codes whose minor unit ISO marks "N.A." (precious metals, SDR, bond units, XTS, XXX)
// have no subdivision, so an amount in them can only be whole units: 0 digits.
// Kept alphabetical (checked below) so that a missing or doubled code is easy to spot.
constexpr std::array kCurrencies = {
    Entry{pack("AED"), 2}, Entry{pack("AFN"), 2}, Entry{pack("ALL"), 2}, Entry{pack("AMD"), 2},
    Entry{pack("ANG"), 2}, Entry{pack("AOA"), 2}, Entry{pack("ARS"), 2}, Entry{pack("AUD"), 2},
    Entry{pack("AWG"), 2}, Entry{pack("AZN"), 2}, Entry{pack("BAM"), 2}, Entry{pack("BBD"), 2},
    Entry{pack("BDT"), 2}, Entry{pack("BGN"), 2}, Entry{pack("BHD"), 3}, Entry{pack("BIF"), 0},
    Entry{pack("BMD"), 2}, Entry{pack("BND"), 2}, Entry{pack("BOB"), 2}, Entry{pack("BOV"), 2},
    Entry{pack("BRL"), 2}, Entry{pack("BSD"), 2}, Entry{pack("BTN"), 2}, Entry{pack("BWP"), 2},
    Entry{pack("BYN"), 2}, Entry{pack("BYR"), 0}, Entry{pack("BZD"), 2}, Entry{pack("CAD"), 2},
    Entry{pack("CDF"), 2}, Entry{pack("CHE"), 2}, Entry{pack("CHF"), 2}, Entry{pack("CHW"), 2},
    Entry{pack("CLF"), 4}, Entry{pack("CLP"), 0}, Entry{pack("CNY"), 2}, Entry{pack("COP"), 2},
    Entry{pack("COU"), 2}, Entry{pack("CRC"), 2}, Entry{pack("CUC"), 2}, Entry{pack("CUP"), 2},
    Entry{pack("CVE"), 2}, Entry{pack("CZK"), 2}, Entry{pack("DJF"), 0}, Entry{pack("DKK"), 2},
    Entry{pack("DOP"), 2}, Entry{pack("DZD"), 2}, Entry{pack("EGP"), 2}, Entry{pack("ERN"), 2},
    Entry{pack("ETB"), 2}, Entry{pack("EUR"), 2}, Entry{pack("FJD"), 2}, Entry{pack("FKP"), 2},
    Entry{pack("GBP"), 2}, Entry{pack("GEL"), 2}, Entry{pack("GHS"), 2}, Entry{pack("GIP"), 2},
    Entry{pack("GMD"), 2}, Entry{pack("GNF"), 0}, Entry{pack("GTQ"), 2}, Entry{pack("GYD"), 2},
    Entry{pack("HKD"), 2}, Entry{pack("HNL"), 2}, Entry{pack("HRK"), 2}, Entry{pack("HTG"), 2},
    Entry{pack("HUF"), 2}, Entry{pack("IDR"), 2}, Entry{pack("ILS"), 2}, Entry{pack("INR"), 2},
    Entry{pack("IQD"), 3}, Entry{pack("IRR"), 2}, Entry{pack("ISK"), 0}, Entry{pack("JMD"), 2},
    Entry{pack("JOD"), 3}, Entry{pack("JPY"), 0}, Entry{pack("KES"), 2}, Entry{pack("KGS"), 2},
    Entry{pack("KHR"), 2}, Entry{pack("KMF"), 0}, Entry{pack("KPW"), 2}, Entry{pack("KRW"), 0},
    Entry{pack("KWD"), 3}, Entry{pack("KYD"), 2}, Entry{pack("KZT"), 2}, Entry{pack("LAK"), 2},
    Entry{pack("LBP"), 2}, Entry{pack("LKR"), 2}, Entry{pack("LRD"), 2}, Entry{pack("LSL"), 2},
    Entry{pack("LTL"), 2}, Entry{pack("LYD"), 3}, Entry{pack("MAD"), 2}, Entry{pack("MDL"), 2},
    Entry{pack("MGA"), 2}, Entry{pack("MKD"), 2}, Entry{pack("MMK"), 2}, Entry{pack("MNT"), 2},
    Entry{pack("MOP"), 2}, Entry{pack("MRO"), 2}, Entry{pack("MRU"), 2}, Entry{pack("MUR"), 2},
    Entry{pack("MVR"), 2}, Entry{pack("MWK"), 2}, Entry{pack("MXN"), 2}, Entry{pack("MXV"), 2},
    Entry{pack("MYR"), 2}, Entry{pack("MZN"), 2}, Entry{pack("NAD"), 2}, Entry{pack("NGN"), 2},
    Entry{pack("NIO"), 2}, Entry{pack("NOK"), 2}, Entry{pack("NPR"), 2}, Entry{pack("NZD"), 2},
    Entry{pack("OMR"), 3}, Entry{pack("PAB"), 2}, Entry{pack("PEN"), 2}, Entry{pack("PGK"), 2},
    Entry{pack("PHP"), 2}, Entry{pack("PKR"), 2}, Entry{pack("PLN"), 2}, Entry{pack("PYG"), 0},
    Entry{pack("QAR"), 2}, Entry{pack("RON"), 2}, Entry{pack("RSD"), 2}, Entry{pack("RUB"), 2},
    Entry{pack("RUR"), 2}, Entry{pack("RWF"), 0}, Entry{pack("SAR"), 2}, Entry{pack("SBD"), 2},
    Entry{pack("SCR"), 2}, Entry{pack("SDG"), 2}, Entry{pack("SEK"), 2}, Entry{pack("SGD"), 2},
    Entry{pack("SHP"), 2}, Entry{pack("SLE"), 2}, Entry{pack("SLL"), 2}, Entry{pack("SOS"), 2},
    Entry{pack("SRD"), 2}, Entry{pack("SSP"), 2}, Entry{pack("STD"), 2}, Entry{pack("STN"), 2},
    Entry{pack("SVC"), 2}, Entry{pack("SYP"), 2}, Entry{pack("SZL"), 2}, Entry{pack("THB"), 2},
    Entry{pack("TJS"), 2}, Entry{pack("TMT"), 2}, Entry{pack("TND"), 3}, Entry{pack("TOP"), 2},
    Entry{pack("TRY"), 2}, Entry{pack("TTD"), 2}, Entry{pack("TWD"), 2}, Entry{pack("TZS"), 2},
    Entry{pack("UAH"), 2}, Entry{pack("UGX"), 0}, Entry{pack("USD"), 2}, Entry{pack("USN"), 2},
    Entry{pack("USS"), 2}, Entry{pack("UYI"), 0}, Entry{pack("UYU"), 2}, Entry{pack("UYW"), 4},
    Entry{pack("UZS"), 2}, Entry{pack("VED"), 2}, Entry{pack("VEF"), 2}, Entry{pack("VES"), 2},
    Entry{pack("VND"), 0}, Entry{pack("VUV"), 0}, Entry{pack("WST"), 2}, Entry{pack("XAD"), 0},
    Entry{pack("XAF"), 0}, Entry{pack("XAG"), 0}, Entry{pack("XAU"), 0}, Entry{pack("XBA"), 0},
    Entry{pack("XBB"), 0}, Entry{pack("XBC"), 0}, Entry{pack("XBD"), 0}, Entry{pack("XCD"), 2},
    Entry{pack("XCG"), 2}, Entry{pack("XDR"), 0}, Entry{pack("XOF"), 0}, Entry{pack("XPD"), 0},
    Entry{pack("XPF"), 0}, Entry{pack("XPT"), 0}, Entry{pack("XSU"), 0}, Entry{pack("XTS"), 0},
    Entry{pack("XUA"), 0}, Entry{pack("XXX"), 0}, Entry{pack("YER"), 2}, Entry{pack("ZAR"), 2},
    Entry{pack("ZMW"), 2}, Entry{pack("ZWG"), 2}, Entry{pack("ZWL"), 2},
};

static_assert(std::adjacent_find(kCurrencies.begin(), kCurrencies.end(),
                                 [](const Entry& a, const Entry& b) { return a.code >= b.code; }) ==
                  kCurrencies.end(),
              "kCurrencies must stay sorted, without duplicates");

// Every three-letter code A-Z maps to its digits, or -1: lookup is one load (17.6 KB, of which
// only the lines of the currencies in use get touched). Money is decoded several times per
// export item, so this sits on the hot path.
constexpr int kLetters = 26;
constexpr auto kTable = [] {
  std::array<int8_t, kLetters * kLetters * kLetters> t{};
  for (auto& d : t) d = -1;
  for (const Entry& e : kCurrencies) {
    int a = int((e.code >> 16) & 0xff) - 'A';
    int b = int((e.code >> 8) & 0xff) - 'A';
    int c = int(e.code & 0xff) - 'A';
    t[std::size_t((a * kLetters + b) * kLetters + c)] = e.digits;
  }
  return t;
}();

}  // namespace

std::optional<int> currency_minor_units(std::string_view code) {
  if (code.size() != 3) return std::nullopt;
  unsigned a = unsigned(uint8_t(code[0])) - 'A';
  unsigned b = unsigned(uint8_t(code[1])) - 'A';
  unsigned c = unsigned(uint8_t(code[2])) - 'A';
  if (a >= kLetters || b >= kLetters || c >= kLetters) return std::nullopt;
  int8_t digits = kTable[(a * kLetters + b) * kLetters + c];
  if (digits < 0) return std::nullopt;
  return digits;
}

}  // namespace lb::model
