#include "model/item_reader.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "model_test_util.hpp"

using lb::model::DecodeError;
using lb::model::ExportItem;
using lb::model::ItemReader;
using lb::model::ReadItem;
using lb::model::test::read_data;
using json = nlohmann::ordered_json;

namespace {

// One line per result: "<index> ok <accountingEntryId>" or "<index> error
// <DecodeError::to_string()>".
std::vector<std::string> read_all(const std::string& text,
                                  std::size_t chunk = ItemReader::kDefaultChunkSize,
                                  const std::string& source = "in.jsonl") {
  std::istringstream in(text);
  ItemReader reader(in, source, chunk);
  std::vector<std::string> out;
  ReadItem r;
  while (reader.next(r)) {
    if (auto* item = std::get_if<ExportItem>(&r.value))
      out.push_back(std::to_string(r.index) + " ok " + item->accountingEntryId);
    else
      out.push_back(std::to_string(r.index) + " error " +
                    std::get<DecodeError>(r.value).to_string());
  }
  CHECK(reader.io_error().empty());
  return out;
}

std::string minified(const std::string& file) { return json::parse(read_data(file)).dump(); }

const std::string kCard = "59540ed2-0d68-4e36-9e31-58223975d9e9";
const std::string kInvoice = "98441fe2-6d31-4d52-8569-687de8368cb2";
const std::string kPayment = "c81f4d6a-2e95-4b07-8a3c-5f1d9e7b0c24";
const std::string kRefund = "2d7b9f31-8c4e-4a06-9b15-e3a0c6d2f847";
const std::string kFee = "7a3e0c58-d9b2-4f1e-8c64-0b5f2a9d7e13";
const std::string kTopup = "e05b8d26-4f1a-4c97-9e3d-a7c2b0f6d481";

// The message simdjson gives for a document whose brackets do not match up.
const std::string kTapeError =
    "invalid JSON: The JSON document has an improper structure: missing or superfluous commas, "
    "braces, "
    "missing keys, etc.";

}  // namespace

TEST_CASE("reader: a single pretty-printed item", "[model][item_reader]") {
  for (std::size_t chunk :
       {std::size_t(1), std::size_t(7), std::size_t(100), ItemReader::kDefaultChunkSize}) {
    INFO("chunk " << chunk);
    CHECK(read_all(read_data("card_purchase_journal.json"), chunk) ==
          std::vector<std::string>{"0 ok " + kCard});
  }
}

TEST_CASE("reader: a single one-line item, with and without a final newline",
          "[model][item_reader]") {
  CHECK(read_all(minified("invoice_ap.json")) == std::vector<std::string>{"0 ok " + kInvoice});
  CHECK(read_all(minified("invoice_ap.json") + "\n") ==
        std::vector<std::string>{"0 ok " + kInvoice});
  CHECK(read_all("\xEF\xBB\xBF" + minified("invoice_ap.json") + "\r\n") ==  // BOM and CRLF
        std::vector<std::string>{"0 ok " + kInvoice});
}

TEST_CASE("reader: an array of items, on one line and pretty-printed", "[model][item_reader]") {
  json arr = json::array({json::parse(read_data("card_purchase_journal.json")),
                          json::parse(read_data("invoice_payment.json"))});
  const std::vector<std::string> expected{"0 ok " + kCard, "1 ok " + kPayment};
  CHECK(read_all(arr.dump()) == expected);
  CHECK(read_all(arr.dump(2), 64) == expected);
  CHECK(read_all("[]\n[ ]\n" + arr.dump()) == expected);  // empty arrays yield nothing

  // Hand-written style: elements start in column 0 inside the array.
  std::string flat = "[\n" + minified("card_purchase_journal.json") + ",\n" +
                     minified("invoice_payment.json") + "\n]\n";
  CHECK(read_all(flat, 100) == expected);

  arr[1].erase("companyId");
  CHECK(read_all(arr.dump(), ItemReader::kDefaultChunkSize, "arr.json") ==
        std::vector<std::string>{"0 ok " + kCard, "1 error arr.json:1 [1]: item " + kPayment +
                                                      ": companyId: missing required field"});
}

