#include "model/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace lb::model {
namespace {

// For each byte: 0 = copy as is, otherwise the character after the backslash ('u' = \u00xx).
constexpr auto kEscape = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}();

// Writes `d` (finite, non-zero) as ECMAScript's Number::toString does, which is what
// JSON.stringify prints: the shortest round-trip digits, positional notation for decimal
// exponents in [-7, 21), exponential ("1e+21", "1.5e-7") outside it.
void append_js_number(std::string& out, double d) {
  if (d < 0) {
    out += '-';
    d = -d;
  }
  // Scientific form of the shortest round-trip representation: "D[.DDD]e[+-]XX".
  char sci[32];
  auto res = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
  const char* end = res.ptr;
  const char* e = static_cast<const char*>(std::memchr(sci, 'e', std::size_t(end - sci)));
  char digits[24];
  int k = 0;
  for (const char* p = sci; p < e; ++p)
    if (*p != '.') digits[k++] = *p;
  int exp10 = 0;
  const char* x = e + 1;
  bool negative = *x == '-';
  if (*x == '-' || *x == '+') ++x;
  std::from_chars(x, end, exp10);
  if (negative) exp10 = -exp10;
  int n = exp10 + 1;  // position of the decimal point relative to the digits

  if (k <= n && n <= 21) {
    out.append(digits, std::size_t(k));
    out.append(std::size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, std::size_t(n));
    out += '.';
    out.append(digits + n, std::size_t(k - n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(std::size_t(-n), '0');
    out.append(digits, std::size_t(k));
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits + 1, std::size_t(k - 1));
    }
    out += 'e';
    out += (n - 1 < 0) ? '-' : '+';
    char buf[8];
    auto r = std::to_chars(buf, buf + sizeof buf, std::abs(n - 1));
    out.append(buf, r.ptr);
  }
}

}  // namespace

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  first_.pop_back();
  out_ += '}';
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  first_.pop_back();
  out_ += ']';
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  escape(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  escape(out_, s);
  return *this;
}

namespace {
template <typename Int>
void append_integer(std::string& out, Int n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}
}  // namespace

JsonWriter& JsonWriter::value(int64_t n) {
  separate();
  append_integer(out_, n);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
  separate();
  append_integer(out_, n);
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  separate();
  if (!std::isfinite(d))
    out_ += "null";  // JSON has no NaN or infinity; JSON.stringify writes null
  else if (d == 0)
    out_ += '0';  // JSON.stringify(-0) is "0"
  else
    append_js_number(out_, d);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

namespace {

// True when some byte of `s` needs an escape: a control character, '"' or '\\'. Eight bytes at a
// time: each test sets a byte's top bit when the byte is below 0x20 or zero after the XOR, and
// taken together they are exact (a borrow only ever reaches past a byte that already hit).
bool needs_escape(std::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    if ((((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHigh)
      return true;
  }
  for (; p < end; ++p)
    if (kEscape[uint8_t(*p)] != 0) return true;
  return false;
}

}  // namespace

void JsonWriter::escape(std::string& out, std::string_view s) {
  // Most strings (keys, codes, ids, amounts' currencies) need no escape: one copy, quotes included.
  const std::size_t at = out.size();
  if (!needs_escape(s)) {
    out.resize(at + s.size() + 2);
    char* d = out.data() + at;
    d[0] = '"';
    if (!s.empty()) std::memcpy(d + 1, s.data(), s.size());
    d[s.size() + 1] = '"';
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(at + s.size() + 8);
  out += '"';
  const char* p = s.data();
  const char* end = p + s.size();
  const char* run = p;  // start of the bytes not yet copied
  for (; p < end; ++p) {
    char esc = kEscape[uint8_t(*p)];
    if (esc == 0) continue;
    out.append(run, std::size_t(p - run));
    run = p + 1;
    char seq[6] = {'\\', esc};
    if (esc == 'u') {
      seq[2] = '0';
      seq[3] = '0';
      seq[4] = kHex[uint8_t(*p) >> 4];
      seq[5] = kHex[uint8_t(*p) & 0xf];
      out.append(seq, 6);
    } else {
      out.append(seq, 2);
    }
  }
  out.append(run, std::size_t(end - run));
  out += '"';
}

}  // namespace lb::model
