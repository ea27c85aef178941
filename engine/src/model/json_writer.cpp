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

// Puts `d` (finite, non-zero) at `p` as ECMAScript's Number::toString does, which is what
// JSON.stringify prints: the shortest round-trip digits, positional notation for decimal
// exponents in [-7, 21), exponential ("1e+21", "1.5e-7") outside it. At most 25 characters
// ("-0.0000012345678901234567" is the longest form); returns the end.
char* put_js_number(char* p, double d) {
  if (d < 0) {
    *p++ = '-';
    d = -d;
  }
  // Scientific form of the shortest round-trip representation: "D[.DDD]e[+-]XX".
  char sci[32];
  auto res = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
  const char* end = res.ptr;
  const char* e = static_cast<const char*>(std::memchr(sci, 'e', std::size_t(end - sci)));
  char digits[24];
  int k = 0;
  for (const char* q = sci; q < e; ++q)
    if (*q != '.') digits[k++] = *q;
  int exp10 = 0;
  const char* x = e + 1;
  bool negative = *x == '-';
  if (*x == '-' || *x == '+') ++x;
  std::from_chars(x, end, exp10);
  if (negative) exp10 = -exp10;
  int n = exp10 + 1;  // position of the decimal point relative to the digits

  auto put = [&p](const char* from, int count) {
    std::memcpy(p, from, std::size_t(count));
    p += count;
  };
  auto zeros = [&p](int count) {
    std::memset(p, '0', std::size_t(count));
    p += count;
  };
  if (k <= n && n <= 21) {
    put(digits, k);
    zeros(n - k);
  } else if (0 < n && n <= 21) {
    put(digits, n);
    *p++ = '.';
    put(digits + n, k - n);
  } else if (-6 < n && n <= 0) {
    put("0.", 2);
    zeros(-n);
    put(digits, k);
  } else {
    *p++ = digits[0];
    if (k > 1) {
      *p++ = '.';
      put(digits + 1, k - 1);
    }
    *p++ = 'e';
    *p++ = (n - 1 < 0) ? '-' : '+';
    p = std::to_chars(p, p + 8, std::abs(n - 1)).ptr;
  }
  return p;
}

// True when some byte of the eight at `p` needs an escape: a control character, '"' or '\\'. Each
// test sets a byte's top bit when the byte is below 0x20 or zero after the XOR, and taken
// together they are exact (a borrow only ever reaches past a byte that already hit).
bool word_needs_escape(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  return (((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHigh;
}

// The same for sixteen bytes, with the compiler's portable vector types (SSE2 on x86-64, NEON
// on ARM): half the instructions per byte of the word test.
bool chunk_needs_escape(const char* p) {
  using Bytes = unsigned char __attribute__((vector_size(16)));
  Bytes v;
  std::memcpy(&v, p, 16);
  const auto hit = (v < 0x20) | (v == '"') | (v == '\\');  // 0xff in each byte that needs one
  uint64_t halves[2];
  std::memcpy(halves, &hit, 16);
  return (halves[0] | halves[1]) != 0;
}

// True when some byte of `s` needs an escape. A string of eight bytes or more is looked at
// eight or sixteen at a time, and ends with a chunk that overlaps the one before rather than
// byte by byte.
bool needs_escape(std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (kEscape[uint8_t(p[i])] != 0) return true;
    return false;
  }
  if (n < 16) return word_needs_escape(p) || word_needs_escape(p + n - 8);
  for (std::size_t i = 0; i + 16 < n; i += 16)
    if (chunk_needs_escape(p + i)) return true;
  return chunk_needs_escape(p + n - 16);
}

// `s`, which needs no escape, in quotes.
void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  out += s;
  out += '"';
}

// `s` in quotes, escaped byte by byte.
void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 8);
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

}  // namespace

char* JsonWriter::put_before_value(char* p) {
  if (!pending_key_.empty()) {
    // Whole 16-byte chunks: the name's padding makes the last one readable, and kMaxPiece
    // leaves room for it.
    for (std::size_t i = 0; i < pending_key_.size(); i += 16) std::memcpy(p + i, pending_key_.data() + i, 16);
    p += pending_key_.size();
    pending_key_ = {};
  } else if (comma_due_) {
    *p++ = ',';
  }
  return p;
}

void JsonWriter::write_pending_key() { commit(put_before_value(room())); }


JsonWriter& JsonWriter::open(char bracket) {
  char* p = put_before_value(room());
  *p++ = bracket;
  commit(p);
  ++depth_;
  comma_due_ = false;
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  comma_due_ = false;  // a member name left without a value is written, with no comma after it
  char* p = put_before_value(room());
  *p++ = bracket;
  commit(p);
  --depth_;
  written();
  return *this;
}

void JsonWriter::put_string(std::string_view s) {
  char* p = put_before_value(room());
  const bool plain = !needs_escape(s);
  // Most strings (ids, codes, dates, names) are short and need no escape: one piece. The others
  // go straight into `out`, after what the buffer holds.
  if (plain && s.size() + 2 <= kMaxShortString) {
    *p++ = '"';
    std::memcpy(p, s.data(), s.size());
    p += s.size();
    *p++ = '"';
    commit(p);
    return;
  }
  commit(p);
  flush();
  if (plain)
    append_quoted(out_, s);
  else
    append_escaped(out_, s);
}

JsonWriter& JsonWriter::key(std::string_view k) {
  put_string(k);
  char* p = room();
  *p = ':';
  commit(p + 1);
  comma_due_ = false;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  put_string(s);
  written();
  return *this;
}

JsonWriter& JsonWriter::literal(const char* padded, std::size_t size) {
  char* p = put_before_value(room());
  std::memcpy(p, padded, 8);
  commit(p + size);
  written();
  return *this;
}

JsonWriter& JsonWriter::value(int64_t n) {
  char* p = put_before_value(room());
  commit(std::to_chars(p, p + 20, n).ptr);
  written();
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
  char* p = put_before_value(room());
  commit(std::to_chars(p, p + 20, n).ptr);
  written();
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  if (!std::isfinite(d)) return null();  // JSON has no NaN or infinity; JSON.stringify writes null
  char* p = put_before_value(room());
  if (d == 0)
    *p++ = '0';  // JSON.stringify(-0) is "0"
  else
    p = put_js_number(p, d);
  commit(p);
  written();
  return *this;
}

namespace {
constexpr char kTrue[8] = "true", kFalse[8] = "false", kNull[8] = "null";
}  // namespace

JsonWriter& JsonWriter::value(bool b) { return b ? literal(kTrue, 4) : literal(kFalse, 5); }

JsonWriter& JsonWriter::null() { return literal(kNull, 4); }

JsonWriter& JsonWriter::raw(std::string_view json) {
  char* p = put_before_value(room());
  if (json.size() <= kMaxShortString) {
    std::memcpy(p, json.data(), json.size());
    commit(p + json.size());
  } else {
    commit(p);
    flush();
    out_ += json;
  }
  written();
  return *this;
}

void JsonWriter::escape(std::string& out, std::string_view s) {
  if (needs_escape(s))
    append_escaped(out, s);
  else
    append_quoted(out, s);
}

}  // namespace lb::model
