#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "model/directory.hpp"
#include "model/directory_yaml.hpp"

using lb::model::ErpAccount;
using lb::model::ErpDimensionValue;
using lb::model::ErpPeriod;
using lb::model::ErpTaxCode;
using lb::model::ErpVendor;
using lb::model::load_directory;
using lb::model::load_directory_node;
using lb::model::MemoryDirectory;

namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(LB_TEST_DATA_DIR) + "/directory";

ErpVendor vendor(std::string code, std::optional<std::string> external_id,
                 std::optional<std::string> tax_number, std::string name = "") {
  ErpVendor v;
  v.code = std::move(code);
  v.name = std::move(name);
  v.externalId = std::move(external_id);
  v.taxNumber = std::move(tax_number);
  return v;
}

ErpPeriod closed(std::string from, std::string to) { return ErpPeriod{from, to, true}; }

MemoryDirectory loaded(const std::string& path) {
  MemoryDirectory dir;
  const auto status = load_directory(path, dir);
  INFO(status.message());
  REQUIRE(status.ok());
  return dir;
}

std::string load_error(const std::string& path) {
  MemoryDirectory dir;
  const auto status = load_directory(path, dir);
  REQUIRE_FALSE(status.ok());
  return status.message();
}

// Inline YAML: line 1 is the first line of `yaml`.
std::string node_error(const std::string& yaml) {
  MemoryDirectory dir;
  const auto status = load_directory_node(YAML::Load(yaml), "inline.yaml", dir);
  INFO(yaml);
  REQUIRE_FALSE(status.ok());
  return status.message();
}

