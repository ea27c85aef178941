#include "model/decode.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "model/enums.hpp"
#include "model_test_util.hpp"
#include "sim/generate.hpp"

using lb::model::DecodeError;
using lb::model::ExportItem;
using lb::model::ExportJob;
using lb::model::ExportJobItem;
using lb::model::test::dump;
using lb::model::test::read_data;
// Insertion-ordered, so that documents keep their member order through a mutation.
using json = nlohmann::ordered_json;

namespace {

ExportItem decode_ok(const std::string& text) {
  auto r = lb::model::decode_export_item(std::string_view(text));
  if (auto* e = std::get_if<DecodeError>(&r)) FAIL("unexpected decode error: " << e->to_string());
  return std::get<ExportItem>(std::move(r));
}

DecodeError decode_err(const std::string& text) {
  auto r = lb::model::decode_export_item(std::string_view(text));
  if (std::holds_alternative<ExportItem>(r))
    FAIL("expected a decode error for " << text.substr(0, 200));
  return std::get<DecodeError>(std::move(r));
}

json example(const std::string& name) { return json::parse(read_data(name)); }

// The example item with one change applied; the error it gives, as text.
template <typename Mutate>
std::string error_after(Mutate&& mutate, const std::string& file = "card_purchase_journal.json") {
  json j = example(file);
  mutate(j);
  return decode_err(j.dump()).to_string();
}

// Nulls removed recursively: the decoder treats null and absent alike, so does the comparison.
nlohmann::json without_nulls(const nlohmann::json& j) {
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto& [k, v] : j.items())
      if (!v.is_null()) out[k] = without_nulls(v);
    return out;
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& v : j) out.push_back(without_nulls(v));
    return out;
  }
  return j;
}

lb::model::Decoded<ExportJob> decode_job_text(const std::string& text,
                                              simdjson::dom::parser& parser) {
  return lb::model::decode_export_job(parser.parse(text).value());
}

constexpr const char* kExamples[] = {"card_purchase_journal.json",
                                     "invoice_ap.json",
                                     "invoice_payment.json",
                                     "refund_journal.json",
                                     "fee_interest.json",
                                     "wallet_topup.json",
                                     "card_purchase_split_reverse_charge.json"};

}  // namespace

TEST_CASE("every example item decodes and keeps every value", "[model][decode]") {
  for (const char* name : kExamples) {
    INFO(name);
    std::string text = read_data(name);
    ExportItem item = decode_ok(text);
    // Re-rendering the decoded struct gives the source document back (less its nulls): no
    // field is dropped, renamed or altered on the way in.
    CHECK(without_nulls(nlohmann::json::parse(dump(item))) ==
          without_nulls(nlohmann::json::parse(text)));
  }
}

TEST_CASE("card purchase (domain brief 8.1) decodes to the documented values", "[model][decode]") {
  ExportItem it = decode_ok(read_data("card_purchase_journal.json"));
  CHECK(it.companyId == "12abc3d4-e567-890e-1234-abc56e78fabc");
  CHECK(it.accountingEntryId == "59540ed2-0d68-4e36-9e31-58223975d9e9");
  CHECK(it.type == "card_purchase");
  CHECK_FALSE(it.subType);
  CHECK(it.date == "2025-12-10T15:46:34Z");
  CHECK(it.amount.inSupplierCurrency.currency == "GBP");
  CHECK(it.amount.inSupplierCurrency.value == 6366);
  CHECK(it.amount.inWalletCurrency.value == 6366);
  CHECK(it.note == "Printer ink");
  REQUIRE(it.files);
  REQUIRE(it.files->size() == 1);
  CHECK((*it.files)[0].type == "image/jpeg");
  CHECK((*it.files)[0].size == 13010);
  REQUIRE(it.supplier);
  CHECK(it.supplier->name == "Target");
  CHECK(it.supplier->code == "1340472473");
  CHECK(it.supplier->categoryCode == "1000");
  CHECK(it.supplier->country == "GB");
  CHECK_FALSE(it.supplier->account);
  CHECK_FALSE(it.supplier->taxIdentifier);
  REQUIRE(it.user);
  CHECK(it.user->name == "Luke Richardson");
  CHECK_FALSE(it.user->code);
  REQUIRE(it.team);
  CHECK(it.team->code == "5678");
  REQUIRE(it.accountingEntryLines.size() == 1);
  const auto& line = it.accountingEntryLines[0];
  CHECK(line.accountingEntryLineId == "0c76ea71-aaaa-4ece-bb68-e1166ccaea04");
  CHECK(line.netAmount.inWalletCurrency.value == 6366);
  REQUIRE(line.account);
  CHECK(line.account->id == "7966c3ba-e4de-4574-8604-6cfa48d62cc8");
  CHECK(line.account->code == "6800");
  REQUIRE(line.tags);
  REQUIRE(line.tags->size() == 1);
  CHECK((*line.tags)[0].groupCode == "DEPT");
  CHECK((*line.tags)[0].code == "ENG");
  CHECK_FALSE(line.tax);
  CHECK(it.additionalInformation.reconciliationId == "BK-2512-0417");
  CHECK_FALSE(it.additionalInformation.attendees);
  CHECK_FALSE(it.additionalInformation.invoiceInformation);
  REQUIRE(it.bookkeeping);
  CHECK(it.bookkeeping->method == "journal");
  REQUIRE(it.contraAccount);
  CHECK(it.contraAccount->name == "Pleo GBP Account");
  CHECK(it.contraAccount->code == "1810");
  CHECK_FALSE(it.vendor);
  CHECK_FALSE(it.servicePeriod);
  REQUIRE(it._links.web.size() == 1);
  CHECK(it._links.web[0].first == "exportItem");
  CHECK(it._links.api[0].second ==
        "https://external.pleo.io/v3/export-items/59540ed2-0d68-4e36-9e31-58223975d9e9");
}

