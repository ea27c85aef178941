#pragma once
// Turns an item and the rule pack's decisions into posting documents (domain brief §2.3-§2.6):
//
//   journal method        one journal entry in the wallet currency
//   AP, invoice_payment   one AP payment in the wallet currency (§2.5, DOC S21)
//   AP, anything else     an AP invoice (direction out) or credit note (direction in) in the
//                         supplier currency, plus an AP payment in the wallet currency when the
//                         rules chose a payment account (the item also moved wallet money)
//
// Lines: one per Pleo line on the line side (split lines stay split, §2.4 mode 2), VAT split
// out or self-assessed as the tax decision says (§2.6), and one counter line for the total.
// Amounts are taken relative to the entry total: a line whose sign differs from the total's
// goes to the other side; the direction decides which side the lines are on (§7 #28).
#include <string_view>
#include <vector>

#include "model/export_item.hpp"
#include "model/result.hpp"
#include "posting/decisions.hpp"
#include "posting/document.hpp"

namespace lb::posting {

// Builds into `out` (cleared first; capacity reused). An error is a validation failure with a
// message that names the numbers (lines that do not add up, an unbalanced document, a line
// without an account). An item whose amount is zero builds no document.
Status build_documents(const model::ExportItem& item, const Decisions& decisions, std::vector<Document>& out);

// §2.4 mode 3 (one journal entry per export job, the pack setting posting.one_entry_per_job,
// applied by the workflow): the job's journal entries merged into one entry per currency,
// keyed "job:<jobId>:<currency>" (also its accountingEntryId), reference = the job id, lines in
// item order. Each line's text starts with its item's accountingEntryId and reference; expense
// lines keep their accountingEntryLineId and dimensions; receipts keep their keys. One draft
// member keeps the entry a draft. Other kinds are returned as they are: an AP document stays
// one per item (§2.5: a vendor, an invoice number and its own reconciliation each).
std::vector<Document> aggregate_journal_entries(const std::vector<Document>& documents, std::string_view job_id,
                                                std::string_view posting_date, std::string_view description);

}  // namespace lb::posting
