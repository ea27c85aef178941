// The SQLite ERP (engine/src/erp/sqlite_erp): post -> lookup, conflicts, validation like a real
// ERP, the trial balance, injected faults, attachments, and its directory.
#include <catch2/catch.hpp>
#include <string>

#include "erp/directory_content.hpp"
#include "erp/sqlite_erp.hpp"
#include "../ledger/ledger_test_util.hpp"

using lb::erp::ErrorKind;
using lb::erp::Posted;
using lb::erp::SinkError;
using lb::erp::SqliteErp;
using lb::erp::SqliteErpOptions;
using lb::testing::ap_invoice;
using lb::testing::journal;
using lb::testing::ScratchDir;

namespace {

const std::string kExampleDirectory = std::string(LB_TEST_DATA_DIR) + "/../../examples/data/directory.yaml";

std::unique_ptr<SqliteErp> seeded(const ScratchDir& dir, SqliteErpOptions options = {}) {
  options.create = true;
  auto erp = SqliteErp::open(dir.file("erp.sqlite"), options);
  INFO((erp ? "" : erp.error().message));
  REQUIRE(erp.ok());
  auto content = lb::erp::read_directory_content(kExampleDirectory);
  INFO((content ? "" : content.error().message));
  REQUIRE(content.ok());
  const auto st = (*erp)->seed(*content);
  INFO(st.message());
  REQUIRE(st.ok());
  return std::move(erp).value();
}

Posted posted(const lb::erp::SinkResult<Posted>& r) {
  if (const auto* e = std::get_if<SinkError>(&r)) FAIL(lb::erp::to_string(e->kind) << ": " << e->message);
  return std::get<Posted>(r);
}

template <typename T>
SinkError sink_error(const lb::erp::SinkResult<T>& r) {
  REQUIRE(std::holds_alternative<SinkError>(r));
  return std::get<SinkError>(r);
}

std::optional<Posted> looked_up(SqliteErp& erp, std::string_view key) {
  auto r = erp.lookup(key);
  REQUIRE(std::holds_alternative<std::optional<Posted>>(r));
  return std::get<std::optional<Posted>>(r);
}

}  // namespace

TEST_CASE("sqlite erp: post, then lookup finds it by externalKey", "[erp]") {
  ScratchDir dir("erp");
  SqliteErpOptions o;
  o.url_prefix = "erp://demo/";
  auto erp = seeded(dir, o);
  CHECK_FALSE(looked_up(*erp, "e1"));

  const auto p = posted(erp->post(journal("e1")));
  CHECK(p.externalId == "GL-000001");
  CHECK(p.url == "erp://demo/GL-000001");
  const auto q = posted(erp->post(ap_invoice("e2")));
  CHECK(q.externalId == "INV-000002");

  auto found = looked_up(*erp, "e1");
  REQUIRE(found);
  CHECK(found->externalId == "GL-000001");
  CHECK(found->url == "erp://demo/GL-000001");

  // What was stored is what was posted, lines and all.
  auto doc = erp->find("GL-000002");
  REQUIRE(doc.ok());
  CHECK_FALSE(doc->has_value());
  doc = erp->find("INV-000002");
  REQUIRE(doc.ok());
  REQUIRE(doc->has_value());
  auto expected = ap_invoice("e2");
  CHECK(lb::posting::document_json((*doc)->document) == lb::posting::document_json(expected));
  auto by_key = erp->find("e2");
  REQUIRE(by_key.ok());
  REQUIRE(by_key->has_value());
  CHECK((*by_key)->externalId == "INV-000002");

  // Survives reopening the file.
  erp.reset();
  auto reopened = SqliteErp::open(dir.file("erp.sqlite"));
  REQUIRE(reopened.ok());
  CHECK(looked_up(**reopened, "e2")->externalId == "INV-000002");
}

