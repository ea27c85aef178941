#include "rules/result_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace lb::rules {

std::size_t utf8_sequence(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if ((b(i) & 0xC0) != 0x80) return 0;
  return n;
}

namespace {

// True when every byte is printable ASCII (0x20..0x7E), looked at eight at a time: nearly every
// code and date is, and this is checked for every string of every result.
bool printable_word(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  // A byte below 0x20 sets its top bit in the first term (exact as a whole), one of 0x7F or
  // above in the second (0x7F + 1 carries into the top bit; a carry out of 0xFF follows a byte
  // that already has it).
  return ((((w - kOnes * 0x20) & ~w) | ((w + kOnes) | w)) & kHigh) == 0;
}

bool printable_ascii(std::string_view s) {
  const std::size_t n = s.size();
  uint64_t w = 0x6161616161616161ULL;  // "aaaaaaaa": a short string is padded with printable bytes
  if (n < 8) {
    if (n > 0) std::memcpy(&w, s.data(), n);
    return printable_word(w);
  }
  for (std::size_t i = 0; i + 8 < n; i += 8) {
    std::memcpy(&w, s.data() + i, 8);
    if (!printable_word(w)) return false;
  }
  std::memcpy(&w, s.data() + n - 8, 8);  // the last eight, overlapping the word before
  return printable_word(w);
}

}  // namespace

std::string text_problem(std::string_view s, TextRule rule) {
  if (s.size() <= rule.max_chars && printable_ascii(s)) return {};
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++chars) {
    if (chars == rule.max_chars) return fmt::format("is longer than {} characters", rule.max_chars);
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {  // printable ASCII: nearly every code
      ++i;
      continue;
    }
    if (c < 0x80) {
      if (rule.free_text && c != 0) {
        ++i;
        continue;
      }
      return fmt::format("contains a control character (U+{:04X} at offset {})", c, i);
    }
    const std::size_t n = utf8_sequence(s.substr(i));
    if (n == 0) return fmt::format("is not valid UTF-8 (byte 0x{:02X} at offset {})", c, i);
    if (!rule.free_text && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0)  // C1: U+0080..U+009F
      return fmt::format("contains a control character (U+{:04X} at offset {})",
                         static_cast<unsigned char>(s[i + 1]), i);
    i += n;
  }
  return {};
}

std::string displayable_text(std::string_view s, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD", kMore = "…";
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + kMore.size());
  std::size_t i = 0;
  while (i < s.size() && out.size() <= max_bytes) {  // only what can be kept is looked at
    const std::size_t n = utf8_sequence(s.substr(i));
    if (n == 0) out += kReplacement, ++i;
    else out.append(s.substr(i, n)), i += n;
  }
  if (i == s.size() && out.size() <= max_bytes) return out;
  std::size_t cut = max_bytes - kMore.size();
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  out.resize(cut);
  out += kMore;
  return out;
}

}  // namespace lb::rules
