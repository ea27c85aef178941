#pragma once
// A rule pack on disk (DESIGN §4): pack.toml, rules.lua and other Lua modules, tables/*.csv,
// fixtures/. Loading reads every file once; evaluators compile from memory, so nothing touches
// the filesystem while items are evaluated, and one loaded Pack serves every worker thread.
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/result.hpp"
#include "rules/sandbox.hpp"

namespace lb::rules {

// A CSV mapping table, keyed by one column; compiled into a hash map in each Lua state.
struct PackTable {
  std::string name;
  std::string source;  // path as shown in errors
  std::vector<std::string> columns;
  std::string key;     // the key column
  std::vector<std::vector<std::string>> rows;
};

// One pack of an `extends` chain, with only what it declares itself.
struct PackLevel {
  std::string name;
  std::filesystem::path dir;
  std::string chunk_prefix;                   // how errors name its files: "default/"
  std::map<std::string, std::string> files;   // Lua module path ("rules.lua") -> source
  nlohmann::json settings = nlohmann::json::object();
  std::map<std::string, PackTable> tables;
  std::string description;
};

class Pack {
 public:
  // Loads the pack in `dir` and, through `extends`, its parents. A parent is looked up by name
  // beside the pack, then in each of `search_path`, then in each of shipped_pack_dirs() that
  // exists; `extends` may also be a relative path.
  static Result<std::shared_ptr<const Pack>> load(const std::filesystem::path& dir,
                                                   const std::vector<std::filesystem::path>& search_path = {});

  const std::string& name() const { return levels_.back().name; }
  const std::filesystem::path& dir() const { return levels_.back().dir; }
  // Root first (the pack nothing extends), this pack last.
  const std::vector<PackLevel>& levels() const { return levels_; }
  // Settings of the whole chain, children overriding parents key by key (tables merge deeply).
  const nlohmann::json& settings() const { return settings_; }
  // Tables of the whole chain; a child's table replaces a parent's of the same name.
  const std::map<std::string, const PackTable*>& tables() const { return tables_; }
  const Limits& limits() const { return limits_; }
  // The name of the pack of the chain whose [limits] set each limit; empty when none does and
  // the engine default applies.
  struct LimitSources {
    std::string memory_mb;
    std::string hook_cpu_ms;
  };
  const LimitSources& limit_sources() const { return limit_sources_; }

 private:
  std::vector<PackLevel> levels_;
  nlohmann::json settings_;
  std::map<std::string, const PackTable*> tables_;
  Limits limits_;
  LimitSources limit_sources_;
};

// Whether the pack chain's limits (after extends; the engine default where no pack sets one)
// are within the operator's ceiling. The error names the pack, the limit, the value and the
// ceiling, for the pack's author: "rule pack 'acme-dk' sets [limits] memory_mb = 1024, above
// this installation's ceiling of 256". A ceiling outside the engine's range is an error too.
// Evaluator::create checks this; callers that want the answer before building a Lua state
// (`ledgerbridge test` on a pack without fixtures) call it themselves.
Status check_limit_ceiling(const Pack& pack, const LimitCeiling& ceiling);
// Only that each value of the ceiling is within the engine's range (1-kMaxMemoryMb,
// 1-kMaxHookCpuMs): "limit ceiling: memory_mb 0 is out of range (1-4096)".
Status check_ceiling_range(const LimitCeiling& ceiling);

// Where the rule packs shipped with ledgerbridge (rules/ of the source tree) may be, in the order
// looked at: installed beside the binary that holds the engine (<prefix>/bin/ledgerbridge, or
// <prefix>/lib/libledgerbridge.so for the C ABI, the C++ API and Python ->
// <prefix>/share/ledgerbridge/rules), then the source tree this was built from. Whether they
// exist is not checked.
std::vector<std::filesystem::path> shipped_pack_dirs();

// Deep merge: objects merge key by key, anything else is replaced by `over`. How an extends
// chain combines its packs' settings.
void merge_settings(nlohmann::json& into, const nlohmann::json& over);

// A run's overrides (--set, a fixture's settings:, the embedding API's settings) merged over the
// pack's merged settings like merge_settings, but typed like the setting each value replaces:
// where the pack's value is a number, text that is a JSON number becomes that number; where it
// is a boolean, "true" and "false" become booleans. Anything else for a number or a boolean
// (other text, a boolean for a number, an array...) is an error naming the setting, the type and
// the value; `into` is then partly merged. null replaces any setting; anything for a text
// setting, an object or array setting, or a setting the pack does not have is merged as it is.
Status merge_overrides(nlohmann::json& into, const nlohmann::json& over);

}  // namespace lb::rules
