#include "erp/factory.hpp"

#include <fmt/format.h>

#include <mutex>

#include "erp/jsonl_sink.hpp"

namespace lb::erp {

namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, SinkFactory> factories;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_sink_factory(const std::string& kind, SinkFactory factory) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.factories[kind] = std::move(factory);
}

Result<std::unique_ptr<Sink>> make_sink(const SinkConfig& config) {
  if (config.kind == "sqlite") {
    if (config.path.empty()) return Error{"sink sqlite: no file given"};
    auto erp = SqliteErp::open(config.path, config.sqlite);
    if (!erp) return erp.error();
    return std::unique_ptr<Sink>(std::move(erp).value());
  }
  if (config.kind == "jsonl") {
    auto sink = JsonlSink::open({.path = config.path, .directory = config.directory});
    if (!sink) return sink.error();
    return std::unique_ptr<Sink>(std::move(sink).value());
  }
  SinkFactory factory;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    if (auto it = r.factories.find(config.kind); it != r.factories.end()) factory = it->second;
  }
  if (factory) return factory(config);
  if (config.kind == "http") return Error{"sink kind 'http' is not built in (no HTTP sink registered)"};
  return Error{fmt::format("unknown sink kind '{}' (expected sqlite, jsonl or http)", config.kind)};
}

}  // namespace lb::erp
