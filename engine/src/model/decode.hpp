#pragma once
// Decoding of v3 JSON into model types with simdjson (see ../shared/bench/REPORT.md §4.2: the
// DOM plus key look-ups beat both ondemand and nlohmann here). Every error names the JSON path
// and, once known, the accountingEntryId:
//   item 59540ed2-…: accountingEntryLines[1].lineAmount.inWalletCurrency.currency: expected ISO 4217 code, got 12
#include <simdjson.h>

#include <string>
#include <variant>

#include "model/export_item.hpp"

namespace lb::model {

struct DecodeError {
  std::string accountingEntryId;  // empty when the item has none (or it is not a string)
  std::string path;               // JSON path inside the item; empty for whole-document errors
  std::string message;
  std::string where;              // input position, e.g. "items.jsonl:12" or "page.json:1 data[3]"

  // "item <id>: <path>: <message>", prefixed by where when set.
  std::string to_string() const;
};

template <typename T>
using Decoded = std::variant<T, DecodeError>;

Decoded<ExportItem> decode_export_item(simdjson::dom::element json);
// The hot-path form: decodes into `out`, reusing the capacity of its strings and vectors, so a
// reader that decodes every item into the same object allocates next to nothing per item. On
// failure fills `error` (where left empty) and returns false; `out` is then partly overwritten.
bool decode_export_item(simdjson::dom::element json, ExportItem& out, DecodeError& error);
Decoded<ExportJob> decode_export_job(simdjson::dom::element json);
Decoded<ExportJobItem> decode_export_job_item(simdjson::dom::element json);

// Convenience for tests and small inputs: parses text then decodes.
Decoded<ExportItem> decode_export_item(std::string_view json_text);

}  // namespace lb::model
