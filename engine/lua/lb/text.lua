-- Text helpers for rule packs: ctx.text, or require("lb.text").
-- Lengths and truncation count Unicode code points, not bytes: `#s` counts bytes, so cutting a
-- description with string.sub can split a character (bench REPORT §4.4).
local text = {}

-- Byte length of the UTF-8 sequence that starts with byte b (1 for stray continuation bytes).
local function seq_len(b)
  if b < 0xC0 then return 1 end
  if b < 0xE0 then return 2 end
  if b < 0xF0 then return 3 end
  return 4
end

--- Number of code points in a UTF-8 string.
function text.length(s)
  local n, i, len = 0, 1, #s
  while i <= len do
    i = i + seq_len(s:byte(i))
    n = n + 1
  end
  return n
end

--- The first n code points of s (s itself when shorter).
function text.truncate(s, n)
  if #s <= n then return s end  -- no more bytes than n: no more code points either
  local i, len, count = 1, #s, 0
  while i <= len and count < n do
    i = i + seq_len(s:byte(i))
    count = count + 1
  end
  return s:sub(1, math.min(i - 1, len))
end

--- Leading and trailing white space removed.
function text.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- Joins the non-empty strings among the arguments with sep; nil and "" are left out.
function text.join(sep, ...)
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= "" then parts[#parts + 1] = tostring(v) end
  end
  return table.concat(parts, sep)
end

--- Initials of a name: text.initials("Luke Richardson") == "LR".
function text.initials(name)
  local out = {}
  for word in name:gmatch("[^%s%-]+") do
    out[#out + 1] = text.truncate(word, 1):upper()
  end
  return table.concat(out)
end

--- ASCII case-insensitive equality (codes, tag and dimension values).
function text.iequals(a, b)
  return a ~= nil and b ~= nil and a:lower() == b:lower()
end

return text