TEST_CASE("AP invoice (8.2) carries invoice information, vendor and tax", "[model][decode]") {
  ExportItem it = decode_ok(read_data("invoice_ap.json"));
  CHECK(it.type == "invoice");
  CHECK(it.amount.inWalletCurrency.value == 130000);
  CHECK_FALSE(it.team);
  CHECK_FALSE(it.contraAccount);
  CHECK(it.bookkeeping->method == "accounts_payable");
  const auto& line = it.accountingEntryLines.at(0);
  REQUIRE(line.tags);
  CHECK(line.tags->empty());  // [] is present and empty, unlike null
  REQUIRE(line.tax);
  CHECK(line.tax->code == "S20");
  CHECK(line.tax->rate == 0.2);
  CHECK(line.tax->type == "inclusive");
  CHECK(line.tax->amount.inWalletCurrency.value == 21667);
  CHECK_FALSE(line.tax->ingoingTaxAccount);
  CHECK(line.netAmount.inWalletCurrency.value + line.tax->amount.inWalletCurrency.value ==
        line.lineAmount.inWalletCurrency.value);
  const auto& inv = it.additionalInformation.invoiceInformation;
  REQUIRE(inv);
  CHECK(inv->invoiceNumber == "INV-0042");
  CHECK(inv->invoiceDate == "2025-04-01");
  CHECK(inv->dueDate == "2025-04-30");
  CHECK(inv->paymentDate == "2025-04-18");
  CHECK(inv->status == "paid");
  REQUIRE(inv->supplierBankAccount);
  CHECK(inv->supplierBankAccount->country == "GB");
  CHECK(inv->supplierBankAccount->accountNumber == "41926819");
  CHECK_FALSE(inv->supplierBankAccount->iban);
  REQUIRE(it.vendor);
  CHECK(it.vendor->code == "V1001");
  CHECK(it.vendor->externalId == "V1001");
  CHECK(it.vendor->defaultCurrency == "GBP");
  CHECK(it.vendor->taxRegistrationNumber == "12345");
  REQUIRE(it.servicePeriod);
  CHECK(it.servicePeriod->from == "2025-03-01T00:00:00Z");
  CHECK(it.servicePeriod->to == "2025-03-31T00:00:00Z");
}

TEST_CASE("invoice payment (8.3) has a subType and a line without account", "[model][decode]") {
  ExportItem it = decode_ok(read_data("invoice_payment.json"));
  CHECK(it.type == "invoice_payment");
  CHECK(it.subType == "invoice_payment_sent");
  REQUIRE(it.files);
  CHECK(it.files->empty());
  CHECK_FALSE(it.accountingEntryLines.at(0).account);
  CHECK_FALSE(it.accountingEntryLines.at(0).tax);
  REQUIRE(it.vendor);
  CHECK_FALSE(it.vendor->country);  // absent in the document
  CHECK_FALSE(it.vendor->taxRegistrationNumber);
  const auto& inv = it.additionalInformation.invoiceInformation;
  REQUIRE(inv);
  CHECK_FALSE(inv->dueDate);
  CHECK_FALSE(inv->supplierBankAccount);
  CHECK(it.contraAccount->code == "1810");
}

TEST_CASE("refund (8.4) keeps supplier and wallet currencies apart", "[model][decode]") {
  ExportItem it = decode_ok(read_data("refund_journal.json"));
  CHECK(it.type == "refund");
  CHECK(it.amount.inSupplierCurrency.currency == "EUR");
  CHECK(it.amount.inSupplierCurrency.value == 5000);
  CHECK(it.amount.inWalletCurrency.currency == "GBP");
  CHECK(it.amount.inWalletCurrency.value == 4312);
  CHECK_FALSE(it.files);
  const auto& tax = it.accountingEntryLines.at(0).tax;
  REQUIRE(tax);
  CHECK(tax->amount.inWalletCurrency.value == 719);
  CHECK(tax->amount.inSupplierCurrency.value == 833);
}