TEST_CASE("sqlite erp: a second post of one externalKey is a conflict, never a second row", "[erp]") {
  ScratchDir dir("erp");
  auto erp = seeded(dir);
  posted(erp->post(journal("e1")));
  const auto e = sink_error(erp->post(journal("e1", 999)));
  CHECK(e.kind == ErrorKind::conflict);
  CHECK_THAT(e.message, Catch::Contains("e1 already exists as GL-000001"));
  auto all = erp->list();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].total == 12500);
}

TEST_CASE("sqlite erp: validates what a real ERP would", "[erp]") {
  ScratchDir dir("erp");
  auto erp = seeded(dir);
  auto refused = [&](const lb::posting::Document& d) {
    const auto e = sink_error(erp->post(d));
    CHECK(e.kind == ErrorKind::validation);
    CHECK(std::string(lb::erp::failure_reason_type(e)) == "accounting_system_validation_failure");
    return e.message;
  };
  CHECK_THAT(refused(journal("x", 100, "9999")), Catch::Contains("line 1: account 9999 does not exist"));
  CHECK_THAT(refused(journal("x", 100, "6010", "1810")), Catch::Contains("line 2: account 1810 only takes GBP, not DKK"));
  CHECK_THAT(refused(journal("x", 100, "6010", "5810", "2025-02-14")),
             Catch::Contains("posting date 2025-02-14 is in a closed period (closed until 2025-02-28)"));
  CHECK_THAT(refused(ap_invoice("x", "V9999")), Catch::Contains("vendor V9999 does not exist"));
  CHECK_THAT(refused(ap_invoice("x", "V2002")), Catch::Contains("vendor V2002 is blocked"));
  auto no_vendor = ap_invoice("x");
  no_vendor.vendor.reset();
  CHECK_THAT(refused(no_vendor), Catch::Contains("ap_invoice needs a vendor"));

  auto tagged = journal("x");
  tagged.lines[0].taxCode = "NOPE";
  tagged.lines[0].dimensions = {{"DEPT", "eng"}, {"PROJ", "P-1999"}};
  const auto message = refused(tagged);
  // Every problem at once; dimension codes match case-insensitively (eng = ENG).
  CHECK_THAT(message, Catch::Contains("tax code NOPE does not exist") &&
                          Catch::Contains("PROJ value P-1999 does not exist") && !Catch::Contains("DEPT"));

  auto unbalanced = journal("x");
  unbalanced.lines[1].credit = 1;
  CHECK_THAT(refused(unbalanced), Catch::Contains("does not balance in DKK: debits 12500 != credits 1"));

  // Nothing refused was written.
  auto all = erp->list();
  REQUIRE(all.ok());
  CHECK(all->empty());

  // The same document with known values goes through.
  auto good = journal("x");
  good.lines[0].taxCode = "S20";
  good.lines[0].dimensions = {{"DEPT", "eng"}};
  posted(erp->post(good));
}

TEST_CASE("sqlite erp: the trial balance sums per account and currency and proves debits = credits", "[erp]") {
  ScratchDir dir("erp");
  auto erp = seeded(dir);
  posted(erp->post(journal("a", 12500)));
  posted(erp->post(journal("b", 500, "7310")));
  posted(erp->post(ap_invoice("c", "V1001", 40000)));
  auto gbp = journal("d", 999, "6010", "1810");
  for (auto& l : gbp.lines) l.currency = "GBP";
  gbp.currency = "GBP";
  posted(erp->post(gbp));

  auto tb = erp->trial_balance();
  REQUIRE(tb.ok());
  CHECK(tb->documents == 4);
  CHECK(tb->drafts == 4);  // documents are drafts unless configured otherwise (§2.10)
  std::string rows;
  for (const auto& r : tb->rows) rows += fmt::format("{} {} {} {} {}\n", r.account, r.currency, r.debit, r.credit, r.balance());
  CHECK(rows ==
        "1810 GBP 0 999 -999\n"
        "2000 DKK 0 40000 -40000\n"
        "5810 DKK 0 13000 -13000\n"
        "6010 DKK 12500 0 12500\n"
        "6010 GBP 999 0 999\n"
        "7110 DKK 40000 0 40000\n"
        "7310 DKK 500 0 500\n");
  CHECK(tb->rows[0].name == "Pleo GBP wallet");
  REQUIRE(tb->totals.size() == 2);
  CHECK(tb->totals[0].currency == "DKK");
  CHECK(tb->totals[0].debit == 53000);
  CHECK(tb->totals[0].credit == 53000);
  CHECK(tb->balanced());
}

