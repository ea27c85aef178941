#pragma once
// Shared helpers for the ledger and ERP tests: a scratch folder per test and small documents.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include "posting/document.hpp"

namespace lb::testing {

// A fresh folder under the system temp dir, removed when the test ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("lb-{}-{}-{}-{}", tag, ::getpid(), counter++, std::random_device{}());
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A balanced journal entry: debit `expense`, credit `counter`, both in DKK.
inline posting::Document journal(const std::string& entry_id, int64_t amount = 12500, std::string expense = "6010",
                                 std::string counter = "5810", std::string date = "2025-06-10") {
  posting::Document d;
  d.kind = posting::DocumentKind::journal_entry;
  d.externalKey = entry_id;
  d.accountingEntryId = entry_id;
  d.reference = "rec-" + entry_id;
  d.documentDate = date;
  d.postingDate = date;
  d.currency = "DKK";
  d.description = "Office supplies";
  d.lines.push_back({.role = posting::LineRole::expense, .account = expense, .debit = amount, .currency = "DKK",
                     .text = "Paper"});
  d.lines.push_back({.role = posting::LineRole::counter, .account = counter, .credit = amount, .currency = "DKK",
                     .text = "Pleo wallet"});
  return d;
}

// An AP invoice to `vendor`: expense debit, AP credit.
inline posting::Document ap_invoice(const std::string& entry_id, std::string vendor = "V1001", int64_t amount = 40000) {
  posting::Document d = journal(entry_id, amount, "7110", "2000");
  d.kind = posting::DocumentKind::ap_invoice;
  d.vendor = std::move(vendor);
  d.invoiceNumber = "INV-77";
  return d;
}

}  // namespace lb::testing
