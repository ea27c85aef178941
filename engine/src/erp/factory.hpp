#pragma once
// Building a sink from configuration (CLI flags, the daemon's per-company config, the C ABI).
// Built in here: sqlite (erp/sqlite_erp), jsonl (erp/jsonl_sink) and http (erp/http_sink: the
// settings url, authorization = a secret reference, directory). Every built-in kind reads the
// attachment capabilities from its settings (capabilities_from in erp/sink.hpp:
// single_attachment, max_attachment_bytes, attachment_types; §2.8). Other kinds (anything an
// embedding adds) register a factory; one registered for "http" replaces the built-in one.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "erp/sink.hpp"
#include "erp/sqlite_erp.hpp"

namespace lb::erp {

struct SinkConfig {
  std::string kind;            // sqlite | jsonl | http | a registered kind
  std::string path{};          // sqlite: the ERP file; jsonl: the JSON-lines file
  std::string directory{};     // jsonl: directory file or CSV folder for the rules
  SqliteErpOptions sqlite{};   // sqlite: create, url prefix, capabilities, injected faults
  // Anything else a kind needs (http: url, authorization; every kind: the attachment
  // capabilities), as text. Never log values:
  // they may be credentials (DESIGN §6).
  std::map<std::string, std::string> options{};
};

using SinkFactory = std::function<Result<std::unique_ptr<Sink>>(const SinkConfig&)>;

// Registers (or replaces) the factory for `kind`. Thread-safe; call before make_sink.
void register_sink_factory(const std::string& kind, SinkFactory factory);

Result<std::unique_ptr<Sink>> make_sink(const SinkConfig& config);

}  // namespace lb::erp
