#include "posting/builder.hpp"

#include <fmt/format.h>

#include <cmath>
#include <initializer_list>
#include <map>
#include <string_view>

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

// The VAT type that applies to a line: the decision's, else the one Pleo sent.
std::string_view tax_type(const TaxDecision& t, const model::Line& line) {
  if (t.type) return *t.type;
  return line.tax ? std::string_view(line.tax->type) : std::string_view();
}

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
  const std::string_view type = tax_type(t, line);
  if (type == "inclusive") return round_minor(gross * rate / (1 + rate));
  if (type == "exclusive") {
    const int64_t net = in_currency(line.netAmount, supplier).value;
    return net != 0 ? round_minor(net * rate) : round_minor(gross * rate / (1 + rate));
  }
  return round_minor(gross * rate);  // reverse: the wallet paid the net amount
}

// The elements of a vector rewritten one by one, reusing the ones a previous build left there:
// an evaluator builds every item into the same Outcome, so its documents, lines and attachments
// (and their strings' capacity) are recycled rather than freed and allocated again per item.
// Elements left over are dropped when the Reuse goes, on every path out of the build.
template <typename T>
class Reuse {
 public:
  explicit Reuse(std::vector<T>& v) : v_(v) {}
  Reuse(const Reuse&) = delete;
  Reuse& operator=(const Reuse&) = delete;
  ~Reuse() { v_.resize(used_); }

  // The next element, holding whatever an earlier build wrote: the caller sets every field.
  T& next() {
    if (used_ == v_.size()) v_.emplace_back();
    return v_[used_++];
  }
  void clear() { used_ = 0; }
  std::size_t size() const { return used_; }
  T& operator[](std::size_t i) { return v_[i]; }

 private:
  std::vector<T>& v_;
  std::size_t used_ = 0;
};

// Adds a line with a signed amount: positive goes on `debit_side`, negative on the other. Its
// text is `text` joined; tax code, dimensions and Pleo line id are left for the caller.
void add_line(Reuse<Line>& lines, const Document& doc, LineRole role, std::string_view account, int64_t amount,
              bool debit_side, std::initializer_list<std::string_view> text) {
  if (amount == 0) return;
  Line& l = lines.next();
  l.role = role;
  l.account = account;
  l.currency = doc.currency;
  const bool debit = (amount > 0) == debit_side;
  l.debit = debit ? (amount > 0 ? amount : -amount) : 0;
  l.credit = debit ? 0 : (amount > 0 ? amount : -amount);
  l.text.clear();
  for (std::string_view part : text) l.text += part;
  l.taxCode.reset();
  l.dimensions.clear();
  l.accountingEntryLineId.reset();
}

// §2.8: receipts, keyed accountingEntryId/index.
void fill_attachments(Document& d, const model::ExportItem& item) {
  Reuse<Attachment> attachments(d.attachments);
  if (!item.files) return;
  for (const model::File& f : *item.files) {
    Attachment& a = attachments.next();
    a.key = item.accountingEntryId;
    a.key += '/';
    a.key += std::to_string(attachments.size() - 1);
    a.url = f.url;
    a.type = f.type;
    a.size = f.size;
  }
}

void fill_header(Document& d, const model::ExportItem& item, const Decisions& dec, DocumentKind kind,
                 const std::string& currency) {
  const PostingDecision& p = dec.posting;
  d.kind = kind;
  d.externalKey = item.accountingEntryId;
  d.accountingEntryId = item.accountingEntryId;
  d.reference = p.reference;
  d.postingDate = p.date;
  d.documentDate = p.documentDate ? *p.documentDate : p.date;
  d.dueDate = p.dueDate;
  d.currency = currency;
  d.vendor = dec.vendor;
  const auto& invoice = item.additionalInformation.invoiceInformation;
  if (invoice && !invoice->invoiceNumber.empty())
    d.invoiceNumber = invoice->invoiceNumber;
  else
    d.invoiceNumber.reset();
  d.description = p.description;
  d.draft = p.draft;
}

