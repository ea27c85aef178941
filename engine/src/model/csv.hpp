#pragma once
// CSV tables for human-edited inputs (ERP directory folders, rule-pack mapping tables), read
// with libcsv in strict mode: RFC 4180 quoting ("" inside a quoted field is one quote, quoted
// fields may span lines), LF, CRLF or CR line ends, a UTF-8 byte-order mark is dropped. Spaces
// around an unquoted field are trimmed (quote the field to keep them), and blank lines are
// skipped wherever they are, because spreadsheets append them. The first row is the header.
// Every error names the source and line: "vendors.csv:7: expected 3 fields, got 4".
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"

namespace lb::model {

struct CsvTable {
  std::string source;  // the name errors use (the path given to read_csv)
  std::vector<std::string> header;
  std::size_t header_line = 1;  // 1-based; later than 1 only after leading blank lines
  std::vector<std::vector<std::string>> rows;  // every row has header.size() fields
  std::vector<std::size_t> row_lines;          // 1-based source line where each row starts

  // Index of the column named `name` (exact match), or nullopt.
  std::optional<std::size_t> column(std::string_view name) const;
};

// Reads and parses a CSV file; `path` is also the source name in errors.
Result<CsvTable> read_csv(const std::string& path);

// Parses CSV text; `source_name` prefixes error positions.
Result<CsvTable> parse_csv(std::string_view text, std::string source_name);

}  // namespace lb::model
