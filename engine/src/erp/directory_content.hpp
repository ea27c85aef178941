#pragma once
// The entries of an ERP directory file as lists, for seeding an ERP (ledgerbridge erp init):
// model::load_directory builds a MemoryDirectory, which answers look-ups but cannot list what
// it holds. Same formats: a YAML/JSON file with the sections accounts, vendors, tax_codes,
// dimensions and periods, or a folder of CSV files with those names (model/directory.hpp).
#include <string>
#include <vector>

#include "model/directory.hpp"
#include "model/result.hpp"

namespace lb::erp {

struct DirectoryContent {
  std::vector<model::ErpAccount> accounts;
  std::vector<model::ErpVendor> vendors;
  std::vector<model::ErpTaxCode> tax_codes;
  std::vector<model::ErpDimensionValue> dimension_values;
  std::vector<model::ErpPeriod> periods;  // closed = false re-opens a range listed before
};

// Checks the file with model::load_directory first, so errors (file, line, field, "did you
// mean") are exactly the directory loader's; then lists the entries in file order.
Result<DirectoryContent> read_directory_content(const std::string& path);

}  // namespace lb::erp