TEST_CASE("fee with subType interest (8.5) and wallet top-up (8.6)", "[model][decode]") {
  ExportItem fee = decode_ok(read_data("fee_interest.json"));
  CHECK(fee.type == "fee");
  CHECK(fee.subType == "interest");
  CHECK_FALSE(fee.note);
  CHECK_FALSE(fee.user);
  CHECK_FALSE(fee.accountingEntryLines.at(0).tags);
  CHECK(fee.accountingEntryLines.at(0).account->code == "8500");
  CHECK(fee.contraAccount->name == "Pleo DKK Account");

  ExportItem topup = decode_ok(read_data("wallet_topup.json"));
  CHECK(topup.type == "wallet_topup");
  CHECK(topup.bookkeeping->method == "none");
  CHECK_FALSE(topup.supplier);
  CHECK(topup.amount.inWalletCurrency.value == 1000000);
  CHECK(topup.contraAccount->code == "1812");
}

TEST_CASE("split card purchase with reverse charge (8.7)", "[model][decode]") {
  ExportItem it = decode_ok(read_data("card_purchase_split_reverse_charge.json"));
  REQUIRE(it.accountingEntryLines.size() == 2);
  const auto& rc = it.accountingEntryLines[0];
  CHECK(rc.account->code == "6100");
  REQUIRE(rc.tax);
  CHECK(rc.tax->type == "reverse");
  CHECK(rc.tax->rate == 0.25);
  CHECK(rc.tax->ingoingTaxAccount == "14400");
  CHECK(rc.tax->outgoingTaxAccount == "14500");
  CHECK(rc.tax->amount.inWalletCurrency.value == 25000);
  CHECK(it.accountingEntryLines[1].account->code == "6200");
  CHECK_FALSE(it.accountingEntryLines[1].tax);
  int64_t sum = 0;
  for (const auto& l : it.accountingEntryLines) sum += l.lineAmount.inWalletCurrency.value;
  CHECK(sum == it.amount.inWalletCurrency.value);
  REQUIRE(it.additionalInformation.attendees);
  CHECK(*it.additionalInformation.attendees ==
        std::vector<std::string>{"Mette Sørensen", "Jonas Holm"});
  CHECK(it.team->code == "R&D");
}