TEST_CASE("reader: a GET /v3/export-items page", "[model][item_reader]") {
  const std::vector<std::string> expected{"0 ok " + kCard, "1 ok " + kInvoice, "2 ok " + kRefund};
  for (std::size_t chunk : {std::size_t(1), std::size_t(333), ItemReader::kDefaultChunkSize}) {
    INFO("chunk " << chunk);
    CHECK(read_all(read_data("page.json"), chunk, "page.json") == expected);
  }
  json page = json::parse(read_data("page.json"));
  CHECK(read_all(page.dump()) == expected);  // the same page on one line

  page["data"][1]["amount"]["inWalletCurrency"]["currency"] = "UNDEFINED";
  CHECK(read_all("\n\n" + page.dump(2), 512, "page.json") ==
        std::vector<std::string>{
            "0 ok " + kCard,
            "1 error page.json:3 data[1]: item " + kInvoice +
                ": amount.inWalletCurrency.currency: expected ISO 4217 code, got \"UNDEFINED\"",
            "2 ok " + kRefund});

  // An object whose "data" is not an array is an item (and here not a valid one).
  CHECK(read_all(R"({"data": {"x": 1}})") ==
        std::vector<std::string>{"0 error in.jsonl:1: accountingEntryId: missing required field"});
}

TEST_CASE("reader: several pretty-printed documents in a row", "[model][item_reader]") {
  std::string card = read_data("card_purchase_journal.json");
  std::string invoice = read_data("invoice_ap.json");
  std::string page = read_data("page.json");
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  json bad = json::parse(read_data("fee_interest.json"));
  bad["accountingEntryLines"][0]["account"]["code"] = 8500;
  std::string text =
      card + "\n" + invoice + page + bad.dump(4) + "\n" + minified("wallet_topup.json") + "\n";
  std::size_t bad_line = std::size_t(lines(card) + 1 + lines(invoice) + lines(page) + 1);
  const std::vector<std::string> expected{
      "0 ok " + kCard,
      "1 ok " + kInvoice,
      "2 ok " + kCard,
      "3 ok " + kInvoice,
      "4 ok " + kRefund,
      "5 error multi.json:" + std::to_string(bad_line) + ": item " + kFee +
          ": accountingEntryLines[0].account.code: expected a string, got 8500",
      "6 ok " + kTopup};
  for (std::size_t chunk : {std::size_t(5), std::size_t(4096), ItemReader::kDefaultChunkSize}) {
    INFO("chunk " << chunk);
    CHECK(read_all(text, chunk, "multi.json") == expected);
  }
}

TEST_CASE("reader: items.jsonl, with a bad item in the middle", "[model][item_reader]") {
  CHECK(
      read_all(read_data("items.jsonl"), ItemReader::kDefaultChunkSize, "items.jsonl") ==
      std::vector<std::string>{"0 ok " + kCard, "1 ok " + kPayment,
                               "2 error items.jsonl:3: item 3f6a9d02-7c5b-4e81-b2d4-9e0c1a7f5b38: "
                               "accountingEntryLines[1].lineAmount.inWalletCurrency.currency: "
                               "expected ISO 4217 code, got 12",
                               "3 ok " + kFee, "4 ok " + kTopup});
}

