-- The sandbox prelude. It runs once per Lua state, with the full standard library, before any
-- rule file is loaded, and builds the environment rule packs run in (DESIGN §4, "Sandbox").
-- It returns a table of functions for the host (engine/src/rules); rule scripts never see it.
--
-- What a rule script gets is an allow-list: pure functions of the standard library, read-only
-- shared tables, a frozen clock, and `require` limited to its own pack and the shipped `lb.*`
-- modules. There is no io, os (beyond the clock), package, debug, load*, dofile, string.dump,
-- jit, ffi, collectgarbage, getfenv/setfenv or math.random (it would make runs differ).

local host = ...

local type, next, pairs, ipairs, error, tostring, select = type, next, pairs, ipairs, error, tostring, select
local rawset, rawget, setmetatable, getmetatable = rawset, rawget, setmetatable, getmetatable
local string, table, math, coroutine, os, bit = string, table, math, coroutine, os, bit
local guard = host.guard

-- Read-only views -------------------------------------------------------------------------
-- A frozen table is an empty proxy whose metatable points at the real contents. Writes through
-- the proxy fail, its metatable cannot be read or replaced, and the raw writers that bypass
-- __newindex (rawset, table.insert, table.remove, table.sort) refuse any proxy listed here.
-- The raw readers (next, rawget, rawlen, unpack, table.concat) read through to the contents, so
-- a frozen list behaves like a list everywhere. Maps proxy -> contents; weak keys.
local frozen = setmetatable({}, { __mode = "k" })

local function refuse(_, key)
  error("attempt to modify a read-only table (field '" .. tostring(key) .. "')", 2)
end

-- Shared by every proxy (they find their contents in `frozen`), so a frozen table costs one
-- proxy and one small metatable, not three closures.
-- pairs/ipairs hand the script the proxy as their state, never the contents: `local _, raw =
-- pairs(t)` must not give a table the script could write to. (The values are proxies already.)
local function frozen_len(p) return #frozen[p] end
local function frozen_next(p, k) return next(frozen[p], k) end
local function frozen_pairs(p) return frozen_next, p, nil end
local function frozen_inext(p, i)
  i = i + 1
  local v = frozen[p][i]
  if v ~= nil then return i, v end
end
local function frozen_ipairs(p) return frozen_inext, p, 0 end

local function freeze(t)
  if frozen[t] then return t end
  for k, v in next, t do
    if type(v) == "table" and not frozen[v] then t[k] = freeze(v) end
  end
  local proxy = setmetatable({}, {
    __index = t,
    __newindex = refuse,
    __metatable = false,
    __len = frozen_len,
    __pairs = frozen_pairs,
    __ipairs = frozen_ipairs,
  })
  frozen[proxy] = t
  return proxy
end

local function contents(t)
  return frozen[t] or t
end

local function writable(t, fname)
  if frozen[t] then error("bad argument #1 to '" .. fname .. "' (table is read-only)", 3) end
end

-- The table library takes tables only; an item list is a view (FFI data), which would otherwise
-- fail as "bad argument #1 to '?' (table expected, got cdata)". `level` is the script's frame.
local function table_arg(t, fname, level)
  if type(t) == "table" then return end
  local got = type(t) == "cdata" and "an item view: copy its elements into a table first" or type(t)
  error("bad argument #1 to 'table." .. fname .. "' (table expected, got " .. got .. ")", level)
end

local function copy(t, without)
  local c = {}
  for k, v in pairs(t) do
    if not (without and without[k]) then c[k] = v end
  end
  return c
end

-- The standard library, trimmed ----------------------------------------------------------
local sandbox_string = copy(string, { dump = true })
-- gsub with a function or table replacement, and gmatch's iterator, call back into Lua from C:
-- a callback that recurses through them would overflow the C stack (bench LUAJIT-BUDGET.md §6).
sandbox_string.gsub = guard(string.gsub, "string.gsub")
sandbox_string.rep = function(s, n, sep)
  -- Checked before allocating, so that a huge repeat fails with a clear message rather than
  -- an out-of-memory error in the middle of the call.
  local total = #tostring(s) * (tonumber(n) or 0) + (sep and #tostring(sep) * (tonumber(n) or 0) or 0)
  if total > host.max_string_bytes then
    error("string.rep: result of " .. total .. " bytes exceeds the limit of " .. host.max_string_bytes, 2)
  end
  return string.rep(s, n, sep)
end