TEST_CASE("decode errors name the item, the JSON path and the offending value", "[model][decode]") {
  const std::string card = "item 59540ed2-0d68-4e36-9e31-58223975d9e9: ";

  SECTION("the example from the design: a number where a currency code goes") {
    CHECK(error_after(
              [](json& j) {
                j["accountingEntryLines"][1]["lineAmount"]["inWalletCurrency"]["currency"] = 12;
                j["accountingEntryId"] = "59540ed2-0d68-4e36-9e31-58223975d9e9";
              },
              "card_purchase_split_reverse_charge.json") ==
          card +
              "accountingEntryLines[1].lineAmount.inWalletCurrency.currency: expected ISO 4217 "
              "code, got 12");
  }
  SECTION("missing and null required fields") {
    CHECK(error_after([](json& j) { j.erase("companyId"); }) ==
          card + "companyId: missing required field");
    CHECK(error_after([](json& j) { j["date"] = nullptr; }) ==
          card + "date: required field is null");
    CHECK(error_after([](json& j) { j.erase("_links"); }) ==
          card + "_links: missing required field");
    CHECK(error_after([](json& j) { j.erase("amount"); }) ==
          card + "amount: missing required field");
    CHECK(error_after([](json& j) { j["amount"].erase("inWalletCurrency"); }) ==
          card + "amount.inWalletCurrency: missing required field");
    CHECK(error_after([](json& j) { j["amount"]["inSupplierCurrency"].erase("value"); }) ==
          card + "amount.inSupplierCurrency.value: missing required field");
    CHECK(error_after([](json& j) { j["accountingEntryLines"][0].erase("netAmount"); }) ==
          card + "accountingEntryLines[0].netAmount: missing required field");
    CHECK(error_after([](json& j) { j["accountingEntryLines"][0]["tags"][0].erase("code"); }) ==
          card + "accountingEntryLines[0].tags[0].code: missing required field");
    CHECK(error_after([](json& j) { j["accountingEntryLines"][0]["account"].erase("name"); }) ==
          card + "accountingEntryLines[0].account.name: missing required field");
    CHECK(error_after([](json& j) { j["additionalInformation"].erase("reconciliationId"); }) ==
          card + "additionalInformation.reconciliationId: missing required field");
    CHECK(error_after([](json& j) { j["additionalInformation"] = nullptr; }) ==
          card + "additionalInformation: required field is null");
    CHECK(error_after([](json& j) { j["bookkeeping"] = json::object(); }) ==
          card + "bookkeeping.method: missing required field");
    CHECK(error_after([](json& j) { j["contraAccount"].erase("id"); }) ==
          card + "contraAccount.id: missing required field");
    CHECK(error_after([](json& j) { j["user"]["name"] = nullptr; }) ==
          card + "user.name: required field is null");
    CHECK(error_after([](json& j) { j["files"][0].erase("size"); }) ==
          card + "files[0].size: missing required field");
    CHECK(error_after([](json& j) {
            j["servicePeriod"] = {{"from", "2025-01-01T00:00:00Z"}};
          }) == card + "servicePeriod.to: missing required field");
    CHECK(error_after([](json& j) {
            j["vendor"] = {{"id", "x"}, {"name", "y"}};
          }) == card + "vendor.defaultCurrency: missing required field");
    CHECK(error_after([](json& j) {
            j["accountingEntryLines"][0]["tax"] = {{"id", "t"}, {"rate", 0.2}};
          }) == card + "accountingEntryLines[0].tax.type: missing required field");
  }
  SECTION("invoice information and bank account") {
    const std::string inv =
        "item 98441fe2-6d31-4d52-8569-687de8368cb2: additionalInformation.invoiceInformation.";
    CHECK(error_after(
              [](json& j) { j["additionalInformation"]["invoiceInformation"].erase("status"); },
              "invoice_ap.json") == inv + "status: missing required field");
    CHECK(error_after(
              [](json& j) {
                j["additionalInformation"]["invoiceInformation"]["invoiceDate"] = "01/04/2025";
              },
              "invoice_ap.json") == inv +
                                        "invoiceDate: expected a date (YYYY-MM-DD) or an ISO-8601 "
                                        "date-time, got \"01/04/2025\"");
    CHECK(error_after(
              [](json& j) {
                j["additionalInformation"]["invoiceInformation"]["supplierBankAccount"].erase(
                    "bankName");
              },
              "invoice_ap.json") == inv + "supplierBankAccount.bankName: missing required field");
  }
  SECTION("wrong JSON types") {
    CHECK(error_after([](json& j) { j["type"] = 5; }) == card + "type: expected a string, got 5");
    CHECK(error_after([](json& j) { j["note"] = true; }) ==
          card + "note: expected a string, got true");
    CHECK(error_after([](json& j) { j["subType"] = json::array(); }) ==
          card + "subType: expected a string, got []");
    CHECK(error_after([](json& j) { j["amount"] = "6366"; }) ==
          card + "amount: expected an object, got \"6366\"");
    CHECK(error_after([](json& j) { j["accountingEntryLines"] = json::object(); }) ==
          card + "accountingEntryLines: expected an array, got {}");
    CHECK(error_after([](json& j) { j["accountingEntryLines"] = {nullptr}; }) ==
          card + "accountingEntryLines[0]: expected an object, got null");
    CHECK(error_after([](json& j) { j["files"] = "none"; }) ==
          card + "files: expected an array, got \"none\"");
    CHECK(error_after([](json& j) { j["files"][0]["size"] = 1.5; }) ==
          card + "files[0].size: expected an integer, got 1.5");
    CHECK(error_after([](json& j) { j["accountingEntryLines"][0]["tags"][0] = "ENG"; }) ==
          card + "accountingEntryLines[0].tags[0]: expected an object, got \"ENG\"");
    CHECK(error_after([](json& j) { j["_links"]["web"]["exportItem"] = 5; }) ==
          card + "_links.web.exportItem: expected a string, got 5");
    CHECK(error_after([](json& j) { j["_links"]["api"] = "https://x"; }) ==
          card + "_links.api: expected an object, got \"https://x\"");
    CHECK(error_after([](json& j) {
            j["additionalInformation"]["attendees"] = {"Ann", 3};
          }) == card + "additionalInformation.attendees[1]: expected a string, got 3");
    CHECK(error_after([](json& j) {
            j["accountingEntryLines"][0]["tax"] = {
                {"id", "t"}, {"rate", "0.2"}, {"type", "inclusive"}, {"amount", json::object()}};
          }) == card + "accountingEntryLines[0].tax.rate: expected a number, got \"0.2\"");
  }
  SECTION("long values are cut to about 40 characters") {
    CHECK(error_after([](json& j) {
            j["type"] = {{"name", std::string(60, 'x')}};
          }) == card + "type: expected a string, got {\"name\":\"" + std::string(31, 'x') + "...");
    // A cut never splits a UTF-8 sequence: "ø" is two bytes and would straddle byte 40.
    CHECK(error_after([](json& j) {
            j["type"] = {{"n", std::string(33, 'x') + "øøø"}};
          }) == card + "type: expected a string, got {\"n\":\"" + std::string(33, 'x') + "...");
  }
  SECTION("without a usable accountingEntryId the error has no item prefix") {
    CHECK(error_after([](json& j) { j.erase("accountingEntryId"); }) ==
          "accountingEntryId: missing required field");
    CHECK(error_after([](json& j) { j["accountingEntryId"] = 42; }) ==
          "accountingEntryId: expected a string, got 42");
    CHECK(decode_err("[1,2]").to_string() == "expected an export item object, got [1,2]");
    DecodeError bad_json = decode_err("{\"a\": ");
    CHECK(bad_json.path.empty());
    CHECK_FALSE(bad_json.message.empty());
  }
  SECTION("where goes first") {
    DecodeError e = decode_err(R"({"accountingEntryId": "abc"})");
    e.where = "items.jsonl:3";
    CHECK(e.to_string() == "items.jsonl:3: item abc: companyId: missing required field");
    CHECK(e.accountingEntryId == "abc");
    CHECK(e.path == "companyId");
    CHECK(e.message == "missing required field");
  }
}

