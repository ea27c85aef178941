#pragma once
// ledgerbridge's public C++ API (issue #6): load a rule pack, evaluate Pleo v3 export items,
// give the rules an ERP directory of your own. Small on purpose, and free of third-party types
// (pimpl), so that the engine's dependencies can change without breaking embedders. The C ABI
// (bindings/c/ledgerbridge.h) is a thin layer over this header.
//
// Errors: functions throw ledgerbridge::Error (with an ErrorCode). A rule that fails is not an
// error: it is an outcome with status `failed`, as the engine reports it to Pleo.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

// Classes and functions exported by libledgerbridge.so (its C ABI objects are built with hidden
// visibility; this keeps the C++ API's type info shared with hosts, so they can catch Error).
#if defined(__GNUC__)
#define LEDGERBRIDGE_CXX_API __attribute__((visibility("default")))
#else
#define LEDGERBRIDGE_CXX_API
#endif

namespace ledgerbridge {

// The library's version, "MAJOR.MINOR.PATCH".
LEDGERBRIDGE_CXX_API const char* version() noexcept;

enum class ErrorCode : int {
  invalid_argument = 1,  // a bad option or argument
  bad_input = 2,         // an item that is not valid JSON or not a valid Pleo v3 export item
  not_found = 3,         // a path that does not exist
  bad_pack = 4,          // pack.toml, a table or a rule file is invalid or does not compile
  bad_directory = 5,     // the ERP directory file is invalid
  callback = 6,          // a host callback failed
  internal = 8,          // a bug, or out of memory
};

class LEDGERBRIDGE_CXX_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

enum class LogLevel : int { debug = 0, info = 1, warning = 2, error = 3 };
// Called from whichever thread logs (several at once when packs are evaluated concurrently).
using LogFunction = std::function<void(LogLevel, std::string_view message)>;

struct EngineOptions {
  // The rules' frozen clock (os.time, ctx.date.today), seconds since the epoch (UTC). 0: the
  // wall clock, read once when a pack is loaded, so every item of a pack sees the same day.
  int64_t now = 0;
  LogFunction log;                    // empty: no logging
  LogLevel log_level = LogLevel::info;  // messages below it are not built
  // The operator's ceiling on what a pack's pack.toml [limits] may set, after extends (a pack
  // that sets none has 64 MiB and 100 ms). A pack above it fails load_pack with bad_pack, the
  // message naming the pack, the limit, its value and the ceiling; it is refused, never run
  // with less than it asked for. 0: the engine maximum (4096 MiB, 60000 ms), no cap. Out of
  // range (below 0 or above the maximum): load_pack throws invalid_argument.
  int64_t max_memory_mb = 0;
  int64_t max_hook_cpu_ms = 0;
};

// ERP master data as the rules see it (ctx.erp.*). Field names follow the directory files.
struct Account {
  std::string code, name;
  std::optional<std::string> currency;  // set when the account only takes one currency
  bool blocked = false;
};
struct Vendor {
  std::string code, name;
  std::optional<std::string> externalId, taxNumber, registrationNumber, currency, payablesAccount;
  bool blocked = false;
};
struct TaxCode {
  std::string code, name;
  double rate = 0;   // decimal fraction: 0.25
  std::string type;  // inclusive | exclusive | reverse
  std::optional<std::string> ingoingTaxAccount, outgoingTaxAccount;
  bool blocked = false;
};
struct DimensionValue {
  std::string dimension, code, name;
  bool blocked = false;
};

// A host's ERP directory. Look-ups return nullopt for an unknown key and blocked entries with
// blocked = true. Methods may be called from several threads at once when a RulePack is shared
// between threads. An exception fails the item being evaluated (unexpected_failure, with the
// exception's message) and does not take the engine down. Answers are memoised by each
// evaluator for the pack's life: load the pack again when the ERP's master data changes.
class LEDGERBRIDGE_CXX_API Directory {
 public:
  virtual ~Directory() = default;
  virtual std::optional<Account> account(std::string_view code) = 0;
  virtual std::optional<Vendor> vendor_by_code(std::string_view code) = 0;
  virtual std::optional<Vendor> vendor_by_external_id(std::string_view id) = 0;
  virtual std::optional<Vendor> vendor_by_tax_number(std::string_view tax_number) = 0;
  virtual std::optional<TaxCode> tax_code(std::string_view code) = 0;
  virtual std::optional<DimensionValue> dimension_value(std::string_view dimension, std::string_view code) = 0;
  // False when `date` (YYYY-MM-DD) is in a closed period.
  virtual bool period_open(std::string_view date) = 0;
  // The first open date on or after `date`, nullopt when there is none.
  virtual std::optional<std::string> next_open_date(std::string_view date) = 0;
};

struct PackOptions {
  std::string path;           // the pack's folder (with pack.toml); parents are found beside it
  std::string settings_json;  // a JSON object merged over the pack's settings; empty: none
  // The ERP directory the rules query: a host directory, or a YAML/JSON file or CSV folder, or
  // neither (an empty directory). Not both.
  std::shared_ptr<Directory> directory;
  std::string directory_path;
  std::optional<int64_t> now;  // overrides EngineOptions::now for this pack
};

enum class OutcomeStatus : int { decided = 0, skipped = 1, failed = 2 };

struct Outcome {
  OutcomeStatus status = OutcomeStatus::failed;
  std::string json;        // the canonical outcome object (what `ledgerbridge process` writes)
  std::string trace_json;  // the decision trace; empty unless asked for
};

// A loaded rule pack. Thread-safe: evaluate may be called from any number of threads at once;
// each concurrent caller gets its own sandboxed Lua state (created on first use, then reused).
// Copies share the pack.
class LEDGERBRIDGE_CXX_API RulePack {
 public:
  const std::string& name() const;

  // Evaluates one export item (a single ExportItemV3 JSON object). Throws Error(bad_input) for
  // JSON that is not a valid item, with the JSON path of the problem.
  Outcome evaluate(std::string_view item_json, bool trace = false) const;
  // The same, reusing `out`'s buffers (the hot path of a loop).
  void evaluate(std::string_view item_json, Outcome& out, bool trace = false) const;

  struct Impl;

 private:
  friend class Engine;
  explicit RulePack(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Holds what every pack shares (clock, logging). Cheap; thread-safe (load_pack may run on
// several threads at once). Packs keep what they need: they outlive the Engine if kept.
class LEDGERBRIDGE_CXX_API Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // Loads and compiles the pack (a rule that does not compile is an Error here, not later).
  RulePack load_pack(const PackOptions& options) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ledgerbridge
