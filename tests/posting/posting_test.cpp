// Posting documents (issue #3 item 1): invariants, canonical JSON, and the builder's booking of
// each shape of item. The rule packs' fixtures cover the same through Lua; these pin the C++.
#include <catch2/catch.hpp>

#include "posting/builder.hpp"
#include "posting/document.hpp"

using namespace lb::posting;
using lb::model::ExportItem;

namespace {

lb::model::Amount amount(int64_t wallet, const char* currency = "GBP", int64_t supplier = 0,
                         const char* supplier_currency = nullptr) {
  return {.inSupplierCurrency = {supplier_currency ? supplier_currency : currency, supplier ? supplier : wallet},
          .inWalletCurrency = {currency, wallet}};
}

ExportItem purchase(std::vector<int64_t> lines, int64_t total, const char* currency = "GBP") {
  ExportItem item;
  item.accountingEntryId = "e-1";
  item.type = "card_purchase";
  item.date = "2025-12-10T10:00:00Z";
  item.amount = amount(total, currency);
  for (size_t i = 0; i < lines.size(); ++i) {
    lb::model::Line l;
    l.accountingEntryLineId = "l-" + std::to_string(i + 1);
    l.lineAmount = amount(lines[i], currency);
    l.netAmount = l.lineAmount;
    item.accountingEntryLines.push_back(l);
  }
  return item;
}

Decisions decisions(const ExportItem& item, std::string counter = "1810") {
  Decisions d;
  d.method = "journal";
  d.counterAccount = std::move(counter);
  for (size_t i = 0; i < item.accountingEntryLines.size(); ++i)
    d.lines.push_back({.accountingEntryLineId = item.accountingEntryLines[i].accountingEntryLineId,
                       .account = "6" + std::to_string(i + 1) + "00", .tax = {}, .dimensions = {}});
  d.posting.date = "2025-12-10";
  d.posting.reference = "BK-1";
  d.posting.description = "Target · Printer ink";
  return d;
}

// "Dr 6100 100 / Cr 1810 100" style, for compact expectations.
std::string entries(const Document& d) {
  std::string s;
  for (const Line& l : d.lines)
    s += (s.empty() ? "" : " ") + std::string(l.debit ? "Dr " : "Cr ") + l.account + " " +
         std::to_string(l.debit ? l.debit : l.credit);
  return s;
}

Document balanced() {
  Document d;
  d.externalKey = "e-1";
  d.currency = "GBP";
  d.lines = {{.role = LineRole::expense, .account = "6100", .debit = 100, .credit = 0, .currency = "GBP"},
             {.role = LineRole::counter, .account = "1810", .debit = 0, .credit = 100, .currency = "GBP"}};
  return d;
}

}  // namespace

TEST_CASE("posting: invariants name what is wrong, with the numbers", "[posting]") {
  CHECK(check_invariants(balanced()).ok());

  Document d = balanced();
  d.lines[1].credit = 90;
  CHECK(check_invariants(d).message() == "journal_entry e-1 does not balance in GBP: debits 100 != credits 90");

  d = balanced();
  d.lines[0].account.clear();
  CHECK(check_invariants(d).message() == "line 1 (expense) of journal_entry e-1 has no account");

  d = balanced();
  d.lines[0].credit = 5;
  CHECK(check_invariants(d).message() ==
        "line 1 (expense, account 6100) of journal_entry e-1 must have exactly one positive side, has debit 100 and credit 5");

  d = balanced();
  d.lines.clear();
  CHECK(check_invariants(d).message() == "journal_entry e-1 has no lines");

  // Balanced per currency, not in total.
  d = balanced();
  d.lines.push_back({.role = LineRole::expense, .account = "6100", .debit = 7, .credit = 0, .currency = "EUR"});
  d.lines.push_back({.role = LineRole::counter, .account = "1812", .debit = 0, .credit = 7, .currency = "GBP"});
  CHECK(check_invariants(d).message() == "journal_entry e-1 does not balance in GBP: debits 100 != credits 107");

  // Two currencies out of balance: the one that appears first is named, whatever its name.
  d = balanced();
  for (Line& l : d.lines) l.currency = "SEK";
  d.lines.push_back({.role = LineRole::expense, .account = "6100", .debit = 7, .credit = 0, .currency = "EUR"});
  d.lines.push_back({.role = LineRole::counter, .account = "1812", .debit = 0, .credit = 5, .currency = "SEK"});
  CHECK(check_invariants(d).message() == "journal_entry e-1 does not balance in SEK: debits 100 != credits 105");
  d.lines.back().currency = "EUR";
  CHECK(check_invariants(d).message() == "journal_entry e-1 does not balance in EUR: debits 7 != credits 5");
}

