#pragma once
// Items reach rule scripts as read-only views over the decoded C++ structs, never as copies
// into Lua tables (eager deep copies cap the data path near 130k items/s, bench REPORT §4.3).
// Views use Pleo's JSON field names (item.accountingEntryLines[1].account.code); a misspelt
// field is an error with a suggestion, not a silent nil. A view is valid only while its item is
// being evaluated: a script that stashes one and reads it for a later item gets an error
// instead of reading freed memory.
//
// How: before an item is evaluated, ItemViews lays it out in a flat arena of nodes (one per
// object or list) and slots (one per field or element), whose strings point into the item. The
// views themselves are written in Lua over the FFI (engine/lua/views.lua): a view is a cdata
// holding a number, and reading a field is a few loads the JIT compiles into the rule's own
// trace. A Lua C function per field read would end the trace at every read (REPORT §5).
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
  // `container`: the read of an object or a list, shown by its shape ("{…}", "[…]").
  virtual void read(std::string_view path, std::string_view value_json, bool container) = 0;
};

// The arena's C layout, declared again in engine/lua/views.lua's ffi.cdef: keep both in step
// (item_view.cpp checks sizes and offsets at compile time).
extern "C" {
struct lb_view_slot {
  const char* str;  // tag string: the bytes, in the item; tag later: the object
  double num;       // tag number; tag boolean: 0 or 1
  int32_t len;      // tag string: byte length; tag node: the node it shows; tag later: its kind
  int32_t tag;      // ViewTag
};
struct lb_view_node {
  int32_t kind;   // ItemViews::kind_names() index
  int32_t first;  // its first slot
  int32_t count;  // objects: fields; lists: elements; link maps: name/URL pairs (two slots each)
  int32_t same;   // the node this one shows the same object as (itself, but for trace copies)
};
struct lb_view_arena {
  double base;     // view id of node 0 of the item being evaluated; lower ids are stale
  int32_t nodes;   // node count of that item (0 between items)
  int32_t tracing; // non-zero: report reads to the host (slow path)
  const lb_view_node* node;
  const lb_view_slot* slot;
};
}

// Edits between two names, letters compared without case: what "did you mean" suggestions of
// field names (and hook names) go by.
std::size_t edit_distance(std::string_view a, std::string_view b);

enum ViewTag : int32_t {
  kViewNil = 0, kViewString = 1, kViewNumber = 2, kViewBoolean = 3,
  kViewNode = 4,   // an object or list laid out as a node
  kViewLater = 5,  // an object or list not laid out yet (ItemViews::expand)
};

class ItemViews {
 public:
  ItemViews();

  // Loads engine/lua/views.lua into L and leaves its API table on the stack:
  // call(fn, ctx [, line node]) calls a hook with its views. This object must outlive L.
  void install(lua_State* L);

  // Lays out `item` for the next evaluation. While tracing, line views get a copy of their
  // line's nodes named "line..." so that reads through them are traced as the hook sees them.
  void bind(const model::ExportItem& item, ReadRecorder* recorder);
  // Views handed out since bind() stop working.
  void unbind();

  // The node of line `index` (0-based) that line hooks get a view of.
  int32_t line_node(size_t index) const { return line_roots_[index]; }

  // Field names a view kind offers, in schema order (for documentation tests): "item", "line", ...
  static std::vector<std::string> fields(std::string_view kind);

 private:
  friend class Flattener;
  // Called by views.lua through the FFI when a script first reads a kViewLater slot: lays out
  // the object it points at and returns its node (-1: out of memory). C types only, no throw.
  static int32_t expand(ItemViews* self, int32_t slot) noexcept;
  int32_t laid_out(int32_t slot);  // expand() for the engine: throws std::bad_alloc
  void publish();                   // points the arena at the vectors again (they may have moved)
  static int record(lua_State* L);
  static int unknown_field(lua_State* L);

  lb_view_arena arena_{};
  std::vector<lb_view_node> nodes_;  // [0, node_count_) lay out the current item
  std::vector<lb_view_slot> slots_;  // [0, slot_count_) likewise; kept between items
  int32_t node_count_ = 0;
  int32_t slot_count_ = 0;
  std::vector<int32_t> line_roots_;
  ReadRecorder* recorder_ = nullptr;
  std::vector<std::string> paths_;  // per node, only while tracing
};

}  // namespace lb::rules