TEST_CASE("money: ISO 4217 currency and integer minor units", "[model][decode]") {
  const std::string card = "item 59540ed2-0d68-4e36-9e31-58223975d9e9: ";
  auto with_value = [](json v) {
    json j = example("card_purchase_journal.json");
    j["amount"]["inWalletCurrency"]["value"] = v;
    return j.dump();
  };
  auto with_currency = [](json c) {
    json j = example("card_purchase_journal.json");
    j["amount"]["inWalletCurrency"]["currency"] = c;
    return j.dump();
  };
  const std::string value_path = card + "amount.inWalletCurrency.value: ";
  const std::string currency_path = card + "amount.inWalletCurrency.currency: ";

  CHECK(decode_ok(with_value(100.0)).amount.inWalletCurrency.value == 100);
  CHECK(decode_ok(with_value(-2500)).amount.inWalletCurrency.value == -2500);
  CHECK(decode_ok(with_value(0)).amount.inWalletCurrency.value == 0);
  CHECK(decode_ok(with_value(INT64_MIN)).amount.inWalletCurrency.value == INT64_MIN);
  CHECK(decode_ok(with_value(INT64_MAX)).amount.inWalletCurrency.value == INT64_MAX);
  CHECK(decode_err(with_value(100.5)).to_string() ==
        value_path + "expected an integer amount in minor units, got 100.5");
  CHECK(decode_err(with_value("6366")).to_string() ==
        value_path + "expected an integer amount in minor units, got \"6366\"");
  CHECK(decode_err(with_value(nullptr)).to_string() == value_path + "required field is null");
  CHECK(decode_err(with_value(uint64_t(9223372036854775808ULL))).to_string() ==
        value_path +
            "expected an integer amount in minor units within the int64 range, got "
            "9223372036854775808");
  CHECK(decode_err(with_value(1e19)).to_string() ==
        value_path + "expected an integer amount in minor units within the int64 range, got 1e+19");

  CHECK(decode_ok(with_currency("JPY")).amount.inWalletCurrency.currency == "JPY");
  CHECK(decode_err(with_currency("UNDEFINED")).to_string() ==
        currency_path + "expected ISO 4217 code, got \"UNDEFINED\"");
  CHECK(decode_err(with_currency("gbp")).to_string() ==
        currency_path + "expected ISO 4217 code, got \"gbp\"");
  CHECK(decode_err(with_currency("ABC")).to_string() ==
        currency_path + "expected ISO 4217 code, got \"ABC\"");
  CHECK(decode_err(with_currency("")).to_string() ==
        currency_path + "expected ISO 4217 code, got \"\"");
  CHECK(decode_err(with_currency(nullptr)).to_string() == currency_path + "required field is null");
}