TEST_CASE("posting: canonical JSON round-trips and the hash follows the content", "[posting]") {
  Document d = balanced();
  d.kind = DocumentKind::ap_invoice;
  d.vendor = "V1001";
  d.dueDate = "2025-12-31";
  d.lines[0].taxCode = "S20";
  d.lines[0].dimensions = {{"DEPT", "ENG"}, {"PROJ", "P-1"}};
  d.attachments.push_back({.key = "e-1/0", .url = "https://x/r.pdf", .type = "application/pdf", .size = 42});
  const std::string json = document_json(d);
  auto back = parse_document_json(json);
  REQUIRE(back.ok());
  CHECK(document_json(*back) == json);
  CHECK(document_hash(*back) == document_hash(d));
  CHECK(document_hash(d).size() == 16);
  back->lines[0].debit = 101;
  CHECK(document_hash(*back) != document_hash(d));

  CHECK_FALSE(parse_document_json("{\"kind\":\"receipt\"}").ok());
  CHECK_FALSE(parse_document_json("not json").ok());
}

TEST_CASE("posting: a split purchase is one debit per line and one counter line (§2.4 mode 2)", "[posting]") {
  const ExportItem item = purchase({10000, 5000}, 15000);
  std::vector<Document> docs;
  REQUIRE(build_documents(item, decisions(item), docs).ok());
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].kind == DocumentKind::journal_entry);
  CHECK(entries(docs[0]) == "Dr 6100 10000 Dr 6200 5000 Cr 1810 15000");
  CHECK(docs[0].lines[0].accountingEntryLineId == "l-1");
  CHECK_FALSE(docs[0].lines[2].accountingEntryLineId);
}

TEST_CASE("posting: lines that do not add up to the entry are refused with both numbers", "[posting]") {
  const ExportItem item = purchase({5000}, 6366);
  std::vector<Document> docs;
  const auto st = build_documents(item, decisions(item), docs);
  CHECK(st.message() == "the lines add up to 50.00 GBP but the entry amount is 63.66 GBP");

  const ExportItem yen = purchase({500}, 600, "JPY");
  CHECK(build_documents(yen, decisions(yen), docs).message() == "the lines add up to 500 JPY but the entry amount is 600 JPY");
}

TEST_CASE("posting: direction and sign (§7 #28)", "[posting]") {
  ExportItem item = purchase({4312}, 4312);
  Decisions d = decisions(item);
  std::vector<Document> docs;
  d.direction = Direction::in;  // a refund
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Cr 6100 4312 Dr 1810 4312");

  // A refund Pleo sends with negative amounts books the same way: amounts are relative to the total.
  item = purchase({-4312}, -4312);
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Cr 6100 4312 Dr 1810 4312");

  // A discount line inside a purchase goes to the other side.
  item = purchase({10000, -1000}, 9000);
  REQUIRE(build_documents(item, decisions(item), docs).ok());
  CHECK(entries(docs[0]) == "Dr 6100 10000 Cr 6200 1000 Cr 1810 9000");

  // Nothing to post.
  item = purchase({0}, 0);
  REQUIRE(build_documents(item, decisions(item), docs).ok());
  CHECK(docs.empty());
}

TEST_CASE("posting: VAT explicit, computed and reverse charge (§2.6)", "[posting]") {
  ExportItem item = purchase({12000}, 12000);
  item.accountingEntryLines[0].tax = lb::model::Tax{.id = "t", .code = "S20", .rate = 0.2, .type = "inclusive",
                                                    .amount = amount(2000), .ingoingTaxAccount = {},
                                                    .outgoingTaxAccount = {}};
  Decisions d = decisions(item);
  std::vector<Document> docs;

  // No account in the decision: the line keeps the gross amount and the code (the ERP computes).
  d.lines[0].tax = TaxDecision{.code = "S20", .type = "inclusive", .rate = 0.2, .ingoingTaxAccount = {}, .outgoingTaxAccount = {}};
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Dr 6100 12000 Cr 1810 12000");
  CHECK(docs[0].lines[0].taxCode == "S20");

  // With the ingoing account the VAT is split out, using Pleo's amount.
  d.lines[0].tax->ingoingTaxAccount = "2640";
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Dr 6100 10000 Dr 2640 2000 Cr 1810 12000");
  CHECK(docs[0].lines[1].role == LineRole::tax);

  // Without Pleo's amount it is computed from the rate, rounded half away from zero.
  item.accountingEntryLines[0].tax->amount = amount(0);
  item.amount = amount(5999);
  item.accountingEntryLines[0].lineAmount = amount(5999);
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Dr 6100 4999 Dr 2640 1000 Cr 1810 5999");

  // Reverse charge: gross = net, plus a net-zero pair on the two tax accounts, either direction.
  item = purchase({100000}, 100000, "DKK");
  item.accountingEntryLines[0].tax = lb::model::Tax{.id = "t", .code = "RC25", .rate = 0.25, .type = "reverse",
                                                    .amount = amount(25000, "DKK"), .ingoingTaxAccount = {},
                                                    .outgoingTaxAccount = {}};
  d = decisions(item, "5810");
  d.lines[0].tax = TaxDecision{.code = "RC25", .type = "reverse", .rate = 0.25, .ingoingTaxAccount = "14400",
                               .outgoingTaxAccount = "14500"};
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Dr 6100 100000 Dr 14400 25000 Cr 14500 25000 Cr 5810 100000");
  d.direction = Direction::in;
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Cr 6100 100000 Cr 14400 25000 Dr 14500 25000 Dr 5810 100000");
}

