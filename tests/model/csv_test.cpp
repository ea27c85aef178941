#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "model/csv.hpp"

using lb::model::CsvTable;
using lb::model::parse_csv;
using lb::model::read_csv;
using Rows = std::vector<std::vector<std::string>>;
using Lines = std::vector<std::size_t>;

namespace {

const std::string kData = LB_TEST_DATA_DIR;

CsvTable parsed(std::string_view text) {
  auto table = parse_csv(text, "t.csv");
  INFO(text);
  REQUIRE(table.ok());
  return std::move(table).value();
}

std::string parse_error(std::string_view text) {
  auto table = parse_csv(text, "t.csv");
  INFO(text);
  REQUIRE_FALSE(table.ok());
  return table.error().message;
}

}  // namespace

TEST_CASE("csv: header and rows", "[model][csv]") {
  const CsvTable t = parsed("code,name\n6010,Travel\n6020,Meals\n");
  CHECK(t.source == "t.csv");
  CHECK(t.header == std::vector<std::string>{"code", "name"});
  CHECK(t.header_line == 1);
  CHECK(t.rows == Rows{{"6010", "Travel"}, {"6020", "Meals"}});
  CHECK(t.row_lines == Lines{2, 3});
  CHECK(t.column("name") == 1u);
  CHECK_FALSE(t.column("Name").has_value());
}

TEST_CASE("csv: a header alone is a table without rows", "[model][csv]") {
  const CsvTable t = parsed("code,name");
  CHECK(t.header == std::vector<std::string>{"code", "name"});
  CHECK(t.rows.empty());
}

TEST_CASE("csv: RFC 4180 quoting", "[model][csv]") {
  SECTION("delimiters and doubled quotes inside quotes") {
    const CsvTable t = parsed("a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"\"\"\"\n");
    CHECK(t.rows == Rows{{"x,y", "say \"hi\"", "\""}});
  }
  SECTION("empty fields, quoted or not, and a trailing empty field") {
    const CsvTable t = parsed("a,b,c\n,\"\",\nx,,\n");
    CHECK(t.rows == Rows{{"", "", ""}, {"x", "", ""}});
  }
  SECTION("a line break inside quotes stays in the field; later rows keep true line numbers") {
    const CsvTable t = parsed("a,b\n1,\"two\nlines\"\n2,\"three\r\nlines\r\nhere\"\n3,x\n");
    CHECK(t.rows == Rows{{"1", "two\nlines"}, {"2", "three\r\nlines\r\nhere"}, {"3", "x"}});
    CHECK(t.row_lines == Lines{2, 4, 7});
  }
  SECTION("a multi-line field that is not the first field of its row") {
    const CsvTable t = parsed("a,b,c\nx,\"1\n2\",\"3\n4\"\ny,z,w\n");
    CHECK(t.row_lines == Lines{2, 5});
  }
  SECTION("spaces around an unquoted field are trimmed, inside quotes they are kept") {
    const CsvTable t = parsed("a,b,c\n  x  ,\" y \",  \"z\"  \n");
    CHECK(t.rows == Rows{{"x", " y ", "z"}});
  }
  SECTION("non-ASCII text passes through unchanged") {
    const CsvTable t = parsed("name\n\"Café Øst, København\"\n");
    CHECK(t.rows == Rows{{"Café Øst, København"}});
  }
}

