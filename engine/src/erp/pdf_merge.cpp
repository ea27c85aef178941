// qpdf 11 warns unless told that nothing here uses its old PointerHolder (4: removed).
#define POINTERHOLDER_TRANSITION 4
#include "erp/pdf_merge.hpp"

#include <fmt/format.h>
#include <qpdf/Buffer.hh>
#include <qpdf/Pl_Count.hh>
#include <qpdf/Pl_DCT.hh>
#include <qpdf/Pl_Discard.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace lb::erp {

namespace {

// A4 in points, and a 10 mm margin around an image.
constexpr double kA4Short = 595.28, kA4Long = 841.89, kMargin = 28.35;
// Receipts are photos and scans; anything bigger than this is refused rather than decoded.
constexpr int64_t kMaxPixels = 100'000'000;
constexpr int64_t kMaxDecodedBytes = 512LL * 1024 * 1024;

// A refusal of one file: the message says why, merge_to_pdf names the file.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

uint8_t at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
uint32_t be16(std::string_view s, size_t i) { return (uint32_t{at(s, i)} << 8) | at(s, i + 1); }
uint32_t be32(std::string_view s, size_t i) { return (be16(s, i) << 16) | be16(s, i + 2); }

bool is_jpeg(std::string_view type) { return type == "image/jpeg" || type == "image/jpg" || type == "image/pjpeg"; }

// --- pages -----------------------------------------------------------------------------------

// One A4 page (landscape for a landscape image) showing `image` fitted inside the margin.
void add_image_page(QPDF& pdf, QPDFObjectHandle image, int width, int height) {
  const bool landscape = width > height;
  const double page_w = landscape ? kA4Long : kA4Short, page_h = landscape ? kA4Short : kA4Long;
  const double scale = std::min((page_w - 2 * kMargin) / width, (page_h - 2 * kMargin) / height);
  const double w = width * scale, h = height * scale;
  const std::string content =
      fmt::format("q {:.2f} 0 0 {:.2f} {:.2f} {:.2f} cm /Im0 Do Q\n", w, h, (page_w - w) / 2, (page_h - h) / 2);
  QPDFObjectHandle page = QPDFObjectHandle::newDictionary();
  page.replaceKey("/Type", QPDFObjectHandle::newName("/Page"));
  page.replaceKey("/MediaBox", QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
                                   QPDFObjectHandle::newInteger(0), QPDFObjectHandle::newInteger(0),
                                   QPDFObjectHandle::newReal(page_w, 2), QPDFObjectHandle::newReal(page_h, 2)}));
  QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
  xobjects.replaceKey("/Im0", image);
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  resources.replaceKey("/XObject", xobjects);
  page.replaceKey("/Resources", resources);
  page.replaceKey("/Contents", pdf.newStream(content));
  QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page)), false);
}

void set_image_dict(QPDFObjectHandle stream, int width, int height, QPDFObjectHandle color_space, int bits) {
  QPDFObjectHandle dict = stream.getDict();
  dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Image"));
  dict.replaceKey("/Width", QPDFObjectHandle::newInteger(width));
  dict.replaceKey("/Height", QPDFObjectHandle::newInteger(height));
  dict.replaceKey("/ColorSpace", color_space);
  dict.replaceKey("/BitsPerComponent", QPDFObjectHandle::newInteger(bits));
}

// --- JPEG ------------------------------------------------------------------------------------

