-- The default pack: how Pleo documents that spend is booked. Section numbers refer to the domain
-- brief (shared/domain/pleo-export-integration.md). Customer packs override single hooks and
-- fall back to these through ctx.base.

local M = {}

-- §2.1: wallet loads and unloads are always journal entries, whatever the method says.
local ALWAYS_JOURNAL = { wallet_topup = true, wallet_unload = true }
-- §2.1 legacy: the item types an AP-based customer books as invoices.
local INVOICE_TYPES = { invoice = true, invoice_payment = true, card_invoice = true }
-- §2.3 (DOC S50): types that move wallet money and carry a contraAccount.
local WALLET_TYPES = {
  card_purchase = true, fee = true, cashback = true, refund = true, chargeback = true,
  direct_reimbursement = true, invoice_payment = true, card_invoice = true, atm_withdrawal = true,
  personal_spend = true, wallet_topup = true, wallet_unload = true,
}
-- §2.3: types whose counter side is the employee (out-of-pocket) liability.
local OUT_OF_POCKET_TYPES = { out_of_pocket = true, mileage = true, per_diem = true }

local function configured(ctx, role)
  local code = ctx.settings.accounts[role]
  if code == nil or code == "" then
    ctx.fail("missing_configuration",
      "Account " .. role .. " missing: provide the " .. role:gsub("_", " ") .. " account in the configurations.")
  end
  return code
end

-- §2.3/§2.11: the account must exist in the ERP, not be blocked, and take the item's currency.
local function checked_account(ctx, code, currency)
  if not ctx.settings.check_directory then return code end
  local account = ctx.erp.account(code)
  if account == nil or account.blocked then
    ctx.fail("account_unknown", "Account No. " .. code .. " does not exist in the accounting system. Check Category.")
  end
  if account.currency and currency and account.currency ~= currency then
    ctx.fail("invalid_configuration", "Account No. " .. code .. " only takes " .. account.currency ..
      ", but this entry is in " .. currency .. ".")
  end
  return account.code
end

local function wallet_currency(item)
  return item.amount.inWalletCurrency.currency
end

-- §2.3 contra terminology: the item's contraAccount is the wallet account in its currency.
local function wallet_account(item, ctx)
  local contra = item.contraAccount
  if contra and (contra.code or contra.identifier) then return contra.code or contra.identifier end
  return configured(ctx, "wallet")
end

function M.validate(item, ctx)
  -- §2.4 mode 2: the lines must add up to the item's amount before anything is posted.
  local lines = item.accountingEntryLines
  -- §8.6 [GAP]: whether Pleo sends a line for wallet movements is unknown; without one there is
  -- no line to book, so say so rather than post half an entry.
  if #lines == 0 then
    ctx.fail("validation_failure", "The entry has no lines to book.")
  end
  local total, currency = 0, wallet_currency(item)
  for i, line in ipairs(lines) do
    local money = line.lineAmount.inWalletCurrency
    if money.currency ~= currency then
      ctx.fail("validation_failure",
        string.format("Line %d is in %s but the entry is in %s.", i, money.currency, currency))
    end
    total = total + money.value
  end
  if #lines > 0 and total ~= item.amount.inWalletCurrency.value then
    ctx.fail("validation_failure", string.format("The lines add up to %s %s but the entry amount is %s %s.",
      ctx.money.format(total, currency), currency,
      ctx.money.format(item.amount.inWalletCurrency.value, currency), currency))
  end
end

-- §2.3 posting matrix, §7 #28: money in (the lines are credited, the counter debited) for these
-- types and subTypes; everything else is money out.
local MONEY_IN = {
  cashback = true, refund = true, chargeback = true, wallet_topup = true,
  invoice_payment_returned = true, reimbursement_to_company = true, reimbursement_to_employee_refund = true,
}

local function usable(vendor)
  return vendor ~= nil and not vendor.blocked
end

