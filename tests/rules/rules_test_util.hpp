#pragma once
// Throwaway rule packs for runtime tests: written to a fresh temp folder, removed afterwards.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "model/decode.hpp"
#include "model/directory.hpp"
#include "rules/evaluator.hpp"
#include "rules/outcome.hpp"
#include "rules/pack.hpp"

namespace lb::test {

// Loads the pack in `dir` and creates an evaluator over an empty directory: "loaded", or the
// first error (Pack::load's, else Evaluator::create's).
inline std::string load_result(const std::filesystem::path& dir) {
  auto pack = rules::Pack::load(dir);
  if (!pack) return pack.error().message;
  model::MemoryDirectory directory;
  auto evaluator = rules::Evaluator::create(*pack, {.directory = &directory});
  return evaluator ? std::string("loaded") : evaluator.error().message;
}

// An outcome as its JSON line (what `process` writes).
inline std::string json_of(const rules::Outcome& o) {
  std::string s;
  rules::write_outcome_json(o, s);
  return s;
}

// rules.lua of a pack that decides a journal item simply; `extra` adds or replaces hooks
// (function M.<hook> ... end). Hook lines of `extra` start at line 5.
inline std::string journal_rules(const std::string& extra) {
  return "local M = {}\n"
         "function M.bookkeeping_method() return 'journal' end\n"
         "function M.counter_account() return '1810' end\n"
         "function M.account() return '6800' end\n" +
         extra + "\nreturn M\n";
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("lb-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

  void write(const std::string& relative, const std::string& content) const {
    const auto p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }

 private:
  std::filesystem::path path_;
};

// A pack named `name` in dir/name with the given files (relative path -> content).
inline std::filesystem::path write_pack(const TempDir& dir, const std::string& name,
                                        const std::map<std::string, std::string>& files) {
  for (const auto& [path, content] : files) dir.write(name + "/" + path, content);
  if (!files.count("pack.toml")) dir.write(name + "/pack.toml", "name = \"" + name + "\"\n");
  return dir.path() / name;
}

inline model::ExportItem load_item(const std::string& file) {
  std::ifstream in(std::string(LB_TEST_DATA_DIR) + "/pleo/" + file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto decoded = model::decode_export_item(text);
  if (auto* e = std::get_if<model::DecodeError>(&decoded)) throw std::runtime_error(e->to_string());
  return std::get<model::ExportItem>(std::move(decoded));
}

// Hooks that decide everything simply, for tests that exercise one hook at a time.
inline const char* kMinimalHooks = R"lua(
local M = {}
function M.bookkeeping_method(item) return "journal" end
function M.counter_account(item) return "1810" end
function M.account(line) return line.account and line.account.code or "9999" end
return M
)lua";

struct Harness {
  std::shared_ptr<const rules::Pack> pack;
  model::MemoryDirectory directory;
  std::unique_ptr<rules::Evaluator> evaluator;

  explicit Harness(const std::filesystem::path& pack_dir, rules::EvalOptions options = {}) {
    auto p = rules::Pack::load(pack_dir);
    if (!p) throw std::runtime_error(p.error().message);
    pack = *p;
    options.directory = &directory;
    if (options.now == 0) options.now = 1768478400;  // 2026-01-15T12:00:00Z
    auto e = rules::Evaluator::create(pack, options);
    if (!e) throw std::runtime_error(e.error().message);
    evaluator = std::move(*e);
  }
};

}  // namespace lb::test