local sort, concat, maxn = table.sort, table.concat, table.maxn
local sandbox_unpack = function(t, i, j)
  table_arg(t, "unpack", 3)
  t = contents(t)
  return unpack(t, i or 1, j or #t)
end
local sandbox_table = {
  concat = function(t, ...) table_arg(t, "concat", 3) return concat(contents(t), ...) end,
  maxn = function(t) table_arg(t, "maxn", 3) return maxn(contents(t)) end,
  unpack = sandbox_unpack,
  insert = function(t, ...) table_arg(t, "insert", 3) writable(t, "insert") return table.insert(t, ...) end,
  remove = function(t, ...) table_arg(t, "remove", 3) writable(t, "remove") return table.remove(t, ...) end,
  -- guard() calls this from C: the script is one frame further out.
  sort = guard(function(t, cmp) table_arg(t, "sort", 4) writable(t, "sort") return sort(t, cmp) end, "table.sort"),
}

local sandbox_math = copy(math, { random = true, randomseed = true })

local coroutine_create, coroutine_resume = coroutine.create, coroutine.resume
local guarded_resume = guard(coroutine_resume, "coroutine.resume")
local sandbox_coroutine = {
  create = coroutine_create,
  resume = guarded_resume,
  running = coroutine.running,
  status = coroutine.status,
  yield = coroutine.yield,
  isyieldable = coroutine.isyieldable,
  wrap = function(f)
    local co = coroutine_create(f)
    return function(...)
      local results = { guarded_resume(co, ...) }
      if not results[1] then error(results[2], 0) end
      return unpack(results, 2, table.maxn(results))
    end
  end,
}

local os_date = os.date
local sandbox_os = {
  -- Like os.date, UTC: a date table means that moment in UTC, whatever the machine's zone.
  time = function(t)
    if t == nil then return host.now() end
    return host.timegm(t)
  end,
  -- Always UTC, so that a run gives the same answer on every machine.
  date = function(format, t)
    format = format or "%c"
    if format:sub(1, 1) ~= "!" then format = "!" .. format end
    return os_date(format, t or host.now())
  end,
}

local G = {
  _VERSION = _VERSION,
  assert = assert, error = error, ipairs = ipairs, pairs = pairs,
  pcall = pcall, xpcall = xpcall, select = select, tonumber = tonumber, type = type,
  next = function(t, k) return next(contents(t), k) end,
  unpack = sandbox_unpack,
  rawequal = rawequal,
  rawget = function(t, k) return rawget(contents(t), k) end,
  rawlen = function(t) return #contents(t) end,
  setmetatable = setmetatable, getmetatable = getmetatable,
  tostring = guard(tostring, "tostring"),  -- __tostring is a callback from C too
  rawset = function(t, k, v) writable(t, "rawset") return rawset(t, k, v) end,
  print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    host.print(table.concat(parts, "\t"))
  end,
  string = sandbox_string,
  table = sandbox_table,
  math = sandbox_math,
  os = sandbox_os,
  coroutine = sandbox_coroutine,
  bit = copy(bit),
}

-- Methods on string values ("x"):upper() reach the string table through the shared string
-- metatable: point it at the sandboxed table (no dump, guarded gsub) and hide the metatable.
local string_meta = getmetatable("")
string_meta.__index = sandbox_string
string_meta.__metatable = false

G = freeze(G)

-- Modules: each pack gets its own global table over the shared read-only one, and a require
-- that sees only that pack's files and the shipped lb.* modules.
local shipped = {}   -- name -> loaded value (shared by every pack; frozen)
local shipped_host   -- host functions the shipped modules may use (currency digits)

local function new_env()
  local env = setmetatable({}, { __index = G, __metatable = false })
  env._G = env
  return env
end

local function load_shipped(name, host_functions)
  if host_functions then shipped_host = host_functions end
  local value = shipped[name]
  if value ~= nil then return value end
  local source = host.shipped_source(name)
  if not source then return nil end
  local chunk = host.load_text(source, "@" .. name:gsub("%.", "/") .. ".lua", new_env())
  value = chunk(name, shipped_host)
  if value == nil then value = true end
  if type(value) == "table" then value = freeze(value) end
  shipped[name] = value
  return value
end

-- chunks: module path ("lib/util.lua") -> compiled chunk; chunk_prefix: how errors name the
-- pack's files.
local function make_require(chunks, chunk_prefix)
  local loaded, loading = {}, {}
  return function(name)
    if type(name) ~= "string" then error("require: module name must be a string", 2) end
    if loaded[name] ~= nil then return loaded[name] end
    if name:sub(1, 3) == "lb." then
      local value = load_shipped(name)
      if value == nil then error("require: no shipped module '" .. name .. "'", 2) end
      return value
    end
    local path = name:gsub("%.", "/") .. ".lua"
    local chunk = chunks[path]
    if not chunk then
      error("require: module '" .. name .. "' not found: looked for " .. chunk_prefix .. path ..
            " (a rule pack may require its own files and lb.* modules only)", 2)
    end
    if loading[name] then error("require: module '" .. name .. "' requires itself", 2) end
    loading[name] = true
    local value = chunk(name)
    loading[name] = nil
    if value == nil then value = true end
    loaded[name] = value
    return value
  end
end

local api = {}

api.freeze = freeze
-- The host reads hook results without running any of the script's code: it tells a read-only
-- proxy (whose contents it then reads raw) from any other table with a metatable by this map.
api.frozen = frozen

-- Loads one pack's rules.lua (if any) in a fresh environment and returns its hook table. Every
-- file is compiled first, in path order, so that a syntax error anywhere in the pack fails the
-- load, not the first item whose rule requires the module.
function api.load_pack(_pack_name, files, chunk_prefix)
  local env = new_env()
  local paths = {}
  for path in pairs(files) do paths[#paths + 1] = path end
  sort(paths)
  local chunks = {}
  for _, path in ipairs(paths) do
    chunks[path] = host.load_text(files[path], "@" .. chunk_prefix .. path, env)
  end
  env.require = make_require(chunks, chunk_prefix)
  local rules = chunks["rules.lua"]
  if not rules then return {} end
  local hooks = rules()
  if type(hooks) ~= "table" then
    error("must return a table of hooks, got " .. type(hooks), 0)
  end
  return hooks
end

api.require_shipped = load_shipped

return api