-- §2.2 rule 3: a legacy supplier by code, then account number, then tax identifier.
local function legacy_supplier(item, ctx)
  local s = item.supplier
  if not s then return nil end
  local found = (s.code and ctx.erp.vendor_by_code(s.code))
  if not usable(found) then found = s.account and ctx.erp.vendor_by_code(s.account) end
  if not usable(found) then found = s.taxIdentifier and ctx.erp.vendor_by_tax_number(s.taxIdentifier) end
  if usable(found) then return found end
  return nil
end

-- §2.1
function M.bookkeeping_method(item, ctx)
  if ALWAYS_JOURNAL[item.type] then return "journal" end
  local bookkeeping = item.bookkeeping
  if bookkeeping == nil then
    if not INVOICE_TYPES[item.type] then return "journal" end
    local method = ctx.settings.legacy_invoice_method
    -- §2.2 rule 4: with vendors.legacy_fallback, a legacy supplier the ERP does not know is
    -- journalled against the fallback AP account instead of failing vendor_unknown.
    if method == "accounts_payable" and ctx.settings.vendors.legacy_fallback and not legacy_supplier(item, ctx) then
      ctx.warn("Supplier " .. (item.supplier and item.supplier.name or "?") .. " is not in the accounting system: " ..
        "booked as a journal entry" .. (item.type == "invoice" and " against the fallback payables account." or "."))
      return "journal"
    end
    return method
  end
  local method = bookkeeping.method
  if method == "journal" or method == "none" then return "journal" end
  if method == "accounts_payable" then return "accounts_payable" end
  ctx.fail("unexpected_failure", "Unknown bookkeeping method '" .. tostring(method) .. "'.")
end

-- §2.3 and §7 #28: the direction comes from the type and subType. Pleo's sign convention for
-- refunds, chargebacks and cashback is a [GAP], so for money-in types the sign is ignored; a
-- negative amount on a money-out type is a reversal and books the other way.
function M.direction(item, _ctx)
  if MONEY_IN[item.type] or (item.subType and MONEY_IN[item.subType]) then return "in" end
  if item.amount.inWalletCurrency.value < 0 then return "in" end
  return "out"
end

-- §2.2: with a vendor object, match it and ignore the supplier; otherwise (legacy) match the
-- supplier by code, account and tax identifier. Blocked vendors count as not found.
function M.vendor(item, ctx)
  local v = item.vendor
  if v then
    local keys = {
      externalId = function() return v.externalId and ctx.erp.vendor_by_external_id(v.externalId) end,
      code = function() return v.code and ctx.erp.vendor_by_code(v.code) end,
      taxRegistrationNumber = function()
        return v.taxRegistrationNumber and ctx.erp.vendor_by_tax_number(v.taxRegistrationNumber)
      end,
    }
    for _, key in ipairs(ctx.settings.vendors.match) do
      local found = keys[key] and keys[key]()
      if usable(found) then return found end
    end
    ctx.fail("vendor_unknown", "Vendor " .. (v.code or v.externalId or v.name) ..
      " does not exist or is blocked in the accounting system.")
  end
  local found = legacy_supplier(item, ctx)
  if found then return found end
  local name = item.supplier and item.supplier.name or "of this entry"
  ctx.fail("vendor_unknown", "Supplier " .. name .. " does not exist or is blocked in the accounting system.")
end

-- §2.3: the vendor-specific AP account of the vendor the vendor hook chose, else the fallback.
local function payables_account(item, ctx)
  local vendor = ctx.decided("vendor")
  if type(vendor) ~= "table" then
    local v = item.vendor
    vendor = v and v.code and ctx.erp.vendor_by_code(v.code)
  end
  if vendor and vendor.payablesAccount then return vendor.payablesAccount end
  return configured(ctx, "accounts_payable")
end

