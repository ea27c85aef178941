#include "pleo/redact.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace lb::pleo {

namespace {
std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}
// Longest first, so a secret that contains another is replaced whole.
struct LongestFirst {
  bool operator()(const std::string& a, const std::string& b) const {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  }
};
std::set<std::string, LongestFirst>& secrets() {
  static std::set<std::string, LongestFirst> s;
  return s;
}

void replace_all(std::string& text, std::string_view needle) {
  if (needle.empty()) return;
  std::size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    text.replace(pos, needle.size(), "[redacted]");
    pos += 10;
  }
}

bool iequals_at(const std::string& text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  return true;
}

// Blanks the value after "authorization:" / "bearer " / "basic " up to whitespace or quote.
void blank_after(std::string& text, std::string_view lower_word) {
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (!iequals_at(text, pos, lower_word)) continue;
    std::size_t start = pos + lower_word.size();
    while (start < text.size() && text[start] == ' ') ++start;
    std::size_t end = start;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
           text[end] != '"' && text[end] != ',' && text[end] != '\'')
      ++end;
    if (end > start && text.compare(start, end - start, "[redacted]") != 0 &&
        !(lower_word == "authorization:" && (iequals_at(text, start, "bearer") || iequals_at(text, start, "basic")))) {
      text.replace(start, end - start, "[redacted]");
    }
    pos = start;
  }
}
}  // namespace

void register_secret(std::string_view secret) {
  if (secret.size() < 6) return;
  std::lock_guard lock(secrets_mutex());
  secrets().emplace(secret);
  secrets().emplace(base64_encode(std::string(secret) + ":"));  // a Basic header with the key
}

void forget_secret(std::string_view secret) {
  std::lock_guard lock(secrets_mutex());
  secrets().erase(std::string(secret));
  secrets().erase(base64_encode(std::string(secret) + ":"));
}

std::string redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard lock(secrets_mutex());
    for (const auto& s : secrets()) replace_all(out, s);
  }
  blank_after(out, "authorization:");
  blank_after(out, "bearer ");
  blank_after(out, "basic ");
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace lb::pleo
