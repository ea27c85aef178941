#include "posting/builder.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "model/currency.hpp"

namespace lb::posting {

const char* to_string(Direction d) { return d == Direction::out ? "out" : "in"; }

namespace {

const model::Money& in_currency(const model::Amount& a, bool supplier) {
  return supplier ? a.inSupplierCurrency : a.inWalletCurrency;
}

// 123456 with 2 digits -> "1234.56", for messages people read.
std::string format_minor(int64_t value, std::string_view currency) {
  const int digits = model::currency_minor_units(currency).value_or(2);
  if (digits == 0) return std::to_string(value);
  int64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  const int64_t magnitude = value < 0 ? -value : value;
  return fmt::format("{}{}.{:0{}}", value < 0 ? "-" : "", magnitude / scale, magnitude % scale, digits);
}

// Rounds half away from zero: the convention of VAT calculations.
int64_t round_minor(long double v) { return static_cast<int64_t>(std::llround(v)); }

// §2.6: Pleo's own tax amount when it sent one, so there is no rounding drift against Pleo;
// otherwise computed from the rate.
int64_t tax_amount(const model::Line& line, const TaxDecision& t, bool supplier, int64_t gross) {
  // Pleo's amount only when the pack kept Pleo's rate: a pack that maps the line to another
  // rate (a zero-rated line to reverse charge, say) gets the VAT of the rate it chose.
  const bool same_rate = line.tax && (!t.rate || std::fabs(*t.rate - line.tax->rate) < 1e-9);
  if (same_rate) {
    const model::Money& pleo = in_currency(line.tax->amount, supplier);
    if (pleo.value != 0 || line.tax->rate == 0) return pleo.value;
  }
  const long double rate = t.rate.value_or(line.tax ? line.tax->rate : 0);
  const std::string& type = t.type ? *t.type : (line.tax ? line.tax->type : std::string());
  if (type == "inclusive") return round_minor(gross * rate / (1 + rate));
  if (type == "exclusive") {
    const int64_t net = in_currency(line.netAmount, supplier).value;
    return net != 0 ? round_minor(net * rate) : round_minor(gross * rate / (1 + rate));
  }
  return round_minor(gross * rate);  // reverse: the wallet paid the net amount
}

// Adds a line with a signed amount: positive goes on `debit_side`, negative on the other.
void add_line(Document& doc, LineRole role, const std::string& account, int64_t amount, bool debit_side,
              std::string text) {
  if (amount == 0) return;
  Line& l = doc.lines.emplace_back();
  l.role = role;
  l.account = account;
  l.currency = doc.currency;
  const bool debit = (amount > 0) == debit_side;
  (debit ? l.debit : l.credit) = amount > 0 ? amount : -amount;
  l.text = std::move(text);
}

void fill_header(Document& d, const model::ExportItem& item, const Decisions& dec, DocumentKind kind,
                 std::string currency) {
  const PostingDecision& p = dec.posting;
  d.kind = kind;
  d.externalKey = item.accountingEntryId;
  d.accountingEntryId = item.accountingEntryId;
  d.reference = p.reference;
  d.postingDate = p.date;
  d.documentDate = p.documentDate.value_or(p.date);
  d.dueDate = p.dueDate;
  d.currency = std::move(currency);
  d.vendor = dec.vendor;
  const auto& invoice = item.additionalInformation.invoiceInformation;
  d.invoiceNumber.reset();
  if (invoice && !invoice->invoiceNumber.empty()) d.invoiceNumber = invoice->invoiceNumber;
  d.description = p.description;
  d.draft = p.draft;
  d.attachments.clear();
  if (item.files) {
    int index = 0;
    for (const model::File& f : *item.files)
      d.attachments.push_back(
          {.key = fmt::format("{}/{}", item.accountingEntryId, index++), .url = f.url, .type = f.type, .size = f.size});
  }
}

// The document for the item's lines: a journal entry, AP invoice, credit note or (for an
// invoice_payment item) AP payment. `supplier` selects the amounts in the supplier currency.
Status build_main(const model::ExportItem& item, const Decisions& dec, DocumentKind kind, bool supplier,
                  Document& doc) {
  const model::Money& total = in_currency(item.amount, supplier);
  fill_header(doc, item, dec, kind, total.currency);
  doc.lines.clear();
  const int64_t sign = total.value < 0 ? -1 : 1;
  const bool lines_debit = dec.direction == Direction::out;
  const LineRole line_role = kind == DocumentKind::ap_payment ? LineRole::payables : LineRole::expense;

  int64_t sum = 0;
  for (size_t i = 0; i < item.accountingEntryLines.size(); ++i) {
    const model::Line& line = item.accountingEntryLines[i];
    const LineDecision& ld = dec.lines[i];
    const model::Money& money = in_currency(line.lineAmount, supplier);
    if (money.currency != total.currency)
      return Error{fmt::format("line {} is in {} but the entry is in {}", i + 1, money.currency, total.currency)};
    const int64_t gross = sign * money.value;
    sum += gross;
    int64_t expense = gross;
    int64_t vat = 0;
    const TaxDecision* tax = ld.tax ? &*ld.tax : nullptr;
    const std::string type = tax ? tax->type.value_or(line.tax ? line.tax->type : "") : "";
    if (tax) vat = sign * tax_amount(line, *tax, supplier, money.value);
    const bool explicit_vat = tax && (type == "inclusive" || type == "exclusive") && tax->ingoingTaxAccount;
    const bool self_assessed = tax && type == "reverse" && tax->ingoingTaxAccount && tax->outgoingTaxAccount;
    if (explicit_vat) expense -= vat;

    const size_t first = doc.lines.size();
    add_line(doc, line_role, ld.account, expense, lines_debit, dec.posting.description);
    if (explicit_vat) add_line(doc, LineRole::tax, *tax->ingoingTaxAccount, vat, lines_debit, "VAT " + tax->code);
    if (self_assessed) {
      // §2.6: Dr input VAT / Cr output VAT for the same amount: net zero, whatever the direction.
      add_line(doc, LineRole::reverse_charge_in, *tax->ingoingTaxAccount, vat, lines_debit,
               "Reverse charge VAT " + tax->code);
      add_line(doc, LineRole::reverse_charge_out, *tax->outgoingTaxAccount, vat, !lines_debit,
               "Reverse charge VAT " + tax->code);
    }
    for (size_t k = first; k < doc.lines.size(); ++k) {
      Line& l = doc.lines[k];
      if (tax) l.taxCode = tax->code;
      if (l.role == line_role) {
        l.dimensions = ld.dimensions;
        l.accountingEntryLineId = line.accountingEntryLineId;
      }
    }
  }
  // §2.4 mode 2: the counter total is the entry amount, and the lines must add up to it.
  if (!item.accountingEntryLines.empty() && sum != sign * total.value) {
    return Error{fmt::format("the lines add up to {} {} but the entry amount is {} {}",
                             format_minor(sign * sum, total.currency), total.currency,
                             format_minor(total.value, total.currency), total.currency)};
  }
  add_line(doc, LineRole::counter, dec.counterAccount, sign * total.value, !lines_debit, dec.posting.description);
  return {};
}

}  // namespace

Status build_documents(const model::ExportItem& item, const Decisions& dec, std::vector<Document>& out) {
  out.clear();
  if (dec.lines.size() != item.accountingEntryLines.size())
    return Error{fmt::format("the rules decided {} lines for an entry with {}", dec.lines.size(),
                             item.accountingEntryLines.size())};
  const bool ap = dec.method == "accounts_payable";
  const bool payment_item = item.type == "invoice_payment";
  DocumentKind kind = DocumentKind::journal_entry;
  if (ap) kind = payment_item ? DocumentKind::ap_payment
                 : dec.direction == Direction::out ? DocumentKind::ap_invoice : DocumentKind::credit_note;
  // §2.7 (DOC S21): invoices in the supplier currency, payments and journals in the wallet's.
  const bool supplier = ap && !payment_item;
  if (in_currency(item.amount, supplier).value == 0 && item.accountingEntryLines.size() <= 1) return {};

  Document& main = out.emplace_back();
  if (auto st = build_main(item, dec, kind, supplier, main); !st) return st;
  if (main.lines.empty()) {
    out.clear();  // a split entry whose lines are all zero: nothing to post
    return {};
  }
  if (ap && !payment_item && dec.paymentAccount) {
    // §2.3: the payment half of an AP card purchase (or the refund's receipt): the wallet
    // money moved, in the wallet currency, against the vendor's AP account.
    const model::Money& paid = item.amount.inWalletCurrency;
    Document& payment = out.emplace_back();
    fill_header(payment, item, dec, DocumentKind::ap_payment, paid.currency);
    payment.externalKey += "/payment";
    payment.documentDate = payment.postingDate;  // the day the money moved, not the invoice date
    payment.dueDate.reset();
    payment.attachments.clear();  // receipts belong to the invoice
    payment.lines.clear();
    const int64_t sign = paid.value < 0 ? -1 : 1;
    const bool out_direction = dec.direction == Direction::out;
    add_line(payment, LineRole::payables, dec.counterAccount, sign * paid.value, out_direction,
             dec.posting.description);
    add_line(payment, LineRole::counter, *dec.paymentAccount, sign * paid.value, !out_direction,
             dec.posting.description);
  }
  for (const Document& d : out)
    if (auto st = check_invariants(d); !st) return st;
  return {};
}

std::vector<Document> aggregate_journal_entries(const std::vector<Document>& documents, std::string_view job_id,
                                                std::string_view posting_date, std::string_view description) {
  std::vector<Document> out;
  std::map<std::string, size_t> by_currency;
  for (const Document& d : documents) {
    if (d.kind != DocumentKind::journal_entry) {
      out.push_back(d);
      continue;
    }
    auto [it, inserted] = by_currency.try_emplace(d.currency, out.size());
    if (inserted) {
      Document& merged = out.emplace_back();
      merged.kind = DocumentKind::journal_entry;
      merged.externalKey = fmt::format("job:{}:{}", job_id, d.currency);
      merged.accountingEntryId = merged.externalKey;
      merged.reference = std::string(job_id);  // the header names the job; the lines name the items
      merged.postingDate = std::string(posting_date);
      merged.documentDate = std::string(posting_date);
      merged.currency = d.currency;
      merged.description = std::string(description);
      merged.draft = d.draft;
    }
    Document& merged = out[it->second];
    merged.draft = merged.draft || d.draft;  // one draft item keeps the whole entry a draft
    // Traceability inside the job's entry: every line starts with the Pleo accountingEntryId
    // (and the item's reference) it books; expense lines keep their accountingEntryLineId.
    const std::string prefix = d.reference.empty() ? d.accountingEntryId : d.accountingEntryId + " " + d.reference;
    for (const Line& l : d.lines) {
      Line& copy = merged.lines.emplace_back(l);
      copy.text = prefix + " " + (copy.text.empty() ? d.description : copy.text);
    }
    for (const Attachment& a : d.attachments) merged.attachments.push_back(a);
  }
  return out;
}

}  // namespace lb::posting
