// The public C++ API (engine/include/ledgerbridge/ledgerbridge.hpp) over the rules engine.
#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <ledgerbridge/ledgerbridge.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "api/host_directory.hpp"
#include "model/decode.hpp"
#include "model/directory.hpp"
#include "rules/evaluator.hpp"
#include "rules/pack.hpp"

namespace ledgerbridge {

const char* version() noexcept { return LB_VERSION; }

struct Engine::Impl {
  EngineOptions options;

  bool logs(LogLevel level) const { return options.log && level >= options.log_level; }
  // A throwing log callback must not turn a successful call into a failed one.
  void log(LogLevel level, const std::string& message) const {
    if (!logs(level)) return;
    try {
      options.log(level, message);
    } catch (...) {
    }
  }
};

struct RulePack::Impl {
  // One sandboxed Lua state with what evaluating needs next to it; used by one thread at a time.
  struct Slot {
    std::unique_ptr<lb::api::HostDirectory> host_directory;
    std::unique_ptr<lb::rules::Evaluator> evaluator;
    simdjson::dom::parser parser;
    lb::model::ExportItem item;
    lb::rules::Outcome outcome;
  };

  std::shared_ptr<const Engine::Impl> engine;
  std::shared_ptr<const lb::rules::Pack> pack;
  lb::model::MemoryDirectory file_directory;  // from directory_path, or empty
  std::shared_ptr<Directory> host;            // or the host's
  lb::rules::EvalOptions eval;

  std::mutex mutex;
  std::vector<std::unique_ptr<Slot>> idle;

  std::unique_ptr<Slot> make_slot() const {
    auto slot = std::make_unique<Slot>();
    lb::rules::EvalOptions options = eval;
    if (host) {
      slot->host_directory = std::make_unique<lb::api::HostDirectory>(host);
      options.directory = slot->host_directory.get();
    } else {
      options.directory = &file_directory;
    }
    auto evaluator = lb::rules::Evaluator::create(pack, std::move(options));
    if (!evaluator) throw Error(ErrorCode::bad_pack, evaluator.error().message);
    slot->evaluator = std::move(*evaluator);
    return slot;
  }

  std::unique_ptr<Slot> acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto slot = std::move(idle.back());
        idle.pop_back();
        return slot;
      }
    }
    // Built outside the lock: compiling a pack takes milliseconds, other threads go on.
    return make_slot();
  }

  void release(std::unique_ptr<Slot> slot) {
    std::lock_guard lock(mutex);
    idle.push_back(std::move(slot));
  }
};

RulePack::RulePack(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& RulePack::name() const { return impl_->pack->name(); }

Outcome RulePack::evaluate(std::string_view item_json, bool trace) const {
  Outcome out;
  evaluate(item_json, out, trace);
  return out;
}

void RulePack::evaluate(std::string_view item_json, Outcome& out, bool trace) const {
  Impl& impl = *impl_;
  // A slot that saw an exception is dropped, not returned: its state is unknown.
  auto slot = impl.acquire();
  simdjson::dom::element root;
  if (auto err = slot->parser.parse(item_json.data(), item_json.size(), true).get(root)) {
    impl.release(std::move(slot));
    throw Error(ErrorCode::bad_input, fmt::format("item is not valid JSON: {}", simdjson::error_message(err)));
  }
  lb::model::DecodeError decode_error;
  if (!lb::model::decode_export_item(root, slot->item, decode_error)) {
    impl.release(std::move(slot));
    throw Error(ErrorCode::bad_input, decode_error.to_string());
  }
  lb::rules::Outcome& o = slot->outcome;
  try {
    slot->evaluator->evaluate(slot->item, o, trace);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::internal, e.what());
  }
  if (slot->host_directory && slot->host_directory->failed()) {
    // The rules saw "unknown" for a key the ERP could not answer: the item must not be booked
    // on that basis. Fail it, and forget the memoised answers so the next item asks again.
    o.status = lb::rules::OutcomeStatus::failed;
    o.failure = {.type = "unexpected_failure", .message = slot->host_directory->error()};
    o.decisions.lines.clear();
    impl.engine->log(LogLevel::warning, fmt::format("item {}: {}", o.accountingEntryId, o.failure.message));
    slot->host_directory->reset();
    slot->evaluator->set_directory(slot->host_directory.get());
  }
  switch (o.status) {
    case lb::rules::OutcomeStatus::decided: out.status = OutcomeStatus::decided; break;
    case lb::rules::OutcomeStatus::skipped: out.status = OutcomeStatus::skipped; break;
    case lb::rules::OutcomeStatus::failed: out.status = OutcomeStatus::failed; break;
  }
  out.json.clear();
  lb::rules::write_outcome_json(o, out.json);
  out.trace_json.clear();
  if (trace && o.trace) lb::rules::write_trace_json(*o.trace, out.trace_json);
  impl.release(std::move(slot));
}


