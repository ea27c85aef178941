#include "model/json_writer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

using lb::model::JsonKey;
using lb::model::JsonWriter;
using namespace lb::model::json_literals;

namespace {

std::string escaped(std::string_view s) {
  std::string out;
  JsonWriter::escape(out, s);
  return out;
}

// One byte at a time, the obvious way: what the word-at-a-time scan must agree with.
std::string escaped_slowly(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string number(double d) {
  std::string out;
  JsonWriter(out).value(d);
  return out;
}

}  // namespace

TEST_CASE("strings are escaped exactly as JSON.stringify does", "[model][json_writer]") {
  // Expected values are JSON.stringify's output (node 20).
  CHECK(escaped("") == R"("")");
  CHECK(escaped("plain text") == R"("plain text")");
  CHECK(escaped("quote \" backslash \\") == R"("quote \" backslash \\")");
  CHECK(escaped("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(escaped(std::string_view("\0", 1)) == R"("\u0000")");
  CHECK(escaped("\x01\x07\x0b\x0e\x1f") == R"("\u0001\u0007\u000b\u000e\u001f")");
  CHECK(escaped("\x1a") == R"("\u001a")");                // lower-case hex
  CHECK(escaped("\x7f") == "\"\x7f\"");                   // DEL is not a control character for JSON
  CHECK(escaped("a/b</script>") == R"("a/b</script>")");  // '/' stays
  CHECK(escaped("Mette Sørensen — 💡 ü") == "\"Mette Sørensen — 💡 ü\"");  // UTF-8 raw
  CHECK(escaped("\xe2\x80\xa8") == "\"\xe2\x80\xa8\"");  // U+2028 raw, as JSON.stringify does
  CHECK(escaped("end\n") == R"("end\n")");
  CHECK(escaped("\"") == R"("\"")");
}

TEST_CASE("every byte value at every position of a word is escaped as byte by byte", "[model][json_writer]") {
  // The escaper skips eight or sixteen bytes at a time, the last chunk overlapping the one
  // before; each byte value is tried at each offset of such chunks, among neighbours that need
  // no escape and neighbours that are close to ones that do.
  for (const char filler : {'a', '!', '#', '[', ']', '\x7f', '\x80', '\xff', '\x21', '\x1f'}) {
    for (int b = 0; b < 256; ++b) {
      for (size_t len : {1u, 7u, 8u, 9u, 12u, 15u, 16u, 17u, 23u, 31u, 32u, 33u}) {
        for (size_t at = 0; at < len; ++at) {
          std::string s(len, filler);
          s[at] = static_cast<char>(b);
          INFO("byte " << b << " at " << at << " of " << len << ", filler " << int(static_cast<unsigned char>(filler)));
          REQUIRE(escaped(s) == escaped_slowly(s));
        }
      }
    }
  }
}

TEST_CASE("numbers print like JSON.stringify", "[model][json_writer]") {
  CHECK(number(0.2) == "0.2");
  CHECK(number(1.0) == "1");
  CHECK(number(-1.0) == "-1");
  CHECK(number(0.0) == "0");
  CHECK(number(-0.0) == "0");
  CHECK(number(0.1 + 0.2) == "0.30000000000000004");
  CHECK(number(100.5) == "100.5");
  CHECK(number(1e21) == "1e+21");
  CHECK(number(1e20) == "100000000000000000000");
  CHECK(number(123456789012345680000.0) == "123456789012345680000");
  CHECK(number(1.5e-7) == "1.5e-7");
  CHECK(number(1e-7) == "1e-7");
  CHECK(number(1e-6) == "0.000001");
  CHECK(number(0.000123) == "0.000123");
  CHECK(number(-2.5e-10) == "-2.5e-10");
  CHECK(number(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(number(5e-324) == "5e-324");
  CHECK(number(25.0) == "25");
  CHECK(number(12345.678) == "12345.678");
  CHECK(number(std::nan("")) == "null");
  CHECK(number(std::numeric_limits<double>::infinity()) == "null");
  CHECK(number(-std::numeric_limits<double>::infinity()) == "null");

  std::string out;
  JsonWriter w(out);
  w.begin_array()
      .value(int64_t{-9223372036854775807 - 1})
      .value(std::numeric_limits<uint64_t>::max())
      .value(42)
      .value(7u)
      .value(short{-3})
      .value(12LL)
      .value(true)
      .value(false)
      .null()
      .end_array();
  CHECK(out == "[-9223372036854775808,18446744073709551615,42,7,-3,12,true,false,null]");
}

TEST_CASE("containers nest with commas in the right places", "[model][json_writer]") {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value("59540ed2");
  w.key("empty_object").begin_object().end_object();
  w.key("empty_array").begin_array().end_array();
  w.key("lines").begin_array();
  w.begin_object().key("account").value("6800").key("amount").value(int64_t{6366}).end_object();
  w.begin_object()
      .key("account")
      .null()
      .key("tags")
      .begin_array()
      .value("a")
      .value("b")
      .end_array()
      .end_object();
  w.begin_array().begin_array().end_array().value(1).end_array();
  w.end_array();
  w.key("rate").value(0.25);
  w.key("raw").raw(R"({"pre":"rendered"})");
  w.key("std::string").value(std::string("s"));
  w.key("quote\"key").value("v");
  w.end_object();
  CHECK(
      out ==
      R"({"id":"59540ed2","empty_object":{},"empty_array":[],"lines":[{"account":"6800","amount":6366},)"
      R"({"account":null,"tags":["a","b"]},[[],1]],"rate":0.25,"raw":{"pre":"rendered"},"std::string":"s",)"
      R"("quote\"key":"v"})");
}

TEST_CASE("a writer appends to what the string already holds", "[model][json_writer]") {
  std::string out = "prefix ";
  JsonWriter w(out);
  w.value("x");
  CHECK(out == "prefix \"x\"");
  std::string lines;
  for (int i = 0; i < 2; ++i) {
    JsonWriter line(lines);
    line.begin_object().key("i").value(i).end_object();
    lines += '\n';
  }
  CHECK(lines == "{\"i\":0}\n{\"i\":1}\n");
}

namespace {

// Members named `name` in every position a member can have (first and later, one level down)
// and with every kind of value: a _key name is written together with its value.
template <typename Name>
std::string members_named(Name name) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key(name).value(1).key(name).begin_array().end_array();
  w.key(name).begin_object().key(name).null().key(name).value("v").end_object();
  w.key(name).begin_array().begin_object().key(name).value(true).end_object().end_array();
  w.key(name).value(false).key(name).value(uint64_t{18446744073709551615u}).key(name).value(-2.5);
  w.key(name).value(std::nan("")).key(name).raw(R"({"pre":1})").key(name).value("tab\there");
  w.key(name).value(std::string(300, 'x')).key(name).value(std::string(158, 'y'));
  w.key(name).begin_object().key(name).value(std::string(159, 'z')).end_object();
  w.end_object();
  return out;
}

}  // namespace

TEST_CASE("a _key literal writes exactly what key() writes for the same name", "[model][json_writer]") {
  // The literal's text is rendered at compile time without escaping: only names that need none
  // compile, and for those both paths must agree byte for byte.
  CHECK(members_named("accountingEntryId"_key) == members_named(std::string_view("accountingEntryId")));
  CHECK(members_named("a"_key) == members_named(std::string_view("a")));
  CHECK(members_named("_links"_key) == members_named(std::string_view("_links")));
  CHECK(members_named("with space/slash"_key) == members_named(std::string_view("with space/slash")));
  CHECK(members_named("Sørensen 💡"_key) == members_named(std::string_view("Sørensen 💡")));
  CHECK(members_named(""_key) == members_named(std::string_view("")));
  CHECK(members_named("id"_key).starts_with(R"({"id":1,"id":[],"id":{"id":null,"id":"v"},"id":[{"id":true}],)"
                                            R"("id":false,"id":18446744073709551615,"id":-2.5,"id":null,)"
                                            R"("id":{"pre":1},"id":"tab\there","id":"xxx)"));
}

TEST_CASE("commas stay right however deep containers nest", "[model][json_writer]") {
  // The writer keeps no stack of open containers: whether a comma is due depends only on what
  // was written last.
  std::string out;
  JsonWriter w(out);
  std::string expected;
  for (int depth = 0; depth < 200; ++depth) {
    w.begin_array().value(depth).begin_object().key("k"_key).value(depth).end_object();
    w.begin_array().end_array();
    expected += "[" + std::to_string(depth) + ",{\"k\":" + std::to_string(depth) + "},[],";
  }
  w.value("innermost");
  expected += "\"innermost\"";
  for (int depth = 0; depth < 200; ++depth) {
    w.end_array();
    expected += "]";
  }
  CHECK(out == expected);
}

TEST_CASE("top-level values get no separator", "[model][json_writer]") {
  std::string out;
  JsonWriter w(out);
  w.value(1).value("two").begin_array().value(3).value(std::nan("")).value(2.5).end_array();
  w.null().begin_object().end_object();
  CHECK(out == R"(1"two"[3,null,2.5]null{})");
}

TEST_CASE("string values of every length are written whole, with their commas", "[model][json_writer]") {
  // Short values are written in one append, longer ones piece by piece: both, around the limit.
  for (size_t len = 0; len <= 100; ++len) {
    for (const char* fill : {"a", "\"", "\xc3\xb8"}) {
      std::string s;
      while (s.size() < len) s += fill;
      INFO("length " << s.size() << " of " << fill);
      std::string out;
      JsonWriter w(out);
      w.begin_array().value(s).value(s).end_array();
      CHECK(out == "[" + escaped_slowly(s) + "," + escaped_slowly(s) + "]");
    }
  }
}

// The writer gathers its output and appends it in large pieces (json_writer.hpp): wherever a
// piece ends, the document must come out whole. Values of every kind and length are written
// after a first string whose length moves the piece boundaries through every position.
TEST_CASE("a document larger than the writer's buffer comes out whole", "[model][json_writer]") {
  for (size_t shift = 0; shift < 300; shift += 7) {
    std::string out = "> ";
    std::string expected = "> {\"shift\":" + escaped_slowly(std::string(shift, 's'));
    {
      JsonWriter w(out);
      w.begin_object().key("shift"_key).value(std::string(shift, 's'));
      w.key("rows"_key).begin_array();
      expected += ",\"rows\":[";
      for (int i = 0; i < 60; ++i) {
        const std::string text(static_cast<size_t>(i * 5), i % 3 == 0 ? '"' : 'x');
        const std::string dynamic_key = "k" + std::to_string(i) + (i % 4 == 0 ? "\n" : "");
        w.begin_object()
            .key("accountingEntryLineId"_key)
            .value(text)
            .key(dynamic_key)
            .value(int64_t{-1} * i)
            .key("rate"_key)
            .value(i / 8.0)
            .key("ok"_key)
            .value(i % 2 == 0)
            .key("none"_key)
            .null()
            .key("raw"_key)
            .raw(i % 5 == 0 ? "[" + std::string(200, '1') + "]" : "{}")
            .end_object();
        if (i > 0) expected += ",";
        std::string rate = number(i / 8.0);
        expected += "{\"accountingEntryLineId\":" + escaped_slowly(text) + "," + escaped_slowly(dynamic_key) +
                    ":" + std::to_string(-i) + ",\"rate\":" + rate + ",\"ok\":" + (i % 2 == 0 ? "true" : "false") +
                    ",\"none\":null,\"raw\":" + (i % 5 == 0 ? "[" + std::string(200, '1') + "]" : "{}") + "}";
      }
      w.end_array().end_object();
      expected += "]}";
    }
    INFO("first string of " << shift << " bytes");
    REQUIRE(out == expected);
  }
}

TEST_CASE("out holds each top-level value once it is complete, while the writer lives", "[model][json_writer]") {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("a"_key).value("b");
  w.end_object();
  CHECK(out == R"({"a":"b"})");
  w.value(int64_t{7});
  CHECK(out == R"({"a":"b"}7)");
}
