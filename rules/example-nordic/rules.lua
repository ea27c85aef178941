-- A Danish customer on top of the default pack (rules/default). Only what differs is here;
-- every other hook, and every fallback below, is the default pack's (ctx.base).

local M = {}

-- EU member states other than Denmark: purchases from them can carry Danish reverse charge.
local EU = {}
for code in ("AT BE BG CY CZ DE EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"):gmatch("%a%a") do
  EU[code] = true
end

local function erp_account(ctx, code, why)
  local account = ctx.erp.account(code)
  if account == nil or account.blocked then
    ctx.fail("account_unknown", "Account " .. code .. " (" .. why .. ") does not exist in the accounting system.")
  end
  return account.code
end

-- Pleo's categories map onto this company's chart (tables/accounts.csv); the R&D team's
-- development costs go to the capitalisation accounts (tables/rd_accounts.csv).
function M.account(line, item, ctx)
  local category = line.account
  if category == nil or category.code == nil or item.type == "invoice_payment" then
    return ctx.base.account(line, item)  -- movement types: the configured accounts
  end
  local mapped = ctx.lookup("accounts", category.code, "erp_account")
  if mapped == nil then
    ctx.fail("account_unknown", "Pleo category " .. category.code .. " (" .. (category.name or "?") ..
      ") has no row in tables/accounts.csv.")
  end
  if item.team and item.team.code == ctx.settings.rd.team then
    local capitalised = ctx.lookup("rd_accounts", mapped, "rd_account")
    if capitalised then return erp_account(ctx, capitalised, "R&D capitalisation of " .. mapped) end
  end
  return erp_account(ctx, mapped, "mapped from Pleo category " .. category.code)
end

local function from_erp(ctx, code)
  local erp = ctx.erp.tax_code(code)
  if erp == nil or erp.blocked then
    ctx.fail("tax_code_unknown", "Tax code " .. code .. " does not exist in the accounting system.")
  end
  return {
    code = erp.code, type = erp.type, rate = erp.rate,
    ingoingTaxAccount = erp.ingoingTaxAccount, outgoingTaxAccount = erp.outgoingTaxAccount,
  }
end

-- Danish VAT: Pleo's tax codes map to the ERP's (tables/tax_codes.csv), whose tax accounts
-- are used; a service bought without VAT from another EU country is self-assessed.
function M.tax(line, item, ctx)
  local tax = line.tax
  if tax == nil then
    local country = item.supplier and item.supplier.country
    local category = line.account and line.account.code
    if country and EU[country] and category and ctx.lookup("accounts", category, "service") == "yes" then
      return from_erp(ctx, ctx.settings.eu_services.tax_code)
    end
    return nil
  end
  local mapped = tax.code and ctx.lookup("tax_codes", tax.code, "erp_code")
  if mapped == nil then return ctx.base.tax(line, item) end
  return from_erp(ctx, mapped)
end

return M
