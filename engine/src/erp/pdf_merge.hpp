#pragma once
// Receipts as one PDF (domain brief §2.8: "Multiple files: upload all if the AS allows;
// otherwise merge — PDF merge preferred"; "Unsupported type in AS → convert"). Used when a
// sink's capabilities say it takes one attachment per document, or does not take a receipt's
// own type but takes PDF. Built on qpdf (libqpdf, DESIGN §3): it copies PDF pages, decodes
// PNG's Flate + predictor data for checking, and writes the file.
//
// What goes in, one or more pages each, in the order given (§2.8: order as uploaded):
//   application/pdf   every page, copied as it is (annotations travel with their page; a
//                     document-level form or outline does not). A PDF that needs a password
//                     to open is refused.
//   image/jpeg        one page; the JPEG data is embedded unchanged (DCTDecode), baseline or
//                     progressive, gray, RGB or CMYK (Adobe's inverted CMYK too). Lossless and
//                     arithmetic-coded JPEGs are refused (PDF readers cannot show them).
//   image/png         one page; non-interlaced only. Gray, RGB and palette images at every bit
//                     depth PNG allows are embedded with their compressed data unchanged
//                     (FlateDecode + PNG predictor); an alpha channel (gray+alpha, RGBA, 8 or 16
//                     bits) is split into a soft mask; tRNS transparency becomes a colour-key
//                     mask (gray, RGB) or a soft mask (palette). Interlaced (Adam7) PNGs are
//                     refused.
// Anything else (Word, Excel, text, HEIC, ...) is refused. An image page is A4, portrait or
// landscape as the image is, with the image fitted inside a 10 mm margin.
//
// Deterministic: the same inputs give byte-identical output (no dates, no producer, the /ID
// derived from the content), so a retried upload carries the same file.
//
// Every refusal is an error naming the file (its `name`) and why, for the bookkeeper; the
// workflow reports it as receipt_conversion_failure (§3.2).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"

namespace lb::erp {

struct ReceiptFile {
  std::string name;        // for messages: the attachment key, e.g. "<accountingEntryId>/1"
  std::string type;        // MIME type, as Pleo states it
  std::string_view bytes;  // the file's content
};

// Whether merge_to_pdf takes files of this MIME type at all (image/jpg counts as image/jpeg).
bool can_merge_to_pdf(std::string_view type);

// One PDF with every page of every file, in order. Refuses an empty list.
Result<std::string> merge_to_pdf(const std::vector<ReceiptFile>& files);

// Pages of a PDF, for tests and checks; an error when the bytes are not a readable PDF.
Result<int> pdf_page_count(std::string_view pdf);

}  // namespace lb::erp