void add_jpeg(QPDF& pdf, std::string_view data) {
  if (data.size() < 4 || at(data, 0) != 0xFF || at(data, 1) != 0xD8) throw Refused("not a JPEG file (no start-of-image marker)");
  // Walk the segments up to the frame header (SOF): size, components, coding process.
  size_t pos = 2;
  bool adobe = false;
  int width = 0, height = 0, components = 0;
  while (!width) {
    if (pos + 4 > data.size()) throw Refused("damaged JPEG: it ends before the frame header");
    if (at(data, pos) != 0xFF) throw Refused(fmt::format("damaged JPEG: no marker at byte {}", pos));
    const uint8_t marker = at(data, pos + 1);
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) throw Refused("damaged JPEG: image data before the frame header");
    const size_t len = be16(data, pos + 2);
    if (len < 2 || pos + 2 + len > data.size())
      throw Refused(fmt::format("damaged JPEG: the segment at byte {} runs past the end of the file", pos));
    if (marker == 0xEE && len >= 7 && data.substr(pos + 4, 5) == "Adobe") adobe = true;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (marker > 0xC2)
        throw Refused(fmt::format("a {} JPEG (frame type SOF{}), which PDF readers cannot show",
                                  marker == 0xC3 || marker == 0xC7 || marker == 0xCB || marker == 0xCF ? "lossless"
                                                                                                      : "arithmetic-coded",
                                  marker - 0xC0));
      if (len < 8) throw Refused("damaged JPEG: short frame header");
      if (at(data, pos + 4) != 8) throw Refused(fmt::format("a {}-bit JPEG; only 8-bit JPEGs can be embedded", at(data, pos + 4)));
      height = static_cast<int>(be16(data, pos + 5));
      width = static_cast<int>(be16(data, pos + 7));
      components = at(data, pos + 9);
      if (width == 0 || height == 0) throw Refused("a JPEG without a stated size (DNL), which PDF does not take");
      if (components != 1 && components != 3 && components != 4)
        throw Refused(fmt::format("a JPEG with {} colour components (1, 3 or 4 can be embedded)", components));
    }
    pos += 2 + len;
  }
  if (static_cast<int64_t>(width) * height > kMaxPixels)
    throw Refused(fmt::format("a {}x{} image, too large to convert", width, height));
  // The end marker must be there: a truncated upload would show as a grey half receipt.
  if (data.rfind("\xFF\xD9") == std::string_view::npos || data.rfind("\xFF\xD9") < pos)
    throw Refused("damaged JPEG: truncated (no end-of-image marker)");
  // Decode it once (libjpeg, through qpdf), so damaged image data is refused here and not in the
  // bookkeeper's PDF viewer. Only the byte count is kept.
  {
    Pl_Discard discard;
    Pl_Count count("jpeg", &discard);
    Pl_DCT dct("jpeg", &count);
    try {
      dct.write(reinterpret_cast<const unsigned char*>(data.data()), data.size());
      dct.finish();
    } catch (const std::exception& e) {
      throw Refused(fmt::format("damaged JPEG: the image data cannot be decoded ({})", e.what()));
    }
    if (count.getCount() != static_cast<qpdf_offset_t>(width) * height * components)
      throw Refused("damaged JPEG: the image data does not decode to the stated size");
  }
  QPDFObjectHandle image = pdf.newStream();
  image.replaceStreamData(std::string(data), QPDFObjectHandle::newName("/DCTDecode"), QPDFObjectHandle::newNull());
  set_image_dict(image, width, height,
                 QPDFObjectHandle::newName(components == 1 ? "/DeviceGray" : components == 3 ? "/DeviceRGB" : "/DeviceCMYK"), 8);
  if (components == 4 && adobe) {
    // Adobe's CMYK JPEGs store inverted values (what Photoshop writes); PDF readers expect this
    // Decode array for them.
    image.getDict().replaceKey("/Decode", QPDFObjectHandle::parse("[1 0 1 0 1 0 1 0]"));
  }
  add_image_page(pdf, image, width, height);
}

// --- PNG -------------------------------------------------------------------------------------

