#pragma once
// Posting documents: what ledgerbridge writes to an ERP for one export item (domain brief
// §2.4-§2.6). Every amount is integer minor units of the line's currency (DESIGN §6); a document
// that leaves the engine has passed check_invariants.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/json_writer.hpp"
#include "model/result.hpp"

namespace lb::posting {

enum class DocumentKind {
  journal_entry,  // §2.4: one balanced entry (journal method, and every wallet movement)
  ap_invoice,     // §2.5: liability to the vendor, in the supplier currency
  ap_payment,     // §2.5: settlement of the liability, in the wallet currency
  credit_note,    // §2.5: refunds and chargebacks on the AP method, the inverse of an invoice
};
const char* to_string(DocumentKind kind);
std::optional<DocumentKind> document_kind_from(std::string_view name);

// What a line is for: lets a sink map lines onto its own structures (an AP invoice's expense
// lines vs. its control account) and people read a document.
enum class LineRole {
  expense,             // a Pleo accounting-entry line: the expense (or income) account
  tax,                 // VAT split out of an inclusive/exclusive line
  reverse_charge_in,   // §2.6 self-assessed VAT, ingoing side
  reverse_charge_out,  // §2.6 self-assessed VAT, outgoing side
  counter,             // the side that balances the lines: wallet, out-of-pocket, AP, clearing
  payables,            // an AP payment's debit (or a returned payment's credit) on the vendor's AP account
};
const char* to_string(LineRole role);
std::optional<LineRole> line_role_from(std::string_view name);

struct Line {
  LineRole role = LineRole::expense;
  std::string account{};
  int64_t debit = 0;   // minor units, >= 0; exactly one of debit and credit is > 0
  int64_t credit = 0;
  std::string currency{};
  std::optional<std::string> taxCode{};
  std::vector<std::pair<std::string, std::string>> dimensions{};  // (dimension, value), sorted
  std::string text{};
  std::optional<std::string> accountingEntryLineId{};  // the Pleo line it books, if any
};

// A receipt to attach (§2.8). `key` is deterministic (accountingEntryId + "/" + index) so that a
// retried upload can be recognised and never attaches twice.
struct Attachment {
  std::string key{};
  std::string url{};
  std::string type{};  // MIME type, as Pleo sends it
  int64_t size = 0;    // bytes
};

struct Document {
  DocumentKind kind = DocumentKind::journal_entry;
  // Unique per document and stable across runs: the accountingEntryId, plus "/payment" for the
  // second document of an item that produces two (an AP card purchase: invoice + payment).
  // Sinks write it into the ERP document so that recovery can find it again (DESIGN §5).
  std::string externalKey{};
  std::string accountingEntryId{};
  std::string reference{};  // §2.7: additionalInformation.reconciliationId
  std::string documentDate{};  // YYYY-MM-DD
  std::string postingDate{};   // YYYY-MM-DD
  std::optional<std::string> dueDate{};
  std::string currency{};
  std::optional<std::string> vendor{};         // ERP vendor code (AP documents)
  std::optional<std::string> invoiceNumber{};  // §2.5 invoiceInformation.invoiceNumber
  std::string description{};
  bool draft = true;  // §2.10: draft unless configured otherwise
  std::vector<Attachment> attachments{};
  std::vector<Line> lines{};
};

// The invariants every document must hold before anything leaves the engine (issue #3):
// at least one line; every line has an account, a currency and exactly one positive side;
// debits equal credits per currency. The error names the numbers.
Status check_invariants(const Document& document);

// Canonical JSON: keys in a fixed order, amounts as integers, absent optionals as null.
// Fixtures, the JSON-lines sink and the document hash all use it.
void write_document_json(const Document& document, std::string& out);
void write_document_json(const Document& document, model::JsonWriter& w);  // as one value inside w
std::string document_json(const Document& document);

// Reads what write_document_json wrote (the JSON-lines and HTTP sinks' tests, the ledger).
Result<Document> parse_document_json(std::string_view json);

// A stable fingerprint of the canonical JSON (hex), so the ledger can tell whether a re-run
// decided the same document. Not a security hash.
std::string document_hash(const Document& document);

}  // namespace lb::posting
