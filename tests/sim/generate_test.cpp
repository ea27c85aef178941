// The synthetic data generator behind `ledgerbridge bench`: items must be valid v3 items,
// reproducible per seed, cover the contract's types, and drive every branch of the bench pack.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "model/decode.hpp"
#include "model/directory.hpp"
#include "model/enums.hpp"
#include "rules/evaluator.hpp"
#include "rules/pack.hpp"
#include "sim/generate.hpp"

using namespace lb;

namespace {

const std::filesystem::path kBenchPack = std::filesystem::path(LB_TEST_DATA_DIR) / ".." / "bench" / "pack";

std::vector<model::ExportItem> generate(size_t count, uint64_t seed) {
  sim::ItemGenerator gen(seed);
  std::vector<model::ExportItem> items;
  for (size_t i = 0; i < count; ++i) {
    const std::string line = gen.next();
    auto decoded = model::decode_export_item(line);
    if (auto* e = std::get_if<model::DecodeError>(&decoded)) FAIL("item " << i << ": " << e->to_string() << "\n" << line);
    items.push_back(std::get<model::ExportItem>(std::move(decoded)));
  }
  return items;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The types whose items move wallet money and so carry a contraAccount (domain brief §2.3).
const std::set<std::string> kBalanceTypes = {"card_purchase", "fee", "cashback", "refund", "chargeback",
                                             "direct_reimbursement", "invoice_payment", "card_invoice",
                                             "atm_withdrawal", "personal_spend", "wallet_topup", "wallet_unload"};

}  // namespace

TEST_CASE("generated items decode and cover every type, subtype and currency", "[sim]") {
  const auto items = generate(5000, 1);
  std::set<std::string> types, sub_types, currencies, tax_types;
  size_t split = 0, long_notes = 0, vendors = 0, invoices = 0, no_bookkeeping = 0;
  for (const auto& it : items) {
    types.insert(it.type);
    if (it.subType) sub_types.insert(*it.subType);
    currencies.insert(it.amount.inSupplierCurrency.currency);
    currencies.insert(it.amount.inWalletCurrency.currency);
    split += it.accountingEntryLines.size() > 1;
    long_notes += it.note && code_points(*it.note) > 60;
    vendors += it.vendor.has_value();
    no_bookkeeping += !it.bookkeeping;
    for (const auto& l : it.accountingEntryLines) {
      if (l.tax) tax_types.insert(l.tax->type);
    }
    // contraAccount exactly for balance-affecting types; invoice information for invoices.
    CHECK(it.contraAccount.has_value() == (kBalanceTypes.count(it.type) == 1));
    if (it.type == "invoice") {
      ++invoices;
      CHECK(it.additionalInformation.invoiceInformation.has_value());
    }
    CHECK(!it._links.api.empty());
  }
  for (auto t : model::kItemTypes) CHECK(types.count(std::string(t)) == 1);
  for (auto t : model::kItemSubTypes) CHECK(sub_types.count(std::string(t)) == 1);
  for (const char* c : {"GBP", "EUR", "DKK", "SEK", "USD", "JPY"}) CHECK(currencies.count(c) == 1);
  CHECK(tax_types == std::set<std::string>{"exclusive", "inclusive", "reverse"});
  // Mostly card purchases, as in real exports.
  CHECK(std::count_if(items.begin(), items.end(), [](const auto& it) { return it.type == "card_purchase"; }) > 2500);
  CHECK(split > 500);
  CHECK(long_notes > 500);
  CHECK(vendors > 500);
  CHECK(invoices > 100);
  CHECK(no_bookkeeping > 100);
}

TEST_CASE("split lines add up to the item's amount in both currencies", "[sim]") {
  for (const auto& it : generate(3000, 7)) {
    int64_t supplier = 0, wallet = 0;
    for (const auto& l : it.accountingEntryLines) {
      supplier += l.lineAmount.inSupplierCurrency.value;
      wallet += l.lineAmount.inWalletCurrency.value;
      CHECK(l.lineAmount.inWalletCurrency.currency == it.amount.inWalletCurrency.currency);
    }
    CHECK(supplier == it.amount.inSupplierCurrency.value);
    CHECK(wallet == it.amount.inWalletCurrency.value);
  }
}

TEST_CASE("the same seed gives the same items, another seed other items", "[sim]") {
  std::ostringstream a, b, c;
  const uint64_t bytes = sim::write_items(a, 300, 42);
  sim::write_items(b, 300, 42);
  sim::write_items(c, 300, 43);
  CHECK(bytes == a.str().size());
  CHECK(a.str() == b.str());
  CHECK(a.str() != c.str());
  // About 1.7-2.5 KB per item, like the exports the bench REPORT measured.
  CHECK(bytes / 300 > 1500);
  CHECK(bytes / 300 < 3000);
  // Some lines escape non-ASCII text as \u sequences, with surrogate pairs for emoji.
  sim::ItemGenerator gen(5);
  bool escaped = false, surrogate = false;
  for (int i = 0; i < 2000; ++i) {
    const std::string line = gen.next();
    escaped = escaped || line.find("\\u00") != std::string::npos;
    surrogate = surrogate || line.find("\\ud83") != std::string::npos;
  }
  CHECK(escaped);
  CHECK(surrogate);
}

TEST_CASE("the generated ERP directory loads, and the bench pack's account map is the generator's", "[sim]") {
  const auto dir = std::filesystem::temp_directory_path() / "lb-sim-test-directory";
  std::filesystem::create_directories(dir);
  const auto file = dir / "directory.yaml";
  {
    std::ofstream out(file);
    sim::write_directory(out);
  }
  model::MemoryDirectory directory;
  const auto st = model::load_directory(file.string(), directory);
  std::filesystem::remove_all(dir);
  REQUIRE(st.ok());
  CHECK(directory.vendor_by_code("V10000"));
  CHECK(directory.vendor_by_code("V14999"));
  CHECK(!directory.vendor_by_code("V15000"));
  CHECK(directory.tax_code("RC25"));
  CHECK(!directory.period_open("2024-01-15"));
  CHECK(directory.next_open_date("2023-06-10") == std::optional<std::string>("2024-03-01"));
  CHECK(directory.period_open("2025-04-30"));

  std::ostringstream map;
  sim::write_account_map(map);
  std::ifstream checked_in(kBenchPack / "tables" / "accounts.csv", std::ios::binary);
  REQUIRE(checked_in);
  std::ostringstream content;
  content << checked_in.rdbuf();
  CHECK(content.str() == map.str());  // regenerate the table when the generator's world changes
}

TEST_CASE("generated items take every branch of the bench pack", "[sim]") {
  auto pack = rules::Pack::load(kBenchPack);
  REQUIRE(pack.ok());
  const auto dir = std::filesystem::temp_directory_path() / "lb-sim-test-branches";
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "directory.yaml");
    sim::write_directory(out);
  }
  model::MemoryDirectory directory;
  const auto st = model::load_directory((dir / "directory.yaml").string(), directory);
  std::filesystem::remove_all(dir);
  REQUIRE(st.ok());
  rules::EvalOptions options;
  options.directory = &directory;
  options.now = 1769947200;  // 2026-02-01
  auto evaluator = rules::Evaluator::create(*pack, options);
  REQUIRE(evaluator.ok());

  const auto& settings = (*pack)->settings();
  const std::string rd = settings["accounts"]["rd_override"], fallback = settings["accounts"]["default"];
  std::map<std::string, int> seen;
  for (const auto& it : generate(3000, 3)) {
    const auto o = (*evaluator)->evaluate(it);
    if (o.status == rules::OutcomeStatus::failed) {
      INFO(o.failure.message);
      CHECK(o.failure.type == "vendor_unknown");
      ++seen[o.failure.message.find("names no vendor") != std::string::npos ? "no vendor reference" : "vendor unknown"];
      continue;
    }
    REQUIRE(o.status == rules::OutcomeStatus::decided);
    ++seen[o.decisions.method];
    if (o.decisions.vendor) ++seen["vendor found"];
    for (const auto& l : o.decisions.lines) {
      ++seen[l.account == rd ? "R&D override" : l.account == fallback ? "default account" : "mapped account"];
      REQUIRE(l.tax);
      const std::string& tax = l.tax->code;
      ++seen[tax == "NT" ? "no tax" : tax == "UNK" ? "unknown tax" : tax.rfind("RC", 0) == 0 ? "reverse charge" : "tax code"];
      if (!l.dimensions.empty()) ++seen["dimensions"];
    }
    if (o.decisions.posting.date != it.date.substr(0, 10)) ++seen["date moved"];
    if (code_points(o.decisions.posting.description) == 60) ++seen["description truncated"];
  }
  for (const char* branch : {"journal", "accounts_payable", "vendor found", "vendor unknown", "no vendor reference",
                             "R&D override", "default account", "mapped account", "no tax", "unknown tax",
                             "reverse charge", "tax code", "dimensions", "date moved", "description truncated"}) {
    INFO(branch);
    CHECK(seen[branch] > 10);
  }
}
