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

// One call's output: what goes before the value, then the value, appended at once. Member
// names are at most JsonKey::kMaxSize bytes (checked at compile time), so a name and any value
// of up to kMaxValue bytes always fit.
class JsonWriter::Staged {
 public:
  static constexpr std::size_t kMaxValue = 160;

  // Takes from `w` what goes before the value: its pending member name, or the comma due.
  explicit Staged(JsonWriter& w) : w_(w) {
    const std::string_view name = w.pending_key_;
    if (!name.empty()) {
      // Whole 16-byte chunks: the name's padding makes the last one readable.
      for (std::size_t i = 0; i < name.size(); i += 16) std::memcpy(buf_ + i, name.data() + i, 16);
      size_ = name.size();
      w.pending_key_ = {};
    } else if (w.comma_due_) {
      buf_[size_++] = ',';
    }
  }
  Staged(const Staged&) = delete;
  Staged& operator=(const Staged&) = delete;

  void add(char c) { buf_[size_++] = c; }
  void add(std::string_view s) {
    std::memcpy(buf_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  template <typename Int>
  void add_integer(Int n) {
    size_ = std::size_t(std::to_chars(buf_ + size_, buf_ + sizeof buf_, n).ptr - buf_);
  }
  void append() { w_.out_.append(buf_, size_); }

 private:
  JsonWriter& w_;
  char buf_[JsonKey::kMaxSize + JsonKey::kPadding + kMaxValue];
  std::size_t size_ = 0;
};

void JsonWriter::separate() {
  if (!flush_pending_key() && comma_due_) out_ += ',';
}

void JsonWriter::write_pending_key() {
  out_ += pending_key_;
  pending_key_ = {};
}

JsonWriter& JsonWriter::open(char bracket) {
  Staged staged(*this);
  staged.add(bracket);
  staged.append();
  ++depth_;
  comma_due_ = false;
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  flush_pending_key();  // a member name left without a value
  --depth_;
  out_ += bracket;
  written();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  escape(out_, k);
  out_ += ':';
  comma_due_ = false;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  const bool plain = !needs_escape(s);
  if (plain && s.size() + 2 <= Staged::kMaxValue) {
    // Most values (ids, codes, dates, names) are short and need no escape.
    Staged staged(*this);
    staged.add('"');
    staged.add(s);
    staged.add('"');
    staged.append();
  } else {
    separate();
    if (plain)
      append_quoted(out_, s);
    else
      append_escaped(out_, s);
  }
  written();
  return *this;
}

JsonWriter& JsonWriter::literal(std::string_view text) {
  Staged staged(*this);
  staged.add(text);
  staged.append();
  written();
  return *this;
}

JsonWriter& JsonWriter::value(int64_t n) {
  Staged staged(*this);
  staged.add_integer(n);
  staged.append();
  written();
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
  Staged staged(*this);
  staged.add_integer(n);
  staged.append();
  written();
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  if (!std::isfinite(d)) return null();  // JSON has no NaN or infinity; JSON.stringify writes null
  separate();
  if (d == 0)
    out_ += '0';  // JSON.stringify(-0) is "0"
  else
    append_js_number(out_, d);
  written();
  return *this;
}

JsonWriter& JsonWriter::value(bool b) { return literal(b ? "true" : "false"); }

JsonWriter& JsonWriter::null() { return literal("null"); }

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
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