TEST_CASE("posting: an AP card purchase is an invoice in the supplier currency and a payment in the wallet's", "[posting]") {
  ExportItem item = purchase({8620}, 8620);
  item.amount = amount(8620, "GBP", 10000, "EUR");
  item.accountingEntryLines[0].lineAmount = amount(8620, "GBP", 10000, "EUR");
  item.files = std::vector<lb::model::File>{{.url = "https://x/r.pdf", .type = "application/pdf", .size = 10}};
  Decisions d = decisions(item, "2000");
  d.method = "accounts_payable";
  d.vendor = "V1001";
  d.paymentAccount = "1810";
  std::vector<Document> docs;
  REQUIRE(build_documents(item, d, docs).ok());
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].kind == DocumentKind::ap_invoice);
  CHECK(docs[0].currency == "EUR");
  CHECK(docs[0].externalKey == "e-1");
  CHECK(entries(docs[0]) == "Dr 6100 10000 Cr 2000 10000");
  CHECK(docs[0].attachments.size() == 1);
  CHECK(docs[0].attachments[0].key == "e-1/0");
  CHECK(docs[1].kind == DocumentKind::ap_payment);
  CHECK(docs[1].currency == "GBP");
  CHECK(docs[1].externalKey == "e-1/payment");
  CHECK(entries(docs[1]) == "Dr 2000 8620 Cr 1810 8620");
  CHECK(docs[1].attachments.empty());

  // A refund on AP: a credit note and the receipt.
  d.direction = Direction::in;
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(docs[0].kind == DocumentKind::credit_note);
  CHECK(entries(docs[0]) == "Cr 6100 10000 Dr 2000 10000");
  CHECK(entries(docs[1]) == "Cr 2000 8620 Dr 1810 8620");

  // An invoice_payment item is itself the payment, in the wallet currency.
  item.type = "invoice_payment";
  d.direction = Direction::out;
  d.lines[0].account = "2000";
  d.counterAccount = "1810";
  REQUIRE(build_documents(item, d, docs).ok());
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].kind == DocumentKind::ap_payment);
  CHECK(docs[0].currency == "GBP");
  CHECK(docs[0].lines[0].role == LineRole::payables);
}

TEST_CASE("posting: one journal entry per job merges journal entries per currency (§2.4 mode 3)", "[posting]") {
  std::vector<Document> all;
  for (int i = 0; i < 3; ++i) {
    ExportItem item = purchase({1000 * (i + 1)}, 1000 * (i + 1), i == 2 ? "EUR" : "GBP");
    item.accountingEntryId = "e-" + std::to_string(i);
    std::vector<Document> docs;
    REQUIRE(build_documents(item, decisions(item), docs).ok());
    all.insert(all.end(), docs.begin(), docs.end());
  }
  Document ap = balanced();
  ap.kind = DocumentKind::ap_invoice;
  all.push_back(ap);
  const auto merged = aggregate_journal_entries(all, "job-7", "2025-12-31", "Pleo export job-7");
  REQUIRE(merged.size() == 3);
  CHECK(merged[0].externalKey == "job:job-7:GBP");
  CHECK(entries(merged[0]) == "Dr 6100 1000 Cr 1810 1000 Dr 6100 2000 Cr 1810 2000");
  CHECK(merged[1].externalKey == "job:job-7:EUR");
  CHECK(merged[2].kind == DocumentKind::ap_invoice);
  for (const auto& d : merged) CHECK(check_invariants(d).ok());
}

