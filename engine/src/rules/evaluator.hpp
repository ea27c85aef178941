#pragma once
// Runs a rule pack's hooks over items (DESIGN §4). One Evaluator owns one sandboxed Lua state
// with the whole extends chain loaded, so it belongs to one thread: a worker creates its own
// from the shared Pack. Evaluating is pure: hooks read the item and return decisions; nothing
// is written anywhere, so a hook can be stopped at any point.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "model/directory.hpp"
#include "model/export_item.hpp"
#include "model/result.hpp"
#include "rules/outcome.hpp"
#include "rules/pack.hpp"

namespace lb::rules {

struct EvalOptions {
  const model::Directory* directory = nullptr;  // required; must outlive the evaluator
  nlohmann::json settings_override = nlohmann::json::object();  // merged over the pack's
  std::string overrides_from;    // where they came from, for errors ("--set: setting x: ...")
  int64_t now = 0;               // frozen clock, epoch seconds (os.time, ctx.date.today)
  std::optional<Limits> limits;  // default: the pack's
  // The operator's cap on the limits (default: the engine maxima, no cap). A pack chain whose
  // limits are above it is refused by create, never clamped (check_limit_ceiling, pack.hpp); so
  // is a `limits` override above it.
  LimitCeiling ceiling;
};

class Evaluator {
 public:
  // Fails when a rule file does not compile or returns something other than a hook table, or
  // when the limits are above options.ceiling.
  static Result<std::unique_ptr<Evaluator>> create(std::shared_ptr<const Pack> pack, EvalOptions options);
  ~Evaluator();

  Outcome evaluate(const model::ExportItem& item, bool trace = false);
  // The same into an Outcome the caller keeps: its buffers are reused item after item (the
  // pipeline's hot path). `decisions` is meaningful only when the status is decided.
  void evaluate(const model::ExportItem& item, Outcome& out, bool trace = false);

  // Fixtures swap directories between cases without rebuilding the state. ctx.erp answers are
  // memoised for the evaluator's life, so a directory whose contents change must be set again.
  void set_directory(const model::Directory* directory);
  const Pack& pack() const;
  // The settings the hooks see as ctx.settings: the pack chain's, with the override merged in.
  // Job-level settings that no hook reads (posting.one_entry_per_job) reach the workflow here.
  const nlohmann::json& settings() const;
  // How many times a limit breach made the state be rebuilt (for tests and logs).
  int rebuilds() const;

  struct Impl;  // opaque; public so that the Lua C functions in evaluator.cpp can reach it

 private:
  explicit Evaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::rules