-- §2.3 posting matrix: the side that balances the lines.
function M.counter_account(item, ctx)
  local currency = wallet_currency(item)
  local method = ctx.decided("bookkeeping_method")
  if item.type == "invoice" or (method == "accounts_payable" and item.type ~= "invoice_payment") then
    return checked_account(ctx, payables_account(item, ctx), nil)
  end
  if WALLET_TYPES[item.type] then return checked_account(ctx, wallet_account(item, ctx), currency) end
  if OUT_OF_POCKET_TYPES[item.type] then return checked_account(ctx, configured(ctx, "out_of_pocket"), nil) end
  if item.type == "external_reimbursement" then
    return checked_account(ctx, configured(ctx, "external_reimbursement"), nil)
  end
  -- §2.3 [GAP] and §7 #29: a type Pleo added after this pack was written is never booked to a
  -- guessed account.
  ctx.fail("unexpected_failure", "No rule books items of type '" .. item.type .. "'" ..
    (item.subType and (" (" .. item.subType .. ")") or "") .. ".")
end

-- §2.3: an AP item that moved wallet money (a card purchase, a refund's receipt) is an invoice
-- (or credit note) *and* its payment; the payment is booked against the wallet account.
-- invoice_payment items are themselves the payment (their counter account is the wallet).
function M.payment_account(item, ctx)
  if item.type == "invoice_payment" or not WALLET_TYPES[item.type] then return nil end
  return checked_account(ctx, wallet_account(item, ctx), wallet_currency(item))
end

-- §2.3/§2.7: the line side. Pleo sends the GL account on expense lines; movement types without
-- one take their configured account.
function M.account(line, item, ctx)
  -- §8.3: a payment settles the vendor's payable, whatever account the line may carry.
  if item.type == "invoice_payment" then return checked_account(ctx, payables_account(item, ctx), nil) end
  local account = line.account
  local code = account and (account.code or account.identifier)
  if code == nil then
    local t = item.type
    if t == "wallet_topup" or t == "wallet_unload" then
      code = configured(ctx, "clearing")
    elseif t == "direct_reimbursement" or t == "external_reimbursement" then
      code = configured(ctx, "out_of_pocket")
    elseif t == "atm_withdrawal" or t == "personal_spend" then
      local receivable = ctx.settings.accounts.employee_receivable
      code = (receivable ~= nil and receivable ~= "") and receivable or configured(ctx, "out_of_pocket")
    else
      -- §2.11: a line without an expense account is missing configuration (a category).
      ctx.fail("missing_configuration", "Line has no account: choose a category for this expense in Pleo.")
    end
  end
  return checked_account(ctx, code, nil)
end

-- §2.6: the line's tax code must exist in the ERP. §7 #12/#13: with tax.vat = "explicit" the
-- VAT of an inclusive or exclusive line is booked on the ingoing tax account and reverse charge
-- is self-assessed on the ingoing and outgoing accounts (net zero); with "computed" the lines
-- carry the tax code only and the ERP computes the VAT from it.
function M.tax(line, item, ctx)
  local tax = line.tax
  if tax == nil then return nil end
  local code = tax.code
  if code == nil then
    ctx.fail("missing_configuration", "The line's tax has no code: map the tax rate to a tax code in Pleo.")
  end
  local erp = ctx.settings.check_directory and ctx.erp.tax_code(code)
  if ctx.settings.check_directory and (not erp or erp.blocked) then
    ctx.fail("tax_code_unknown", "Tax code " .. code .. " does not exist in the accounting system.")
  end
  local result = {
    code = erp and erp.code or code,
    type = tax.type,
    rate = tax.rate,
  }
  if ctx.settings.tax.vat ~= "explicit" then return result end
  result.ingoingTaxAccount = tax.ingoingTaxAccount or (erp and erp.ingoingTaxAccount) or nil
  result.outgoingTaxAccount = tax.outgoingTaxAccount or (erp and erp.outgoingTaxAccount) or nil
  if tax.type == "reverse" and (not result.ingoingTaxAccount or not result.outgoingTaxAccount) then
    ctx.fail("missing_configuration", "Tax code " .. code ..
      " is reverse charge but has no ingoing and outgoing tax accounts configured.")
  end
  if tax.type ~= "reverse" and tax.rate ~= 0 and not result.ingoingTaxAccount then
    ctx.fail("missing_configuration", "Tax code " .. code .. " has no ingoing tax account: configure one, " ..
      "or set tax.vat = \"computed\" to let the accounting system compute VAT.")
  end
  if result.ingoingTaxAccount then checked_account(ctx, result.ingoingTaxAccount, nil) end
  if result.outgoingTaxAccount then checked_account(ctx, result.outgoingTaxAccount, nil) end
  return result
end

-- §2.7/§2.13: tag group code = ERP dimension, tag code = dimension value, matched
-- case-insensitively; the ERP's own spelling is what gets posted.
function M.dimensions(line, item, ctx)
  local result = {}
  local check = ctx.settings.check_directory
  for _, tag in ipairs(line.tags or {}) do
    local value = check and ctx.erp.dimension_value(tag.groupCode, tag.code)
    if value and not value.blocked then
      result[value.dimension] = value.code
    elseif not check then
      result[tag.groupCode] = tag.code
    elseif ctx.settings.dimensions.unknown_tag == "drop" then
      ctx.warn("Tag " .. tag.groupCode .. "/" .. tag.code .. " is not in the accounting system; left out.")
    else
      ctx.fail("tag_unknown", "Tag with code " .. tag.code .. " does not exist in dimension " .. tag.groupCode ..
        " in the accounting system. Check the Tag.")
    end
  end
  local team_dimension = ctx.settings.dimensions.team
  if team_dimension ~= "" and item.team and item.team.code then
    result[team_dimension] = item.team.code
  end
  return result
end

-- "a, b, c" from a list of strings in the item.
local function joined(list)
  local parts = {}
  for i = 1, #list do parts[i] = list[i] end
  return table.concat(parts, ", ")
end

-- §2.7 description, §2.9 posting date and closed periods, §2.10 draft.
function M.posting(item, ctx)
  local date = ctx.date.day(item.date)
  if ctx.settings.check_directory and not ctx.erp.period_open(date) then
    local policy = ctx.settings.posting.closed_period
    if policy == "today" then
      date = ctx.date.today()
    elseif policy == "next_open" then
      local next_open = ctx.erp.next_open_date(date)
      if not next_open then
        ctx.fail("accounting_system_validation_failure", "No open accounting period after " .. date .. ".")
      end
      date = next_open
    else
      ctx.fail("accounting_system_validation_failure", "Closed accounting period: " .. date .. " cannot be posted.")
    end
    if date ~= ctx.date.day(item.date) then
      ctx.warn("Posting date moved from " .. ctx.date.day(item.date) .. " to " .. date .. ".")
    end
  end
  local user = item.user
  local description = ctx.text.join(" · ", item.supplier and item.supplier.name, user and user.name, item.note)
  if description == "" then description = "Pleo " .. item.type:gsub("_", " ") end
  -- §2.7: attendees and the entries a reimbursement settles belong in the description too.
  local info = item.additionalInformation
  if ctx.settings.posting.attendees and info.attendees and #info.attendees > 0 then
    description = description .. " (attendees: " .. joined(info.attendees) .. ")"
  end
  if info.reconciledEntries and #info.reconciledEntries > 0 then
    description = description .. " (settles " .. joined(info.reconciledEntries) .. ")"
  end
  local max = ctx.settings.posting.description_max_length
  if max > 0 then description = ctx.text.truncate(description, max) end
  local posting = {
    date = date,
    description = description,
    reference = item.additionalInformation.reconciliationId,
    draft = ctx.settings.posting.draft,
  }
  -- §7 #18: an invoice is dated by its invoice date and due date; a payment by its payment date.
  local invoice = item.additionalInformation.invoiceInformation
  if invoice and item.type == "invoice_payment" then
    posting.documentDate = invoice.paymentDate and ctx.date.day(invoice.paymentDate) or nil
  elseif invoice then
    posting.documentDate = ctx.date.day(invoice.invoiceDate)
    posting.dueDate = invoice.dueDate and ctx.date.day(invoice.dueDate) or nil
  end
  return posting
end

return M