TEST_CASE("dates: ISO-8601 date-times, and dates for invoice fields", "[model][decode]") {
  auto with_date = [](const std::string& d) {
    json j = example("card_purchase_journal.json");
    j["date"] = d;
    return j.dump();
  };
  for (const char* ok :
       {"2025-12-10T15:46:34Z", "2025-12-10T15:46:34.123Z", "2025-12-10T15:46:34.123456789+01:00",
        "2025-12-10T15:46:34-05:30", "2016-12-31T23:59:60Z"}) {
    INFO(ok);
    CHECK(decode_ok(with_date(ok)).date == ok);  // kept as sent
  }
  for (const char* bad :
       {"2025-12-10", "2025-12-10T15:46:34", "2025-12-10 15:46:34Z", "2025-13-10T15:46:34Z",
        "2025-12-00T15:46:34Z", "2025-12-10T24:00:00Z", "2025-12-10T15:46:34.Z",
        "2025-12-10T15:46:34+0100", "2025-12-10T15:46:34Zjunk", "10/12/2025", ""}) {
    INFO(bad);
    CHECK(decode_err(with_date(bad)).to_string() ==
          "item 59540ed2-0d68-4e36-9e31-58223975d9e9: date: expected an ISO-8601 date-time "
          "(YYYY-MM-DDTHH:MM:SSZ), got \"" +
              std::string(bad) + "\"");
  }
  json j = example("card_purchase_journal.json");
  j["date"] = 20251210;
  CHECK(decode_err(j.dump()).message ==
        "expected an ISO-8601 date-time (YYYY-MM-DDTHH:MM:SSZ), got 20251210");

  json inv = example("invoice_ap.json");
  inv["additionalInformation"]["invoiceInformation"]["invoiceDate"] = "2025-04-01T00:00:00Z";
  inv["additionalInformation"]["invoiceInformation"]["dueDate"] = nullptr;
  ExportItem it = decode_ok(inv.dump());
  CHECK(it.additionalInformation.invoiceInformation->invoiceDate == "2025-04-01T00:00:00Z");
  CHECK_FALSE(it.additionalInformation.invoiceInformation->dueDate);
  inv["additionalInformation"]["invoiceInformation"]["paymentDate"] = "2025-02-30x";
  CHECK(decode_err(inv.dump()).path == "additionalInformation.invoiceInformation.paymentDate");
}

TEST_CASE("open enumerations are kept as sent", "[model][decode]") {
  json j = example("card_purchase_split_reverse_charge.json");
  j["type"] = "crypto_purchase";
  j["subType"] = "moon_landing";
  j["bookkeeping"]["method"] = "ledger_magic";
  j["accountingEntryLines"][0]["tax"]["type"] = "withholding";
  ExportItem it = decode_ok(j.dump());
  CHECK(it.type == "crypto_purchase");
  CHECK(it.subType == "moon_landing");
  CHECK(it.bookkeeping->method == "ledger_magic");
  CHECK(it.accountingEntryLines[0].tax->type == "withholding");

  json inv = example("invoice_ap.json");
  inv["additionalInformation"]["invoiceInformation"]["status"] = "disputed";
  CHECK(decode_ok(inv.dump()).additionalInformation.invoiceInformation->status == "disputed");
}

TEST_CASE("null and absent are the same; empty is not", "[model][decode]") {
  json base = example("card_purchase_journal.json");
  for (const char* key : {"subType", "note", "files", "supplier", "user", "team", "bookkeeping",
                          "contraAccount", "vendor", "servicePeriod"}) {
    INFO(key);
    json absent = base;
    absent.erase(key);
    json null = base;
    null[key] = nullptr;
    CHECK(dump(decode_ok(absent.dump())) == dump(decode_ok(null.dump())));
  }
  json j = base;
  j["accountingEntryLines"][0].erase("tags");
  CHECK_FALSE(decode_ok(j.dump()).accountingEntryLines[0].tags);
  j["accountingEntryLines"][0]["tags"] = nullptr;
  CHECK_FALSE(decode_ok(j.dump()).accountingEntryLines[0].tags);
  j["accountingEntryLines"][0]["tags"] = json::array();
  auto tags = decode_ok(j.dump()).accountingEntryLines[0].tags;
  REQUIRE(tags);
  CHECK(tags->empty());
  j["note"] = "";
  CHECK(decode_ok(j.dump()).note == "");

  // The element schemas of these arrays are nullable: a null element is no element.
  j = base;
  j["accountingEntryLines"][0]["tags"] = {nullptr, base["accountingEntryLines"][0]["tags"][0]};
  j["additionalInformation"]["attendees"] = {"Ann", nullptr, "Bo"};
  j["files"] = {nullptr};
  j["_links"]["web"] = {
      {"exportItem", "https://a"}, {"receipt", nullptr}, {"approval", "https://b"}};
  ExportItem it = decode_ok(j.dump());
  CHECK(it.accountingEntryLines[0].tags->size() == 1);
  CHECK(*it.additionalInformation.attendees == std::vector<std::string>{"Ann", "Bo"});
  CHECK(it.files->empty());
  CHECK(it._links.web ==
        lb::model::LinkMap{{"exportItem", "https://a"}, {"approval", "https://b"}});
  j["_links"] = json::object();  // every map optional
  it = decode_ok(j.dump());
  CHECK(it._links.web.empty());
  CHECK(it._links.api.empty());
}

