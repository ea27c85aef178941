#pragma once
// Synthetic Pleo Export API v3 data for benchmarks and tests: export items shaped like the ones
// Pleo sends (every type and subType, several wallet and supplier currencies, split lines, taxes,
// tags, vendors, non-ASCII and emoji text, long notes, \u-escaped lines) and the ERP master data
// they refer to.
//
// Items depend on the seed. The world they live in (companies, Pleo account codes, ERP accounts,
// 5,000 vendors, tax codes, dimensions, closed months) does not: it is one fixed world, so that
// the benchmark rule pack checked in under tests/bench/pack can name its accounts and companies,
// and so that a data set of any size and seed exercises every branch of that pack.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "model/result.hpp"

namespace lb::sim {

// Bumped whenever a seed's output changes, so that a kept data set (`bench --keep`) made by an
// older generator is regenerated rather than reused.
inline constexpr int kGeneratorVersion = 1;

class ItemGenerator {
 public:
  explicit ItemGenerator(uint64_t seed);
  ~ItemGenerator();
  ItemGenerator(const ItemGenerator&) = delete;
  ItemGenerator& operator=(const ItemGenerator&) = delete;

  // The next item as one line of JSON, without the newline. About one line in five escapes
  // every non-ASCII character as \uXXXX (surrogate pairs for emoji), as some producers do.
  std::string next();

  // What a caller may pin instead of drawing it (the simulated Pleo needs every item of a job
  // to belong to the job's company, and every type to appear in a small data set). The random
  // draws happen either way, so pinning one field does not shift the rest of the sequence.
  struct Pin {
    int company = -1;  // index into the fixed world's companies (world.hpp kCompanies)
    int type = -1;     // index into ExportItemTypeV3 in the contract's order (kItemTypes)
  };
  std::string next(const Pin& pin);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ExportItemTypeV3, in the contract's order (the index ItemGenerator::Pin::type takes).
inline constexpr const char* kItemTypes[] = {
    "card_purchase", "card_invoice", "out_of_pocket", "mileage", "per_diem", "external_reimbursement",
    "direct_reimbursement", "invoice", "invoice_payment", "chargeback", "refund", "cashback", "atm_withdrawal",
    "wallet_topup", "wallet_unload", "personal_spend", "fee"};

// Writes `count` items, one JSON object per line. Returns the number of bytes written.
uint64_t write_items(std::ostream& out, std::size_t count, uint64_t seed);

// The ERP directory of the fixed world, as YAML for model::load_directory: accounts, 5,000
// vendors (some blocked, some sharing a tax number), tax codes, dimensions and closed months.
void write_directory(std::ostream& out);

// The benchmark pack's account map, tables/accounts.csv: 200 Pleo account codes -> ERP account.
// About a fifth of the codes items use are deliberately missing from it.
void write_account_map(std::ostream& out);

struct DataSet {
  std::filesystem::path items;      // items.jsonl
  std::filesystem::path directory;  // directory.yaml
  uint64_t item_bytes = 0;
};

// Writes items.jsonl and directory.yaml into `dir` (created if needed).
Result<DataSet> write_data_set(const std::filesystem::path& dir, std::size_t count, uint64_t seed);

}  // namespace lb::sim
