#include "model/csv.hpp"

#include <csv.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace lb::model {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Counted the way libcsv ends rows (LF, CRLF or a lone CR), so that line numbers in errors
// match what an editor shows for the same bytes.
std::size_t count_line_ends(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n'))) ++n;
  }
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// libcsv reports fields and row ends but no positions. With CSV_REPALL_NL it reports every
// line end outside quotes as a row end (a blank line is a row end with no fields, and the LF
// of a CRLF is a second, empty one), and line ends inside quoted fields are in the field text,
// so counting both gives the line each record starts on.
struct Collector {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> records;
  std::vector<std::size_t> record_lines;
  std::size_t line = 1;
  std::size_t record_line = 1;
  bool after_cr = false;
};

void on_field(void* data, std::size_t len, void* user) {
  auto& c = *static_cast<Collector*>(user);
  if (c.fields.empty()) c.record_line = c.line;
  std::string_view text = len ? std::string_view(static_cast<const char*>(data), len) : "";
  c.fields.emplace_back(text);
  c.line += count_line_ends(text);
  c.after_cr = false;
}

void on_row_end(int ch, void* user) {
  auto& c = *static_cast<Collector*>(user);
  if (c.fields.empty()) {
    if (ch == '\n' && c.after_cr) {
      c.after_cr = false;
      return;
    }
  } else {
    c.records.push_back(std::move(c.fields));
    c.record_lines.push_back(c.record_line);
    c.fields.clear();
  }
  if (ch == '\r' || ch == '\n') ++c.line;
  c.after_cr = ch == '\r';
}

std::string at(const std::string& source, std::size_t line) {
  return source + ":" + std::to_string(line) + ": ";
}

// libcsv's strict mode says only "error parsing data"; say which quoting rule was broken.
std::string describe_quote_error(std::string_view text, std::size_t offset) {
  std::size_t before = offset;
  while (before > 0 && (text[before - 1] == ' ' || text[before - 1] == '\t')) --before;
  const bool after_closing_quote = before > 0 && text[before - 1] == '"';
  const char ch = text[offset];
  if (ch == '"' && !after_closing_quote) {
    return "stray '\"' in an unquoted field (quote the field and write the quote as \"\")";
  }
  std::string what = (ch >= 0x20 && ch < 0x7f) ? "'" + std::string(1, ch) + "'" : "character";
  return "unexpected " + what + " after a closing quote (a quote inside a quoted field is \"\")";
}

}  // namespace

std::optional<std::size_t> CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return std::nullopt;
}

Result<CsvTable> parse_csv(std::string_view text, std::string source_name) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());

  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
    return Error{source_name + ": out of memory"};
  }
  struct Release {
    csv_parser* p;
    ~Release() { csv_free(p); }
  } release{&parser};

  Collector c;
  const std::size_t parsed = csv_parse(&parser, text.data(), text.size(), on_field, on_row_end, &c);
  if (parsed != text.size()) {
    const int code = csv_error(&parser);
    if (code != CSV_EPARSE) return Error{source_name + ": " + csv_strerror(code)};
    const std::size_t line = 1 + count_line_ends(text.substr(0, parsed));
    return Error{at(source_name, line) + describe_quote_error(text, parsed)};
  }
  if (csv_fini(&parser, on_field, on_row_end, &c) != 0) {
    // The only failure csv_fini reports; c.line is where that field's opening quote is.
    return Error{at(source_name, c.line) + "quoted field is not closed before the end of the file"};
  }

  if (c.records.empty()) return Error{at(source_name, 1) + "no header row (the file is empty)"};

  CsvTable table;
  table.source = std::move(source_name);
  table.header_line = c.record_lines.front();
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < c.records.front().size(); ++i) {
    std::string name(trim(c.records.front()[i]));
    if (name.empty()) {
      return Error{at(table.source, table.header_line) + "column " + std::to_string(i + 1) +
                   " has no name"};
    }
    auto [it, fresh] = seen.emplace(name, i);
    if (!fresh) {
      return Error{at(table.source, table.header_line) + "duplicate column name \"" + name +
                   "\" (columns " + std::to_string(it->second + 1) + " and " +
                   std::to_string(i + 1) + ")"};
    }
    table.header.push_back(std::move(name));
  }

  table.rows.reserve(c.records.size() - 1);
  table.row_lines.reserve(c.records.size() - 1);
  for (std::size_t r = 1; r < c.records.size(); ++r) {
    if (c.records[r].size() != table.header.size()) {
      return Error{at(table.source, c.record_lines[r]) + "expected " +
                   std::to_string(table.header.size()) + " fields, got " +
                   std::to_string(c.records[r].size())};
    }
    table.rows.push_back(std::move(c.records[r]));
    table.row_lines.push_back(c.record_lines[r]);
  }
  return table;
}

Result<CsvTable> read_csv(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Error{"cannot read " + path + ": is a folder"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  return parse_csv(content.str(), path);
}

}  // namespace lb::model
