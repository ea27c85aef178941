-- Money helpers for rule packs: ctx.money, or require("lb.money").
-- Amounts are integers in minor units, as Pleo sends them (89696 SEK = 896.96); these helpers
-- never turn money into floating point on the way to a posting.
local _, host = ...
local floor = math.floor

local money = {}

--- Number of decimals of an ISO 4217 currency (GBP 2, JPY 0, KWD 3).
function money.digits(currency)
  return host.currency_digits(currency)
end

local function round_half_away(x)
  if x >= 0 then return floor(x + 0.5) end
  return -floor(-x + 0.5)
end

--- Formats minor units as a decimal string: money.format(6366, "GBP") == "63.66".
function money.format(value, currency)
  local digits = money.digits(currency)
  local sign = value < 0 and "-" or ""
  local abs = value < 0 and -value or value
  if digits == 0 then return sign .. string.format("%d", abs) end
  local scale = 10 ^ digits
  return sign .. string.format("%d.%0" .. digits .. "d", floor(abs / scale), abs % scale)
end

--- value * rate rounded half away from zero to whole minor units.
function money.apply_rate(value, rate)
  return round_half_away(value * rate)
end

--- The tax inside a tax-inclusive amount: gross * rate / (1 + rate), rounded.
function money.tax_included(gross, rate)
  return round_half_away(gross * rate / (1 + rate))
end

--- The tax on top of a tax-exclusive amount: net * rate, rounded.
function money.tax_excluded(net, rate)
  return round_half_away(net * rate)
end

--- Splits `total` into integer shares proportional to `weights` that add up to `total`
--- exactly (largest remainder; ties go to the earlier share).
function money.split(total, weights)
  local sum = 0
  for i = 1, #weights do sum = sum + weights[i] end
  if sum == 0 then error("money.split: the weights add up to zero", 2) end
  local shares, remainders, given = {}, {}, 0
  for i = 1, #weights do
    local exact = total * weights[i] / sum
    local share = exact >= 0 and floor(exact) or -floor(-exact)
    shares[i], remainders[i] = share, math.abs(exact - share)
    given = given + share
  end
  local left = total - given
  local step = left >= 0 and 1 or -1
  while left ~= 0 do
    local best = 1
    for i = 2, #weights do
      if remainders[i] > remainders[best] then best = i end
    end
    shares[best] = shares[best] + step
    remainders[best] = -1
    left = left - step
  end
  return shares
end

return money
