#pragma once
// Reads saved export items: a stream of JSON documents, each one of
//   - a single ExportItemV3 object,
//   - an array of them,
//   - a `GET /v3/export-items` page ({"data": [...], "pagination": {...}}).
// JSON-lines input (one document per line) is streamed in fixed-size chunks, so memory stays
// flat whatever the file size. A document spread over several lines (pretty-printed JSON) is
// read whole. A bad item is returned as a DecodeError and reading goes on with the next one;
// a malformed document is one DecodeError naming its line, and reading goes on with the next line.
#include <cstddef>
#include <istream>
#include <memory>
#include <string>
#include <variant>

#include "model/decode.hpp"

namespace lb::model {

struct ReadItem {
  std::size_t index = 0;  // 0-based position among all items (and errors) read so far
  std::variant<ExportItem, DecodeError> value;
};

class ItemReader {
 public:
  static constexpr std::size_t kDefaultChunkSize = std::size_t(1) << 20;

  // `source_name` is used in error positions ("items.jsonl:12"). Input is read `chunk_size`
  // bytes at a time; the buffer grows only to hold a single document longer than that.
  ItemReader(std::istream& in, std::string source_name,
             std::size_t chunk_size = kDefaultChunkSize);
  ~ItemReader();
  ItemReader(const ItemReader&) = delete;
  ItemReader& operator=(const ItemReader&) = delete;

  // Fills `out` with the next item or error; false at the end of input.
  bool next(ReadItem& out);

  // An unrecoverable read failure (I/O error), empty if none.
  const std::string& io_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::model
