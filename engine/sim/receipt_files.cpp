// qpdf 11 warns unless told that nothing here uses its old PointerHolder (4: removed).
#define POINTERHOLDER_TRANSITION 4
#include "sim/receipt_files.hpp"

#include <fmt/format.h>
#include <qpdf/Pl_DCT.hh>
#include <qpdf/Pl_Flate.hh>
#include <qpdf/Pl_String.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

namespace lb::sim {
namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Rng {
  uint64_t s;
  uint64_t next() { return s = splitmix(s); }
  int between(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }
};

// --- the picture: a receipt on a table ---------------------------------------------------------
enum Pixel : uint8_t { kTable, kPaper, kInk };

std::vector<uint8_t> draw(uint64_t seed, int w, int h) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * static_cast<size_t>(h), kTable);
  Rng r{seed};
  const int left = w / 12, right = w - w / 12;
  for (int y = 0; y < h; ++y)
    for (int x = left; x < right; ++x) px[static_cast<size_t>(y) * w + x] = kPaper;
  const int pad = std::max(2, w / 20);
  const int line = std::max(6, h / 28);
  auto bar = [&](int y0, int x0, int x1, int thick) {
    for (int y = y0; y < std::min(h, y0 + thick); ++y)
      for (int x = std::max(left, x0); x < std::min(right, x1); ++x) px[static_cast<size_t>(y) * w + x] = kInk;
  };
  const int width = right - left - 2 * pad;
  int y = line;
  bar(y, left + width / 4, right - width / 4, std::max(2, line * 2 / 3));  // the merchant's name
  y += line * 2;
  for (int i = 0; i < 2; ++i, y += line) bar(y, left + pad, left + pad + width * r.between(35, 70) / 100, line / 3);
  y += line;
  const int items = r.between(3, 8);
  for (int i = 0; i < items && y < h - 5 * line; ++i, y += line) {
    bar(y, left + pad, left + pad + width * r.between(25, 60) / 100, line / 3);
    bar(y, right - pad - width / 6, right - pad, line / 3);  // the amount
  }
  for (int x = left + pad; x < right - pad; x += 6) bar(y, x, x + 3, 1);  // - - - - -
  y += line;
  bar(y, left + pad, left + pad + width / 3, std::max(2, line / 2));  // TOTAL
  bar(y, right - pad - width / 4, right - pad, std::max(2, line / 2));
  return px;
}

// --- JPEG ------------------------------------------------------------------------------------
constexpr std::array<std::array<uint8_t, 3>, 3> kRgb{{{88, 110, 132}, {250, 247, 238}, {35, 35, 48}}};
constexpr std::array<uint8_t, 3> kGray{110, 246, 38};

// Comments a JPEG reader skips, inserted after SOI, so the file is exactly `size` bytes.
std::string pad_jpeg(std::string jpeg, int64_t size, uint64_t seed);

