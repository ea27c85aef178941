-- Item views for rule hooks (rules/README.md, "The item view"). Host-only: the engine runs this
-- chunk once per Lua state, with the FFI, before any pack is loaded. Scripts never see the FFI,
-- the arena or this file's locals; all they get is view objects.
--
-- The engine lays the item being evaluated out in a flat arena (engine/src/rules/item_view.hpp):
-- a node per object or list, a slot per field or element, strings pointing into the item. A view
-- is a cdata struct holding one number, its id: (arena.base + node) * 32 + kind. Reading a field
-- is a few loads that the JIT compiles into the hook's own trace, and a string becomes a Lua
-- string only when it is read. Ids grow with every item, so a view kept from an earlier item has
-- a node below arena.base and is refused.

local ffi = require("ffi")
local host, kinds = ...

ffi.cdef [[
typedef struct lb_view_slot { const char* str; double num; int32_t len; int32_t tag; } lb_view_slot;
typedef struct lb_view_node { int32_t kind; int32_t first; int32_t count; int32_t same; } lb_view_node;
typedef struct lb_view_arena {
  double base; int32_t nodes; int32_t tracing; lb_view_node* node; lb_view_slot* slot;
} lb_view_arena;
struct lb_view { const double lb_view_id; };
]]

-- Not const: the engine changes the arena between items and while laying objects out, and the
-- JIT must not keep an earlier read of it.
local A = ffi.cast("lb_view_arena*", host.arena)
-- expand(views, slot) -> node: lays out the object behind a LATER slot (ItemViews::expand).
local expand = ffi.cast("int32_t (*)(void*, int32_t)", host.expand)
local views = ffi.cast("void*", host.views)
local record, unknown_field = host.record, host.unknown_field
local ffi_string, istype = ffi.string, ffi.istype
local floor, format = math.floor, string.format
local type, error, pairs = type, error, pairs

local NIL, STRING, NUMBER, NODE = 0, 1, 2, 4  -- slot tags (ViewTag); 3: boolean, 5: not laid out yet
local KIND_BITS = 32

-- Per kind id: field name -> slot offset, field names in order, the kind's name and shape.
local FIELDS, NAMES, KIND_NAME, IS_LIST, IS_MAP = {}, {}, {}, {}, {}
local KIND = {}
for id, k in pairs(kinds) do
  FIELDS[id], NAMES[id], KIND_NAME[id] = k.fields, k.names, k.name
  IS_LIST[id], IS_MAP[id] = k.shape == "list", k.shape == "link_map"
  KIND[k.name] = id
end
local ITEM, LINE, MONEY = KIND.item, KIND.line, KIND.money

local View  -- the view ctype, made below from the metatable
local mt = {}

-- The node a view shows (an index into the arena: stale when outside [0, A.nodes)) and its kind.
local function unpack_id(v)
  local id = v.lb_view_id
  local n = floor(id / KIND_BITS)
  return n - A.base, id - n * KIND_BITS
end

local function live(i)
  return i >= 0 and i < A.nodes
end

local function stale(kind)
  return KIND_NAME[kind] .. " view used after its item was evaluated (keep the values you need, not the views)"
end

-- The view of a node of the current item. A view of an object a hook reads (item.supplier,
-- line.account) is made afresh on every read: when it does not outlive the hook's compiled
-- code, LuaJIT removes its allocation altogether (allocation sinking), which keeping it in a
-- cache would prevent (a table store is an escape). In the benchmark that halves the views an
-- item allocates, 9.9 -> 4.3. Two reads give two views; `==` still holds between them.
local function new_view(node)
  return View((A.base + node) * KIND_BITS + A.node[node].kind)
end

-- The views hooks receive (the item, a line) come in from C and are always allocated: those are
-- kept per node while their item is current, so that an item's hook calls share one.
local made = {}  -- node + 1 -> the last argument view made of it
local function argument_view(node)
  local id = (A.base + node) * KIND_BITS + A.node[node].kind
  local v = made[node + 1]
  if v == nil or v.lb_view_id ~= id then
    v = View(id)
    made[node + 1] = v
  end
  return v
end

