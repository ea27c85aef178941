-- The simulated companies book Pleo's categories to their ERP chart through tables/accounts.csv;
-- a category the map does not know goes to the suspense account with a warning, so a
-- bookkeeper can reclassify it. Everything else is the default pack.
local M = {}

function M.account(line, item, ctx)
  local category = line.account
  if category == nil or category.code == nil or item.type == "invoice_payment" then
    return ctx.base.account(line, item)
  end
  local mapped = ctx.lookup("accounts", category.code, "erp_account")
  if mapped == nil or mapped == "" then
    ctx.warn("Category " .. category.code .. " is not in the account map; booked to suspense.")
    mapped = ctx.settings.accounts.suspense
  end
  local account = ctx.erp.account(mapped)
  if account == nil or account.blocked then
    ctx.fail("account_unknown", "Account " .. mapped .. " (mapped from category " .. category.code ..
      ") does not exist or is blocked in the accounting system.")
  end
  return account.code
end

return M