Engine::Engine(EngineOptions options) : impl_(std::make_shared<Impl>()) { impl_->options = std::move(options); }
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

RulePack Engine::load_pack(const PackOptions& options) const {
  namespace fs = std::filesystem;
  if (options.path.empty()) throw Error(ErrorCode::invalid_argument, "a rule pack path is required");
  std::error_code ec;
  if (!fs::exists(options.path, ec)) throw Error(ErrorCode::not_found, fmt::format("{}: no such rule pack folder", options.path));
  if (options.directory && !options.directory_path.empty())
    throw Error(ErrorCode::invalid_argument, "give a host directory or a directory file, not both");

  const EngineOptions& engine = impl_->options;
  if (engine.max_memory_mb < 0 || engine.max_memory_mb > lb::rules::kMaxMemoryMb)
    throw Error(ErrorCode::invalid_argument, fmt::format("max_memory_mb {} is out of range (0-{}, 0: no ceiling)",
                                                         engine.max_memory_mb, lb::rules::kMaxMemoryMb));
  if (engine.max_hook_cpu_ms < 0 || engine.max_hook_cpu_ms > lb::rules::kMaxHookCpuMs)
    throw Error(ErrorCode::invalid_argument, fmt::format("max_hook_cpu_ms {} is out of range (0-{}, 0: no ceiling)",
                                                         engine.max_hook_cpu_ms, lb::rules::kMaxHookCpuMs));

  auto impl = std::make_shared<RulePack::Impl>();
  impl->engine = impl_;
  impl->eval.ceiling = impl->eval.ceiling.replaced_by(engine.max_memory_mb, engine.max_hook_cpu_ms);
  auto pack = lb::rules::Pack::load(options.path);
  if (!pack) throw Error(ErrorCode::bad_pack, pack.error().message);
  impl->pack = std::move(*pack);

  if (!options.settings_json.empty()) {
    auto settings = nlohmann::json::parse(options.settings_json, nullptr, false);
    if (settings.is_discarded() || !settings.is_object())
      throw Error(ErrorCode::invalid_argument, "settings must be a JSON object");
    // Typed like the pack's settings they replace; one that cannot be is the host's argument error.
    nlohmann::json merged = impl->pack->settings();
    if (auto st = lb::rules::merge_overrides(merged, settings); !st)
      throw Error(ErrorCode::invalid_argument, "settings: " + st.message());
    impl->eval.settings_override = std::move(settings);
  }
  if (!options.directory_path.empty()) {
    if (!fs::exists(options.directory_path, ec))
      throw Error(ErrorCode::not_found, fmt::format("{}: no such directory file or folder", options.directory_path));
    if (auto st = lb::model::load_directory(options.directory_path, impl->file_directory); !st)
      throw Error(ErrorCode::bad_directory, st.message());
  }
  impl->host = options.directory;

  impl->eval.now = options.now.value_or(impl_->options.now);
  if (impl->eval.now == 0) {
    impl->eval.now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  // Compile now, so that a rule that does not compile is reported by load, not by the first item.
  impl->idle.push_back(impl->make_slot());
  impl_->log(LogLevel::info, fmt::format("rule pack '{}' loaded from {} ({} level{})", impl->pack->name(),
                                         options.path, impl->pack->levels().size(),
                                         impl->pack->levels().size() == 1 ? "" : "s"));
  return RulePack(std::move(impl));
}

}  // namespace ledgerbridge
