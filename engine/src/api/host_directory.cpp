#include "api/host_directory.hpp"

#include <fmt/format.h>

namespace lb::api {
namespace {

model::ErpVendor to_model(ledgerbridge::Vendor&& v) {
  return {.code = std::move(v.code),
          .name = std::move(v.name),
          .externalId = std::move(v.externalId),
          .taxNumber = std::move(v.taxNumber),
          .registrationNumber = std::move(v.registrationNumber),
          .currency = std::move(v.currency),
          .payablesAccount = std::move(v.payablesAccount),
          .blocked = v.blocked};
}

std::optional<model::ErpVendor> to_model(std::optional<ledgerbridge::Vendor>&& v) {
  if (!v) return std::nullopt;
  return to_model(std::move(*v));
}

}  // namespace

template <typename F>
auto HostDirectory::guarded(const char* what, F&& f) const -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    if (!failed_) error_ = fmt::format("ERP directory: {} failed: {}", what, e.what());
  } catch (...) {
    if (!failed_) error_ = fmt::format("ERP directory: {} failed", what);
  }
  failed_ = true;
  return {};
}

std::optional<model::ErpAccount> HostDirectory::account(std::string_view code) const {
  return guarded("account", [&]() -> std::optional<model::ErpAccount> {
    auto a = host_->account(code);
    if (!a) return std::nullopt;
    return model::ErpAccount{.code = std::move(a->code), .name = std::move(a->name),
                             .currency = std::move(a->currency), .blocked = a->blocked};
  });
}

std::optional<model::ErpVendor> HostDirectory::vendor_by_code(std::string_view code) const {
  return guarded("vendor_by_code", [&] { return to_model(host_->vendor_by_code(code)); });
}

std::optional<model::ErpVendor> HostDirectory::vendor_by_external_id(std::string_view id) const {
  return guarded("vendor_by_external_id", [&] { return to_model(host_->vendor_by_external_id(id)); });
}

std::optional<model::ErpVendor> HostDirectory::vendor_by_tax_number(std::string_view tax_number) const {
  return guarded("vendor_by_tax_number", [&] { return to_model(host_->vendor_by_tax_number(tax_number)); });
}

std::optional<model::ErpTaxCode> HostDirectory::tax_code(std::string_view code) const {
  return guarded("tax_code", [&]() -> std::optional<model::ErpTaxCode> {
    auto t = host_->tax_code(code);
    if (!t) return std::nullopt;
    return model::ErpTaxCode{.code = std::move(t->code), .name = std::move(t->name), .rate = t->rate,
                             .type = std::move(t->type), .ingoingTaxAccount = std::move(t->ingoingTaxAccount),
                             .outgoingTaxAccount = std::move(t->outgoingTaxAccount), .blocked = t->blocked};
  });
}

std::optional<model::ErpDimensionValue> HostDirectory::dimension_value(std::string_view dimension,
                                                                       std::string_view code) const {
  return guarded("dimension_value", [&]() -> std::optional<model::ErpDimensionValue> {
    auto d = host_->dimension_value(dimension, code);
    if (!d) return std::nullopt;
    return model::ErpDimensionValue{.dimension = std::move(d->dimension), .code = std::move(d->code),
                                    .name = std::move(d->name), .blocked = d->blocked};
  });
}

bool HostDirectory::period_open(std::string_view date) const {
  return guarded("period_open", [&] { return host_->period_open(date); });
}

std::optional<std::string> HostDirectory::next_open_date(std::string_view date) const {
  return guarded("next_open_date", [&] { return host_->next_open_date(date); });
}

}  // namespace lb::api