TEST_CASE("posting: §2.4 mode 3 — every line of the job's entry names its Pleo entry and line; the header names the job",
          "[posting]") {
  std::vector<Document> all;
  for (int i = 0; i < 2; ++i) {
    ExportItem item = purchase({300, 700}, 1000, "GBP");  // §2.4 mode 2 items stay split inside the job's entry
    item.accountingEntryId = "e-" + std::to_string(i);
    for (auto& l : item.accountingEntryLines) l.accountingEntryLineId = item.accountingEntryId + "-" + l.accountingEntryLineId;
    item.files = std::vector<lb::model::File>{{.url = "https://r/" + item.accountingEntryId, .type = "image/png", .size = 10}};
    Decisions d = decisions(item);
    d.posting.reference = "BK-" + std::to_string(i);
    d.posting.date = i == 0 ? "2025-12-10" : "2025-12-12";
    d.posting.draft = i == 1;
    d.lines[0].dimensions = {{"DEPT", "ENG"}};
    std::vector<Document> docs;
    REQUIRE(build_documents(item, d, docs).ok());
    all.insert(all.end(), docs.begin(), docs.end());
  }
  const auto merged = aggregate_journal_entries(all, "job-9", "2025-12-12", "Pleo export job job-9 (2 entries)");
  REQUIRE(merged.size() == 1);
  const Document& m = merged[0];
  CHECK(m.kind == DocumentKind::journal_entry);
  CHECK(m.externalKey == "job:job-9:GBP");
  CHECK(m.accountingEntryId == "job:job-9:GBP");
  CHECK(m.reference == "job-9");  // the header reference names the job
  CHECK(m.description == "Pleo export job job-9 (2 entries)");
  CHECK(m.postingDate == "2025-12-12");
  CHECK(m.documentDate == "2025-12-12");
  CHECK(m.draft);  // one draft member keeps the job's entry a draft (§2.10)
  CHECK(entries(m) == "Dr 6100 300 Dr 6200 700 Cr 1810 1000 Dr 6100 300 Dr 6200 700 Cr 1810 1000");
  REQUIRE(m.lines.size() == 6);
  for (size_t k = 0; k < m.lines.size(); ++k) {
    const Line& l = m.lines[k];
    const std::string entry = k < 3 ? "e-0" : "e-1";
    INFO("line " << k << ": " << l.text);
    // Traceability: the text starts with the Pleo accountingEntryId and the item's reference.
    CHECK(l.text.rfind(entry + " BK-" + entry.substr(2) + " ", 0) == 0);
    CHECK_THAT(l.text, Catch::Contains("Target · Printer ink"));
    if (l.role == LineRole::expense) {
      REQUIRE(l.accountingEntryLineId);
      CHECK(l.accountingEntryLineId->rfind(entry + "-l-", 0) == 0);
    } else {
      CHECK_FALSE(l.accountingEntryLineId);
    }
  }
  CHECK(m.lines[0].dimensions == std::vector<std::pair<std::string, std::string>>{{"DEPT", "ENG"}});
  REQUIRE(m.attachments.size() == 2);  // every member's receipts, keys unchanged (§2.8)
  CHECK(m.attachments[0].key == "e-0/0");
  CHECK(m.attachments[1].key == "e-1/0");
  CHECK(check_invariants(m).ok());
  // A second aggregation of the same input gives the same document (the ledger compares hashes).
  CHECK(document_hash(aggregate_journal_entries(all, "job-9", "2025-12-12", "Pleo export job job-9 (2 entries)")[0]) ==
        document_hash(m));
}

TEST_CASE("posting: a pack that maps a line to another VAT rate gets that rate's VAT, not Pleo's", "[posting]") {
  // Pleo sent the line zero-rated (amount 0); the pack decided reverse charge at 25%.
  ExportItem item = purchase({40000}, 40000, "DKK");
  item.accountingEntryLines[0].tax = lb::model::Tax{.id = "t", .code = "Z0", .rate = 0, .type = "inclusive",
                                                    .amount = amount(0, "DKK"), .ingoingTaxAccount = {},
                                                    .outgoingTaxAccount = {}};
  Decisions d = decisions(item, "5810");
  d.lines[0].tax = TaxDecision{.code = "REU25", .type = "reverse", .rate = 0.25, .ingoingTaxAccount = "7320",
                               .outgoingTaxAccount = "7310"};
  std::vector<Document> docs;
  REQUIRE(build_documents(item, d, docs).ok());
  CHECK(entries(docs[0]) == "Dr 6100 40000 Dr 7320 10000 Cr 7310 10000 Cr 5810 40000");
}

