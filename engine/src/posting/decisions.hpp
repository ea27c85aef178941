#pragma once
// What a rule pack decided for one item: the input of the document builder (builder.hpp).
// The rules fill it (engine/src/rules), the builder turns it into balanced documents.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lb::posting {

// §2.3 / §7 #28: which way the money goes. `out` books the lines on the debit side and the
// counter account on the credit side (a purchase: Dr expense / Cr wallet); `in` is the mirror
// (a refund: Dr wallet / Cr expense).
enum class Direction { out, in };
const char* to_string(Direction d);

struct TaxDecision {
  std::string code;
  std::optional<std::string> type;  // inclusive | exclusive | reverse
  std::optional<double> rate;
  // §2.6: with ingoingTaxAccount, an inclusive/exclusive line's VAT is booked explicitly on it;
  // with both accounts, reverse charge is self-assessed with two offsetting lines. Without
  // them the line carries only the tax code and the ERP computes the VAT.
  std::optional<std::string> ingoingTaxAccount;
  std::optional<std::string> outgoingTaxAccount;
};

struct LineDecision {
  std::string accountingEntryLineId;
  std::string account;
  std::optional<TaxDecision> tax;
  std::vector<std::pair<std::string, std::string>> dimensions;  // sorted by dimension
};

struct PostingDecision {
  std::string date;  // YYYY-MM-DD
  std::optional<std::string> documentDate;
  std::optional<std::string> dueDate;
  std::string description;
  std::string reference;
  bool draft = true;
};

struct Decisions {
  std::string method;  // journal | accounts_payable
  Direction direction = Direction::out;
  std::optional<std::string> vendor;
  std::string counterAccount;
  // AP only: the wallet account of the payment document an item also produces when it moved
  // wallet money (an AP card purchase is an invoice *and* its payment, §2.3).
  std::optional<std::string> paymentAccount;
  std::vector<LineDecision> lines;
  PostingDecision posting;
};

}  // namespace lb::posting
