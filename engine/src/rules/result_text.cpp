#include "rules/result_text.hpp"

#include <fmt/format.h>

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

std::string text_problem(std::string_view s, TextRule rule) {
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

}  // namespace lb::rules
