-- Date helpers for rule packs: ctx.date, or require("lb.date").
-- Dates are ISO strings "YYYY-MM-DD" (a date-time's first ten characters are its date), so they
-- compare correctly as strings. today() is the run's frozen clock, in UTC.
local date = {}

local function days_in_month(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

local function check(d, fname)
  if type(d) ~= "string" then error("date." .. fname .. ": expected a date string, got " .. type(d), 3) end
  local y, m, dd = d:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)")
  if not y then error("date." .. fname .. ": expected YYYY-MM-DD, got '" .. d .. "'", 3) end
  y, m, dd = tonumber(y), tonumber(m), tonumber(dd)
  -- Arithmetic would carry 2025-02-30 into March: a date that does not exist is an error.
  if m < 1 or m > 12 or dd < 1 or dd > days_in_month(y, m) then
    error("date." .. fname .. ": no such date '" .. d:sub(1, 10) .. "'", 3)
  end
  return y, m, dd
end

-- Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local function format(y, m, d) return string.format("%04d-%02d-%02d", y, m, d) end

local byte = string.byte

-- True when d starts with YYYY-MM-DD (digits and dashes; the ranges are checked by the caller).
local function iso_prefix(d)
  if type(d) ~= "string" or #d < 10 or byte(d, 5) ~= 45 or byte(d, 8) ~= 45 then return false end
  for i = 1, 10 do
    if i ~= 5 and i ~= 8 then
      local b = byte(d, i)
      if b < 48 or b > 57 then return false end
    end
  end
  return true
end

--- The date part of an ISO date or date-time: date.day("2025-12-10T15:46:34Z") == "2025-12-10".
function date.day(d)
  -- Called for every item: a byte check and a substring, no pattern match or formatting.
  if iso_prefix(d) then
    local m = (byte(d, 6) - 48) * 10 + byte(d, 7) - 48
    local dd = (byte(d, 9) - 48) * 10 + byte(d, 10) - 48
    if m >= 1 and m <= 12 and dd >= 1 and (dd <= 28 or dd <= days_in_month(tonumber(d:sub(1, 4)), m)) then
      return d:sub(1, 10)
    end
  end
  return format(check(d, "day"))
end

--- {year=, month=, day=} of a date or date-time.
function date.parse(d)
  local y, m, dd = check(d, "parse")
  return { year = y, month = m, day = dd }
end

--- The run's date (frozen for the whole run; fixtures set it).
function date.today()
  return os.date("!%Y-%m-%d")
end

--- The date n days later (n may be negative).
function date.add_days(d, n)
  return format(civil_from_days(days_from_civil(check(d, "add_days")) + n))
end

--- Whole days from a to b (positive when b is later).
function date.days_between(a, b)
  return days_from_civil(check(b, "days_between")) - days_from_civil(check(a, "days_between"))
end

--- "YYYY-MM" of a date.
function date.month(d)
  local y, m = check(d, "month")
  return string.format("%04d-%02d", y, m)
end

function date.first_of_month(d)
  local y, m = check(d, "first_of_month")
  return format(y, m, 1)
end

function date.first_of_next_month(d)
  local y, m = check(d, "first_of_next_month")
  if m == 12 then return format(y + 1, 1, 1) end
  return format(y, m + 1, 1)
end

function date.last_of_month(d)
  return date.add_days(date.first_of_next_month(d), -1)
end

return date