// A scratch folder of CSV files, one per test case so parallel CTest runs do not collide.
class CsvFolder {
 public:
  CsvFolder() {
    std::string pattern = (fs::temp_directory_path() / "lb-directory-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~CsvFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  CsvFolder(const CsvFolder&) = delete;
  CsvFolder& operator=(const CsvFolder&) = delete;

  CsvFolder& write(const std::string& name, const std::string& content) {
    std::ofstream(path_ / name, std::ios::binary) << content;
    return *this;
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// directory.yaml, directory.json and csv/ hold the same entries.
void check_sample_directory(const MemoryDirectory& dir) {
  const auto travel = dir.account("6010");
  REQUIRE(travel);
  CHECK(travel->name == "Travel");
  CHECK_FALSE(travel->currency);
  CHECK_FALSE(travel->blocked);
  CHECK(dir.account("6020")->name == "Meals, team");
  CHECK(dir.account("6020")->currency == "DKK");
  CHECK(dir.account("6990")->blocked);
  CHECK_FALSE(dir.account("7000"));

  const auto sas = dir.vendor_by_code("V100");
  REQUIRE(sas);
  CHECK(sas->name == "Scandinavian Airlines \"SAS\"");
  CHECK(sas->externalId == "ext-100");
  CHECK(sas->taxNumber == "DK12345678");
  CHECK(sas->registrationNumber == "12345678");
  CHECK(sas->currency == "DKK");
  CHECK(sas->payablesAccount == "7010");
  CHECK_FALSE(sas->blocked);
  CHECK(dir.vendor_by_external_id("ext-200")->code == "V200");
  CHECK(dir.vendor_by_tax_number("DK12345678")->code == "V100");
  const auto closed_vendor = dir.vendor_by_code("V300");
  REQUIRE(closed_vendor);
  CHECK(closed_vendor->name == "Closed\r\nSupplier ApS");
  CHECK(closed_vendor->blocked);
  CHECK_FALSE(closed_vendor->externalId);
  CHECK_FALSE(closed_vendor->taxNumber);

  const auto s25 = dir.tax_code("S25");
  REQUIRE(s25);
  CHECK(s25->name == "Danish VAT 25%");
  CHECK(s25->rate == 0.25);
  CHECK(s25->type == "inclusive");
  CHECK(s25->ingoingTaxAccount == "6601");
  CHECK(s25->outgoingTaxAccount == "6602");
  CHECK_FALSE(s25->blocked);
  CHECK(dir.tax_code("RC")->type == "reverse");
  CHECK_FALSE(dir.tax_code("RC")->ingoingTaxAccount);
  CHECK(dir.tax_code("EX")->rate == 0);
  CHECK(dir.tax_code("EX")->type == "exclusive");
  CHECK(dir.tax_code("EX")->blocked);

  const auto eng = dir.dimension_value("dept", "eng");
  REQUIRE(eng);
  CHECK(eng->dimension == "DEPT");
  CHECK(eng->code == "ENG");
  CHECK(eng->name == "Engineering");
  CHECK(dir.dimension_value("DEPT", "SALES")->name == "Sales");
  CHECK(dir.dimension_value("project", "p-1")->blocked);
  CHECK_FALSE(dir.dimension_value("DEPT", "HR"));

  CHECK(dir.period_open("2024-11-30"));
  CHECK_FALSE(dir.period_open("2024-12-01"));
  CHECK_FALSE(dir.period_open("2025-01-31"));
  CHECK(dir.period_open("2025-02-01"));
  CHECK(dir.period_open("2025-03-15"));  // closed, then re-opened
  CHECK(dir.next_open_date("2024-12-24") == "2025-02-01");
}

}  // namespace

// --- MemoryDirectory -------------------------------------------------------------------------

TEST_CASE("directory: accounts by exact code, blocked ones included", "[model][directory]") {
  MemoryDirectory dir;
  dir.add(ErpAccount{"6010", "Travel", std::nullopt, false});
  dir.add(ErpAccount{"6990", "Old suspense", "DKK", true});

  CHECK(dir.account("6010")->name == "Travel");
  CHECK(dir.account("6990")->blocked);
  CHECK(dir.account("6990")->currency == "DKK");
  CHECK_FALSE(dir.account("601"));
  CHECK_FALSE(dir.account("6010 "));
  CHECK_FALSE(dir.account(""));

  dir.add(ErpAccount{"6990", "Suspense", std::nullopt, false});
  CHECK(dir.account("6990")->name == "Suspense");
  CHECK_FALSE(dir.account("6990")->blocked);
  CHECK_FALSE(dir.account("6990")->currency);
}

TEST_CASE("directory: vendor codes are exact, not case-insensitive", "[model][directory]") {
  MemoryDirectory dir;
  dir.add(vendor("V100", "ext-1", "DK1"));
  CHECK(dir.vendor_by_code("V100"));
  CHECK_FALSE(dir.vendor_by_code("v100"));
  CHECK_FALSE(dir.vendor_by_external_id("EXT-1"));
  CHECK_FALSE(dir.vendor_by_tax_number("dk1"));
  CHECK_FALSE(dir.vendor_by_external_id(""));
  CHECK_FALSE(dir.vendor_by_tax_number(""));
}

TEST_CASE("directory: a shared tax number finds the vendor added first", "[model][directory]") {
  MemoryDirectory dir;
  dir.add(vendor("V1", "e1", "DK1"));
  dir.add(vendor("V2", "e2", "DK1"));
  dir.add(vendor("V3", "e1", "DK3"));  // an external id shared by mistake: first wins too

  CHECK(dir.vendor_by_tax_number("DK1")->code == "V1");
  CHECK(dir.vendor_by_tax_number("DK3")->code == "V3");
  CHECK(dir.vendor_by_external_id("e1")->code == "V1");
  CHECK(dir.vendor_by_external_id("e2")->code == "V2");
  CHECK(dir.vendor_by_code("V2")->taxNumber == "DK1");
}

TEST_CASE("directory: re-adding a vendor code replaces that vendor everywhere",
          "[model][directory]") {
  MemoryDirectory dir;
  dir.add(vendor("V1", "e1", "DK1", "First"));
  dir.add(vendor("V2", "e2", "DK1", "Second"));

  SECTION("the replacement keeps its place: it still wins a shared tax number") {
    dir.add(vendor("V1", "e1", "DK1", "First, renamed"));
    CHECK(dir.vendor_by_tax_number("DK1")->name == "First, renamed");
    CHECK(dir.vendor_by_code("V1")->name == "First, renamed");
    CHECK(dir.vendor_by_external_id("e1")->name == "First, renamed");
  }
  SECTION("keys the replacement drops are gone, and a later vendor sharing them takes over") {
    dir.add(vendor("V1", "e1-new", "DK9", "First, moved"));
    CHECK(dir.vendor_by_tax_number("DK1")->code == "V2");
    CHECK(dir.vendor_by_tax_number("DK9")->code == "V1");
    CHECK_FALSE(dir.vendor_by_external_id("e1"));
    CHECK(dir.vendor_by_external_id("e1-new")->name == "First, moved");
    CHECK(dir.vendor_by_code("V1")->name == "First, moved");
  }
  SECTION("a replacement without optional keys removes them") {
    dir.add(vendor("V1", std::nullopt, std::nullopt));
    CHECK_FALSE(dir.vendor_by_external_id("e1"));
    CHECK(dir.vendor_by_tax_number("DK1")->code == "V2");
    CHECK_FALSE(dir.vendor_by_code("V1")->taxNumber);
  }
  SECTION("a blocked replacement is still found, with its flag") {
    ErpVendor blocked = vendor("V2", "e2", "DK1", "Second");
    blocked.blocked = true;
    dir.add(blocked);
    CHECK(dir.vendor_by_code("V2")->blocked);
    CHECK(dir.vendor_by_external_id("e2")->blocked);
    CHECK_FALSE(dir.vendor_by_tax_number("DK1")->blocked);  // V1 still first
  }
}

TEST_CASE("directory: tax codes by exact code, replaced by code", "[model][directory]") {
  MemoryDirectory dir;
  dir.add(ErpTaxCode{"S25", "VAT 25%", 0.25, "inclusive", "6601", "6602", false});
  dir.add(ErpTaxCode{"EX", "Exempt", 0, "exclusive", std::nullopt, std::nullopt, true});
  CHECK(dir.tax_code("S25")->rate == 0.25);
  CHECK(dir.tax_code("S25")->ingoingTaxAccount == "6601");
  CHECK(dir.tax_code("EX")->blocked);
  CHECK_FALSE(dir.tax_code("s25"));

  dir.add(
      ErpTaxCode{"S25", "VAT 25% (reverse)", 0.25, "reverse", std::nullopt, std::nullopt, false});
  CHECK(dir.tax_code("S25")->type == "reverse");
  CHECK_FALSE(dir.tax_code("S25")->ingoingTaxAccount);
}

TEST_CASE("directory: dimension values match case-insensitively on dimension and code",
          "[model][directory]") {
  MemoryDirectory dir;
  dir.add(ErpDimensionValue{"DEPT", "ENG", "Engineering", false});
  dir.add(ErpDimensionValue{"Project", "p-1", "Apollo", true});

  CHECK(dir.dimension_value("DEPT", "ENG")->name == "Engineering");
  CHECK(dir.dimension_value("dept", "eng")->name == "Engineering");
  CHECK(dir.dimension_value("Dept", "Eng")->code == "ENG");  // stored spelling is kept
  CHECK(dir.dimension_value("PROJECT", "P-1")->blocked);
  CHECK_FALSE(dir.dimension_value("PROJECT", "ENG"));
  CHECK_FALSE(dir.dimension_value("DEPT", "P-1"));
  CHECK_FALSE(dir.dimension_value("DEP", "TENG"));  // the split between the two matters

  SECTION("the same value in another spelling replaces it") {
    dir.add(ErpDimensionValue{"dept", "eng", "Engineering (new)", true});
    CHECK(dir.dimension_value("DEPT", "ENG")->name == "Engineering (new)");
    CHECK(dir.dimension_value("DEPT", "ENG")->code == "eng");
    CHECK(dir.dimension_value("DEPT", "ENG")->blocked);
  }
  SECTION("only ASCII letters are folded") {
    dir.add(ErpDimensionValue{"SITE", "ÅRHUS", "Aarhus", false});
    CHECK(dir.dimension_value("site", "ÅRHUS"));
    CHECK_FALSE(dir.dimension_value("site", "århus"));
  }
}

TEST_CASE("directory: periods are open unless inside a closed range", "[model][directory]") {
  MemoryDirectory dir;
  CHECK(dir.period_open("2025-01-15"));
  dir.add(closed("2025-01-01", "2025-01-31"));

  CHECK(dir.period_open("2024-12-31"));
  CHECK_FALSE(dir.period_open("2025-01-01"));  // both ends are inside
  CHECK_FALSE(dir.period_open("2025-01-31"));
  CHECK(dir.period_open("2025-02-01"));

  SECTION("a date-time is judged by its date") {
    CHECK_FALSE(dir.period_open("2025-01-31T23:59:59Z"));
    CHECK_FALSE(dir.period_open("2025-01-31 08:00"));
    CHECK(dir.period_open("2025-02-01T00:00:00+01:00"));
  }
  SECTION("an invalid date is never open") {
    CHECK_FALSE(dir.period_open("2025-02-30"));
    CHECK_FALSE(dir.period_open("2025-13-01"));
    CHECK_FALSE(dir.period_open("2025-1-5"));
    CHECK_FALSE(dir.period_open("20250105"));
    CHECK_FALSE(dir.period_open("2025-01-05x"));
    CHECK_FALSE(dir.period_open(""));
  }
  SECTION("closed = false re-opens exactly the range added before") {
    dir.add(ErpPeriod{"2025-01-01", "2025-01-15", false});  // not the same range: no effect
    CHECK_FALSE(dir.period_open("2025-01-10"));
    dir.add(ErpPeriod{"2025-01-01", "2025-01-31", false});
    CHECK(dir.period_open("2025-01-10"));
    CHECK(dir.period_open("2025-01-31"));
  }
  SECTION("re-opening one of two overlapping ranges leaves the other closed") {
    dir.add(closed("2025-01-20", "2025-02-10"));
    dir.add(ErpPeriod{"2025-01-01", "2025-01-31", false});
    CHECK(dir.period_open("2025-01-19"));
    CHECK_FALSE(dir.period_open("2025-01-20"));
    CHECK_FALSE(dir.period_open("2025-02-10"));
  }
  SECTION("closing the same range twice needs one re-open") {
    dir.add(closed("2025-01-01", "2025-01-31"));
    dir.add(ErpPeriod{"2025-01-01", "2025-01-31", false});
    CHECK(dir.period_open("2025-01-10"));
  }
  SECTION("an invalid period is refused") {
    CHECK_THROWS_AS(dir.add(closed("2025-02-01", "2025-01-31")), std::invalid_argument);
    CHECK_THROWS_AS(dir.add(closed("2025-02-30", "2025-03-31")), std::invalid_argument);
    CHECK_THROWS_AS(dir.add(closed("2025-02", "2025-03-31")), std::invalid_argument);
    CHECK(dir.period_open("2025-03-01"));
  }
}

TEST_CASE("directory: next_open_date jumps past closed ranges", "[model][directory]") {
  MemoryDirectory dir;
  CHECK(dir.next_open_date("2025-06-15") == "2025-06-15");

  dir.add(closed("2024-11-01", "2024-11-30"));
  dir.add(closed("2025-01-01", "2025-01-31"));  // listed before December on purpose
  dir.add(closed("2024-12-01", "2024-12-31"));

  CHECK(dir.next_open_date("2024-10-31") == "2024-10-31");
  CHECK(dir.next_open_date("2024-11-01") == "2025-02-01");  // three months, over the year end
  CHECK(dir.next_open_date("2024-12-31") == "2025-02-01");
  CHECK(dir.next_open_date("2025-01-31T12:00:00Z") == "2025-02-01");
  CHECK(dir.next_open_date("2025-02-01") == "2025-02-01");

  SECTION("a year end alone") {
    MemoryDirectory year_end;
    year_end.add(closed("2025-12-01", "2025-12-31"));
    CHECK(year_end.next_open_date("2025-12-15") == "2026-01-01");
  }
  SECTION("overlapping and nested ranges") {
    dir.add(closed("2025-01-15", "2025-02-14"));
    dir.add(closed("2025-02-01", "2025-02-05"));
    CHECK(dir.next_open_date("2024-11-20") == "2025-02-15");
  }
  SECTION("a leap day") {
    MemoryDirectory leap;
    leap.add(closed("2024-02-01", "2024-02-28"));
    CHECK(leap.next_open_date("2024-02-10") == "2024-02-29");
    leap.add(closed("2024-02-29", "2024-02-29"));
    CHECK(leap.next_open_date("2024-02-10") == "2024-03-01");
  }
  SECTION("nothing open within ten years") {
    MemoryDirectory locked;
    locked.add(closed("2020-01-01", "2035-01-14"));
    CHECK(locked.next_open_date("2025-01-15") == "2035-01-15");  // exactly ten years: found
    CHECK_FALSE(locked.next_open_date("2025-01-14"));
    locked.add(closed("2035-01-15", "2099-12-31"));
    CHECK_FALSE(locked.next_open_date("2025-01-15"));
  }
  SECTION("an invalid date has no next open date") {
    CHECK_FALSE(dir.next_open_date("2025-02-29"));
    CHECK_FALSE(dir.next_open_date("next week"));
  }
}

TEST_CASE("directory: a copy is independent of the original", "[model][directory]") {
  MemoryDirectory original;
  original.add(ErpAccount{"6010", "Travel", std::nullopt, false});
  original.add(vendor("V1", "e1", "DK1"));
  MemoryDirectory copy = original;
  copy.add(ErpAccount{"6020", "Meals", std::nullopt, false});
  copy.add(vendor("V1", "e9", "DK9"));
  copy.add(closed("2025-01-01", "2025-01-31"));

  CHECK_FALSE(original.account("6020"));
  CHECK(original.vendor_by_tax_number("DK1")->code == "V1");
  CHECK_FALSE(original.vendor_by_external_id("e9"));
  CHECK(original.period_open("2025-01-10"));
  CHECK(copy.vendor_by_external_id("e9"));

  original = copy;
  CHECK(original.account("6020"));
  CHECK_FALSE(original.period_open("2025-01-10"));
}

TEST_CASE("directory: is_iso_date", "[model][directory]") {
  using lb::model::is_iso_date;
  CHECK(is_iso_date("2024-02-29"));
  CHECK(is_iso_date("2025-12-31"));
  CHECK_FALSE(is_iso_date("2025-02-29"));
  CHECK_FALSE(is_iso_date("2025-00-10"));
  CHECK_FALSE(is_iso_date("2025-04-31"));
  CHECK_FALSE(is_iso_date("2025-04-01T00:00:00Z"));  // a date, not a date-time
  CHECK_FALSE(is_iso_date("2025-4-01"));
  CHECK_FALSE(is_iso_date("+025-04-01"));
}

// --- loading -------------------------------------------------------------------------------

TEST_CASE("directory: load a YAML file", "[model][directory][load]") {
  check_sample_directory(loaded(kData + "/directory.yaml"));
}

TEST_CASE("directory: load a JSON file", "[model][directory][load]") {
  check_sample_directory(loaded(kData + "/directory.json"));
}

TEST_CASE("directory: load a folder of CSV files", "[model][directory][load]") {
  check_sample_directory(loaded(kData + "/csv"));
}

TEST_CASE("directory: compact dimensions and month periods", "[model][directory][load]") {
  const MemoryDirectory dir = loaded(kData + "/compact.yaml");
  CHECK(dir.dimension_value("dept", "eng")->dimension == "DEPT");
  CHECK(dir.dimension_value("DEPT", "SALES")->code == "Sales");
  CHECK(dir.dimension_value("DEPT", "ENG")->name.empty());
  CHECK(dir.dimension_value("PROJECT", "P-1")->name == "Apollo");
  CHECK_FALSE(dir.dimension_value("PROJECT", "P-1")->blocked);
  CHECK(dir.dimension_value("PROJECT", "P-2")->name == "Gemini");
  CHECK(dir.dimension_value("PROJECT", "P-2")->blocked);

  CHECK(dir.period_open("2024-11-15"));  // closed as a month, then re-opened
  CHECK_FALSE(dir.period_open("2024-12-01"));
  CHECK_FALSE(dir.period_open("2025-01-31"));
  CHECK_FALSE(dir.period_open("2024-02-29"));  // a month covers its leap day
  CHECK(dir.period_open("2024-03-01"));
  CHECK(dir.period_open("2025-03-09"));
  CHECK_FALSE(dir.period_open("2025-03-12"));
  CHECK(dir.next_open_date("2024-12-01") == "2025-02-01");
  CHECK(dir.next_open_date("2025-03-10") == "2025-03-13");
}

TEST_CASE("directory: a second load lays its entries over the first", "[model][directory][load]") {
  MemoryDirectory dir = loaded(kData + "/directory.yaml");
  const auto status = load_directory(kData + "/overlay.yaml", dir);
  INFO(status.message());
  REQUIRE(status.ok());

  CHECK(dir.account("6990")->name == "Suspense (reopened)");
  CHECK_FALSE(dir.account("6990")->blocked);
  CHECK(dir.account("6010")->name == "Travel");
  CHECK(dir.vendor_by_code("V100")->name == "SAS (new tax number)");
  CHECK_FALSE(dir.vendor_by_code("V100")->externalId);
  CHECK(dir.vendor_by_tax_number("DK87654321")->code == "V100");
  CHECK(dir.vendor_by_tax_number("DK12345678")->code == "V200");
  CHECK_FALSE(dir.vendor_by_external_id("ext-100"));
  CHECK(dir.vendor_by_code("V400"));
  CHECK(dir.dimension_value("DEPT", "ENG")->code == "eng");
  CHECK(dir.dimension_value("DEPT", "ENG")->name.empty());
  CHECK(dir.period_open("2024-12-15"));
  CHECK_FALSE(dir.period_open("2025-01-15"));
}

TEST_CASE("directory: an inline directory node, as in a rule-pack fixture",
          "[model][directory][load]") {
  const YAML::Node fixture = YAML::Load(R"(name: vendor by tax number
directory:
  vendors:
    - {code: V1, taxNumber: DK1}
  periods: [2025-01]
item: {}
)");
  MemoryDirectory dir;
  REQUIRE(load_directory_node(fixture["directory"], "case.yaml", dir, "directory").ok());
  CHECK(dir.vendor_by_tax_number("DK1")->code == "V1");
  CHECK_FALSE(dir.period_open("2025-01-31"));

  CHECK(load_directory_node(YAML::Node(), "case.yaml", dir).ok());  // no directory: nothing

  const YAML::Node bad = YAML::Load(R"(name: bad
directory:
  vendors:
    - code: ""
)");
  const auto status = load_directory_node(bad["directory"], "case.yaml", dir, "directory");
  REQUIRE_FALSE(status.ok());
  CHECK(status.message() == "case.yaml:4: directory.vendors[0].code: must not be empty");
}

TEST_CASE("directory: a failed load leaves the directory as it was", "[model][directory][load]") {
  MemoryDirectory dir;
  dir.add(ErpAccount{"6010", "Travel", std::nullopt, false});
  const auto status = load_directory_node(YAML::Load(R"(accounts:
  - code: "6010"
    name: Replaced
  - code: "6020"
periods:
  - 2025-13
)"),
                                          "inline.yaml", dir);
  REQUIRE_FALSE(status.ok());
  CHECK(dir.account("6010")->name == "Travel");
  CHECK_FALSE(dir.account("6020"));
  CHECK(dir.period_open("2025-01-01"));
}

TEST_CASE("directory: file errors", "[model][directory][load]") {
  const std::string unknown_field = kData + "/bad/unknown_field.yaml";
  CHECK(load_error(unknown_field) ==
        unknown_field + ":14: vendors[2].taxNo: unknown field (did you mean taxNumber?)");
  CHECK(load_error(kData + "/bad/syntax.yaml") ==
        kData + "/bad/syntax.yaml:4: end of sequence flow not found");
  CHECK(load_error(kData + "/missing.yaml") ==
        "cannot read " + kData + "/missing.yaml: No such file or directory");
}

TEST_CASE("directory: sections and entries of the wrong shape", "[model][directory][load]") {
  CHECK(node_error("- accounts\n") ==
        "inline.yaml:1: expected a mapping with the sections accounts, vendors, tax_codes, "
        "dimensions and periods");
  CHECK(node_error("accounts: []\ntaxCodes: []\n") ==
        "inline.yaml:2: taxCodes: unknown section (did you mean tax_codes?)");
  CHECK(node_error("vendor: []\n") ==
        "inline.yaml:1: vendor: unknown section (did you mean vendors?)");
  CHECK(node_error("customers: []\n") == "inline.yaml:1: customers: unknown section");
  CHECK(node_error("accounts: []\nvendors: []\naccounts: []\n") ==
        "inline.yaml:3: accounts: duplicate section (first at line 1)");
  CHECK(node_error("accounts:\n  code: \"6010\"\n") ==
        "inline.yaml:2: accounts: expected a list of accounts");
  CHECK(node_error("tax_codes: S25\n") == "inline.yaml:1: tax_codes: expected a list of tax codes");
  CHECK(node_error("dimensions: DEPT\n") ==
        "inline.yaml:1: dimensions: expected a list of dimension values (or a mapping of "
        "dimension to value codes)");
  CHECK(node_error("accounts:\n  - \"6010\"\n") ==
        "inline.yaml:2: accounts[0]: expected a mapping with the fields code, name, currency and "
        "blocked");
  CHECK(node_error("accounts:\n  - code: \"6010\"\n    name: [Travel, Meals]\n") ==
        "inline.yaml:3: accounts[0].name: expected a single value, got a list");
  CHECK(node_error("accounts:\n  - code: {a: 1}\n") ==
        "inline.yaml:2: accounts[0].code: expected a single value, got a mapping");
  CHECK(node_error("accounts:\n  - code: \"6010\"\n    code: \"6020\"\n") ==
        "inline.yaml:3: accounts[0].code: duplicate field (first at line 2)");
}

TEST_CASE("directory: unknown fields, with suggestions", "[model][directory][load]") {
  CHECK(node_error("vendors:\n  - code: V1\n    external_id: e1\n") ==
        "inline.yaml:3: vendors[0].external_id: unknown field (did you mean externalId?)");
  CHECK(node_error("vendors:\n  - code: V1\n    payables: \"7010\"\n") ==
        "inline.yaml:3: vendors[0].payables: unknown field (did you mean payablesAccount?)");
  CHECK(node_error("accounts:\n  - code: \"6010\"\n    Name: Travel\n") ==
        "inline.yaml:3: accounts[0].Name: unknown field (did you mean name?)");
  CHECK(node_error("accounts:\n  - code: \"6010\"\n    colour: red\n") ==
        "inline.yaml:3: accounts[0].colour: unknown field");
  CHECK(node_error("tax_codes:\n  - code: S25\n    type: inclusive\n    percent: 25\n") ==
        "inline.yaml:4: tax_codes[0].percent: unknown field");
  CHECK(node_error("dimensions:\n  - dimension: DEPT\n    value: ENG\n") ==
        "inline.yaml:3: dimensions[0].value: unknown field");
  CHECK(node_error("periods:\n  - {from: 2025-01-01, until: 2025-01-31}\n") ==
        "inline.yaml:2: periods[0].until: unknown field");
}

TEST_CASE("directory: required fields", "[model][directory][load]") {
  CHECK(node_error("accounts:\n  - name: Travel\n") ==
        "inline.yaml:2: accounts[0]: missing required field code");
  CHECK(node_error("vendors:\n  - code: V1\n  - name: Acme\n") ==
        "inline.yaml:3: vendors[1]: missing required field code");
  CHECK(node_error("tax_codes:\n  - code: S25\n    rate: 0.25\n") ==
        "inline.yaml:2: tax_codes[0]: missing required field type");
  CHECK(node_error("tax_codes:\n  - type: inclusive\n") ==
        "inline.yaml:2: tax_codes[0]: missing required field code");
  CHECK(node_error("dimensions:\n  - code: ENG\n") ==
        "inline.yaml:2: dimensions[0]: missing required field dimension");
  CHECK(node_error("dimensions:\n  - dimension: DEPT\n") ==
        "inline.yaml:2: dimensions[0]: missing required field code");
  CHECK(node_error("periods:\n  - from: 2025-01-01\n") ==
        "inline.yaml:2: periods[0]: missing required field to");
  CHECK(node_error("accounts:\n  - code: \"\"\n") ==
        "inline.yaml:2: accounts[0].code: must not be empty");
  CHECK(node_error("accounts:\n  - code:\n    name: Travel\n") ==
        "inline.yaml:2: accounts[0].code: must not be empty");
  CHECK(node_error("accounts:\n  - code: \"  \"\n") ==
        "inline.yaml:2: accounts[0].code: must not be empty");
}

TEST_CASE("directory: field values", "[model][directory][load]") {
  CHECK(node_error("tax_codes:\n  - {code: S25, type: gross}\n") ==
        "inline.yaml:2: tax_codes[0].type: expected inclusive, exclusive or reverse, got "
        "\"gross\"");
  CHECK(node_error("tax_codes:\n  - code: S25\n    type: inclusive\n    rate: 25\n") ==
        "inline.yaml:4: tax_codes[0].rate: expected a number between 0 and 1, got \"25\"");
  CHECK(node_error("tax_codes:\n  - {code: S25, type: inclusive, rate: 25%}\n") ==
        "inline.yaml:2: tax_codes[0].rate: expected a number between 0 and 1, got \"25%\"");
  CHECK(node_error("tax_codes:\n  - {code: S25, type: inclusive, rate: -0.1}\n") ==
        "inline.yaml:2: tax_codes[0].rate: expected a number between 0 and 1, got \"-0.1\"");
  CHECK(node_error("tax_codes:\n  - {code: S25, type: inclusive, rate: .nan}\n") ==
        "inline.yaml:2: tax_codes[0].rate: expected a number between 0 and 1, got \".nan\"");
  CHECK(node_error("accounts:\n  - {code: \"6010\", blocked: maybe}\n") ==
        "inline.yaml:2: accounts[0].blocked: expected true or false, got \"maybe\"");
  CHECK(node_error("vendors:\n  - {code: V1, currency: dkk}\n") ==
        "inline.yaml:2: vendors[0].currency: expected a 3-letter ISO 4217 currency code, got "
        "\"dkk\"");
  CHECK(node_error("periods:\n  - {from: 2025-01-01, to: 2025-02-30}\n") ==
        "inline.yaml:2: periods[0].to: expected a date YYYY-MM-DD, got \"2025-02-30\"");
  CHECK(node_error("periods:\n  - {from: 2025-01-01T00:00:00Z, to: 2025-01-31}\n") ==
        "inline.yaml:2: periods[0].from: expected a date YYYY-MM-DD, got "
        "\"2025-01-01T00:00:00Z\"");
  CHECK(node_error("periods:\n  - {from: 2025-02-01, to: 2025-01-31}\n") ==
        "inline.yaml:2: periods[0]: from 2025-02-01 is after to 2025-01-31");
  CHECK(node_error("periods:\n  - 2025-01\n  - 2025-13\n") ==
        "inline.yaml:3: periods[1]: expected a month YYYY-MM or a mapping with the fields from, "
        "to and closed, got \"2025-13\"");
  CHECK(node_error("periods:\n  - 2025-01-15\n") ==
        "inline.yaml:2: periods[0]: expected a month YYYY-MM or a mapping with the fields from, "
        "to and closed, got \"2025-01-15\"");
  CHECK(node_error("periods:\n  - [2025-01, 2025-02]\n") ==
        "inline.yaml:2: periods[0]: expected a month YYYY-MM or a mapping with the fields from, "
        "to and closed, got a list or null");

  SECTION("accepted spellings") {
    MemoryDirectory dir;
    REQUIRE(load_directory_node(YAML::Load(R"(tax_codes:
  - {code: A, type: Inclusive, rate: 0}
  - {code: B, type: EXCLUSIVE, rate: 1}
  - {code: C, type: reverse, rate: "0.125", blocked: YES}
accounts:
  - {code: " 6010 ", name: "  Travel  ", blocked: 0}
  - {code: 06020, blocked: No}
)"),
                                "inline.yaml", dir)
                .ok());
    CHECK(dir.tax_code("A")->type == "inclusive");
    CHECK(dir.tax_code("B")->type == "exclusive");
    CHECK(dir.tax_code("B")->rate == 1);
    CHECK(dir.tax_code("C")->rate == 0.125);
    CHECK(dir.tax_code("C")->blocked);
    CHECK(dir.account("6010")->name == "Travel");  // values are trimmed
    CHECK(dir.account("06020"));                   // a YAML number keeps its digits
  }
}

TEST_CASE("directory: compact dimension errors", "[model][directory][load]") {
  CHECK(node_error("dimensions:\n  DEPT:\n    - [ENG]\n") ==
        "inline.yaml:3: dimensions.DEPT[0]: expected a value code or a mapping with the fields "
        "code, name and blocked");
  CHECK(node_error("dimensions:\n  DEPT: ENG\n") ==
        "inline.yaml:2: dimensions.DEPT: expected a list of value codes");
  CHECK(node_error("dimensions:\n  DEPT:\n    - {code: ENG, title: Engineering}\n") ==
        "inline.yaml:3: dimensions.DEPT[0].title: unknown field");
  CHECK(node_error("dimensions:\n  DEPT:\n    - {name: Engineering}\n") ==
        "inline.yaml:3: dimensions.DEPT[0]: missing required field code");
  CHECK(node_error("dimensions:\n  \"\": [ENG]\n") ==
        "inline.yaml:2: dimensions: expected dimension names as keys");
}

TEST_CASE("directory: a key twice in one file is an error", "[model][directory][load]") {
  CHECK(node_error("accounts:\n  - code: \"6010\"\n  - code: \"6020\"\n  - code: \"6010\"\n") ==
        "inline.yaml:4: accounts[2].code: duplicate account code \"6010\" (first at line 2)");
  CHECK(node_error("vendors:\n  - code: V1\n  - name: Acme\n    code: V1\n") ==
        "inline.yaml:4: vendors[1].code: duplicate vendor code \"V1\" (first at line 2)");
  CHECK(node_error("tax_codes:\n  - {code: S25, type: inclusive}\n"
                   "  - {code: S25, type: reverse}\n") ==
        "inline.yaml:3: tax_codes[1].code: duplicate tax code \"S25\" (first at line 2)");
  CHECK(node_error("dimensions:\n  - {dimension: DEPT, code: ENG}\n"
                   "  - {dimension: dept, code: eng}\n") ==
        "inline.yaml:3: dimensions[1].code: duplicate value \"eng\" of dimension \"dept\" (first "
        "at line 2)");
  CHECK(node_error("dimensions:\n  DEPT: [ENG, SALES]\n  Dept: [Sales]\n") ==
        "inline.yaml:3: dimensions.Dept[0]: duplicate value \"Sales\" of dimension \"Dept\" "
        "(first at line 2)");

  // Tax numbers may repeat (shared by design), and periods may be listed twice.
  MemoryDirectory dir;
  CHECK(load_directory_node(YAML::Load("vendors:\n  - {code: V1, taxNumber: DK1}\n"
                                       "  - {code: V2, taxNumber: DK1}\n"
                                       "periods: [2025-01, 2025-01]\n"),
                            "inline.yaml", dir)
            .ok());
}

TEST_CASE("directory: CSV folder errors", "[model][directory][load]") {
  CsvFolder folder;

  SECTION("unknown column") {
    folder.write("vendors.csv", "code,name,taxNo\nV1,Acme,DK1\n");
    CHECK(load_error(folder.path()) ==
          folder.file("vendors.csv") + ":1: taxNo: unknown column (did you mean taxNumber?)");
  }
  SECTION("missing required column") {
    folder.write("accounts.csv", "name,blocked\nTravel,no\n");
    CHECK(load_error(folder.path()) ==
          folder.file("accounts.csv") + ":1: missing required column code");
  }
  SECTION("tax codes need a type column") {
    folder.write("tax_codes.csv", "code,rate\nS25,0.25\n");
    CHECK(load_error(folder.path()) ==
          folder.file("tax_codes.csv") + ":1: missing required column type");
  }
  SECTION("empty key cell") {
    folder.write("accounts.csv", "code,name\n6010,Travel\n  ,Meals\n");
    CHECK(load_error(folder.path()) == folder.file("accounts.csv") + ":3: code: must not be empty");
  }
  SECTION("bad flag, rate, date") {
    folder.write("accounts.csv", "code,blocked\n6010,maybe\n");
    CHECK(load_error(folder.path()) ==
          folder.file("accounts.csv") + ":2: blocked: expected true or false, got \"maybe\"");
    folder.write("accounts.csv", "code,blocked\n6010,Y\n");
    CHECK(load_error(folder.path()) ==
          folder.file("accounts.csv") + ":2: blocked: expected true or false, got \"Y\"");
    fs::remove(folder.file("accounts.csv"));
    folder.write("tax_codes.csv", "code,type,rate\nS25,inclusive,\"0,25\"\n");
    CHECK(load_error(folder.path()) == folder.file("tax_codes.csv") +
                                           ":2: rate: expected a number between 0 and 1, got "
                                           "\"0,25\"");
    fs::remove(folder.file("tax_codes.csv"));
    folder.write("periods.csv", "from,to\n2025-01-01,2025-01\n");
    CHECK(load_error(folder.path()) ==
          folder.file("periods.csv") + ":2: to: expected a date YYYY-MM-DD, got \"2025-01\"");
    folder.write("periods.csv", "from,to,closed\n2025-01-01,2025-01-31,\n2025-02-01,2025-01-31,\n");
    CHECK(load_error(folder.path()) ==
          folder.file("periods.csv") + ":3: from 2025-02-01 is after to 2025-01-31");
  }
  SECTION("field count and quoting errors come from the CSV reader") {
    folder.write("dimensions.csv", "dimension,code\nDEPT,ENG\nDEPT,SALES,Sales\n");
    CHECK(load_error(folder.path()) ==
          folder.file("dimensions.csv") + ":3: expected 2 fields, got 3");
  }
  SECTION("duplicate keys, with the line of the first") {
    folder.write("vendors.csv", "code,name\nV1,Acme\n\"V2\",\"Beta\nGroup\"\nV1,Acme again\n");
    CHECK(load_error(folder.path()) ==
          folder.file("vendors.csv") + ":5: code: duplicate vendor code \"V1\" (first at line 2)");
    fs::remove(folder.file("vendors.csv"));
    folder.write("dimensions.csv", "dimension,code\nDEPT,ENG\ndept,Eng\n");
    CHECK(load_error(folder.path()) == folder.file("dimensions.csv") +
                                           ":3: code: duplicate value \"Eng\" of dimension "
                                           "\"dept\" (first at line 2)");
  }
  SECTION("a misspelt file name") {
    folder.write("accounts.csv", "code\n6010\n").write("vendor.csv", "code\nV1\n");
    CHECK(load_error(folder.path()) ==
          folder.file("vendor.csv") + ": unknown directory file (did you mean vendors.csv?)");
  }
  SECTION("no directory files at all") {
    folder.write("notes.txt", "not a directory file\n");
    CHECK(load_error(folder.path()) ==
          folder.path() +
              ": no directory files (expected accounts.csv, vendors.csv, tax_codes.csv, "
              "dimensions.csv or periods.csv)");
  }
  SECTION("any one file is enough, and other files are not needed") {
    folder.write("periods.csv", "from,to,closed\n2025-01-01,2025-01-31,yes\n");
    const MemoryDirectory dir = loaded(folder.path());
    CHECK_FALSE(dir.period_open("2025-01-15"));
    CHECK_FALSE(dir.account("6010"));
  }
}
