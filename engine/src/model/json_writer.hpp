#pragma once
// A small streaming writer for canonical JSON output: keys in the order written, no spaces,
// strings escaped as JSON.stringify does (\b \f \n \r \t \" \\, other controls as lower-case
// \u00xx, non-ASCII as raw UTF-8). It is used on the hot path (one outcome line per item),
// where building a DOM per item would cost more than the rules (bench REPORT §4.4, §5).
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace lb::model {

// The string literal a JsonKey is made from, as a structural type so that it can be a template
// argument. A name that would need escaping does not compile.
template <std::size_t N>
struct JsonKeyName {
  std::array<char, N> chars{};  // with the terminating NUL

  // NOLINTNEXTLINE(google-explicit-constructor): made implicitly from the string literal.
  consteval JsonKeyName(const char (&name)[N]) {
    for (std::size_t i = 0; i + 1 < N; ++i) {
      const auto c = static_cast<unsigned char>(name[i]);
      if (c < 0x20 || c == '"' || c == '\\') throw "a _key name must not need escaping";
      chars[i] = name[i];
    }
  }
};

// A member name fixed at compile time, pre-rendered as `,"name":` (the writer skips the comma
// before a container's first member). Made only by the _key literal, whose names need no
// escaping: the text is what key(std::string_view) writes. kPadding readable bytes follow the
// text, so that it can be copied in whole 16-byte chunks.
class JsonKey {
 public:
  static constexpr std::size_t kMaxSize = 64;  // comma, quotes and colon included
  static constexpr std::size_t kPadding = 16;

  std::string_view with_comma() const { return text_; }
  std::string_view without_comma() const { return text_.substr(1); }

 private:
  template <JsonKeyName>
  friend struct JsonKeyText;
  constexpr explicit JsonKey(std::string_view text) : text_(text) {}
  std::string_view text_;
};

// The rendered text of one name, stored once in the program however often it is written.
template <JsonKeyName Name>
struct JsonKeyText {
  static constexpr std::size_t kSize = Name.chars.size() + 3;  // comma, quotes, colon; no NUL
  static_assert(kSize <= JsonKey::kMaxSize, "a _key name is at most 60 bytes");
  static constexpr std::array<char, kSize + JsonKey::kPadding> kText = [] {
    std::array<char, kSize + JsonKey::kPadding> text{',', '"'};
    for (std::size_t i = 0; i + 1 < Name.chars.size(); ++i) text[i + 2] = Name.chars[i];
    text[kSize - 2] = '"';
    text[kSize - 1] = ':';
    return text;
  }();
  static constexpr JsonKey kKey{std::string_view(kText.data(), kSize)};
};

namespace json_literals {
// "accountingEntryId"_key: a member name for JsonWriter::key(JsonKey).
template <JsonKeyName Name>
constexpr JsonKey operator""_key() {
  return JsonKeyText<Name>::kKey;
}
}  // namespace json_literals

// Output is gathered in the writer and appended to `out` in large pieces: `out` holds each
// top-level value once it is complete, and everything written once the writer is destroyed.
// (Appending member by member took an eighth more instructions to write an outcome.)
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  // Appending can only fail when memory runs out, which ends the process here as anywhere.
  ~JsonWriter() { flush(); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view k);
  // A _key name is written together with the value that follows it: until then it is not in
  // the output.
  JsonWriter& key(JsonKey k) {
    if (!pending_key_.empty()) [[unlikely]] write_pending_key();  // a name left without a value
    pending_key_ = comma_due_ ? k.with_comma() : k.without_comma();
    comma_due_ = false;
    return *this;
  }
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(uint64_t n);
  // Every other integer type (int, unsigned, long long, ...) would be ambiguous between the
  // int64_t, uint64_t, double and bool overloads; route it to the matching 64-bit one.
  template <std::integral T>
    requires(!std::is_same_v<T, bool> && !std::is_same_v<T, int64_t> &&
             !std::is_same_v<T, uint64_t> && !std::is_same_v<T, char>)
  JsonWriter& value(T n) {
    if constexpr (std::is_signed_v<T>)
      return value(static_cast<int64_t>(n));
    else
      return value(static_cast<uint64_t>(n));
  }
  JsonWriter& value(double d);  // shortest round-trip form
  JsonWriter& value(bool b);
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& null();
  // A value already rendered as JSON (trusted input from this process).
  JsonWriter& raw(std::string_view json);

  static void escape(std::string& out, std::string_view s);

 private:
  static constexpr std::size_t kBufferSize = 2048;
  // A string value up to this long that needs no escape goes into the buffer in one piece.
  static constexpr std::size_t kMaxShortString = 160;
  // What one call may put into the buffer at once: what goes before the value (a member name,
  // copied in whole 16-byte chunks, which its padding makes readable) and the value (a short
  // string in quotes, or a number of at most 32 characters).
  static constexpr std::size_t kMaxPiece = JsonKey::kMaxSize + JsonKey::kPadding + kMaxShortString + 2;

  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  // true, false or null: `size` bytes of `padded`, which has 8 readable bytes (one move).
  JsonWriter& literal(const char* padded, std::size_t size);
  // Where the next piece goes, with room for kMaxPiece bytes.
  char* room() {
    if (kBufferSize - used_ < kMaxPiece) flush();
    return buf_ + used_;
  }
  void commit(char* end) { used_ = static_cast<std::size_t>(end - buf_); }
  void flush() {
    out_.append(buf_, used_);
    used_ = 0;
  }
  void write_pending_key();
  // Puts what goes before a value at `p` (the pending member name, or the comma due) and
  // returns the end.
  char* put_before_value(char* p);
  // What goes before a value, then `s` in quotes (escaped where it must be).
  void put_string(std::string_view s);
  // A value (scalar or closed container) was written: the next element needs a comma, unless
  // it was a top-level value, which gets no separator and is now complete.
  void written() {
    comma_due_ = depth_ > 0;
    if (depth_ == 0) flush();
  }

  std::string& out_;
  // Whether a container's next element needs a comma depends only on whether the last thing
  // written was a value, so no per-container stack is kept.
  std::size_t depth_ = 0;
  bool comma_due_ = false;
  std::string_view pending_key_;  // a JsonKey's text, comma included if one was due
  std::size_t used_ = 0;
  char buf_[kBufferSize];
};

}  // namespace lb::model
