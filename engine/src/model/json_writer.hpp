#pragma once
// A small streaming writer for canonical JSON output: keys in the order written, no spaces,
// strings escaped as JSON.stringify does (\b \f \n \r \t \" \\, other controls as lower-case
// \u00xx, non-ASCII as raw UTF-8). It is used on the hot path (one outcome line per item),
// where building a DOM per item would cost more than the rules (bench REPORT §4.4, §5).
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace lb::model {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
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
  void separate();
  std::string& out_;
  std::vector<bool> first_;  // one entry per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace lb::model