TEST_CASE("unknown fields are ignored", "[model][decode]") {
  json j = example("invoice_ap.json");
  j["newTopLevel"] = {{"nested", {1, 2, 3}}};
  j["accountingEntryLines"][0]["dimension"] = "X";
  j["vendor"]["paymentTerms"] = 30;
  j["amount"]["inWalletCurrency"]["decimalDigits"] = 2;
  CHECK(dump(decode_ok(j.dump())) == dump(decode_ok(read_data("invoice_ap.json"))));
}

TEST_CASE("a member name that differs in any one byte is not that member", "[model][decode]") {
  // Names are matched several bytes at a time, by hash (large objects) or against each name in
  // turn (small ones): a difference in any byte of any word must count. Each required member
  // is renamed with one byte changed, and must then be missing.
  struct Member {
    const char* parent;  // JSON pointer
    std::string name;
    std::string path;
    const char* file = "card_purchase_journal.json";
  };
  for (const Member& m : {Member{"", "accountingEntryLines", "accountingEntryLines"},
                          Member{"", "additionalInformation", "additionalInformation"},
                          Member{"", "companyId", "companyId"},
                          Member{"", "amount", "amount"},
                          Member{"", "type", "type"},
                          Member{"", "_links", "_links"},
                          Member{"/amount/inWalletCurrency", "currency", "amount.inWalletCurrency.currency"},
                          Member{"/amount/inWalletCurrency", "value", "amount.inWalletCurrency.value"},
                          Member{"/user", "id", "user.id"},
                          Member{"/vendor", "defaultCurrency", "vendor.defaultCurrency", "invoice_ap.json"},
                          Member{"/accountingEntryLines/0", "accountingEntryLineId",
                                 "accountingEntryLines[0].accountingEntryLineId"}}) {
    for (std::size_t at = 0; at < m.name.size(); ++at) {
      for (const char flip : {'\x01', '\x20', '\x40'}) {
        std::string renamed = m.name;
        renamed[at] = static_cast<char>(renamed[at] ^ flip);
        INFO(m.path << " renamed " << renamed);
        json j = example(m.file);
        json& parent = j[json::json_pointer(m.parent)];
        parent[renamed] = parent[m.name];
        parent.erase(m.name);
        const DecodeError e = decode_err(j.dump());
        CHECK(e.path == m.path);
        CHECK(e.message == "missing required field");
      }
    }
  }
}

// A reader decodes every item into the same object (decode.hpp), so the examples go round three
// times, in an order where members and list elements come and go, then 400 generated items:
// nothing an earlier item left may show in a later one.
TEST_CASE("decoding into a reused item gives the same result as a fresh one", "[model][decode]") {
  simdjson::dom::parser parser;
  ExportItem reused;
  DecodeError error;
  for (int round = 0; round < 3; ++round) {
    for (const char* name :
         {"card_purchase_split_reverse_charge.json", "card_purchase_journal.json", "invoice_ap.json",
          "wallet_topup.json", "invoice_payment.json", "fee_interest.json", "refund_journal.json"}) {
      INFO(name << " in round " << round);
      std::string text = read_data(name);
      REQUIRE(lb::model::decode_export_item(parser.parse(text).value(), reused, error));
      CHECK(dump(reused) == dump(decode_ok(text)));
    }
  }
  // And items of every kind the generator makes, one after another into the same object.
  lb::sim::ItemGenerator generator(11);
  for (int i = 0; i < 400; ++i) {
    INFO("generated item " << i);
    const std::string text = generator.next();
    REQUIRE(lb::model::decode_export_item(parser.parse(text).value(), reused, error));
    CHECK(dump(reused) == dump(decode_ok(text)));
  }
}

