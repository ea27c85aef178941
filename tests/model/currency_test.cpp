#include "model/currency.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <string>

#include "model_test_util.hpp"

using lb::model::currency_minor_units;
using lb::model::is_iso4217;

TEST_CASE("minor units follow ISO 4217", "[model][currency]") {
  CHECK(currency_minor_units("EUR") == 2);
  CHECK(currency_minor_units("GBP") == 2);
  CHECK(currency_minor_units("DKK") == 2);
  CHECK(currency_minor_units("SEK") == 2);
  CHECK(currency_minor_units("USD") == 2);
  CHECK(currency_minor_units("JPY") == 0);
  CHECK(currency_minor_units("ISK") == 0);
  CHECK(currency_minor_units("CLP") == 0);
  CHECK(currency_minor_units("KRW") == 0);
  CHECK(currency_minor_units("HUF") == 2);
  CHECK(currency_minor_units("KWD") == 3);
  CHECK(currency_minor_units("BHD") == 3);
  CHECK(currency_minor_units("JOD") == 3);
  CHECK(currency_minor_units("TND") == 3);
  CHECK(currency_minor_units("CLF") == 4);
  CHECK(currency_minor_units("UYW") == 4);
  CHECK(currency_minor_units("XAU") == 0);  // ISO "N.A.": no subdivision
  // Historic codes still in Pleo's MoneyModel enum.
  CHECK(currency_minor_units("HRK") == 2);
  CHECK(currency_minor_units("BYR") == 0);
  CHECK(currency_minor_units("LTL") == 2);
  // The first and last entries of the table (binary search edges).
  CHECK(currency_minor_units("AED") == 2);
  CHECK(currency_minor_units("ZWL") == 2);
}

TEST_CASE("unknown or malformed codes are rejected", "[model][currency]") {
  for (const char* bad :
       {"UNDEFINED", "", "EU", "EURO", "eur", "Eur", "AAA", "ZZZ", "E1R", "GB ", "XYZ"}) {
    INFO(bad);
    CHECK_FALSE(currency_minor_units(bad));
    CHECK_FALSE(is_iso4217(bad));
  }
  CHECK_FALSE(is_iso4217(std::string_view("EUR\0", 4)));
  CHECK(is_iso4217(std::string_view("EURO", 3)));
}

TEST_CASE("every code of the contract's MoneyModel enum is known, except UNDEFINED",
          "[model][currency]") {
  // Read the enum straight from the OpenAPI file, so the table cannot drift from the contract.
  std::ifstream spec(std::string(LB_TEST_DATA_DIR) +
                     "/../../../shared/pleo-api/pleo-export-openapi.yml");
  if (!spec) {
    WARN("pleo-export-openapi.yml not found next to the repository; skipped");
    return;
  }
  std::string line;
  bool in_money = false, in_enum = false;
  int seen = 0;
  const std::regex item(R"(^\s+- ([A-Z]+)\s*$)");
  while (std::getline(spec, line)) {
    if (line == "    MoneyModel:") in_money = true;
    if (!in_money) continue;
    if (line.find("enum:") != std::string::npos) {
      in_enum = true;
      continue;
    }
    std::smatch m;
    if (in_enum && std::regex_match(line, m, item)) {
      ++seen;
      INFO(m[1].str());
      CHECK(is_iso4217(m[1].str()) == (m[1].str() != "UNDEFINED"));
    } else if (in_enum) {
      break;
    }
  }
  CHECK(seen > 150);
}