-- The value of slot `si`. Called from metamethods only (errors: level 3 is the script).
--
-- An object is laid out on its first read and only looked up after, but both go through
-- expand(): a branch on which read this is would make the JIT leave the hook's compiled code
-- (a side trace cannot start inside a metamethod and return through it: "NYI: return to lower
-- frame"), so the fewer branches the data can take here, the more of a hook stays compiled.
local function slot_value(si)
  local s = A.slot[si]
  local tag = s.tag
  if tag == STRING then return ffi_string(s.str, s.len) end
  if tag >= NODE then
    local node = expand(views, si)  -- may move the arena: nothing read before this is used after
    if node < 0 then error("not enough memory to lay out the item for the view", 3) end
    return new_view(node)
  end
  if tag == NIL then return nil end
  if tag == NUMBER then return s.num end
  return s.num ~= 0  -- BOOLEAN
end

-- The value slot (index) of link `key` in a link map node, or nil.
local function link_slot(node, key)
  if type(key) ~= "string" then return nil end
  local len = #key
  for p = 0, node.count - 1 do
    local name = A.slot[node.first + 2 * p]
    if name.len == len and ffi_string(name.str, len) == key then return node.first + 2 * p + 1 end
  end
  return nil
end

-- Errors name the script line that read the field (level 2: the caller of the metamethod).
function mt.__index(v, key)
  local i, kind = unpack_id(v)
  if not live(i) then error(stale(kind), 2) end
  local node = A.node[i]
  local offset = FIELDS[kind][key]
  if offset then
    if A.tracing ~= 0 then record(i, key) end
    return slot_value(node.first + offset)
  end
  if IS_LIST[kind] then
    if type(key) ~= "number" then
      error(KIND_NAME[kind] .. " is a list: index it with a number, not a " .. type(key), 2)
    end
    if key < 1 or key > node.count or key ~= floor(key) then return nil end
    if A.tracing ~= 0 then record(i, key) end
    return slot_value(node.first + key - 1)
  end
  if IS_MAP[kind] then
    local si = link_slot(node, key)
    if si == nil then return nil end
    if A.tracing ~= 0 then record(i, key) end
    return slot_value(si)
  end
  error(unknown_field(kind, key), 2)
end

function mt.__newindex(v, key)
  local _, kind = unpack_id(v)
  error(KIND_NAME[kind] .. " is read-only (tried to set '" .. (type(key) == "string" and key or "?") .. "')", 2)
end

function mt.__len(v)
  local i, kind = unpack_id(v)
  if not live(i) then error(stale(kind), 2) end
  if IS_LIST[kind] or IS_MAP[kind] then
    if A.tracing ~= 0 then record(i, false) end
    return A.node[i].count
  end
  return 0
end

-- pairs/ipairs: lists give (i, element), objects (name, value) for their non-nil fields in
-- schema order, link maps (name, URL).
local function view_next(v, key)
  local i, kind = unpack_id(v)
  if not live(i) then error(stale(kind), 2) end
  local node = A.node[i]
  if IS_LIST[kind] then
    local n = (type(key) == "number" and key or 0) + 1
    if n > node.count then return nil end
    if A.tracing ~= 0 then record(i, n) end
    return n, slot_value(node.first + n - 1)
  end
  if IS_MAP[kind] then
    local p = 0
    if key ~= nil then
      while p < node.count do
        local name = A.slot[node.first + 2 * p]
        p = p + 1
        if ffi_string(name.str, name.len) == key then break end
      end
    end
    if p >= node.count then return nil end
    local name = A.slot[node.first + 2 * p]
    local link = ffi_string(name.str, name.len)
    if A.tracing ~= 0 then record(i, link) end
    return link, slot_value(node.first + 2 * p + 1)
  end
  local f = 0
  if key ~= nil then
    f = FIELDS[kind][key]
    if f == nil then return nil end
    f = f + 1
  end
  local names = NAMES[kind]
  while f < node.count do
    if A.slot[node.first + f].tag ~= NIL then
      local name = names[f + 1]
      if A.tracing ~= 0 then record(i, name) end
      return name, slot_value(node.first + f)
    end
    f = f + 1
  end
  return nil
end

function mt.__pairs(v)
  local i, kind = unpack_id(v)
  if not live(i) then error(stale(kind), 2) end
  return view_next, v, nil
end
mt.__ipairs = mt.__pairs

local function field_string(node, kind, name)
  local s = A.slot[node.first + FIELDS[kind][name]]
  return s.tag == STRING and ffi_string(s.str, s.len) or ""
end

function mt.__tostring(v)
  local i, kind = unpack_id(v)
  if live(i) then
    local node = A.node[i]
    if kind == ITEM then return "item " .. field_string(node, kind, "accountingEntryId") end
    if kind == LINE then return "line " .. field_string(node, kind, "accountingEntryLineId") end
    if kind == MONEY then
      local value = A.slot[node.first + FIELDS[kind].value].num
      return format("%d %s (minor units)", value, field_string(node, kind, "currency"))
    end
  end
  return KIND_NAME[kind] .. " view"
end

-- Two views are equal when they show the same object (trace copies of a line included).
function mt.__eq(a, b)
  if not (istype(View, a) and istype(View, b)) then return false end
  local ia, ka = unpack_id(a)
  local ib, kb = unpack_id(b)
  if ka ~= kb then return false end
  if live(ia) and live(ib) then return A.node[ia].same == A.node[ib].same end
  return ia == ib
end

View = ffi.metatype("struct lb_view", mt)

local api = {}

function api.tracing()
  return A.tracing ~= 0
end

-- Calls a hook with the views of the item (node 0) and, for line hooks, of a line's node.
function api.call(fn, ctx, line)
  if line then return fn(argument_view(line), argument_view(0), ctx) end
  return fn(argument_view(0), ctx)
end

return api