TEST_CASE("sqlite erp: injected faults", "[erp]") {
  ScratchDir dir("erp");
  auto erp = seeded(dir);

  SECTION("unreachable: nothing is written, and the next call works") {
    erp->inject({.unreachable_posts = 2});
    CHECK(sink_error(erp->post(journal("e1"))).kind == ErrorKind::unreachable);
    CHECK(sink_error(erp->post(journal("e1"))).kind == ErrorKind::unreachable);
    CHECK_FALSE(looked_up(*erp, "e1"));
    CHECK(posted(erp->post(journal("e1"))).externalId == "GL-000001");
  }
  SECTION("timeout after commit: the caller sees a timeout, lookup finds the document") {
    erp->inject({.timeout_after_commit_posts = 1});
    const auto e = sink_error(erp->post(journal("e1")));
    CHECK(e.kind == ErrorKind::timeout);
    CHECK_THAT(e.message, Catch::Contains("the write was committed"));
    auto found = looked_up(*erp, "e1");
    REQUIRE(found);
    CHECK(found->externalId == "GL-000001");
    // Posting again instead of looking up would be caught as a conflict, not a duplicate.
    CHECK(sink_error(erp->post(journal("e1"))).kind == ErrorKind::conflict);
  }
  SECTION("lookups, uploads and checks") {
    erp->inject({.unreachable_lookups = 1, .unreachable_uploads = 1, .unreachable_checks = 1});
    CHECK(sink_error(erp->lookup("e1")).kind == ErrorKind::unreachable);
    CHECK(sink_error(erp->check()).kind == ErrorKind::unreachable);
    CHECK(std::holds_alternative<std::monostate>(erp->check()));
    const auto p = posted(erp->post(journal("e1")));
    CHECK(sink_error(erp->upload_attachment(p, {.key = "e1/0", .type = "application/pdf"}, "%PDF")).kind ==
          ErrorKind::unreachable);
    CHECK(std::holds_alternative<std::monostate>(erp->upload_attachment(p, {.key = "e1/0", .type = "application/pdf"}, "%PDF")));
  }
}

TEST_CASE("sqlite erp: attachments are idempotent by key and checked against capabilities", "[erp]") {
  ScratchDir dir("erp");
  SqliteErpOptions o;
  o.capabilities.max_attachment_bytes = 10;
  o.capabilities.attachment_types = {"application/pdf", "image/png"};
  auto erp = seeded(dir, o);
  const auto p = posted(erp->post(journal("e1")));
  const lb::posting::Attachment receipt{.key = "e1/0", .url = "https://x", .type = "application/pdf", .size = 4};
  CHECK(std::holds_alternative<std::monostate>(erp->upload_attachment(p, receipt, "%PDF")));
  CHECK(std::holds_alternative<std::monostate>(erp->upload_attachment(p, receipt, "%PDF")));
  CHECK(std::holds_alternative<std::monostate>(
      erp->upload_attachment(p, {.key = "e1/1", .type = "image/png", .size = 3}, "PNG")));
  auto doc = erp->find("e1");
  REQUIRE(doc.ok());
  REQUIRE((*doc)->files.size() == 2);
  CHECK((*doc)->files[0].key == "e1/0");
  CHECK((*doc)->files[0].size == 4);

  CHECK_THAT(sink_error(erp->upload_attachment(p, {.key = "e1/2", .type = "application/pdf"}, "01234567890")).message,
             Catch::Contains("11 bytes is over the limit of 10"));
  const auto wrong_type = sink_error(erp->upload_attachment(p, {.key = "e1/3", .type = "text/html"}, "<p>"));
  CHECK(wrong_type.kind == ErrorKind::attachment);
  CHECK(std::string(lb::erp::failure_reason_type(wrong_type)) == "receipt_upload_failure");
  CHECK_THAT(sink_error(erp->upload_attachment(Posted{"GL-999999"}, receipt, "%PDF")).message,
             Catch::Contains("no document GL-999999"));
}

