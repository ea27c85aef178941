#pragma once
// Items reach rule scripts as read-only views over the decoded C++ structs, never as copies:
// each field is read only when a script asks for it (eager deep copies into Lua tables cap the
// data path near 130k items/s, bench REPORT §4.3). Views use Pleo's JSON field names
// (item.accountingEntryLines[1].account.code); a misspelt field is an error with a suggestion,
// not a silent nil. A view is valid only while its item is being evaluated: a script that
// stashes one and reads it for a later item gets an error instead of reading freed memory.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/export_item.hpp"

struct lua_State;

namespace lb::rules {

// Receives every field a script reads (explain and fixture traces).
class ReadRecorder {
 public:
  virtual ~ReadRecorder() = default;
  virtual void read(std::string_view path, std::string_view value_json) = 0;
};

struct ViewState {
  uint32_t generation = 1;             // bumped per item: older views stop working
  ReadRecorder* recorder = nullptr;    // set while tracing
  std::vector<std::string> paths;      // path of each view created while tracing
  std::vector<int> metatables;         // registry refs, one per view kind (item_view.cpp)
};

// Creates the view metatables in L; `state` must outlive L.
void register_item_views(lua_State* L, ViewState* state);

// Pushes a view; `path` is how traces name it ("item", "line").
void push_item_view(lua_State* L, ViewState& state, const model::ExportItem& item, std::string_view path);
void push_line_view(lua_State* L, ViewState& state, const model::Line& line, std::string_view path);

// Lists the field names a view kind offers (for documentation tests): "item", "line", ...
std::vector<std::string> view_fields(std::string_view kind);

}  // namespace lb::rules