// --- PNG -------------------------------------------------------------------------------------
uint32_t crc32(std::string_view data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

std::string chunk(std::string_view type, std::string_view data) {
  std::string c;
  put_be32(c, static_cast<uint32_t>(data.size()));
  std::string body(type);
  body += data;
  c += body;
  put_be32(c, crc32(body));
  return c;
}

std::string deflate(const std::string& raw) {
  std::string out;
  Pl_String sink("png", nullptr, out);
  Pl_Flate flate("png", &sink, Pl_Flate::a_deflate);
  flate.write(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  flate.finish();
  return out;
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Rows filtered with every PNG filter type in turn, so decoders meet all five.
std::string filter_rows(const std::vector<std::string>& rows, int bpp) {
  std::string out;
  std::string prior(rows.empty() ? 0 : rows[0].size(), '\0');
  for (size_t y = 0; y < rows.size(); ++y) {
    const std::string& row = rows[y];
    const int type = static_cast<int>(y % 5);
    out += static_cast<char>(type);
    for (size_t i = 0; i < row.size(); ++i) {
      const int x = static_cast<uint8_t>(row[i]);
      const int a = i >= static_cast<size_t>(bpp) ? static_cast<uint8_t>(row[i - bpp]) : 0;
      const int b = static_cast<uint8_t>(prior[i]);
      const int c = i >= static_cast<size_t>(bpp) ? static_cast<uint8_t>(prior[i - bpp]) : 0;
      const int pred = type == 0 ? 0 : type == 1 ? a : type == 2 ? b : type == 3 ? (a + b) / 2 : paeth(a, b, c);
      out += static_cast<char>((x - pred) & 0xFF);
    }
    prior = row;
  }
  return out;
}

// --- PDF -------------------------------------------------------------------------------------
constexpr std::array<const char*, 8> kShops{"Baker & Daughters", "Nordic Coffee Bar", "Office Depot Europe",
                                            "Hotel Strand", "Taxi 4x48", "Bytes & Co Electronics",
                                            "Café Øresund", "The Printer Shop"};
constexpr std::array<const char*, 10> kGoods{"Espresso",      "Sandwich",    "Printer paper A4", "Toner black",
                                             "Taxi fare",     "Parking",     "Room 1 night",     "Breakfast",
                                             "USB-C adapter", "Notebook x3"};

std::string pdf_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c < 0x80 ? static_cast<char>(c) : '?';  // Helvetica in WinAnsi: ASCII is enough here
  }
  return out;
}

std::string write_pdf(QPDF& pdf, const std::string& header) {
  QPDFWriter w(pdf);
  w.setOutputMemory();
  w.setDeterministicID(true);
  w.setObjectStreamMode(qpdf_o_disable);
  if (!header.empty()) w.setExtraHeaderText(header);
  w.write();
  auto buffer = w.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

std::string filler(uint64_t seed, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve(n);
  uint64_t x = seed;
  while (s.size() < n) {
    x = splitmix(x);
    for (int i = 0; i < 10 && s.size() < n; ++i) s += kAlphabet[(x >> (i * 6)) & 63];
  }
  return s;
}

std::string pad_jpeg(std::string jpeg, int64_t size, uint64_t seed) {
  if (size <= static_cast<int64_t>(jpeg.size())) return jpeg;
  size_t room = static_cast<size_t>(size) - jpeg.size();
  std::string body;
  uint64_t s = seed;
  while (room >= 5) {
    // A segment needs 4 bytes of frame; never leave 1-4 bytes that no segment can hold.
    size_t payload = std::min<size_t>(room - 4, 65533);
    if (room - 4 - payload > 0 && room - 4 - payload < 5) payload -= 5;
    body += "\xFF\xFE";
    body += static_cast<char>(((payload + 2) >> 8) & 0xFF);
    body += static_cast<char>((payload + 2) & 0xFF);
    body += filler(s++, payload);
    room -= payload + 4;
  }
  // 1-4 bytes left only when the whole gap was that small: fill bytes (0xFF) before a marker
  // are allowed by the JPEG standard.
  body += std::string(room, '\xFF');
  return jpeg.substr(0, 2) + body + jpeg.substr(2);
}

}  // namespace

std::string receipt_jpeg(uint64_t seed, const JpegReceipt& o) {
  const auto px = draw(seed, o.width, o.height);
  std::string raw;
  raw.reserve(px.size() * static_cast<size_t>(o.components));
  for (uint8_t p : px) {
    if (o.components == 1) {
      raw += static_cast<char>(kGray[p]);
    } else {
      for (uint8_t v : kRgb[p]) raw += static_cast<char>(v);
    }
  }
  std::string out;
  Pl_String sink("jpeg", nullptr, out);
  // libjpeg's default settings (quality 75), through qpdf: nothing here calls libjpeg itself.
  Pl_DCT dct("jpeg", &sink, static_cast<JDIMENSION>(o.width), static_cast<JDIMENSION>(o.height), o.components,
             o.components == 1 ? JCS_GRAYSCALE : JCS_RGB);
  dct.write(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  dct.finish();
  return out;
}

std::string receipt_png(uint64_t seed, const PngReceipt& o) {
  const auto px = draw(seed, o.width, o.height);
  const int d = o.bit_depth;
  const int levels = o.color == PngColor::palette ? 1 << d : 0;
  // Palette: evenly spaced warm grays; the table (the margin) is the one transparent entry.
  auto index_of = [&](uint8_t p) { return static_cast<int>((kGray[p] * (levels - 1) + 127) / 255); };
  std::vector<std::string> rows;
  int channels = 1;
  switch (o.color) {
    case PngColor::gray: case PngColor::palette: channels = 1; break;
    case PngColor::gray_alpha: channels = 2; break;
    case PngColor::rgb: channels = 3; break;
    case PngColor::rgba: channels = 4; break;
  }
  const int bpp = std::max(1, channels * d / 8);
  for (int y = 0; y < o.height; ++y) {
    std::string row;
    uint32_t acc = 0;
    int bits = 0;
    for (int x = 0; x < o.width; ++x) {
      const uint8_t p = px[static_cast<size_t>(y) * o.width + x];
      std::vector<int> samples;  // 8-bit values, scaled below
      switch (o.color) {
        case PngColor::gray: samples = {kGray[p]}; break;
        case PngColor::gray_alpha: samples = {kGray[p], p == kTable ? 0 : 255}; break;
        case PngColor::rgb: samples = {kRgb[p][0], kRgb[p][1], kRgb[p][2]}; break;
        case PngColor::rgba: samples = {kRgb[p][0], kRgb[p][1], kRgb[p][2], p == kTable ? 0 : 255}; break;
        case PngColor::palette: samples = {index_of(p)}; break;
      }
      for (int v : samples) {
        if (d == 16) {
          const int v16 = v * 257;
          row += static_cast<char>(v16 >> 8);
          row += static_cast<char>(v16 & 0xFF);
        } else if (d == 8) {
          row += static_cast<char>(v);
        } else {
          acc = (acc << d) | static_cast<uint32_t>(o.color == PngColor::palette ? v : v >> (8 - d));
          bits += d;
          if (bits == 8) {
            row += static_cast<char>(acc);
            acc = 0;
            bits = 0;
          }
        }
      }
    }
    if (bits > 0) row += static_cast<char>(acc << (8 - bits));
    rows.push_back(std::move(row));
  }
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, static_cast<uint32_t>(o.width));
  put_be32(ihdr, static_cast<uint32_t>(o.height));
  ihdr += static_cast<char>(d);
  ihdr += static_cast<char>(static_cast<int>(o.color));
  ihdr += std::string("\0\0", 2);
  ihdr += static_cast<char>(o.interlaced ? 1 : 0);
  png += chunk("IHDR", ihdr);
  if (o.color == PngColor::palette) {
    std::string plte;
    for (int i = 0; i < levels; ++i) {
      const int g = i * 255 / std::max(1, levels - 1);
      plte += static_cast<char>(g);
      plte += static_cast<char>(std::max(0, g - 4));
      plte += static_cast<char>(std::max(0, g - 14));
    }
    png += chunk("PLTE", plte);
  }
  if (o.transparent) {
    std::string trns;
    if (o.color == PngColor::palette) {
      for (int i = 0; i < levels; ++i) trns += static_cast<char>(i == index_of(kTable) ? 0 : 255);
    } else if (o.color == PngColor::gray) {
      const int v = d == 16 ? kGray[kTable] * 257 : kGray[kTable] >> (8 - std::min(d, 8));
      trns += static_cast<char>(v >> 8);
      trns += static_cast<char>(v & 0xFF);
    } else if (o.color == PngColor::rgb) {
      for (int v : kRgb[kTable]) {
        const int s = d == 16 ? v * 257 : v;
        trns += static_cast<char>(s >> 8);
        trns += static_cast<char>(s & 0xFF);
      }
    }
    if (!trns.empty()) png += chunk("tRNS", trns);
  }
  png += chunk("IDAT", deflate(filter_rows(rows, bpp)));
  png += chunk("IEND", "");
  return png;
}

std::string receipt_pdf(uint64_t seed, int pages) {
  QPDF pdf;
  pdf.emptyPDF();
  QPDFPageDocumentHelper doc(pdf);
  Rng r{seed};
  QPDFObjectHandle font = pdf.makeIndirectObject(QPDFObjectHandle::parse(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  for (int page = 0; page < pages; ++page) {
    std::string text = "BT /F1 14 Tf 60 780 Td (" + pdf_text(kShops[r.next() % kShops.size()]) + ") Tj ET\n";
    text += fmt::format("BT /F1 9 Tf 60 760 Td (2026-0{}-{:02d}  {:02d}:{:02d}  Receipt {}-{}/{}) Tj ET\n",
                        r.between(1, 9), r.between(1, 28), r.between(7, 21), r.between(0, 59), r.between(1000, 9999),
                        page + 1, pages);
    int y = 720, total = 0;
    const int items = r.between(2, 7);
    for (int i = 0; i < items; ++i, y -= 16) {
      const int cents = r.between(150, 45000);
      total += cents;
      text += fmt::format("BT /F1 10 Tf 60 {} Td ({}) Tj ET\nBT /F1 10 Tf 460 {} Td ({}.{:02d}) Tj ET\n", y,
                          pdf_text(kGoods[r.next() % kGoods.size()]), y, cents / 100, cents % 100);
    }
    text += fmt::format("0.5 w 60 {} m 535 {} l S\n", y + 6, y + 6);
    text += fmt::format("BT /F1 12 Tf 60 {} Td (TOTAL) Tj ET\nBT /F1 12 Tf 460 {} Td ({}.{:02d}) Tj ET\n", y - 14,
                        y - 14, total / 100, total % 100);
    QPDFObjectHandle page_dict = QPDFObjectHandle::parse("<< /Type /Page /MediaBox [0 0 595 842] >>");
    QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
    QPDFObjectHandle fonts = QPDFObjectHandle::newDictionary();
    fonts.replaceKey("/F1", font);
    resources.replaceKey("/Font", fonts);
    page_dict.replaceKey("/Resources", resources);
    page_dict.replaceKey("/Contents", pdf.newStream(text));
    doc.addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page_dict)), false);
  }
  return write_pdf(pdf, "");
}

