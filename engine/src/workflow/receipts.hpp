#pragma once
// Receipts of one posted item (domain brief §2.8; §3.2 receipt_* failure types; §4.3.5): fetched
// and made fit for the sink before anything is posted, attached after the document is posted.
//
//   fetch_receipts   checks each file's stated size and type against the sink's capabilities
//                    and Pleo's 30 MB limit, downloads it (three tries), and then:
//                    - sink takes several files: each file as it is; a file of a type the sink
//                      does not take is converted to a one-file PDF when the sink takes PDF
//                      (key "<key>.pdf");
//                    - sink takes one file per document (Capabilities::single_attachment) and the
//                      item has several: all of them merged into one PDF (erp/pdf_merge), in
//                      Pleo's order, under the key "<accountingEntryId>/receipts.pdf";
//                    - the result is checked against the sink's size limit again, after merging.
//                    The first problem stops it, as a failure with Pleo's type and a message
//                    naming the file.
//   upload_receipts  attaches each file under its deterministic key unless the ledger already
//                    records that key for the document (a retry never attaches twice), and
//                    records each upload; on a one-file sink, a document that already has a
//                    file gets no second one.
//
// Whether a failure fails the item or is logged and the document posted without the receipts
// is the job's choice (CompanyRun::attachments_required).
#include <optional>
#include <string>
#include <vector>

#include "erp/sink.hpp"
#include "ledger/ledger.hpp"
#include "pleo/http.hpp"
#include "posting/document.hpp"

namespace lb::workflow {

struct Receipt {
  posting::Attachment attachment;  // key, url, type and size of what is uploaded
  std::string bytes;
};

struct ReceiptFailure {
  std::string type;     // receipt_download_failure | receipt_file_size_limit_exceeded | receipt_conversion_failure
  std::string message;  // for the bookkeeper; names the file
};

struct FetchedReceipts {
  std::vector<Receipt> files;              // what upload_receipts attaches, in order
  std::optional<ReceiptFailure> failure;  // the first problem; files then holds what was ready
};

// Pleo's own limit per file (§2.8).
inline constexpr int64_t kMaxReceiptBytes = 30 * 1024 * 1024;

// `downloads` null: nothing is downloaded (files stays empty), only the stated sizes and types
// are checked.
FetchedReceipts fetch_receipts(const posting::Document& document, const erp::Capabilities& capabilities,
                               pleo::HttpTransport* downloads);

struct UploadResult {
  int uploaded = 0;
  int skipped = 0;  // already attached (ledger)
  std::vector<std::string> failed;  // "key: message", logged by the caller
};

UploadResult upload_receipts(erp::Sink& sink, ledger::Ledger& ledger, const std::string& job_id,
                             const erp::Posted& posted, const posting::Document& document,
                             const std::vector<Receipt>& receipts);

}  // namespace lb::workflow