TEST_CASE("posting: building into the documents of an earlier build gives what a fresh build gives", "[posting]") {
  // An evaluator builds every item into the same vector, reusing its documents, lines and
  // attachments; nothing of an earlier item may show through in a later one.
  struct Case {
    ExportItem item;
    Decisions decisions;
  };
  std::vector<Case> cases;
  {  // AP card purchase with receipts: invoice + payment, VAT split out, dimensions
    ExportItem item = purchase({6000, 4000}, 10000);
    item.amount = amount(8620, "GBP", 10000, "EUR");
    item.accountingEntryLines[0].lineAmount = amount(5172, "GBP", 6000, "EUR");
    item.accountingEntryLines[1].lineAmount = amount(3448, "GBP", 4000, "EUR");
    item.accountingEntryLines[1].tax = lb::model::Tax{.id = "t", .code = "S20", .rate = 0.2, .type = "inclusive",
                                                      .amount = amount(575, "GBP", 667, "EUR"),
                                                      .ingoingTaxAccount = {}, .outgoingTaxAccount = {}};
    item.files = std::vector<lb::model::File>{{.url = "https://x/r.pdf", .type = "application/pdf", .size = 10},
                                              {.url = "https://x/s.png", .type = "image/png", .size = 20}};
    item.additionalInformation.invoiceInformation = lb::model::InvoiceInformation{.invoiceNumber = "INV-1"};
    Decisions d = decisions(item, "2000");
    d.method = "accounts_payable";
    d.vendor = "V1001";
    d.paymentAccount = "1810";
    d.posting.dueDate = "2026-01-31";
    d.posting.documentDate = "2025-12-01";
    d.lines[1].tax = TaxDecision{.code = "S20", .type = "inclusive", .rate = 0.2, .ingoingTaxAccount = "2640",
                                 .outgoingTaxAccount = {}};
    d.lines[0].dimensions = {{"DEPT", "ENG"}, {"PROJ", "P-1"}};
    d.lines[1].dimensions = {{"DEPT", "OPS"}};
    cases.push_back({item, d});
  }
  {  // a journal entry with one plain line: fewer documents, lines, attachments; no tax, no ids
    ExportItem item = purchase({500}, 500, "DKK");
    item.accountingEntryLines[0].accountingEntryLineId = "x";
    Decisions d = decisions(item, "5810");
    d.posting.draft = false;
    d.posting.reference = "";
    cases.push_back({item, d});
  }
  {  // reverse charge, three lines, a refund
    ExportItem item = purchase({100000, 2000, -500}, 101500, "SEK");
    item.accountingEntryLines[0].tax = lb::model::Tax{.id = "t", .code = "RC25", .rate = 0.25, .type = "reverse",
                                                      .amount = amount(25000, "SEK"), .ingoingTaxAccount = {},
                                                      .outgoingTaxAccount = {}};
    Decisions d = decisions(item, "1930");
    d.direction = Direction::in;
    d.lines[0].tax = TaxDecision{.code = "RC25", .type = "reverse", .rate = 0.25, .ingoingTaxAccount = "14400",
                                 .outgoingTaxAccount = "14500"};
    d.lines[2].dimensions = {{"COST", "C-9"}};
    cases.push_back({item, d});
  }
  {  // nothing to post: a zero amount, and a split entry whose lines are all zero
    ExportItem item = purchase({0}, 0);
    cases.push_back({item, decisions(item)});
    item = purchase({0, 0}, 0);
    cases.push_back({item, decisions(item)});
  }
  const ExportItem unbalanced = purchase({5000, 1000}, 6366);
  std::vector<Document> reused;
  for (int round = 0; round < 3; ++round) {
    for (size_t order = 0; order < cases.size(); ++order) {
      // Every case after every other: forwards, backwards, then each after a failed build.
      const Case& c = cases[round == 1 ? cases.size() - 1 - order : order];
      if (round == 2) REQUIRE_FALSE(build_documents(unbalanced, decisions(unbalanced), reused).ok());
      std::vector<Document> fresh;
      REQUIRE(build_documents(c.item, c.decisions, fresh).ok());
      REQUIRE(build_documents(c.item, c.decisions, reused).ok());
      REQUIRE(reused.size() == fresh.size());
      for (size_t i = 0; i < fresh.size(); ++i) CHECK(document_json(reused[i]) == document_json(fresh[i]));
    }
  }
}