TEST_CASE("csv: line ends, byte-order mark and blank lines", "[model][csv]") {
  SECTION("CRLF") {
    const CsvTable t = parsed("a,b\r\n1,2\r\n3,4\r\n");
    CHECK(t.rows == Rows{{"1", "2"}, {"3", "4"}});
    CHECK(t.row_lines == Lines{2, 3});
  }
  SECTION("lone CR") {
    const CsvTable t = parsed("a,b\r1,2\r3,4");
    CHECK(t.rows == Rows{{"1", "2"}, {"3", "4"}});
    CHECK(t.row_lines == Lines{2, 3});
  }
  SECTION("no line end after the last row") {
    const CsvTable t = parsed("a,b\n1,\"2\"");
    CHECK(t.rows == Rows{{"1", "2"}});
  }
  SECTION("UTF-8 byte-order mark before the header") {
    const CsvTable t = parsed(
        "\xEF\xBB\xBF"
        "code,name\r\nV1,Acme\r\n");
    CHECK(t.header == std::vector<std::string>{"code", "name"});
    CHECK(t.rows == Rows{{"V1", "Acme"}});
  }
  SECTION("blank lines at the end, with spaces or CRLF, are ignored") {
    const CsvTable t = parsed("a,b\n1,2\n\n   \r\n\r\n\n");
    CHECK(t.rows == Rows{{"1", "2"}});
  }
  SECTION("blank lines before the header and between rows are skipped, lines still count") {
    const CsvTable t = parsed("\n\na,b\n1,2\n\r\n\n3,4\n");
    CHECK(t.header_line == 3);
    CHECK(t.rows == Rows{{"1", "2"}, {"3", "4"}});
    CHECK(t.row_lines == Lines{4, 7});
  }
  SECTION("header names are trimmed, quoted or not") {
    const CsvTable t = parsed(" code ,\" name \"\t\nV1,Acme\n");
    CHECK(t.header == std::vector<std::string>{"code", "name"});
  }
}

TEST_CASE("csv: errors name the source and line", "[model][csv]") {
  CHECK(parse_error("a,b\n1,2\n3\n") == "t.csv:3: expected 2 fields, got 1");
  CHECK(parse_error("a,b\n1,2,3\n") == "t.csv:2: expected 2 fields, got 3");
  CHECK(parse_error("a,b\n1,\"x\ny\"\n1,2,3\n") == "t.csv:4: expected 2 fields, got 3");
  CHECK(parse_error("a,b\r\n\r\n1,2\r\n\r\n3,4,5\r\n") == "t.csv:5: expected 2 fields, got 3");
  CHECK(parse_error("code,name,code\n") ==
        "t.csv:1: duplicate column name \"code\" (columns 1 and 3)");
  CHECK(parse_error("code, name ,\"name\"\n") ==
        "t.csv:1: duplicate column name \"name\" (columns 2 and 3)");
  CHECK(parse_error("code,,name\n") == "t.csv:1: column 2 has no name");
  CHECK(parse_error("code,name,\n") == "t.csv:1: column 3 has no name");
  CHECK(parse_error("") == "t.csv:1: no header row (the file is empty)");
  CHECK(parse_error("\xEF\xBB\xBF\r\n\n") == "t.csv:1: no header row (the file is empty)");
}

TEST_CASE("csv: malformed quoting is an error at its line", "[model][csv]") {
  CHECK(parse_error("a,b\n1,2\nab\"c,d\n") ==
        "t.csv:3: stray '\"' in an unquoted field (quote the field and write the quote as \"\")");
  CHECK(parse_error("a,b\n\"x\"y,2\n") ==
        "t.csv:2: unexpected 'y' after a closing quote (a quote inside a quoted field is \"\")");
  CHECK(parse_error("a,b\n\"x\" \"y\",2\n") ==
        "t.csv:2: unexpected '\"' after a closing quote (a quote inside a quoted field is \"\")");
  CHECK(parse_error("a,b\n1,\"multi\nline\"x\n") ==
        "t.csv:3: unexpected 'x' after a closing quote (a quote inside a quoted field is \"\")");
  CHECK(parse_error("a,b\r\n1,2\r\n3,\"open\r\nstill open\r\n") ==
        "t.csv:3: quoted field is not closed before the end of the file");
}

TEST_CASE("csv: read_csv reads a file and names it in errors", "[model][csv]") {
  const std::string path = kData + "/directory/csv/vendors.csv";
  auto t = read_csv(path);
  REQUIRE(t.ok());
  CHECK(t->source == path);
  CHECK(t->header.front() == "code");  // the file starts with a byte-order mark

  auto missing = read_csv(kData + "/directory/no-such.csv");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message ==
        "cannot read " + kData + "/directory/no-such.csv: No such file or directory");

  auto folder = read_csv(kData + "/directory");
  REQUIRE_FALSE(folder.ok());
  CHECK(folder.error().message == "cannot read " + kData + "/directory: is a folder");
}
