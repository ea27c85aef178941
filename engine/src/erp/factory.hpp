#pragma once
// Building a sink from configuration (CLI flags, the daemon's per-company config, the C ABI).
// Built in here: sqlite (erp/sqlite_erp) and jsonl (erp/jsonl_sink). Other kinds (http, or
// anything an embedding adds) register a factory; until one is registered, asking for the kind
// is an error naming it, e.g. "sink kind 'http' is not built in".
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
  // Anything else a kind needs (http: base_url, auth settings...), as text. Never log values:
  // they may be credentials (DESIGN §6).
  std::map<std::string, std::string> options{};
};

using SinkFactory = std::function<Result<std::unique_ptr<Sink>>(const SinkConfig&)>;

// Registers (or replaces) the factory for `kind`. Thread-safe; call before make_sink.
void register_sink_factory(const std::string& kind, SinkFactory factory);

Result<std::unique_ptr<Sink>> make_sink(const SinkConfig& config);

}  // namespace lb::erp
