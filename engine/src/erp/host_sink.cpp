#include "erp/host_sink.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>

namespace lb::erp {

namespace {

SinkError error(ErrorKind kind, std::string message) { return SinkError{kind, std::move(message), std::nullopt}; }

std::string what_of(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Calls `f` and turns a thrown exception into a SinkError of `kind`.
template <typename R, typename F, typename... Args>
R forward(std::string_view sink, std::string_view call, ErrorKind kind, const F& f, Args&&... args) {
  if (!f) return error(ErrorKind::unreachable, fmt::format("host sink {}: no {} callback", sink, call));
  try {
    return f(std::forward<Args>(args)...);
  } catch (...) {
    return error(kind, fmt::format("host sink {}: {} callback threw: {}", sink, call, what_of(std::current_exception())));
  }
}

// A directory callback that throws answers "unknown"; the rules then fail the item clearly.
template <typename T, typename F, typename... Args>
T ask(std::string_view call, T fallback, const F& f, Args&&... args) {
  if (!f) return fallback;
  try {
    return f(std::forward<Args>(args)...);
  } catch (...) {
    spdlog::error("host directory: {} callback threw: {}", call, what_of(std::current_exception()));
    return fallback;
  }
}

}  // namespace

std::optional<model::ErpAccount> HostDirectory::account(std::string_view code) const {
  return ask<std::optional<model::ErpAccount>>("account", std::nullopt, cb_.account, code);
}
std::optional<model::ErpVendor> HostDirectory::vendor_by_code(std::string_view code) const {
  return ask<std::optional<model::ErpVendor>>("vendor_by_code", std::nullopt, cb_.vendor_by_code, code);
}
std::optional<model::ErpVendor> HostDirectory::vendor_by_external_id(std::string_view id) const {
  return ask<std::optional<model::ErpVendor>>("vendor_by_external_id", std::nullopt, cb_.vendor_by_external_id, id);
}
std::optional<model::ErpVendor> HostDirectory::vendor_by_tax_number(std::string_view tax_number) const {
  return ask<std::optional<model::ErpVendor>>("vendor_by_tax_number", std::nullopt, cb_.vendor_by_tax_number,
                                              tax_number);
}
std::optional<model::ErpTaxCode> HostDirectory::tax_code(std::string_view code) const {
  return ask<std::optional<model::ErpTaxCode>>("tax_code", std::nullopt, cb_.tax_code, code);
}
std::optional<model::ErpDimensionValue> HostDirectory::dimension_value(std::string_view dimension,
                                                                       std::string_view code) const {
  return ask<std::optional<model::ErpDimensionValue>>("dimension_value", std::nullopt, cb_.dimension_value, dimension,
                                                      code);
}
bool HostDirectory::period_open(std::string_view date) const {
  const bool valid = model::is_iso_date(date.substr(0, std::min<size_t>(10, date.size())));
  if (!valid) return false;  // the Directory contract: nothing can be posted on a non-date
  if (!cb_.period_open) return true;
  return ask<bool>("period_open", false, cb_.period_open, date);
}
std::optional<std::string> HostDirectory::next_open_date(std::string_view date) const {
  if (!cb_.next_open_date) {
    if (!model::is_iso_date(date)) return std::nullopt;
    return std::string(date);
  }
  return ask<std::optional<std::string>>("next_open_date", std::nullopt, cb_.next_open_date, date);
}

HostSink::HostSink(HostCallbacks callbacks)
    : name_(std::move(callbacks.name)),
      capabilities_(std::move(callbacks.capabilities)),
      post_(std::move(callbacks.post)),
      lookup_(std::move(callbacks.lookup)),
      upload_(std::move(callbacks.upload_attachment)),
      check_(std::move(callbacks.check)),
      directory_(std::move(callbacks.directory)) {}

SinkResult<Posted> HostSink::post(const posting::Document& document) {
  return forward<SinkResult<Posted>>(name_, "post", ErrorKind::timeout, post_, document);
}

SinkResult<std::optional<Posted>> HostSink::lookup(std::string_view external_key) {
  return forward<SinkResult<std::optional<Posted>>>(name_, "lookup", ErrorKind::unreachable, lookup_, external_key);
}

SinkResult<std::monostate> HostSink::upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                                       std::string_view bytes) {
  return forward<SinkResult<std::monostate>>(name_, "upload_attachment", ErrorKind::unreachable, upload_, document,
                                             attachment, bytes);
}

SinkResult<std::monostate> HostSink::check() {
  if (!check_) return std::monostate{};
  return forward<SinkResult<std::monostate>>(name_, "check", ErrorKind::unreachable, check_);
}

}  // namespace lb::erp
