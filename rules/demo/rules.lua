-- The demo company books Pleo's categories to its own chart of accounts (tables/accounts.csv);
-- everything else is the default pack's behaviour.
return {
  account = function(line, item, ctx)
    local pleo_code = line.account and line.account.code
    local mapped = pleo_code and ctx.lookup("accounts", pleo_code, "erp_account")
    if mapped then return mapped end
    return ctx.base.account(line, item)
  end,
}