TEST_CASE("sqlite erp: its directory answers from the same file", "[erp]") {
  ScratchDir dir("erp");
  auto erp = seeded(dir);
  const lb::model::Directory& d = erp->directory();
  REQUIRE(d.account("6010"));
  CHECK(d.account("6010")->name == "Office supplies");
  CHECK(d.account("1810")->currency == "GBP");
  CHECK_FALSE(d.account("9999"));
  CHECK(d.vendor_by_code("V2002")->blocked);
  CHECK(d.vendor_by_external_id("V1001")->code == "V1001");
  CHECK(d.vendor_by_tax_number("12345")->payablesAccount == "2000");
  CHECK(d.tax_code("RC25")->type == "reverse");
  CHECK(d.tax_code("RC25")->rate == Approx(0.25));
  CHECK(d.tax_code("RC25")->ingoingTaxAccount == "14400");
  CHECK(d.dimension_value("dept", "eng")->code == "ENG");
  CHECK_FALSE(d.dimension_value("DEPT", "HR"));
  CHECK_FALSE(d.period_open("2025-01-15"));
  CHECK_FALSE(d.period_open("2025-03-31T23:00:00Z"));
  CHECK(d.period_open("2025-04-01"));
  CHECK_FALSE(d.period_open("2025-13-01"));
  CHECK(d.next_open_date("2025-01-15") == "2025-04-01");
  CHECK(d.next_open_date("2025-06-01") == "2025-06-01");

  // Seeding again with closed = false re-opens a range, as model::MemoryDirectory does.
  lb::erp::DirectoryContent reopen;
  reopen.periods.push_back({.from = "2025-02-01", .to = "2025-02-28", .closed = false});
  REQUIRE(erp->seed(reopen).ok());
  CHECK(d.period_open("2025-02-14"));
  CHECK(d.next_open_date("2025-01-15") == "2025-02-01");
}

TEST_CASE("sqlite erp: a CSV folder seeds like the YAML file", "[erp]") {
  auto content = lb::erp::read_directory_content(std::string(LB_TEST_DATA_DIR) + "/directory/csv");
  INFO((content ? "" : content.error().message));
  REQUIRE(content.ok());
  CHECK(content->accounts.size() == 3);
  CHECK(content->accounts[2].blocked);
  CHECK(content->vendors.at(0).name == "Scandinavian Airlines \"SAS\"");
  CHECK(content->vendors.at(2).blocked);
  CHECK(content->tax_codes.at(0).rate == Approx(0.25));
  CHECK(content->dimension_values.size() == 3);
  REQUIRE(content->periods.size() == 4);
  CHECK_FALSE(content->periods[3].closed);

  auto bad = lb::erp::read_directory_content(std::string(LB_TEST_DATA_DIR) + "/directory/bad/unknown_field.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("unknown_field.yaml:") && Catch::Contains("did you mean taxNumber"));
}

TEST_CASE("sqlite erp: opening a missing file without create says how to make one", "[erp]") {
  ScratchDir dir("erp");
  auto erp = SqliteErp::open(dir.file("missing.sqlite"));
  REQUIRE_FALSE(erp.ok());
  CHECK_THAT(erp.error().message, Catch::Contains("missing.sqlite: no such file") && Catch::Contains("erp init"));
  auto empty = SqliteErp::open(dir.file("empty.sqlite"), {.create = true});
  REQUIRE(empty.ok());
  const auto e = sink_error((*empty)->check());
  CHECK(e.kind == ErrorKind::validation);
  CHECK_THAT(e.message, Catch::Contains("no chart of accounts"));
}