TEST_CASE("reader: malformed lines are reported and reading goes on", "[model][item_reader]") {
  std::string card = minified("card_purchase_journal.json");
  std::string fee = minified("fee_interest.json");
  std::string topup = minified("wallet_topup.json");
  std::string text = card +
                     "\n"                                      // 1
                     "\n"                                      // 2 blank
                     "   \t\r\n"                               // 3 blank
                     "{\"companyId\": \"x\", \"amount\": {\n"  // 4 cut off mid-object
                     + fee +
                     "\r\n"               // 5
                     "not json at all\n"  // 6
                     + topup +
                     "\n"                           // 7
                     "{\"a\": [1, 2}\n"             // 8 mismatched brackets
                     "{\"note\": \"unterminated\n"  // 9 string runs past the line
                     "42\n"                         // 10 not an item
                     + card + " " + fee + "\n"      // 11 two documents on a line
                     + card.substr(0, 500);         // 12 cut inside a string, no newline
  const std::vector<std::string> expected{
      "0 ok " + kCard,
      "1 error in.jsonl:4: " + kTapeError,
      "2 ok " + kFee,
      "3 error in.jsonl:6: invalid JSON: Problem while parsing an atom starting with the letter "
      "'n'",
      "4 ok " + kTopup,
      "5 error in.jsonl:8: " + kTapeError,
      "6 error in.jsonl:9: invalid JSON: A string is opened, but never closed.",
      "7 error in.jsonl:10: expected an export item object, got 42",
      "8 ok " + kCard,
      "9 ok " + kFee,
      "10 error in.jsonl:12: invalid JSON: A string is opened, but never closed."};
  for (std::size_t chunk :
       {std::size_t(3), std::size_t(64), std::size_t(1000), ItemReader::kDefaultChunkSize}) {
    INFO("chunk " << chunk);
    CHECK(read_all(text, chunk) == expected);
  }
}

TEST_CASE("reader: a malformed first line does not turn the file into one document",
          "[model][item_reader]") {
  std::string text = "{\"a\": [1, 2}\n" + minified("card_purchase_journal.json") + "\n" +
                     minified("refund_journal.json") + "\n";
  CHECK(read_all(text) == std::vector<std::string>{"0 error in.jsonl:1: " + kTapeError,
                                                   "1 ok " + kCard, "2 ok " + kRefund});
  CHECK(read_all("{\n" + minified("card_purchase_journal.json") + "\n") ==
        std::vector<std::string>{"0 error in.jsonl:1: " + kTapeError, "1 ok " + kCard});
  // Cut off between members, at the end of the input.
  CHECK(read_all(minified("card_purchase_journal.json") + "\n{\"companyId\": \"x\",") ==
        std::vector<std::string>{"0 ok " + kCard, "1 error in.jsonl:2: " + kTapeError});
}

TEST_CASE("reader: empty input gives nothing", "[model][item_reader]") {
  CHECK(read_all("").empty());
  CHECK(read_all("\n\n  \n").empty());
  CHECK(read_all("\xEF\xBB\xBF").empty());
}

TEST_CASE("reader: 20k JSON lines in small chunks, in order, memory bounded",
          "[model][item_reader]") {
  json base = json::parse(read_data("card_purchase_journal.json"));
  std::string text;
  std::vector<std::string> ids;
  constexpr int kLines = 20000;
  for (int i = 0; i < kLines; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    ids.emplace_back(id);
    if (i % 1000 == 999) {
      text += "{\"accountingEntryId\": \"" + ids.back() + "\", \"broken\": [}\n";
      continue;
    }
    base["accountingEntryId"] = id;
    base["note"] = std::string(std::size_t(i % 97), 'n');  // vary line lengths across chunk edges
    base["amount"]["inWalletCurrency"]["value"] = i;
    if (i % 1000 == 500) base["amount"]["inWalletCurrency"]["value"] = 0.5;
    text += base.dump();
    text += '\n';
  }

  for (std::size_t chunk : {std::size_t(700), std::size_t(4099), std::size_t(65536)}) {
    INFO("chunk " << chunk);
    std::istringstream in(text);
    ItemReader reader(in, "big.jsonl", chunk);
    ReadItem r;
    std::size_t n = 0;
    std::size_t errors = 0;
    std::size_t max_ahead = 0;  // bytes read from the stream but not yet handed out
    std::size_t consumed = 0;   // bytes of the lines handed out so far
    std::vector<std::size_t> line_end;
    for (std::size_t p = 0, q; (q = text.find('\n', p)) != std::string::npos; p = q + 1)
      line_end.push_back(q + 1);
    while (reader.next(r)) {
      REQUIRE(r.index == n);
      const std::string& id = ids[n];
      if (n % 1000 == 999) {
        REQUIRE(std::holds_alternative<DecodeError>(r.value));
        CHECK(std::get<DecodeError>(r.value).where == "big.jsonl:" + std::to_string(n + 1));
        ++errors;
      } else if (n % 1000 == 500) {
        REQUIRE(std::holds_alternative<DecodeError>(r.value));
        CHECK(std::get<DecodeError>(r.value).to_string() ==
              "big.jsonl:" + std::to_string(n + 1) + ": item " + id +
                  ": amount.inWalletCurrency.value: expected an integer amount in minor units, got "
                  "0.5");
        ++errors;
      } else {
        REQUIRE(std::holds_alternative<ExportItem>(r.value));
        const auto& item = std::get<ExportItem>(r.value);
        REQUIRE(item.accountingEntryId == id);
        REQUIRE(item.amount.inWalletCurrency.value == int64_t(n));
        REQUIRE(item.note->size() == n % 97);
      }
      consumed = line_end[n];
      auto pos = in.tellg();
      std::size_t read_so_far = pos < 0 ? text.size() : std::size_t(pos);
      max_ahead = std::max(max_ahead, read_so_far - consumed);
      ++n;
    }
    CHECK(n == std::size_t(kLines));
    CHECK(errors == 40);
    // Streaming: never more than one buffer (grown to the longest line at most) ahead of the
    // items handed out, whatever the input size.
    CHECK(max_ahead <= std::max<std::size_t>(chunk, 4096));
  }
}

