---@meta _
-- Editor annotations for ledgerbridge rule packs, read by lua-language-server (LuaLS) through
-- .luarc.json at the repository root. The engine never runs this file; it describes what
-- engine/src/rules/evaluator.cpp and item_view.cpp hand to hooks, so that an editor can
-- complete item.accountingEntryLines[1].account.code and ctx.erp.vendor_by_code(.
--
-- The view classes (Item, Line, Money, ...) must list exactly the fields the engine's views
-- expose: tests/rules/lua_types_test.cpp compares them with lb::rules::view_fields().
--
-- Conventions: money is always an integer in minor units of its currency (6366 GBP = 63.66).
-- A field typed `T?` is nil when Pleo sends null or leaves it out; the others are always set.
-- Reading a field that is not listed here is an error at run time, not nil.

-- Enumerations ---------------------------------------------------------------------------------
-- Pleo adds values over time and the decoder keeps unknown ones, so a hook should have an
-- answer (or a ctx.fail) for a value it does not recognise.

---@alias ItemType
---| "card_purchase"
---| "card_invoice"           # an invoice paid by card in one item
---| "out_of_pocket"
---| "mileage"
---| "per_diem"
---| "external_reimbursement" # reimbursed outside Pleo (payroll, cash)
---| "direct_reimbursement"   # reimbursed from the Pleo wallet
---| "invoice"
---| "invoice_payment"
---| "chargeback"
---| "refund"
---| "cashback"
---| "atm_withdrawal"
---| "wallet_topup"
---| "wallet_unload"
---| "personal_spend"
---| "fee"

---@alias ItemSubType
---| "reimbursement_to_employee_refund" # direct_reimbursement that bounced
---| "reimbursement_to_company"         # direct_reimbursement: employee paid the company
---| "reimbursement_to_employee"        # direct_reimbursement: company paid the employee
---| "invoice_payment_returned"         # invoice_payment reversed
---| "invoice_payment_sent"             # invoice_payment made
---| "interest"                         # fee that is interest

---@alias BookkeepingMethod
---| "none"             # balance movements (wallet top-up/unload); book as a journal entry
---| "journal"
---| "accounts_payable"

---@alias MethodDecision
---| "journal"          # journal entry (domain brief 2.4)
---| "accounts_payable" # AP document; the vendor hook runs next (domain brief 2.5)
---| "skip"             # no posting; the item's outcome is "skipped"

---@alias HookName
---| "validate"
---| "bookkeeping_method"
---| "direction"
---| "vendor"
---| "counter_account"
---| "payment_account"
---| "account"
---| "tax"
---| "dimensions"
---| "posting"

---@alias Direction
---| "out" # money out (a purchase): the lines are debited, the counter account credited
---| "in"  # money in (a refund, cashback, top-up): the lines are credited, the counter account debited

---@alias TaxType
---| "inclusive" # the line's amount includes the tax
---| "exclusive" # the tax comes on top of the net amount
---| "reverse"   # EU reverse charge: self-assessed, net effect zero

---@alias InvoiceStatus
---| "pending_approval"
---| "parsed"
---| "preparing"
---| "prepared"
---| "ready"
---| "rejected_by_approver"
---| "marked_as_paid"       # paid outside Pleo
---| "scheduled"
---| "payment_in_progress"
---| "paid"
---| "voided_by_user"
---| "rejected_by_user"
---| "failed_payment"

-- Pleo's ExportJobItemFailureReasonType. ctx.fail refuses any other value.
---@alias FailureType
---| "receipt_upload_failure"                   # uploading a file to the ERP failed
---| "receipt_download_failure"                 # downloading a receipt from Pleo failed
---| "receipt_file_size_limit_exceeded"         # a file is larger than the ERP accepts
---| "receipt_conversion_failure"               # converting or merging files failed
---| "unexpected_failure"                       # anything unclassified; also rule errors
---| "invalid_configuration"                    # a mapped value is wrong or unknown in the ERP
---| "missing_configuration"                    # a required account/journal mapping is absent
---| "accounting_system_authentication_failure"
---| "accounting_system_rate_limit"
---| "accounting_system_unreachable"
---| "validation_failure"                       # the item itself fails our checks
---| "accounting_system_validation_failure"     # the ERP would reject it (e.g. closed period)
---| "authorization_failure"
---| "accounting_system_timeout"
---| "vendor_unknown"                           # vendor missing or blocked in the ERP
---| "account_unknown"                          # GL account missing or blocked in the ERP
---| "tax_code_unknown"                         # tax code missing or blocked in the ERP
---| "tag_unknown"                              # dimension value missing or blocked in the ERP

-- The item view (Pleo's ExportItemV3; field names are Pleo's JSON names) ----------------------
-- Views are read-only and valid only while the item is being evaluated; copy out the values
-- you need instead of keeping a view. Lists support #, ipairs and [i]; objects support pairs
-- (non-nil fields in contract order).

---@class (exact) Money
---@field currency string ISO 4217 code, e.g. "DKK"
---@field value integer amount in minor units of `currency` (89696 SEK = 896.96); never a float

---@class (exact) Amount
---@field inSupplierCurrency Money what the supplier charged, in its currency
---@field inWalletCurrency Money what left the Pleo wallet, in the wallet's currency

---@class (exact) Account
---@field id string Pleo's uuid of the category/account
---@field name string display name in Pleo, e.g. "Office Supplies"
---@field code string? the ERP account code Pleo maps to (nil when the category has none)
---@field identifier string? the ERP's own id for the account

---@class (exact) Tag
---@field id string Pleo's uuid
---@field code string dimension value code in the ERP, e.g. "ENG"
---@field groupCode string dimension code in the ERP, e.g. "DEPT"

---@class (exact) Tax
---@field id string Pleo's uuid
---@field code string? ERP tax code, e.g. "S25"
---@field rate number decimal fraction: 0.25 is 25%
---@field type TaxType inclusive, exclusive or reverse
---@field amount Amount the tax, in minor units
---@field ingoingTaxAccount string? input VAT account (reverse charge: the debit side)
---@field outgoingTaxAccount string? output VAT account (reverse charge: the credit side)

---@class (exact) Line
---@field accountingEntryLineId string Pleo's id of the line
---@field lineAmount Amount the line's amount, in minor units
---@field netAmount Amount with or without tax depending on tax.type, in minor units
---@field account Account? the expense category; nil on lines without one (payments, top-ups)
---@field tags Tag[]? dimension values; nil or empty when untagged
---@field tax Tax? nil when the line has no tax

---@class (exact) Supplier
---@field account string? supplier account number in the ERP
---@field categoryCode string? merchant category code (MCC), e.g. "5999"
---@field code string? supplier id in the ERP
---@field country string? ISO country code
---@field name string? merchant name
---@field taxIdentifier string? VAT / tax id

---@class (exact) User
---@field id string Pleo's uuid
---@field name string full name
---@field code string? employee code in the ERP

---@class (exact) Team
---@field id string Pleo's uuid
---@field name string team name
---@field code string? the team's code in the ERP (often a cost centre)

---@class (exact) Vendor
---@field id string Pleo's uuid
---@field name string vendor name
---@field defaultCurrency string ISO 4217 code
---@field code string? vendor code in the ERP
---@field country string? ISO country code
---@field externalId string? the ERP's unique id for the vendor
---@field registrationNumber string? company registration number
---@field taxRegistrationNumber string? VAT / tax registration number

---@class (exact) Bookkeeping
---@field method BookkeepingMethod what Pleo chose; the bookkeeping_method hook decides

---@class (exact) SupplierBankAccount
---@field bankName string
---@field country string ISO country code
---@field accountNumber string?
---@field bankCode string?
---@field bic string?
---@field iban string?

---@class (exact) InvoiceInformation
---@field invoiceNumber string
---@field invoiceDate string YYYY-MM-DD (a date-time is passed on as sent)
---@field status InvoiceStatus
---@field dueDate string? YYYY-MM-DD
---@field paymentDate string? YYYY-MM-DD
---@field supplierBankAccount SupplierBankAccount?

---@class (exact) AdditionalInformation
---@field reconciliationId string Pleo's "book ID"; the default posting reference
---@field attendees string[]? names; nil when none were recorded
---@field reconciledEntries string[]? reconciliation ids a reimbursement settles
---@field invoiceInformation InvoiceInformation? invoice-related items only

---@class (exact) ServicePeriod
---@field from string ISO date-time, as sent
---@field to string ISO date-time, as sent

---@class (exact) File
---@field url string download URL, valid for 24 hours after the item was fetched
---@field type string MIME type, e.g. "application/pdf"
---@field size integer bytes

-- A map of link name to URL; Pleo sends "exportItem". Missing names read as nil.
---@class LinkMap
---@field exportItem string? the item's page or API URL
---@field [string] string

---@class (exact) Links
---@field web LinkMap links into the Pleo web app
---@field mobile LinkMap links into the Pleo mobile app
---@field api LinkMap links into Pleo's API

---@class (exact) Item
---@field companyId string Pleo company uuid
---@field accountingEntryId string Pleo's id of the item; the key the ledger posts once
---@field type ItemType
---@field subType ItemSubType? nil for most types
---@field date string ISO-8601 date-time in UTC, e.g. "2025-12-10T15:46:34Z"
---@field amount Amount the item's total, in minor units
---@field note string? the user's note
---@field files File[]? receipts; nil or empty when there are none
---@field supplier Supplier? merchant data
---@field user User? the employee; nil for company-level items
---@field team Team?
---@field accountingEntryLines Line[] one or more lines (a list, never nil)
---@field additionalInformation AdditionalInformation always present
---@field bookkeeping Bookkeeping? nil when Vendor Tagging is off (legacy)
---@field contraAccount Account? the wallet account in the item's currency; balance-moving types only
---@field vendor Vendor? present when vendor-based bookkeeping is on
---@field servicePeriod ServicePeriod? accrual metadata only; does not move the posting date
---@field _links Links

-- What the ERP directory returns (ctx.erp) ----------------------------------------------------
-- Fresh tables per call. Blocked entries are returned with blocked = true: the rule decides
-- what that means (domain brief 2.2: a blocked vendor counts as unknown).

---@class ErpAccount
---@field code string
---@field name string
---@field currency string? set when the account only takes this currency
---@field blocked boolean

---@class ErpVendor
---@field code string the vendor code to return from the vendor hook
---@field name string
---@field externalId string?
---@field taxNumber string? VAT / tax registration number
---@field registrationNumber string? company registration number
---@field currency string?
---@field payablesAccount string? vendor-specific AP control account
---@field blocked boolean

---@class ErpTaxCode
---@field code string
---@field name string
---@field rate number decimal fraction: 0.25 is 25%
---@field type TaxType
---@field ingoingTaxAccount string?
---@field outgoingTaxAccount string?
---@field blocked boolean

---@class ErpDimensionValue
---@field dimension string as the directory spells it
---@field code string as the directory spells it
---@field name string
---@field blocked boolean

---@class CtxErp
local CtxErp = {}

-- The account with this code, or nil.
---@param code string
---@return ErpAccount?
function CtxErp.account(code) end

-- The vendor with this ERP code, or nil.
---@param code string
---@return ErpVendor?
function CtxErp.vendor_by_code(code) end

-- The vendor with this ERP external id, or nil.
---@param external_id string
---@return ErpVendor?
function CtxErp.vendor_by_external_id(external_id) end

-- The first vendor listed with this tax number, or nil.
---@param tax_number string
---@return ErpVendor?
function CtxErp.vendor_by_tax_number(tax_number) end

-- The tax code, or nil.
---@param code string
---@return ErpTaxCode?
function CtxErp.tax_code(code) end

-- A dimension value; both parts match case-insensitively.
---@param dimension string e.g. "DEPT"
---@param code string e.g. "ENG"
---@return ErpDimensionValue?
function CtxErp.dimension_value(dimension, code) end

-- False when the date falls in a closed period. Raises on a string that is not a date.
---@param date string YYYY-MM-DD, or a date-time (its date is used)
---@return boolean
function CtxErp.period_open(date) end

-- The first open date on or after `date`, or nil if none within ten years.
---@param date string YYYY-MM-DD, or a date-time (its date is used)
---@return string?
function CtxErp.next_open_date(date) end

-- Shipped helper modules: ctx.money / require("lb.money") etc. -------------------------------

---@class lb.money
local money = {}

-- Decimals of an ISO 4217 currency (GBP 2, JPY 0, KWD 3). Raises on an unknown code.
---@param currency string
---@return integer
function money.digits(currency) end

-- Minor units as a decimal string: format(6366, "GBP") == "63.66".
---@param value integer minor units
---@param currency string
---@return string
function money.format(value, currency) end

-- value * rate, rounded half away from zero to whole minor units.
---@param value integer minor units
---@param rate number
---@return integer
function money.apply_rate(value, rate) end

-- The tax inside a tax-inclusive gross amount: gross * rate / (1 + rate), rounded.
---@param gross integer minor units
---@param rate number decimal fraction
---@return integer
function money.tax_included(gross, rate) end

-- The tax on top of a net amount: net * rate, rounded.
---@param net integer minor units
---@param rate number decimal fraction
---@return integer
function money.tax_excluded(net, rate) end

-- Integer shares of `total` proportional to `weights` that add up to `total` exactly.
---@param total integer minor units
---@param weights number[]
---@return integer[]
function money.split(total, weights) end

---@class lb.date
local date = {}

-- The date part: day("2025-12-10T15:46:34Z") == "2025-12-10".
---@param d string date or date-time
---@return string
function date.day(d) end

---@param d string date or date-time
---@return {year: integer, month: integer, day: integer}
function date.parse(d) end

-- The run's frozen date in UTC (fixtures: their `now`, default 2026-01-15).
---@return string
function date.today() end

---@param d string
---@param n integer days, may be negative
---@return string
function date.add_days(d, n) end

-- Whole days from a to b, positive when b is later.
---@param a string
---@param b string
---@return integer
function date.days_between(a, b) end

-- "YYYY-MM" of a date.
---@param d string
---@return string
function date.month(d) end

---@param d string
---@return string
function date.first_of_month(d) end

---@param d string
---@return string
function date.first_of_next_month(d) end

---@param d string
---@return string
function date.last_of_month(d) end

---@class lb.text
local text = {}

-- Number of Unicode code points (#s counts bytes).
---@param s string
---@return integer
function text.length(s) end

-- The first n code points of s, never splitting a character.
---@param s string
---@param n integer
---@return string
function text.truncate(s, n) end

---@param s string
---@return string
function text.trim(s) end

-- The non-empty arguments joined with sep; nil and "" are left out.
---@param sep string
---@param ... string|number|nil
---@return string
function text.join(sep, ...) end

-- initials("Luke Richardson") == "LR".
---@param name string
---@return string
function text.initials(name) end

-- ASCII case-insensitive equality; false when either side is nil.
---@param a string?
---@param b string?
---@return boolean
function text.iequals(a, b) end

-- ctx -----------------------------------------------------------------------------------------

-- The parent pack's hooks, each called with the parent's own ctx: pass no ctx argument.
-- A hook no parent defines raises "ctx.base.<hook>: no parent pack defines '<hook>'".
---@class BaseHooks
---@field validate fun(item: Item)
---@field bookkeeping_method fun(item: Item): MethodDecision, string? every result comes back ("skip", reason)
---@field direction fun(item: Item): Direction
---@field vendor fun(item: Item): string|ErpVendor|nil
---@field counter_account fun(item: Item): string
---@field payment_account fun(item: Item): string?
---@field account fun(line: Line, item: Item): string?
---@field tax fun(line: Line, item: Item): string|TaxDecision|nil
---@field dimensions fun(line: Line, item: Item): table<string, string>?
---@field posting fun(item: Item): PostingDecision?

---@class Ctx
---@field pack string name of the pack whose hook is running
---@field settings table<string, any> merged [settings] of the extends chain (child wins); read-only
---@field erp CtxErp the ERP directory
---@field money lb.money
---@field date lb.date
---@field text lb.text
---@field base BaseHooks the parent pack's hooks
local Ctx = {}

-- Fails the item with Pleo's failure type and a message for the user, and stops the hook
-- (it raises; a pcall around it does not undo the failure). The first ctx.fail of an item wins.
---@param type FailureType
---@param message? string shown in Pleo next to the failed item (default: the type's meaning)
function Ctx.fail(type, message) end

-- Adds a warning to the item's outcome; the item is still booked.
---@param message string
function Ctx.warn(message) end

-- A row of a pack table (pack.toml [tables.NAME]) by its key column, or one cell of it.
-- Cells are strings ("" when empty); nil when the key is not in the table. Raises when the
-- table or the column does not exist.
---@param table string table name from pack.toml
---@param key string|number value of the key column (numbers are compared as text)
---@return table<string, string>? row column name -> cell
---@overload fun(table: string, key: string|number, column: string): string?
function Ctx.lookup(table, key) end

-- What an earlier item hook returned for this item (its first result): the method from
-- bookkeeping_method, "out" or "in" from direction, what vendor returned (a code or the vendor
-- table), the code from counter_account, the account (or nil) from payment_account. nil for
-- validate and the line hooks, for a hook that has not run yet or that no pack defines, and for
-- vendor and payment_account on journal items. Raises on a name that is not a hook.
---@param hook HookName
---@return MethodDecision|Direction|string|ErpVendor|nil
function Ctx.decided(hook) end

-- Hook results -----------------------------------------------------------------------------------

-- The accounts decide how the VAT is posted (rules/README.md, "Posting documents"): with
-- ingoingTaxAccount an inclusive or exclusive line's VAT is split out onto it; with both
-- accounts reverse charge is self-assessed (two lines, net zero); without them the line carries
-- only the tax code and the ERP computes the VAT. type and rate default to the line's Pleo tax.
---@class TaxDecision
---@field code string non-empty ERP tax code
---@field type? TaxType
---@field rate? number decimal fraction
---@field ingoingTaxAccount? string input VAT account
---@field outgoingTaxAccount? string output VAT account (reverse charge)

-- Every field is optional; what a hook leaves out keeps the engine's default.
---@class PostingDecision
---@field date? string YYYY-MM-DD; default: the item's date
---@field documentDate? string YYYY-MM-DD; default: none
---@field dueDate? string YYYY-MM-DD; default: none
---@field description? string default: supplier name, user name and note, joined by a spaced middle dot (U+00B7)
---@field reference? string default: additionalInformation.reconciliationId
---@field draft? boolean default: true (domain brief 2.10)

-- What rules.lua returns. Hooks a pack leaves out come from the pack it extends. The engine
-- calls them in this order: validate, bookkeeping_method, direction, vendor (accounts_payable
-- only), counter_account, payment_account (accounts_payable only), then account, tax, dimensions
-- for each line, then posting. It then builds the posting documents from the answers.
---@class Hooks
---@field validate? fun(item: Item, ctx: Ctx) ctx.fail to reject the item; results are ignored
---@field bookkeeping_method? fun(item: Item, ctx: Ctx): MethodDecision, string? 2nd result: skip reason
---@field direction? fun(item: Item, ctx: Ctx): Direction which side the lines go on; no hook in the chain: "out"
---@field vendor? fun(item: Item, ctx: Ctx): string|ErpVendor|nil vendor code, or a table with .code
---@field counter_account? fun(item: Item, ctx: Ctx): string the account that balances the lines
---@field payment_account? fun(item: Item, ctx: Ctx): string? wallet account of the AP payment document; nil: none
---@field account? fun(line: Line, item: Item, ctx: Ctx): string? the line's account code
---@field tax? fun(line: Line, item: Item, ctx: Ctx): string|TaxDecision|nil nil: no tax on the line
---@field dimensions? fun(line: Line, item: Item, ctx: Ctx): table<string, string>? dimension code -> value code
---@field posting? fun(item: Item, ctx: Ctx): PostingDecision? nil keeps every default
