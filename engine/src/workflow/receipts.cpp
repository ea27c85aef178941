#include "workflow/receipts.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "erp/pdf_merge.hpp"

namespace lb::workflow {

namespace {

constexpr const char* kPdf = "application/pdf";

bool accepts(const erp::Capabilities& caps, const std::string& type) {
  return caps.attachment_types.empty() ||
         std::find(caps.attachment_types.begin(), caps.attachment_types.end(), type) != caps.attachment_types.end();
}

ReceiptFailure too_large(const std::string& what, int64_t size, int64_t limit) {
  return {"receipt_file_size_limit_exceeded",
          fmt::format("{} is {} bytes; the accounting system takes at most {}.", what, size, limit)};
}

}  // namespace

FetchedReceipts fetch_receipts(const posting::Document& doc, const erp::Capabilities& caps,
                               pleo::HttpTransport* downloads) {
  FetchedReceipts out;
  const int64_t file_limit = std::min<int64_t>(caps.max_attachment_bytes, kMaxReceiptBytes);
  const bool merge = caps.single_attachment && doc.attachments.size() > 1;
  const bool pdf_ok = accepts(caps, kPdf);

  // What each file needs, from what Pleo states, before anything is downloaded.
  for (const auto& a : doc.attachments) {
    if (a.size > file_limit) {
      out.failure = too_large("Receipt " + a.key, a.size, file_limit);
      return out;
    }
    const bool convert = merge || !accepts(caps, a.type);
    if (!convert) continue;
    if (!erp::can_merge_to_pdf(a.type)) {
      out.failure = {"receipt_conversion_failure",
                     merge ? fmt::format("Receipt {} is {}: the accounting system takes one file per document, and "
                                         "only PDF, JPEG and PNG receipts can be merged into one PDF.",
                                         a.key, a.type.empty() ? "of no stated type" : a.type)
                           : fmt::format("Receipt {} is {}, which the accounting system does not take and which "
                                         "cannot be converted to PDF.",
                                         a.key, a.type.empty() ? "of no stated type" : a.type)};
      return out;
    }
    if (!pdf_ok) {
      out.failure = {"receipt_conversion_failure",
                     merge ? fmt::format("The accounting system takes one file per document but not PDF, so the {} "
                                         "receipts cannot be merged.",
                                         doc.attachments.size())
                           : fmt::format("Receipt {} is {}, which the accounting system does not take (nor PDF).",
                                         a.key, a.type)};
      return out;
    }
  }
  if (!downloads) return out;

  // One file: downloaded (three tries) and within the size limit, or a failure.
  auto download = [&](const posting::Attachment& a, std::string& bytes) -> bool {
    std::string error;
    for (int attempt = 0; attempt < 3 && bytes.empty(); ++attempt) {
      // The URL is pre-signed (a credential): the log shows the key only.
      auto r = downloads->perform({.method = "GET", .url = a.url, .log_path = "receipt " + a.key});
      if (!r) error = r.error().to_string();
      else if (r->status != 200) error = fmt::format("HTTP {}", r->status);
      else if (r->body.empty()) error = "the file is empty";
      else bytes = std::move(r->body);
    }
    if (bytes.empty()) {
      out.failure = {"receipt_download_failure", fmt::format("Receipt {} could not be downloaded: {}", a.key, error)};
      return false;
    }
    if (static_cast<int64_t>(bytes.size()) > file_limit) {
      out.failure = too_large("Receipt " + a.key, static_cast<int64_t>(bytes.size()), file_limit);
      return false;
    }
    return true;
  };

  if (merge) {
    // Every file or none: one file per document leaves no room for a partial set.
    std::vector<Receipt> fetched;
    for (const auto& a : doc.attachments) {
      std::string bytes;
      if (!download(a, bytes)) return out;
      fetched.push_back({a, std::move(bytes)});
    }
    std::vector<erp::ReceiptFile> files;
    for (const auto& r : fetched) files.push_back({r.attachment.key, r.attachment.type, r.bytes});
    auto pdf = erp::merge_to_pdf(files);
    if (!pdf) {
      out.failure = {"receipt_conversion_failure",
                     fmt::format("The {} receipts could not be merged into one PDF, as the accounting system takes "
                                 "one file per document: {}",
                                 files.size(), pdf.error().message)};
      return out;
    }
    const auto size = static_cast<int64_t>(pdf->size());
    if (size > caps.max_attachment_bytes) {
      out.failure = too_large(fmt::format("The PDF of the {} receipts merged", files.size()), size,
                              caps.max_attachment_bytes);
      return out;
    }
    posting::Attachment merged{.key = doc.accountingEntryId + "/receipts.pdf", .url = {}, .type = kPdf, .size = size};
    out.files.push_back({std::move(merged), std::move(*pdf)});
    return out;
  }

  for (const auto& a : doc.attachments) {
    std::string bytes;
    if (!download(a, bytes)) return out;
    if (accepts(caps, a.type)) {
      out.files.push_back({a, std::move(bytes)});
      continue;
    }
    auto pdf = erp::merge_to_pdf({{a.key, a.type, bytes}});
    if (!pdf) {
      out.failure = {"receipt_conversion_failure",
                     fmt::format("Receipt {} could not be converted to PDF, which the accounting system needs: {}",
                                 a.key, pdf.error().message)};
      return out;
    }
    const auto size = static_cast<int64_t>(pdf->size());
    if (size > caps.max_attachment_bytes) {
      out.failure = too_large("Receipt " + a.key + " as PDF", size, caps.max_attachment_bytes);
      return out;
    }
    posting::Attachment converted{.key = a.key + ".pdf", .url = a.url, .type = kPdf, .size = size};
    out.files.push_back({std::move(converted), std::move(*pdf)});
  }
  return out;
}

UploadResult upload_receipts(erp::Sink& sink, ledger::Ledger& ledger, const std::string& job_id,
                             const erp::Posted& posted, const posting::Document& doc,
                             const std::vector<Receipt>& receipts) {
  UploadResult result;
  if (receipts.empty()) return result;
  auto done = ledger.attachments_done(doc.externalKey);
  if (!done) {
    // Without the ledger's answer an upload could be a second one: attach nothing now.
    result.failed.push_back("ledger: " + done.error().message);
    return result;
  }
  const bool single = sink.capabilities().single_attachment;
  for (const auto& r : receipts) {
    const bool already = std::find(done->begin(), done->end(), r.attachment.key) != done->end();
    if (already || (single && !done->empty())) {
      ++result.skipped;
      continue;
    }
    auto up = sink.upload_attachment(posted, r.attachment, r.bytes);
    if (const auto* e = std::get_if<erp::SinkError>(&up)) {
      result.failed.push_back(r.attachment.key + ": " + e->message);
      continue;
    }
    const Status st = ledger.mark_attachment_uploaded(job_id, doc.externalKey, r.attachment.key);
    if (!st.ok()) result.failed.push_back(r.attachment.key + ": attached, but the ledger did not record it: " + st.message());
    done->push_back(r.attachment.key);
    ++result.uploaded;
  }
  return result;
}

}  // namespace lb::workflow
