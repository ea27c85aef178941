#include "erp/factory.hpp"

#include <fmt/format.h>

#include <mutex>

#include "erp/http_sink.hpp"
#include "erp/jsonl_sink.hpp"
#include "pleo/auth.hpp"

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
  if (config.kind == "sqlite" || config.kind == "jsonl" || config.kind == "http") {
    // §2.8: what the ERP takes (one file per document, types, size) is a setting of the sink.
    auto caps = capabilities_from(config.options, config.kind == "sqlite" ? config.sqlite.capabilities : Capabilities{});
    if (!caps) return Error{fmt::format("sink {}: {}", config.kind, caps.error().message)};
    if (config.kind == "sqlite") {
      if (config.path.empty()) return Error{"sink sqlite: no file given"};
      SqliteErpOptions options = config.sqlite;
      options.capabilities = *caps;
      auto erp = SqliteErp::open(config.path, options);
      if (!erp) return erp.error();
      return std::unique_ptr<Sink>(std::move(erp).value());
    }
    if (config.kind == "jsonl") {
      auto sink = JsonlSink::open({.path = config.path, .directory = config.directory, .capabilities = *caps});
      if (!sink) return sink.error();
      return std::unique_ptr<Sink>(std::move(sink).value());
    }
  }
  SinkFactory factory;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    if (auto it = r.factories.find(config.kind); it != r.factories.end()) factory = it->second;
  }
  if (factory) return factory(config);
  if (config.kind == "http") {
    // erp = { kind = "http", url = "...", directory = "...", authorization = "env:NAME", ... }
    HttpSinkOptions options;
    if (auto it = config.options.find("url"); it != config.options.end()) options.url = it->second;
    if (options.url.empty()) return Error{"sink http: 'url' is required (the ERP's documents endpoint)"};
    options.directory_file = config.directory;
    if (auto it = config.options.find("authorization"); it != config.options.end() && !it->second.empty()) {
      auto secret = pleo::resolve_secret(it->second);  // never logged (DESIGN §6)
      if (!secret) return Error{"sink http: authorization: " + secret.error().message};
      options.authorization = *secret;
    }
    options.capabilities = *capabilities_from(config.options);  // checked above
    auto sink = HttpSink::create(std::move(options));
    if (!sink) return sink.error();
    return std::unique_ptr<Sink>(std::move(sink).value());
  }
  return Error{fmt::format("unknown sink kind '{}' (expected sqlite, jsonl or http)", config.kind)};
}

}  // namespace lb::erp