// The document for the item's lines: a journal entry, AP invoice, credit note or (for an
// invoice_payment item) AP payment. `supplier` selects the amounts in the supplier currency.
Status build_main(const model::ExportItem& item, const Decisions& dec, DocumentKind kind, bool supplier,
                  Document& doc) {
  const model::Money& total = in_currency(item.amount, supplier);
  fill_header(doc, item, dec, kind, total.currency);
  fill_attachments(doc, item);
  Reuse<Line> lines(doc.lines);
  const int64_t sign = total.value < 0 ? -1 : 1;
  const bool lines_debit = dec.direction == Direction::out;
  const LineRole line_role = kind == DocumentKind::ap_payment ? LineRole::payables : LineRole::expense;
  const std::string& description = dec.posting.description;

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
    const std::string_view type = tax ? tax_type(*tax, line) : std::string_view();
    if (tax) vat = sign * tax_amount(line, *tax, supplier, money.value);
    const bool explicit_vat = tax && (type == "inclusive" || type == "exclusive") && tax->ingoingTaxAccount;
    const bool self_assessed = tax && type == "reverse" && tax->ingoingTaxAccount && tax->outgoingTaxAccount;
    if (explicit_vat) expense -= vat;

    const size_t first = lines.size();
    add_line(lines, doc, line_role, ld.account, expense, lines_debit, {description});
    if (explicit_vat)
      add_line(lines, doc, LineRole::tax, *tax->ingoingTaxAccount, vat, lines_debit, {"VAT ", tax->code});
    if (self_assessed) {
      // §2.6: Dr input VAT / Cr output VAT for the same amount: net zero, whatever the direction.
      add_line(lines, doc, LineRole::reverse_charge_in, *tax->ingoingTaxAccount, vat, lines_debit,
               {"Reverse charge VAT ", tax->code});
      add_line(lines, doc, LineRole::reverse_charge_out, *tax->outgoingTaxAccount, vat, !lines_debit,
               {"Reverse charge VAT ", tax->code});
    }
    for (size_t k = first; k < lines.size(); ++k) {
      Line& l = lines[k];
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
  add_line(lines, doc, LineRole::counter, dec.counterAccount, sign * total.value, !lines_debit, {description});
  return {};
}

// §2.3: the payment half of an AP card purchase (or the refund's receipt): the wallet money
// moved, in the wallet currency, against the vendor's AP account.
void build_payment(const model::ExportItem& item, const Decisions& dec, Document& payment) {
  const model::Money& paid = item.amount.inWalletCurrency;
  fill_header(payment, item, dec, DocumentKind::ap_payment, paid.currency);
  payment.externalKey += "/payment";
  payment.documentDate = payment.postingDate;  // the day the money moved, not the invoice date
  payment.dueDate.reset();
  payment.attachments.clear();  // receipts belong to the invoice
  Reuse<Line> lines(payment.lines);
  const int64_t sign = paid.value < 0 ? -1 : 1;
  const bool out_direction = dec.direction == Direction::out;
  const std::string& description = dec.posting.description;
  const int64_t amount = sign * paid.value;
  add_line(lines, payment, LineRole::payables, dec.counterAccount, amount, out_direction, {description});
  add_line(lines, payment, LineRole::counter, *dec.paymentAccount, amount, !out_direction, {description});
}

}  // namespace

Status build_documents(const model::ExportItem& item, const Decisions& dec, std::vector<Document>& out) {
  Reuse<Document> documents(out);
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

  if (auto st = build_main(item, dec, kind, supplier, documents.next()); !st) return st;
  if (documents[0].lines.empty()) {
    documents.clear();  // a split entry whose lines are all zero: nothing to post
    return {};
  }
  if (ap && !payment_item && dec.paymentAccount) build_payment(item, dec, documents.next());
  for (size_t i = 0; i < documents.size(); ++i)
    if (auto st = check_invariants(documents[i]); !st) return st;
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