std::string receipt_file(uint64_t seed, std::string_view type, int64_t size) {
  if (type == "image/jpeg" || type == "image/jpg") return pad_jpeg(receipt_jpeg(seed), size, seed);
  if (type == "image/png") {
    PngReceipt o;
    o.color = seed % 3 == 0 ? PngColor::rgba : PngColor::rgb;  // screenshots often carry alpha
    std::string png = receipt_png(seed, o);
    const size_t frame = 12 + 8;  // chunk length, type, CRC + "Comment\0"
    if (size > static_cast<int64_t>(png.size() + frame)) {
      const std::string text = std::string("Comment") + '\0' + filler(seed, static_cast<size_t>(size) - png.size() - frame);
      png.insert(png.size() - 12, chunk("tEXt", text));  // before IEND
    }
    return png;
  }
  if (type == "application/pdf") {
    QPDF pdf;
    const std::string plain = receipt_pdf(seed, 1);
    if (size <= static_cast<int64_t>(plain.size()) + 4) return plain;
    // Header comments move every offset, and the startxref number may gain a digit, so the
    // size is reached in a few rounds.
    pdf.processMemoryFile("receipt", plain.data(), plain.size());
    int64_t gap = size - static_cast<int64_t>(plain.size());
    std::string out = plain;
    for (int round = 0; round < 4 && static_cast<int64_t>(out.size()) != size; ++round) {
      std::string header;
      int64_t left = gap;
      uint64_t s = seed;
      while (left > 0) {
        const int64_t n = std::min<int64_t>(left, 80);  // "%" + text + "\n" per line
        header += n >= 2 ? "%" + filler(s++, static_cast<size_t>(n - 2)) + "\n" : std::string("\n");
        left -= n;
      }
      out = write_pdf(pdf, header);
      gap += size - static_cast<int64_t>(out.size());
      if (gap <= 0) break;
    }
    return out;
  }
  std::string out = filler(seed, size > 0 ? static_cast<size_t>(size) : 0);
  return out;
}

}  // namespace lb::sim