TEST_CASE("reader: a reused ReadItem is fully overwritten", "[model][item_reader]") {
  // The split item fills every optional member; the top-up after it leaves most empty.
  std::string text = minified("card_purchase_split_reverse_charge.json") + "\n" +
                     minified("wallet_topup.json") + "\n";
  std::istringstream in(text);
  ItemReader reader(in, "reuse.jsonl");
  ReadItem r;
  REQUIRE(reader.next(r));
  REQUIRE(reader.next(r));
  const auto& item = std::get<ExportItem>(r.value);
  auto fresh = lb::model::decode_export_item(std::string_view(minified("wallet_topup.json")));
  CHECK(lb::model::test::dump(item) == lb::model::test::dump(std::get<ExportItem>(fresh)));
  CHECK_FALSE(reader.next(r));
  CHECK_FALSE(reader.next(r));  // stays at the end
}

namespace {

// Serves `text` in two refills, then fails the way a disk or a socket does: the read throws.
class FailingBuf : public std::streambuf {
 public:
  explicit FailingBuf(std::string text) : text_(std::move(text)) {}

 protected:
  int_type underflow() override {
    std::size_t half = text_.size() / 2;
    if (refills_ == 2) throw std::runtime_error("device error");
    char* b = text_.data() + (refills_++ == 0 ? 0 : half);
    char* e = refills_ == 1 ? text_.data() + half : text_.data() + text_.size();
    setg(b, b, e);
    return traits_type::to_int_type(*b);
  }

 private:
  std::string text_;
  int refills_ = 0;
};

}  // namespace

TEST_CASE("reader: an I/O error ends the input and is reported", "[model][item_reader]") {
  std::string card = minified("card_purchase_journal.json");
  std::string fee = minified("fee_interest.json");
  for (std::size_t chunk : {std::size_t(64), std::size_t(1000), ItemReader::kDefaultChunkSize}) {
    INFO("chunk " << chunk);
    // Everything the stream delivered before failing comes through; the cut-off last line is
    // not reported as bad JSON (it is not bad, it is missing), the read error is.
    FailingBuf buf(card + "\n" + fee + "\n" + card.substr(0, 100));
    std::istream in(&buf);
    ItemReader reader(in, "broken.jsonl", chunk);
    ReadItem r;
    std::vector<std::string> seen;
    while (reader.next(r)) {
      if (auto* e = std::get_if<DecodeError>(&r.value))
        seen.push_back(e->to_string());
      else
        seen.push_back(std::get<ExportItem>(r.value).accountingEntryId);
    }
    CHECK(seen == std::vector<std::string>{kCard, kFee});
    CHECK(reader.io_error() == "broken.jsonl: read error");
  }
  FailingBuf pretty(read_data("page.json").substr(0, 3000));
  std::istream in(&pretty);
  ItemReader reader(in, "page.json", 256);
  ReadItem r;
  CHECK_FALSE(reader.next(r));
  CHECK(reader.io_error() == "page.json: read error");
}
