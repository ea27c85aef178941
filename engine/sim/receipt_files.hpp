#pragma once
// Receipt files the simulated Pleo serves (domain brief §2.8): real, decodable JPEG, PNG and PDF
// files that look like a photographed or scanned till receipt (paper, lines of "print", a
// total), so that conversion and merging are exercised on what an ERP would really get. The
// same seed gives the same bytes. Images are encoded with qpdf's pipelines (libjpeg through
// Pl_DCT, zlib through Pl_Flate) and the PDF written with qpdf, the library the engine uses to
// merge them (erp/pdf_merge.hpp).
//
// The tests use these too, with the variants real receipts come in: PNG colour types and bit
// depths, alpha, tRNS, interlacing (refused by the merger), multi-page PDFs.
#include <cstdint>
#include <string>
#include <string_view>

namespace lb::sim {

struct JpegReceipt {
  int width = 240;
  int height = 360;
  int components = 3;  // 1 = gray, 3 = RGB
};
std::string receipt_jpeg(uint64_t seed, const JpegReceipt& options = {});

enum class PngColor { gray = 0, rgb = 2, palette = 3, gray_alpha = 4, rgba = 6 };
struct PngReceipt {
  int width = 240;
  int height = 360;
  PngColor color = PngColor::rgb;
  int bit_depth = 8;         // gray: 1, 2, 4, 8, 16; palette: 1, 2, 4, 8; others 8 or 16
  bool transparent = false;  // tRNS: gray/RGB colour key, palette alpha (the margin shows through)
  bool interlaced = false;   // only the IHDR flag: the merger refuses interlaced PNGs unread
};
std::string receipt_png(uint64_t seed, const PngReceipt& options = {});

// A text PDF receipt (Helvetica), `pages` pages.
std::string receipt_pdf(uint64_t seed, int pages = 1);

// The receipt of `type` (application/pdf, image/png, image/jpeg or image/jpg), grown to exactly
// `size` bytes with comments the format ignores (JPEG COM, PNG tEXt, PDF header comments). A
// size smaller than the receipt itself gives the receipt unpadded. Other types: printable
// filler of exactly `size` bytes.
std::string receipt_file(uint64_t seed, std::string_view type, int64_t size);

}  // namespace lb::sim
