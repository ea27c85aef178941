-- The REPORT §3 rule set as hooks. Written the way a consultant would write a customer pack (the
-- ctx helpers, the ERP directory, a mapping table), not tuned for the benchmark: what it costs is
-- what a real pack of this size costs.
local hooks = {}

local WALLET_MOVES = { wallet_topup = true, wallet_unload = true }
local PAYABLE_TYPES = { invoice = true, invoice_payment = true }
local EMPLOYEE_PAID = { out_of_pocket = true, mileage = true, per_diem = true, external_reimbursement = true }

-- (a) Pleo's method when it names one we book; wallet movements are always journals, and
-- without Vendor Tagging (no bookkeeping) invoices still go to accounts payable.
function hooks.bookkeeping_method(item, ctx)
  if WALLET_MOVES[item.type] then return "journal" end
  local bookkeeping = item.bookkeeping
  local method = bookkeeping and bookkeeping.method
  if method == "journal" or method == "accounts_payable" then return method end
  if PAYABLE_TYPES[item.type] then return "accounts_payable" end
  return "journal"
end

-- (d) By vendor code, then by tax number; a vendor the ERP does not have or has blocked is
-- unknown (domain brief §2.2). The vendor object wins over the supplier when both are there.
local function active(vendor)
  if vendor and not vendor.blocked then return vendor end
  return nil
end

function hooks.vendor(item, ctx)
  local code, tax_number
  local vendor, supplier = item.vendor, item.supplier
  if vendor then
    code, tax_number = vendor.code, vendor.taxRegistrationNumber
  elseif supplier then
    code, tax_number = supplier.code, supplier.taxIdentifier
  end
  local found = code and active(ctx.erp.vendor_by_code(code))
  if not found and tax_number then found = active(ctx.erp.vendor_by_tax_number(tax_number)) end
  if found then return found.code end
  if code or tax_number then
    ctx.fail("vendor_unknown",
      "Vendor " .. (code or tax_number) .. " does not exist or is blocked in the accounting system.")
  end
  ctx.fail("vendor_unknown", "The item names no vendor: no vendor code and no tax number.")
end

function hooks.counter_account(item, ctx)
  local accounts = ctx.settings.accounts
  if WALLET_MOVES[item.type] then return accounts.clearing end
  if ctx.decided("bookkeeping_method") == "accounts_payable" then return accounts.payables end
  local contra = item.contraAccount
  if contra and contra.code then return contra.code end
  if EMPLOYEE_PAID[item.type] then return accounts.out_of_pocket end
  return accounts.payables
end

-- (b) R&D spending on 6xxx accounts goes to one account; everything else through the map.
function hooks.account(line, item, ctx)
  local accounts = ctx.settings.accounts
  local account = line.account
  local code = account and account.code
  if not code then return accounts.default end
  local team = item.team
  if team and team.code == "R&D" and code:sub(1, 1) == "6" then return accounts.rd_override end
  local row = ctx.lookup("accounts", code)
  return row and row.erp_account or accounts.default
end

-- (c) No tax, a code the ERP does not know, reverse charge for a foreign supplier that charged
-- no VAT, else Pleo's code.
function hooks.tax(line, item, ctx)
  local settings = ctx.settings.tax
  local tax = line.tax
  if not tax then return settings.none end
  local code = tax.code
  local erp = code and ctx.erp.tax_code(code)
  if not erp or erp.blocked then return settings.unknown end
  local supplier = item.supplier
  local country = supplier and supplier.country
  if country and country ~= ctx.settings.companies[item.companyId] and tax.rate == 0 then
    return settings.reverse_charge[code] or settings.reverse_charge_fallback
  end
  return code
end

function hooks.dimensions(line, item, ctx)
  local tags = line.tags
  if not tags or #tags == 0 then return nil end
  local dimensions = {}
  for _, tag in ipairs(tags) do dimensions[tag.groupCode] = tag.code end
  return dimensions
end

-- (e) A closed month moves the date to the next open day; (f) the note, else the supplier's
-- name, cut to 60 code points.
function hooks.posting(item, ctx)
  local date = ctx.date.day(item.date)
  if not ctx.erp.period_open(date) then date = ctx.erp.next_open_date(date) end
  local note = item.note
  local supplier = item.supplier
  local description = (note and note ~= "" and note) or (supplier and supplier.name) or ""
  return { date = date, description = ctx.text.truncate(description, 60) }
end

return hooks