TEST_CASE("export job (DataResponseExportJobV3) decodes", "[model][decode]") {
  simdjson::dom::parser parser;
  json doc = json::parse(read_data("export_job.json"));
  auto r = decode_job_text(doc["data"].dump(), parser);
  REQUIRE(std::holds_alternative<ExportJob>(r));
  const auto& job = std::get<ExportJob>(r);
  CHECK(job.id == "8eb648ab-464b-42a0-ba17-eda703657e33");
  CHECK(job.companyId == "12abc3d4-e567-890e-1234-abc56e78fabc");
  CHECK(job.status == "in_progress");
  CHECK(job.createdAt == "2026-04-22T10:02:11Z");
  CHECK(job.expiresIn == 3600);
  CHECK(job.isInteractive);
  CHECK(job.numberOfItems == 3);
  CHECK(job.vendorBasedBookkeeping);
  CHECK(job.createdBy == "6b71f6bd-e83d-4d49-88ee-2b8cda2d57cf");
  CHECK(job.startedAt == "2026-04-22T10:02:15Z");
  CHECK_FALSE(job.completedAt);
  CHECK_FALSE(job.failureReasonType);

  auto err = [&](auto mutate) {
    json d = doc["data"];
    mutate(d);
    auto res = decode_job_text(d.dump(), parser);
    REQUIRE(std::holds_alternative<DecodeError>(res));
    return std::get<DecodeError>(res).to_string();
  };
  CHECK(err([](json& d) { d["status"] = "paused"; }) ==
        "status: expected one of pending, in_progress, failed, completed, completed_with_errors, "
        "got \"paused\"");
  CHECK(err([](json& d) { d.erase("isInteractive"); }) == "isInteractive: missing required field");
  CHECK(err([](json& d) { d["isInteractive"] = "true"; }) ==
        "isInteractive: expected a boolean, got \"true\"");
  CHECK(err([](json& d) { d["expiresIn"] = 1.5; }) ==
        "expiresIn: expected an integer number of seconds, got 1.5");
  CHECK(err([](json& d) { d["expiresIn"] = 4294967296LL; }) ==
        "expiresIn: expected an integer number of seconds within the int32 range, got 4294967296");
  CHECK(err([](json& d) { d["completedAt"] = "yesterday"; }) ==
        "completedAt: expected an ISO-8601 date-time (YYYY-MM-DDTHH:MM:SSZ), got \"yesterday\"");
  CHECK(err([](json& d) { d = json::array({1}); }) == "expected an export job object, got [1]");

  json d = doc["data"];
  d["failureReasonType"] = "quantum_interference";  // unknown reasons are kept
  d["status"] = "failed";
  auto kept = decode_job_text(d.dump(), parser);
  REQUIRE(std::holds_alternative<ExportJob>(kept));
  CHECK(std::get<ExportJob>(kept).failureReasonType == "quantum_interference");
}

TEST_CASE("export job items (CursorPaginatedResponseExportJobItemV3) decode", "[model][decode]") {
  simdjson::dom::parser parser;
  std::string text = read_data("export_job_items.json");
  simdjson::dom::element page = parser.parse(text).value();
  std::vector<ExportJobItem> items;
  simdjson::dom::array data = page["data"].get_array().value();
  for (simdjson::dom::element e : data) {
    auto r = lb::model::decode_export_job_item(e);
    REQUIRE(std::holds_alternative<ExportJobItem>(r));
    items.push_back(std::get<ExportJobItem>(std::move(r)));
  }
  REQUIRE(items.size() == 3);
  CHECK(items[0].accountingEntryId == "59540ed2-0d68-4e36-9e31-58223975d9e9");
  CHECK(items[0].exportJobId == "8eb648ab-464b-42a0-ba17-eda703657e33");
  CHECK(items[0].status == "pending");
  CHECK_FALSE(items[0].externalId);
  CHECK_FALSE(items[0].exportedAt);
  CHECK(items[1].status == "successful");
  CHECK(items[1].externalId == "JE-10452");
  CHECK(items[1].externalUrl == "https://erp.example.com/journal/JE-10452");
  CHECK(items[1].exportedAt == "2026-04-22T10:08:56Z");
  CHECK(items[2].status == "failed");
  CHECK(items[2].failureReasonType == "vendor_unknown");
  CHECK(items[2].failureReason ==
        "Vendor V1001 does not exist or is blocked in the accounting system.");

  auto decode = [&](const std::string& s) {
    return lb::model::decode_export_job_item(parser.parse(s).value());
  };
  auto bad = decode(
      R"({"accountingEntryId":"59540ed2-0d68-4e36-9e31-58223975d9e9","exportJobId":"j","status":"done"})");
  REQUIRE(std::holds_alternative<DecodeError>(bad));
  CHECK(std::get<DecodeError>(bad).to_string() ==
        "item 59540ed2-0d68-4e36-9e31-58223975d9e9: status: expected one of pending, in_progress, "
        "failed, "
        "successful, abandoned, got \"done\"");
  auto missing = decode(R"({"accountingEntryId":"a1","status":"pending"})");
  REQUIRE(std::holds_alternative<DecodeError>(missing));
  CHECK(std::get<DecodeError>(missing).to_string() ==
        "item a1: exportJobId: missing required field");
  auto not_object = decode(R"("a1")");
  REQUIRE(std::holds_alternative<DecodeError>(not_object));
  CHECK(std::get<DecodeError>(not_object).to_string() == "expected an export job item object, got \"a1\"");
  auto unknown_reason = decode(
      R"({"accountingEntryId":"a1","exportJobId":"j","status":"failed","failureReasonType":"gremlins"})");
  REQUIRE(std::holds_alternative<ExportJobItem>(unknown_reason));
  CHECK(std::get<ExportJobItem>(unknown_reason).failureReasonType == "gremlins");
  CHECK_FALSE(lb::model::is_one_of("gremlins", lb::model::kItemFailureReasonTypes));
}
