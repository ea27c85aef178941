#pragma once
// The ERP directory: the accounting system's master data that rules query (does account X
// exist, find a vendor, is this period open). Offline runs and fixtures load it from a file;
// ERP sinks (engine/src/erp) will provide their own implementation of the same interface.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"

namespace lb::model {

// Every member has a default initializer, so designated initializers may leave any of them
// out without tripping -Wmissing-field-initializers (-Wextra).
struct ErpAccount {
  std::string code{};
  std::string name{};
  std::optional<std::string> currency{};  // set when the account only takes one currency
  bool blocked = false;
};

struct ErpVendor {
  std::string code{};
  std::string name{};
  std::optional<std::string> externalId{};
  std::optional<std::string> taxNumber{};           // VAT / tax registration number
  std::optional<std::string> registrationNumber{};  // company registration number
  std::optional<std::string> currency{};
  std::optional<std::string> payablesAccount{};  // vendor-specific AP control account
  bool blocked = false;
};

struct ErpTaxCode {
  std::string code{};
  std::string name{};
  double rate = 0;     // decimal fraction
  std::string type{};  // inclusive | exclusive | reverse
  std::optional<std::string> ingoingTaxAccount{};
  std::optional<std::string> outgoingTaxAccount{};
  bool blocked = false;
};

struct ErpDimensionValue {
  std::string dimension{};  // e.g. DEPT (matched case-insensitively)
  std::string code{};       // e.g. ENG (matched case-insensitively)
  std::string name{};
  bool blocked = false;
};

// A closed accounting period: [from, to] inclusive, ISO dates (YYYY-MM-DD).
struct ErpPeriod {
  std::string from{};
  std::string to{};
  bool closed = true;
};

class Directory {
 public:
  virtual ~Directory() = default;

  // Look-ups return nullopt when the ERP does not know the key. Blocked entries are returned
  // with blocked = true: the caller decides (domain brief §2.2: blocked vendor = unknown).
  virtual std::optional<ErpAccount> account(std::string_view code) const = 0;
  virtual std::optional<ErpVendor> vendor_by_code(std::string_view code) const = 0;
  virtual std::optional<ErpVendor> vendor_by_external_id(std::string_view id) const = 0;
  // Several vendors may share a tax number; the first one listed wins (deterministic).
  virtual std::optional<ErpVendor> vendor_by_tax_number(std::string_view tax_number) const = 0;
  virtual std::optional<ErpTaxCode> tax_code(std::string_view code) const = 0;
  virtual std::optional<ErpDimensionValue> dimension_value(std::string_view dimension,
                                                           std::string_view code) const = 0;
  // False when `date` (YYYY-MM-DD, or a date-time whose first 10 characters are one) falls in
  // a closed period, and also when it is not a valid date: nothing can be posted on it.
  virtual bool period_open(std::string_view date) const = 0;
  // The first open date on or after `date` (YYYY-MM-DD), or nullopt if none within ten years
  // or `date` is not a valid date.
  virtual std::optional<std::string> next_open_date(std::string_view date) const = 0;
};

// A directory held in memory: what the file loaders build. Adding an entry with an existing key
// replaces it, so a fixture can lay its own entries over the pack's default directory.
class MemoryDirectory final : public Directory {
 public:
  MemoryDirectory();
  ~MemoryDirectory() override;
  MemoryDirectory(const MemoryDirectory&);
  MemoryDirectory& operator=(const MemoryDirectory&);

  void add(ErpAccount account);
  // A vendor keeps the place of the first vendor added with its code, which decides which
  // vendor a shared tax number or external id finds.
  void add(ErpVendor vendor);
  void add(ErpTaxCode tax_code);
  void add(ErpDimensionValue value);
  // closed = true closes [from, to]; closed = false re-opens a range added before with exactly
  // these dates (and does nothing else). Throws std::invalid_argument unless from and to are
  // valid dates with from <= to: the loaders check this first and report it with a position.
  void add(ErpPeriod period);

  std::optional<ErpAccount> account(std::string_view code) const override;
  std::optional<ErpVendor> vendor_by_code(std::string_view code) const override;
  std::optional<ErpVendor> vendor_by_external_id(std::string_view id) const override;
  std::optional<ErpVendor> vendor_by_tax_number(std::string_view tax_number) const override;
  std::optional<ErpTaxCode> tax_code(std::string_view code) const override;
  std::optional<ErpDimensionValue> dimension_value(std::string_view dimension,
                                                   std::string_view code) const override;
  bool period_open(std::string_view date) const override;
  std::optional<std::string> next_open_date(std::string_view date) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True for a valid calendar date written YYYY-MM-DD.
bool is_iso_date(std::string_view text);

// Loads a directory file (YAML or JSON; JSON is YAML) with the sections `accounts`, `vendors`,
// `tax_codes`, `dimensions` and `periods`, or a folder of CSV files with those names
// (accounts.csv, ...), into `into`. Errors name the file, line and field.
// Entries are lists of mappings (CSV: columns) named like the struct fields above; code (and
// dimension for dimension values, from and to for periods, type for tax codes) is required,
// an empty value means "not given", and flags take true/false/yes/no/1/0. YAML also takes
// `dimensions: {DEPT: [ENG, {code: HR, name: People}]}` and a month "2025-01" as a closed period.
// Entries replace entries already in `into` with the same key, but a key repeated within one
// file is an error. On error `into` is left as it was.
Status load_directory(const std::string& path, MemoryDirectory& into);

}  // namespace lb::model
