#pragma once
// A host's ledgerbridge::Directory (public API) seen as the engine's model::Directory. The rules
// cannot tell "the ERP failed" from "the ERP does not know this key", so a failure is recorded
// here instead of being thrown through Lua: the caller checks failed() after each item, fails
// the item and clears the evaluator's memo, so a failed answer is never cached as "unknown".
#include <ledgerbridge/ledgerbridge.hpp>

#include <memory>
#include <string>

#include "model/directory.hpp"

namespace lb::api {

class HostDirectory final : public model::Directory {
 public:
  explicit HostDirectory(std::shared_ptr<ledgerbridge::Directory> host) : host_(std::move(host)) {}

  std::optional<model::ErpAccount> account(std::string_view code) const override;
  std::optional<model::ErpVendor> vendor_by_code(std::string_view code) const override;
  std::optional<model::ErpVendor> vendor_by_external_id(std::string_view id) const override;
  std::optional<model::ErpVendor> vendor_by_tax_number(std::string_view tax_number) const override;
  std::optional<model::ErpTaxCode> tax_code(std::string_view code) const override;
  std::optional<model::ErpDimensionValue> dimension_value(std::string_view dimension,
                                                          std::string_view code) const override;
  bool period_open(std::string_view date) const override;
  std::optional<std::string> next_open_date(std::string_view date) const override;

  // The first failure since the last reset (one adapter serves one thread at a time).
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  void reset() const { failed_ = false, error_.clear(); }

 private:
  template <typename F>
  auto guarded(const char* what, F&& f) const -> decltype(f());

  std::shared_ptr<ledgerbridge::Directory> host_;
  mutable bool failed_ = false;
  mutable std::string error_;
};

}  // namespace lb::api
