#include "model/item_reader.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace lb::model {

// Two ways through the input, switched per document:
//  - line mode (JSON lines, the bulk case): find the next newline with memchr and parse the line
//    in place. No byte is looked at twice beyond simdjson's own pass.
//  - scan mode, entered when a line does not parse on its own: find where the document ends by
//    counting brackets outside strings, reading on as needed, then parse that range in place.
//    This is how pretty-printed documents (API pages, a single item) are read. After a document
//    that fits on one line, the reader goes back to line mode.
// Both parse straight out of the read buffer, which always has SIMDJSON_PADDING bytes after its
// end, so no line or document is copied.
struct ItemReader::Impl {
  Impl(std::istream& input, std::string name, std::size_t chunk)
      : in(input), source(std::move(name)), cap(std::max<std::size_t>(chunk, 1)) {
    buf.resize(cap + simdjson::SIMDJSON_PADDING);
  }

  std::istream& in;
  std::string source;
  std::string io_error;
  simdjson::dom::parser parser;

  std::vector<char> buf;  // cap bytes of data plus padding
  std::size_t cap;
  std::size_t pos = 0;  // unread bytes are [pos, end)
  std::size_t end = 0;
  bool eof = false;
  bool failed = false;   // input ended by a read error: a partial last document is not reported
  bool started = false;  // the byte-order-mark check has been done
  std::size_t line = 1;  // line number of buf[pos]
  bool scan_mode = false;

  // The document being handed out element by element (an array or a page's data array). Its
  // DOM lives in `parser` until the next parse, which happens only after the last element.
  bool in_array = false;
  bool is_page = false;
  simdjson::dom::array::iterator it;
  simdjson::dom::array::iterator it_end;
  std::size_t elem_index = 0;

  std::size_t doc_line = 0;  // line where the current document starts
  std::size_t next_index = 0;

  // Moves unread bytes to the front and reads more. Offsets relative to `pos` stay valid;
  // absolute offsets do not. False when nothing more can be read.
  bool fill() {
    if (eof) return false;
    if (pos > 0) {
      std::memmove(buf.data(), buf.data() + pos, end - pos);
      end -= pos;
      pos = 0;
    }
    if (end == cap) {  // one document larger than the buffer: make room for it
      cap *= 2;
      buf.resize(cap + simdjson::SIMDJSON_PADDING);
    }
    // A read that fails half-way loses the bytes it had copied (std::istream::read does not
    // count them). So take what the stream has buffered, and when nothing is, block for one
    // byte (the refill that may fail) before taking the rest of the refilled buffer: bytes the
    // stream delivered are never lost to a later failure. Unbuffered streams (std::cin in sync
    // with stdio) report nothing buffered ever; they get one big read.
    char* dst = buf.data() + end;
    auto want = std::streamsize(cap - end);
    std::streamsize n = in.readsome(dst, want);
    if (n == 0 && in.good()) {
      in.read(dst, 1);
      n = in.gcount();
      if (n == 1 && want > 1) {
        std::streamsize more = in.readsome(dst + 1, want - 1);
        if (more == 0 && in.good()) {
          in.read(dst + 1, want - 1);
          more = in.gcount();
        }
        n += more;
      }
    }
    end += std::size_t(n);
    if (in.bad()) {
      io_error = source + ": read error";
      failed = true;
      eof = true;
    } else if (!in.good()) {
      eof = true;  // eofbit (with failbit after a short read)
    }
    return n > 0;
  }

  // Ensures the byte at pos + off is in the buffer; false at the end of input.
  bool have(std::size_t off) {
    while (pos + off >= end)
      if (!fill()) return false;
    return true;
  }

  static bool blank(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
    return true;
  }

  // The next line as [pos, pos + len); `newline` says whether a '\n' follows it.
  bool peek_line(std::size_t& len, bool& newline) {
    std::size_t searched = 0;
    for (;;) {
      const char* from = buf.data() + pos + searched;
      if (auto* nl = static_cast<const char*>(std::memchr(from, '\n', end - pos - searched))) {
        len = std::size_t(nl - (buf.data() + pos));
        newline = true;
        return true;
      }
      searched = end - pos;
      if (!fill()) {
        len = end - pos;
        newline = false;
        return len > 0 && !failed;
      }
    }
  }

  // Parses [pos, pos + len) in place.
  simdjson::error_code parse_at(std::size_t len, simdjson::dom::element& root) {
    return parser.parse(reinterpret_cast<const uint8_t*>(buf.data() + pos), len, false).get(root);
  }

  // The next document, parsed. False at the end of input.
  bool next_document(simdjson::dom::element& root, simdjson::error_code& err) {
    if (!started) {
      started = true;
      if (have(2) && std::memcmp(buf.data() + pos, "\xEF\xBB\xBF", 3) == 0) pos += 3;  // UTF-8 BOM
    }
    while (!scan_mode) {
      std::size_t len = 0;
      bool newline = false;
      if (!peek_line(len, newline)) return false;
      const char* p = buf.data() + pos;
      if (len == 0 || ((*p != '{' && *p != '[') && blank(p, len))) {
        pos += len + (newline ? 1 : 0);
        ++line;
        continue;
      }
      err = parse_at(len, root);
      if (err == simdjson::SUCCESS) {
        doc_line = line;
        pos += len + (newline ? 1 : 0);
        ++line;
        return true;
      }
      scan_mode = true;  // perhaps the first line of a pretty-printed document
    }
    return scan_document(root, err);
  }

