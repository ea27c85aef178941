// The editor annotations (engine/lua/types/ledgerbridge.d.lua) must describe exactly the fields
// the item views expose: a field the views add but the annotations lack is invisible to rule
// authors, and an annotated field the views lack completes in the editor and then fails at run
// time with "has no field".
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rules/item_view.hpp"

namespace {

namespace fs = std::filesystem;

fs::path annotations_path() {
  // LB_TEST_DATA_DIR is <repo>/tests/data.
  return fs::path(LB_TEST_DATA_DIR).parent_path().parent_path() / "engine" / "lua" / "types" /
         "ledgerbridge.d.lua";
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

// The identifier at the start of `s`, or "" when `s` does not start with one.
std::string identifier(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && (std::isalnum(static_cast<unsigned char>(s[n])) || s[n] == '_' || s[n] == '.')) ++n;
  return std::string(s.substr(0, n));
}

// Class name -> its `---@field` names. A class's fields are the `---@...` lines that follow its
// `---@class` line; the first line that is not an annotation ends it. Index signatures
// (`---@field [string] string`) are not named fields and are left out.
std::map<std::string, std::vector<std::string>> annotated_classes(const std::string& text) {
  std::map<std::string, std::vector<std::string>> classes;
  std::vector<std::string>* current = nullptr;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    std::string_view line = trim_left(raw);
    if (!line.starts_with("---@")) {
      current = nullptr;
      continue;
    }
    if (line.starts_with("---@class ")) {
      std::string_view rest = trim_left(line.substr(10));
      if (rest.starts_with("(")) rest = trim_left(rest.substr(rest.find(')') + 1));  // (exact)
      current = &classes[identifier(rest)];
      continue;
    }
    if (current && line.starts_with("---@field ")) {
      std::string_view rest = trim_left(line.substr(10));
      for (std::string_view scope : {"private ", "protected ", "public ", "package "})
        if (rest.starts_with(scope)) rest = trim_left(rest.substr(scope.size()));
      if (rest.starts_with("[")) continue;
      current->push_back(identifier(rest));
    }
  }
  return classes;
}

std::string class_for_kind(const std::string& kind) {
  if (kind == "_links") return "Links";
  std::string name = kind;
  name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

}  // namespace

TEST_CASE("the LuaLS annotations list exactly the fields of every item view", "[docs]") {
  std::ifstream in(annotations_path(), std::ios::binary);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto classes = annotated_classes(buffer.str());

  const std::vector<std::string> kinds = {
      "item",        "line",        "amount",   "money",       "account",
      "tag",         "tax",         "supplier", "user",        "team",
      "vendor",      "bookkeeping", "additionalInformation", "invoiceInformation",
      "supplierBankAccount", "servicePeriod", "file", "_links"};

  for (const auto& kind : kinds) {
    const std::string cls = class_for_kind(kind);
    INFO("view kind '" << kind << "', annotation class '" << cls << "'");
    const std::vector<std::string> exposed = lb::rules::ItemViews::fields(kind);
    REQUIRE_FALSE(exposed.empty());  // a kind name the views do not know
    REQUIRE(classes.count(cls) == 1);

    const std::vector<std::string>& annotated = classes.at(cls);
    const std::set<std::string> annotated_set(annotated.begin(), annotated.end());
    const std::set<std::string> exposed_set(exposed.begin(), exposed.end());
    CHECK(annotated_set.size() == annotated.size());  // no field annotated twice

    for (const auto& field : exposed) {
      INFO("exposed by the view but not annotated: " << cls << "." << field);
      CHECK(annotated_set.count(field) == 1);
    }
    for (const auto& field : annotated) {
      INFO("annotated but not exposed by the view: " << cls << "." << field);
      CHECK(exposed_set.count(field) == 1);
    }
  }
}

TEST_CASE("the annotation parser reads classes, modifiers and index signatures", "[docs]") {
  const auto classes = annotated_classes(
      "---@class (exact) A\n"
      "---@field x string? a note\n"
      "---@field private y integer\n"
      "---@field [string] string\n"
      "local A = {}\n"
      "---@field z string\n"
      "---@class B\n"
      "  ---@field w number\n");
  REQUIRE(classes.count("A") == 1);
  CHECK(classes.at("A") == std::vector<std::string>{"x", "y"});
  REQUIRE(classes.count("B") == 1);
  CHECK(classes.at("B") == std::vector<std::string>{"w"});
}
