// Receipts merged into one PDF (engine/src/erp/pdf_merge; domain brief §2.8 "otherwise merge —
// PDF merge preferred", "Unsupported type in AS → convert", §3.2 receipt_conversion_failure).
// Inputs are the simulated Pleo's real receipts (engine/sim/receipt_files); every output is
// read back with qpdf.
// qpdf 11 warns unless told that nothing here uses its old PointerHolder (4: removed).
#define POINTERHOLDER_TRANSITION 4
#include <catch2/catch.hpp>
#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>

#include <string>
#include <vector>

#include "erp/pdf_merge.hpp"
#include "sim/receipt_files.hpp"

using lb::erp::merge_to_pdf;
using lb::erp::pdf_page_count;
using lb::erp::ReceiptFile;
using lb::sim::PngColor;
using lb::sim::PngReceipt;

namespace {

std::string merged(const std::vector<ReceiptFile>& files) {
  auto r = merge_to_pdf(files);
  INFO((r ? "" : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string error_of(const std::vector<ReceiptFile>& files) {
  auto r = merge_to_pdf(files);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// The merged PDF, opened with qpdf, and its pages' image XObjects.
struct Opened {
  explicit Opened(const std::string& pdf) : bytes(pdf) {
    q.processMemoryFile("merged", bytes.data(), bytes.size());
    pages = QPDFPageDocumentHelper(q).getAllPages();
  }
  QPDFObjectHandle image(size_t page) {
    return pages.at(page).getObjectHandle().getKey("/Resources").getKey("/XObject").getKey("/Im0");
  }
  static std::string data(QPDFObjectHandle stream, qpdf_stream_decode_level_e level) {
    auto b = stream.getStreamData(level);
    return std::string(reinterpret_cast<const char*>(b->getBuffer()), b->getSize());
  }
  std::string bytes;
  QPDF q;
  std::vector<QPDFPageObjectHelper> pages;
};

}  // namespace

TEST_CASE("pdf merge §2.8: PDF pages, a JPEG and a PNG become one PDF in order", "[erp][pdf]") {
  const std::string pdf = lb::sim::receipt_pdf(1, 2);
  const std::string jpeg = lb::sim::receipt_jpeg(2);
  const std::string png = lb::sim::receipt_png(3);
  REQUIRE(pdf_page_count(pdf).value() == 2);

  const std::string out = merged({{"e1/0", "application/pdf", pdf}, {"e1/1", "image/jpeg", jpeg}, {"e1/2", "image/png", png}});
  REQUIRE(out.rfind("%PDF-1.5", 0) == 0);
  auto pages = pdf_page_count(out);
  REQUIRE(pages.ok());
  CHECK(*pages == 4);

  Opened o(out);
  REQUIRE(o.pages.size() == 4);
  // The PDF's own pages first, with their text.
  CHECK(Opened::data(o.pages[0].getObjectHandle().getKey("/Contents"), qpdf_dl_generalized).find("TOTAL") !=
        std::string::npos);
  // The JPEG as it was downloaded (DCTDecode, not re-encoded), on a portrait A4 page.
  QPDFObjectHandle jpeg_image = o.image(2);
  CHECK(jpeg_image.getDict().getKey("/Filter").getName() == "/DCTDecode");
  CHECK(jpeg_image.getDict().getKey("/Width").getIntValue() == 240);
  CHECK(jpeg_image.getDict().getKey("/ColorSpace").getName() == "/DeviceRGB");
  {
    auto raw = jpeg_image.getRawStreamData();
    CHECK(std::string(reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize()) == jpeg);
  }
  CHECK(o.pages[2].getObjectHandle().getKey("/MediaBox").getArrayItem(3).getNumericValue() ==
        Approx(841.89));
  // The PNG's compressed data unchanged, with the PNG predictor.
  QPDFObjectHandle png_image = o.image(3);
  CHECK(png_image.getDict().getKey("/Filter").getName() == "/FlateDecode");
  CHECK(png_image.getDict().getKey("/DecodeParms").getKey("/Predictor").getIntValue() == 15);
  CHECK(Opened::data(png_image, qpdf_dl_generalized).size() == 240u * 360u * 3u);
  CHECK_FALSE(png_image.getDict().hasKey("/SMask"));
}

TEST_CASE("pdf merge §2.8: the same receipts give byte-identical PDFs (no dates, no random ids)", "[erp][pdf]") {
  const std::string pdf = lb::sim::receipt_pdf(11, 1), jpeg = lb::sim::receipt_jpeg(12);
  const std::string png = lb::sim::receipt_png(13, {.color = PngColor::rgba});
  const std::vector<ReceiptFile> files{{"a/0", "image/png", png}, {"a/1", "application/pdf", pdf}, {"a/2", "image/jpeg", jpeg}};
  const std::string first = merged(files);
  CHECK(merged(files) == first);
  CHECK(first.find("CreationDate") == std::string::npos);
  CHECK(first.find("Producer") == std::string::npos);
  // The /ID follows the content: other receipts, another file.
  const std::string other = merged({{"a/0", "image/png", lb::sim::receipt_png(14, {.color = PngColor::rgba})},
                                    {"a/1", "application/pdf", pdf}, {"a/2", "image/jpeg", jpeg}});
  CHECK(other != first);
}

TEST_CASE("pdf merge §2.8: PNG alpha becomes a soft mask; colours survive the split", "[erp][pdf]") {
  for (int depth : {8, 16}) {
    INFO("bit depth " << depth);
    const std::string rgb = lb::sim::receipt_png(21, {.color = PngColor::rgb, .bit_depth = depth});
    const std::string rgba = lb::sim::receipt_png(21, {.color = PngColor::rgba, .bit_depth = depth});
    Opened plain(merged({{"p/0", "image/png", rgb}}));
    Opened alpha(merged({{"p/0", "image/png", rgba}}));
    QPDFObjectHandle image = alpha.image(0);
    REQUIRE(image.getDict().hasKey("/SMask"));
    QPDFObjectHandle mask = image.getDict().getKey("/SMask");
    CHECK(mask.getDict().getKey("/ColorSpace").getName() == "/DeviceGray");
    CHECK(mask.getDict().getKey("/BitsPerComponent").getIntValue() == depth);
    // Same picture: the RGBA file's colour samples are the RGB file's samples.
    CHECK(Opened::data(image, qpdf_dl_generalized) == Opened::data(plain.image(0), qpdf_dl_generalized));
    const std::string a = Opened::data(mask, qpdf_dl_generalized);
    CHECK(a.size() == 240u * 360u * static_cast<size_t>(depth / 8));
    CHECK(a.find('\0') != std::string::npos);  // the table around the paper is transparent
  }
  // Gray with alpha.
  Opened ga(merged({{"g/0", "image/png", lb::sim::receipt_png(22, {.color = PngColor::gray_alpha})}}));
  CHECK(ga.image(0).getDict().getKey("/ColorSpace").getName() == "/DeviceGray");
  CHECK(ga.image(0).getDict().hasKey("/SMask"));
}

TEST_CASE("pdf merge §2.8: PNG gray and palette depths, tRNS as colour key or soft mask", "[erp][pdf]") {
  SECTION("1-bit gray") {
    Opened o(merged({{"g/0", "image/png", lb::sim::receipt_png(31, {.color = PngColor::gray, .bit_depth = 1})}}));
    CHECK(o.image(0).getDict().getKey("/BitsPerComponent").getIntValue() == 1);
    CHECK(Opened::data(o.image(0), qpdf_dl_generalized).size() == 30u * 360u);  // 240 px / 8
  }
  SECTION("gray with a transparent colour: /Mask") {
    Opened o(merged({{"g/0", "image/png", lb::sim::receipt_png(32, {.color = PngColor::gray, .transparent = true})}}));
    QPDFObjectHandle mask = o.image(0).getDict().getKey("/Mask");
    REQUIRE(mask.isArray());
    CHECK(mask.getArrayNItems() == 2);
  }
  SECTION("RGB with a transparent colour: /Mask per component") {
    Opened o(merged({{"c/0", "image/png", lb::sim::receipt_png(33, {.color = PngColor::rgb, .transparent = true})}}));
    QPDFObjectHandle mask = o.image(0).getDict().getKey("/Mask");
    REQUIRE(mask.isArray());
    CHECK(mask.getArrayNItems() == 6);
  }
  SECTION("4-bit palette with tRNS: /Indexed and a soft mask") {
    Opened o(merged({{"p/0", "image/png",
                      lb::sim::receipt_png(34, {.color = PngColor::palette, .bit_depth = 4, .transparent = true})}}));
    QPDFObjectHandle space = o.image(0).getDict().getKey("/ColorSpace");
    REQUIRE(space.isArray());
    CHECK(space.getArrayItem(0).getName() == "/Indexed");
    CHECK(space.getArrayItem(2).getIntValue() == 15);
    REQUIRE(o.image(0).getDict().hasKey("/SMask"));
    const std::string a = Opened::data(o.image(0).getDict().getKey("/SMask"), qpdf_dl_generalized);
    CHECK(a.size() == 240u * 360u);
    CHECK(a.find('\0') != std::string::npos);
    CHECK(a.find('\xFF') != std::string::npos);
  }
  SECTION("landscape image: landscape page") {
    Opened o(merged({{"l/0", "image/png", lb::sim::receipt_png(35, {.width = 400, .height = 200})}}));
    CHECK(o.pages[0].getObjectHandle().getKey("/MediaBox").getArrayItem(2).getNumericValue() == Approx(841.89));
  }
}

TEST_CASE("pdf merge §3.2: what cannot be converted is refused naming the file and why", "[erp][pdf]") {
  const std::string jpeg = lb::sim::receipt_jpeg(41), png = lb::sim::receipt_png(42), pdf = lb::sim::receipt_pdf(43);
  const ReceiptFile good{"e/0", "image/jpeg", jpeg};

  CHECK_THAT(error_of({}), Catch::Contains("no receipts"));
  CHECK_THAT(error_of({good, {"e/1", "application/msword", "DOC"}}),
             Catch::Contains("e/1 (application/msword): this type cannot be converted to PDF"));

  const std::string interlaced = lb::sim::receipt_png(44, {.interlaced = true});
  CHECK_THAT(error_of({good, {"e/1", "image/png", interlaced}}), Catch::Contains("e/1 (image/png): an interlaced (Adam7) PNG"));

  const std::string truncated_png = png.substr(0, png.size() / 2);
  CHECK_THAT(error_of({{"e/2", "image/png", truncated_png}}), Catch::Contains("e/2 (image/png): damaged PNG"));

  // IDAT bytes flipped: the zlib check fails when qpdf decodes it.
  std::string bad_idat = png;
  const size_t idat = bad_idat.find("IDAT");
  REQUIRE(idat != std::string::npos);
  for (size_t i = idat + 10; i < idat + 60; ++i) bad_idat[i] = static_cast<char>(bad_idat[i] ^ 0x5A);
  CHECK_THAT(error_of({{"e/3", "image/png", bad_idat}}), Catch::Contains("e/3 (image/png): damaged PNG"));

  CHECK_THAT(error_of({{"e/4", "image/jpeg", jpeg.substr(0, jpeg.size() - 400)}}),
             Catch::Contains("e/4 (image/jpeg): damaged JPEG: truncated"));
  CHECK_THAT(error_of({{"e/5", "image/jpeg", png}}), Catch::Contains("e/5 (image/jpeg): not a JPEG file"));
  CHECK_THAT(error_of({{"e/6", "image/png", jpeg}}), Catch::Contains("e/6 (image/png): not a PNG file"));

  const std::string garbage(3000, 'x');
  const std::string error = error_of({good, {"e/7", "application/pdf", garbage}});
  CHECK_THAT(error, Catch::Contains("e/7 (application/pdf): not a readable PDF"));

  // A PDF cut short still opens when qpdf can recover its objects; one cut before its page
  // tree cannot.
  CHECK_THAT(error_of({{"e/8", "application/pdf", pdf.substr(0, 40)}}), Catch::Contains("e/8 (application/pdf)"));
}

TEST_CASE("pdf merge: a real-sized receipt set from the simulated Pleo's files", "[erp][pdf]") {
  // What the simulated Pleo serves for an item (padded to the size Pleo states).
  const std::string a = lb::sim::receipt_file(51, "image/jpeg", 250'000);
  const std::string b = lb::sim::receipt_file(52, "application/pdf", 90'000);
  const std::string c = lb::sim::receipt_file(53, "image/png", 120'000);
  CHECK(a.size() == 250'000u);
  CHECK(b.size() == 90'000u);
  CHECK(c.size() == 120'000u);
  CHECK(pdf_page_count(b).value() == 1);
  const std::string out = merged({{"r/0", "image/jpeg", a}, {"r/1", "application/pdf", b}, {"r/2", "image/png", c}});
  CHECK(pdf_page_count(out).value() == 3);
  // The JPEG's padding comments are embedded with it; the PNG's text chunk is not.
  CHECK(out.size() > 250'000u);
  CHECK(out.size() < 250'000u + 90'000u + 40'000u);
}