  bool scan_document(simdjson::dom::element& root, simdjson::error_code& err) {
    // Skip whitespace between documents.
    for (;;) {
      if (!have(0)) return false;
      char c = buf[pos];
      if (c == '\n') {
        ++line;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        break;
      }
      ++pos;
    }
    doc_line = line;

    char first = buf[pos];
    if (first != '{' && first != '[') {
      // Not a container: whatever it is ends with its line (the item decoder names it).
      std::size_t len = 0;
      bool newline = false;
      if (!peek_line(len, newline)) return false;  // lost with a read error
      err = parse_at(len, root);
      pos += len + (newline ? 1 : 0);
      ++line;
      scan_mode = false;
      return true;
    }

    std::vector<char>& open = stack_;  // the open containers, '{' or '['
    open.clear();
    bool in_string = false;
    bool escaped = false;
    bool line_start = false;
    char last = 0;  // the last structural or value character outside strings
    std::size_t newlines = 0;
    for (std::size_t off = 0;; ++off) {
      if (!have(off)) {
        if (failed) return false;  // the rest of it was lost with the read error
        // Input ends inside the document: parsing what there is reports the error.
        err = parse_at(end - pos, root);
        if (err == simdjson::SUCCESS) err = simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
        line += newlines;
        pos = end;
        return true;
      }
      char c = buf[pos + off];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
          last = '"';
        } else if (c == '\n') {
          // JSON strings cannot hold a raw newline: the document broke off on this line.
          return broken(off, newlines, 1, root, err);
        }
        continue;
      }
      if (line_start && (c == '{' || c == '[') &&
          !(last == '[' || last == ':' || (last == ',' && open.back() == '['))) {
        // A container opening in column 0 where no value can go: a new top-level document
        // (the next JSON line), so the current one is broken. Stop before the newline, so one
        // truncated line cannot swallow the lines after it.
        return broken(off - 1, newlines - 1, 1, root, err);
      }
      line_start = false;
      switch (c) {
        case '{':
        case '[':
          open.push_back(c);
          last = c;
          break;
        case '}':
        case ']':
          open.pop_back();
          last = c;
          if (open.empty()) {
            err = parse_at(off + 1, root);
            pos += off + 1;
            line += newlines;
            if (newlines == 0) scan_mode = false;  // a one-line document: JSON lines again
            return true;
          }
          break;
        case '"':
          in_string = true;
          break;
        case '\n':
          ++newlines;
          line_start = true;
          break;
        case ' ':
        case '\t':
        case '\r':
          break;
        default:
          last = c;
      }
    }
  }

  // A document that cannot be complete: it is [pos, pos + len) followed by `skip` bytes (the
  // newline) that are consumed with it; `newlines` is the count inside the document.
  bool broken(std::size_t len, std::size_t newlines, std::size_t skip, simdjson::dom::element& root,
              simdjson::error_code& err) {
    err = parse_at(len, root);
    if (err == simdjson::SUCCESS) err = simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    pos += len + skip;
    line += newlines + skip;
    return true;
  }

  std::string where() const { return source + ':' + std::to_string(doc_line); }

  void emit_item(simdjson::dom::element e, ReadItem& out, bool element_of_array, std::size_t i) {
    out.index = next_index++;
    if (!std::holds_alternative<ExportItem>(out.value)) out.value.emplace<ExportItem>();
    DecodeError error;
    if (decode_export_item(e, std::get<ExportItem>(out.value), error)) return;
    error.where = where();
    if (element_of_array) {
      error.where += is_page ? " data[" : " [";
      error.where += std::to_string(i);
      error.where += ']';
    }
    out.value = std::move(error);
  }

  bool next(ReadItem& out) {
    for (;;) {
      if (in_array) {
        if (it != it_end) {
          simdjson::dom::element e = *it;
          ++it;
          emit_item(e, out, true, elem_index++);
          return true;
        }
        in_array = false;
      }
      simdjson::dom::element root;
      simdjson::error_code err = simdjson::SUCCESS;
      if (!next_document(root, err)) return false;
      if (err != simdjson::SUCCESS) {
        DecodeError error;
        error.where = where();
        error.message = std::string("invalid JSON: ") + simdjson::error_message(err);
        out.index = next_index++;
        out.value = std::move(error);
        return true;
      }
      simdjson::dom::array items;
      simdjson::dom::object obj;
      simdjson::dom::element data;
      if (root.get_array().get(items) == simdjson::SUCCESS) {
        is_page = false;
      } else if (root.get_object().get(obj) == simdjson::SUCCESS &&
                 obj.at_key("data").get(data) == simdjson::SUCCESS &&
                 data.get_array().get(items) == simdjson::SUCCESS) {
        is_page = true;
      } else {
        emit_item(root, out, false, 0);  // an item, or a scalar the decoder rejects
        return true;
      }
      in_array = true;
      it = items.begin();
      it_end = items.end();
      elem_index = 0;
    }
  }

 private:
  std::vector<char> stack_;
};

ItemReader::ItemReader(std::istream& in, std::string source_name, std::size_t chunk_size)
    : impl_(std::make_unique<Impl>(in, std::move(source_name), chunk_size)) {}

ItemReader::~ItemReader() = default;

bool ItemReader::next(ReadItem& out) { return impl_->next(out); }

const std::string& ItemReader::io_error() const { return impl_->io_error; }

}  // namespace lb::model