void add_png(QPDF& pdf, std::string_view data) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (data.size() < 8 || data.substr(0, 8) != kSignature) throw Refused("not a PNG file (no PNG signature)");
  int width = 0, height = 0, depth = 0, color = -1;
  std::string palette, trns, idat;
  bool ended = false;
  for (size_t pos = 8; pos < data.size() && !ended;) {
    if (pos + 12 > data.size()) throw Refused("damaged PNG: truncated chunk header");
    const size_t len = be32(data, pos);
    const std::string_view type = data.substr(pos + 4, 4);
    if (len > data.size() - pos - 12)
      throw Refused(fmt::format("damaged PNG: chunk {} at byte {} runs past the end of the file", type, pos));
    const std::string_view body = data.substr(pos + 8, len);
    if (type == "IHDR") {
      if (len != 13) throw Refused("damaged PNG: bad IHDR chunk");
      width = static_cast<int>(be32(body, 0));
      height = static_cast<int>(be32(body, 4));
      depth = at(body, 8);
      color = at(body, 9);
      if (at(body, 10) != 0 || at(body, 11) != 0) throw Refused("damaged PNG: unknown compression or filter method");
      if (at(body, 12) != 0)
        throw Refused("an interlaced (Adam7) PNG, which cannot be embedded; save it without interlacing");
    } else if (color < 0) {
      throw Refused("damaged PNG: the IHDR chunk is not first");
    } else if (type == "PLTE") {
      palette = std::string(body);
    } else if (type == "tRNS") {
      trns = std::string(body);
    } else if (type == "IDAT") {
      idat.append(body);
    } else if (type == "IEND") {
      ended = true;
    }
    pos += 12 + len;
  }
  if (color < 0) throw Refused("damaged PNG: no IHDR chunk");
  if (!ended) throw Refused("damaged PNG: truncated (no IEND chunk)");
  if (idat.empty()) throw Refused("damaged PNG: no image data (IDAT)");
  int colors = 0;
  bool depth_ok = false;
  switch (color) {
    case 0: colors = 1; depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case 2: colors = 3; depth_ok = depth == 8 || depth == 16; break;
    case 3: colors = 1; depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case 4: colors = 2; depth_ok = depth == 8 || depth == 16; break;
    case 6: colors = 4; depth_ok = depth == 8 || depth == 16; break;
    default: throw Refused(fmt::format("damaged PNG: unknown colour type {}", color));
  }
  if (!depth_ok) throw Refused(fmt::format("damaged PNG: bit depth {} with colour type {}", depth, color));
  if (width <= 0 || height <= 0) throw Refused("damaged PNG: zero width or height");
  if (static_cast<int64_t>(width) * height > kMaxPixels)
    throw Refused(fmt::format("a {}x{} image, too large to convert", width, height));
  const size_t row_bytes = (static_cast<size_t>(width) * colors * depth + 7) / 8;
  const size_t raw_size = row_bytes * static_cast<size_t>(height);
  if (static_cast<int64_t>(raw_size) > kMaxDecodedBytes)
    throw Refused(fmt::format("a {}x{} image, too large to convert", width, height));
  if (color == 3 && (palette.empty() || palette.size() % 3 != 0 || palette.size() / 3 > (1u << depth)))
    throw Refused("damaged PNG: a palette image without a valid palette (PLTE)");

  // PNG's image data is what PDF calls FlateDecode with the PNG predictors: the same stream,
  // unchanged. qpdf decodes it once here, which checks it and gives the samples for a mask.
  QPDFObjectHandle parms = QPDFObjectHandle::newDictionary();
  parms.replaceKey("/Predictor", QPDFObjectHandle::newInteger(15));
  parms.replaceKey("/Colors", QPDFObjectHandle::newInteger(colors));
  parms.replaceKey("/BitsPerComponent", QPDFObjectHandle::newInteger(depth));
  parms.replaceKey("/Columns", QPDFObjectHandle::newInteger(width));
  QPDFObjectHandle encoded = pdf.newStream();
  encoded.replaceStreamData(idat, QPDFObjectHandle::newName("/FlateDecode"), parms);
  std::string raw;
  try {
    auto buffer = encoded.getStreamData(qpdf_dl_generalized);
    raw.assign(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
  } catch (const std::exception& e) {
    throw Refused(fmt::format("damaged PNG: the image data cannot be decoded ({})", e.what()));
  }
  if (raw.size() < raw_size)
    throw Refused(fmt::format("damaged PNG: the image data decodes to {} bytes, {} expected", raw.size(), raw_size));
  raw.resize(raw_size);

  QPDFObjectHandle gray = QPDFObjectHandle::newName("/DeviceGray");
  QPDFObjectHandle rgb = QPDFObjectHandle::newName("/DeviceRGB");
  auto soft_mask = [&](std::string alpha, int bits) {
    QPDFObjectHandle mask = pdf.newStream(alpha);  // written Flate-compressed
    set_image_dict(mask, width, height, gray, bits);
    return mask;
  };

  QPDFObjectHandle image;
  if (color == 4 || color == 6) {
    // Alpha: PDF keeps it apart, as a soft mask. Split each pixel into colour and alpha.
    const size_t sample = static_cast<size_t>(depth) / 8, pixel = sample * colors, keep = pixel - sample;
    std::string colour, alpha;
    colour.reserve(raw_size / colors * (colors - 1));
    alpha.reserve(raw_size / colors);
    bool opaque = true;
    for (size_t i = 0; i < raw.size(); i += pixel) {
      colour.append(raw, i, keep);
      alpha.append(raw, i + keep, sample);
      for (size_t b = 0; b < sample; ++b) opaque = opaque && at(raw, i + keep + b) == 0xFF;
    }
    image = pdf.newStream(colour);
    set_image_dict(image, width, height, color == 4 ? gray : rgb, depth);
    if (!opaque) image.getDict().replaceKey("/SMask", soft_mask(std::move(alpha), depth));
  } else {
    image = encoded;
    QPDFObjectHandle space = color == 0 ? gray : rgb;
    if (color == 3) {
      space = QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
          QPDFObjectHandle::newName("/Indexed"), rgb,
          QPDFObjectHandle::newInteger(static_cast<long long>(palette.size() / 3 - 1)),
          QPDFObjectHandle::newString(palette)});
    }
    set_image_dict(image, width, height, space, depth);
    if (!trns.empty() && (color == 0 || color == 2)) {
      // One colour is transparent: a colour-key mask [min max] per component.
      if (trns.size() < static_cast<size_t>(2 * colors)) throw Refused("damaged PNG: short tRNS chunk");
      std::vector<QPDFObjectHandle> key;
      for (int c = 0; c < colors; ++c) {
        const auto v = static_cast<long long>(be16(trns, 2 * static_cast<size_t>(c)) & ((1u << depth) - 1));
        key.push_back(QPDFObjectHandle::newInteger(v));
        key.push_back(QPDFObjectHandle::newInteger(v));
      }
      image.getDict().replaceKey("/Mask", QPDFObjectHandle::newArray(key));
    } else if (!trns.empty() && color == 3) {
      // Alpha per palette entry: a soft mask from the indices.
      std::string alpha;
      alpha.reserve(static_cast<size_t>(width) * height);
      bool opaque = true;
      for (int y = 0; y < height; ++y) {
        const size_t row = static_cast<size_t>(y) * row_bytes;
        for (int x = 0; x < width; ++x) {
          const size_t bit = static_cast<size_t>(x) * depth;
          const unsigned index = (at(raw, row + bit / 8) >> (8 - depth - bit % 8)) & ((1u << depth) - 1);
          const uint8_t a = index < trns.size() ? at(trns, index) : 0xFF;
          opaque = opaque && a == 0xFF;
          alpha += static_cast<char>(a);
        }
      }
      if (!opaque) image.getDict().replaceKey("/SMask", soft_mask(std::move(alpha), 8));
    }
  }
  add_image_page(pdf, image, width, height);
}

