-- The ctx functions hooks call for every item (rules/README.md, "ctx"): ctx.lookup, ctx.erp.*
-- and ctx.decided. Host-only, like views.lua: the engine runs this chunk once per Lua state and
-- puts the functions it returns into every level's ctx. They are Lua, not C functions, so that
-- a call is compiled into the calling hook's trace instead of ending it; the engine's C
-- functions are only called for what Lua cannot answer (a directory look-up not yet memoised,
-- an error message, a trace record).
local host = ...
-- host.tables      name -> {rows = {key -> row}, columns = {name -> true}}, not yet frozen
-- host.erp         name -> {uncached = the C function answering that directory look-up,
--                  arity = its argument count, memo_limit = answers per memo generation (below)}
-- host.decided     hook number -> what it returned for the current item (the engine clears it)
-- host.hooks       hook names in order
-- host.freeze      the prelude's freeze()
-- host.tracing     function() -> true while the engine traces the item (views.lua's: a Lua
--                  function reading the arena, so that the check compiles to a load)
-- host.record      record(call, result, args...): a look-up for the trace

local type, error, tostring = type, error, tostring
local freeze, tracing, record = host.freeze, host.tracing, host.record

local api = {}

-- Arguments as C's luaL_checkstring takes them: strings, and numbers as their text.
local function text_arg(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  local got = v == nil and "no value" or t
  error("bad argument #" .. n .. " to '" .. fname .. "' (string expected, got " .. got .. ")", 3)
end

-- ctx.lookup(table, key [, column]) ------------------------------------------------------------
local tables, names = {}, {}
for name, t in pairs(host.tables) do
  tables[name] = { rows = t.rows, columns = t.columns }
  names[#names + 1] = name
end
table.sort(names)
local table_list = #names > 0 and table.concat(names, ", ") or "none"
-- Scripts get the rows read-only; the maps stay plain here so that a look-up is one index.
for _, t in pairs(tables) do
  for key, row in pairs(t.rows) do t.rows[key] = freeze(row) end
end

function api.lookup(name, key, column)
  name = text_arg(name, 1, "lookup")
  local kt = type(key)
  if kt ~= "string" and kt ~= "number" then
    error("ctx.lookup('" .. name .. "', key): key must be a string, got " .. kt, 2)
  end
  local t = tables[name]
  if t == nil then error("ctx.lookup: no table '" .. name .. "' (this pack has: " .. table_list .. ")", 2) end
  local result
  if column == nil then
    result = t.rows[kt == "string" and key or tostring(key)]
    if tracing() then record('ctx.lookup("' .. name .. '", ', result, key) end
  else
    if not t.columns[column] then
      error("ctx.lookup: table '" .. name .. "' has no column '" .. tostring(column) .. "'", 2)
    end
    local row = t.rows[kt == "string" and key or tostring(key)]
    if row ~= nil then result = row[column] end
    if tracing() then record('ctx.lookup("' .. name .. '", ', result, key, column) end
  end
  return result
end

-- ctx.erp.* -------------------------------------------------------------------------------------
-- Answers are memoised per evaluator: the directory does not change while items are evaluated
-- (the engine calls clear_erp() when it does), and building a record per call was a fifth of a
-- typical pack's time. Records are frozen, since every later item shares them.
--
-- The memo lives in the pack's Lua state and counts against its memory cap, so it is bounded,
-- in two generations: answers go into the young one; when it holds its limit it becomes the old
-- one and the old one is dropped; an answer found in the old one moves back into the young. So
-- the keys in use stay remembered while others pass through, where starting afresh when full
-- forgot them all (keys asked for at random from 976: 29% found with room for 500, 65% with
-- two generations of 500), and at most twice the limit is held. One memo per function, so that
-- a stream of distinct vendors never throws away the few tax codes and accounts every item asks
-- for. (A smaller live heap is also a cheaper one: the collector visits every remembered record
-- on each cycle.)
local NONE = {}  -- a memoised nil (false is a real answer of period_open)
local memos = {}

-- `arity`: 1, or 2 for dimension_value(dimension, code), whose key joins both with a byte no
-- code contains. `limit`: answers per generation.
local function memoised(fname, arity, limit, uncached)
  local young, old, count = {}, {}, 0
  memos[#memos + 1] = function()
    young, old, count = {}, {}, 0
  end
  local call = "ctx.erp." .. fname .. "("
  return function(a, b)
    a = text_arg(a, 1, fname)
    local key = a
    if arity == 2 then
      b = text_arg(b, 2, fname)
      key = a .. "\31" .. b
    else
      b = nil
    end
    local result = young[key]
    if result == nil then
      result = old[key]
      if result == nil then
        result = uncached(a, b)
        if type(result) == "table" then result = freeze(result) end
        if result == nil then result = NONE end
      end
      if count >= limit then
        for k in next, old do old[k] = nil end  -- emptied in place: its slots are reused
        young, old, count = old, young, 0
      end
      count = count + 1
      young[key] = result
    end
    if result == NONE then result = nil end
    if tracing() then
      if arity == 2 then record(call, result, a, b) else record(call, result, a) end
    end
    return result
  end
end

api.erp = {}
for fname, f in pairs(host.erp) do
  api.erp[fname] = memoised(fname, f.arity, f.memo_limit, f.uncached)
end

function api.clear_erp()
  for _, forget in ipairs(memos) do forget() end
end

-- ctx.decided(hook) -----------------------------------------------------------------------------
local hook_number = {}
for i, name in ipairs(host.hooks) do hook_number[name] = i end
local hook_list = table.concat(host.hooks, ", ")
local decided = host.decided

function api.decided(hook)
  local i = hook_number[hook]
  if i == nil then error("ctx.decided: no hook '" .. tostring(hook) .. "' (hooks are: " .. hook_list .. ")", 2) end
  local result = decided[i]
  if tracing() then record('ctx.decided("' .. hook .. '"', result) end
  return result
end

return api