// --- PDF -------------------------------------------------------------------------------------

void add_pdf(QPDF& out, QPDF& in, const ReceiptFile& f) {
  try {
    in.setSuppressWarnings(true);
    in.processMemoryFile(f.name.c_str(), f.bytes.data(), f.bytes.size());
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password) throw Refused("the PDF is password-protected");
    throw Refused(fmt::format("not a readable PDF ({})", e.getMessageDetail()));
  }
  in.pushInheritedAttributesToPage();
  const auto pages = QPDFPageDocumentHelper(in).getAllPages();
  if (pages.empty()) throw Refused("the PDF has no pages");
  QPDFPageDocumentHelper target(out);
  for (const auto& page : pages) target.addPage(page, false);
}

}  // namespace

bool can_merge_to_pdf(std::string_view type) {
  return type == "application/pdf" || type == "image/png" || is_jpeg(type);
}

Result<std::string> merge_to_pdf(const std::vector<ReceiptFile>& files) {
  if (files.empty()) return Error{"no receipts to merge"};
  QPDF out;
  out.setSuppressWarnings(true);
  out.emptyPDF();
  // Inputs must outlive the write: their pages are copied lazily.
  std::vector<std::unique_ptr<QPDF>> inputs;
  std::string version = "1.5";  // soft masks (1.4), 16-bit samples and object streams (1.5)
  for (const ReceiptFile& f : files) {
    try {
      if (f.type == "application/pdf") {
        inputs.push_back(std::make_unique<QPDF>());
        add_pdf(out, *inputs.back(), f);
        const std::string v = inputs.back()->getPDFVersion();
        if (v > version) version = v;  // "1.x" and "2.0" compare as text
      } else if (is_jpeg(f.type)) {
        add_jpeg(out, f.bytes);
      } else if (f.type == "image/png") {
        add_png(out, f.bytes);
      } else {
        return Error{fmt::format("{} ({}): this type cannot be converted to PDF (PDF, JPEG and PNG can)", f.name,
                                 f.type.empty() ? "no type" : f.type)};
      }
    } catch (const Refused& e) {
      return Error{fmt::format("{} ({}): {}", f.name, f.type, e.what())};
    } catch (const std::exception& e) {
      return Error{fmt::format("{} ({}): cannot be read: {}", f.name, f.type, e.what())};
    }
  }
  try {
    QPDFWriter w(out);
    w.setOutputMemory();
    w.setDeterministicID(true);  // no clock, no random: the same receipts give the same bytes
    w.setObjectStreamMode(qpdf_o_generate);
    w.setMinimumPDFVersion(version);
    w.write();
    auto buffer = w.getBufferSharedPointer();
    return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
  } catch (const std::exception& e) {
    // Copied pages are read while writing: a damaged object surfaces here, named by qpdf with
    // the file it came from.
    return Error{fmt::format("the merged PDF cannot be written: {}", e.what())};
  }
}

Result<int> pdf_page_count(std::string_view pdf) {
  try {
    QPDF q;
    q.setSuppressWarnings(true);
    q.processMemoryFile("pdf", pdf.data(), pdf.size());
    return static_cast<int>(QPDFPageDocumentHelper(q).getAllPages().size());
  } catch (const std::exception& e) {
    return Error{fmt::format("not a readable PDF: {}", e.what())};
  }
}

}  // namespace lb::erp
