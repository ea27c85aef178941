// The host ERP's directory half: C callbacks answering JSON, read into the public API's records.
#include <fmt/format.h>

#include <stdexcept>

#include "capi_internal.hpp"

namespace lb::capi {
namespace {

const char* query_name(ledgerbridge_directory_query q) {
  switch (q) {
    case LEDGERBRIDGE_QUERY_ACCOUNT: return "account";
    case LEDGERBRIDGE_QUERY_VENDOR_BY_CODE: return "vendor_by_code";
    case LEDGERBRIDGE_QUERY_VENDOR_BY_EXTERNAL_ID: return "vendor_by_external_id";
    case LEDGERBRIDGE_QUERY_VENDOR_BY_TAX_NUMBER: return "vendor_by_tax_number";
    case LEDGERBRIDGE_QUERY_TAX_CODE: return "tax_code";
    case LEDGERBRIDGE_QUERY_DIMENSION_VALUE: return "dimension_value";
    case LEDGERBRIDGE_QUERY_PERIOD_OPEN: return "period_open";
    case LEDGERBRIDGE_QUERY_NEXT_OPEN_DATE: return "next_open_date";
  }
  return "query";
}

// Field readers: a reply with a field of the wrong type is the host's bug, reported by name
// rather than guessed around.
struct Record {
  const nlohmann::json& j;
  const char* what;

  void require_object() const {
    if (!j.is_object()) throw std::runtime_error(fmt::format("{} reply must be a JSON object or null", what));
  }
  std::string str(const char* key, bool required = false) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) throw std::runtime_error(fmt::format("{} reply has no \"{}\"", what, key));
      return {};
    }
    if (!it->is_string()) throw std::runtime_error(fmt::format("{} reply: \"{}\" must be a string", what, key));
    return it->get<std::string>();
  }
  std::optional<std::string> opt(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return str(key);
  }
  bool flag(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return false;
    if (!it->is_boolean()) throw std::runtime_error(fmt::format("{} reply: \"{}\" must be true or false", what, key));
    return it->get<bool>();
  }
  double number(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return 0;
    if (!it->is_number()) throw std::runtime_error(fmt::format("{} reply: \"{}\" must be a number", what, key));
    return it->get<double>();
  }
};

std::optional<ledgerbridge::Vendor> vendor(const std::optional<nlohmann::json>& j, const char* what) {
  if (!j) return std::nullopt;
  const Record r{*j, what};
  r.require_object();
  return ledgerbridge::Vendor{.code = r.str("code", true),
                              .name = r.str("name"),
                              .externalId = r.opt("externalId"),
                              .taxNumber = r.opt("taxNumber"),
                              .registrationNumber = r.opt("registrationNumber"),
                              .currency = r.opt("currency"),
                              .payablesAccount = r.opt("payablesAccount"),
                              .blocked = r.flag("blocked")};
}

}  // namespace

nlohmann::json parse_reply(const ledgerbridge_reply& reply, const char* what) {
  auto j = nlohmann::json::parse(reply.json, nullptr, false);
  if (j.is_discarded()) {
    throw std::runtime_error(fmt::format("{} reply is not valid JSON: {}", what,
                                         reply.json.size() > 80 ? reply.json.substr(0, 80) + "..." : reply.json));
  }
  return j;
}

HostErp::~HostErp() {
  if (cb_.release) cb_.release(cb_.user_data);
}

std::optional<nlohmann::json> HostErp::query(ledgerbridge_directory_query q, std::string_view key,
                                             const std::string* key2) {
  if (!cb_.directory) return std::nullopt;
  const char* what = query_name(q);
  ledgerbridge_reply reply;
  const std::string k(key);  // the callback gets NUL-terminated strings
  const ledgerbridge_status st = cb_.directory(cb_.user_data, q, k.c_str(), key2 ? key2->c_str() : nullptr, &reply);
  if (raw(st) != LEDGERBRIDGE_OK) {
    throw std::runtime_error(reply.has_error && !reply.message.empty()
                                 ? reply.message
                                 : fmt::format("the host's {} callback failed ({})", what, status_name(raw(st))));
  }
  if (!reply.has_json) return std::nullopt;
  auto j = parse_reply(reply, what);
  if (j.is_null()) return std::nullopt;
  return j;
}

std::optional<ledgerbridge::Account> HostErp::account(std::string_view code) {
  auto j = query(LEDGERBRIDGE_QUERY_ACCOUNT, code);
  if (!j) return std::nullopt;
  const Record r{*j, "account"};
  r.require_object();
  return ledgerbridge::Account{
      .code = r.str("code", true), .name = r.str("name"), .currency = r.opt("currency"), .blocked = r.flag("blocked")};
}

std::optional<ledgerbridge::Vendor> HostErp::vendor_by_code(std::string_view code) {
  return vendor(query(LEDGERBRIDGE_QUERY_VENDOR_BY_CODE, code), "vendor_by_code");
}
std::optional<ledgerbridge::Vendor> HostErp::vendor_by_external_id(std::string_view id) {
  return vendor(query(LEDGERBRIDGE_QUERY_VENDOR_BY_EXTERNAL_ID, id), "vendor_by_external_id");
}
std::optional<ledgerbridge::Vendor> HostErp::vendor_by_tax_number(std::string_view tax_number) {
  return vendor(query(LEDGERBRIDGE_QUERY_VENDOR_BY_TAX_NUMBER, tax_number), "vendor_by_tax_number");
}

std::optional<ledgerbridge::TaxCode> HostErp::tax_code(std::string_view code) {
  auto j = query(LEDGERBRIDGE_QUERY_TAX_CODE, code);
  if (!j) return std::nullopt;
  const Record r{*j, "tax_code"};
  r.require_object();
  return ledgerbridge::TaxCode{.code = r.str("code", true),
                               .name = r.str("name"),
                               .rate = r.number("rate"),
                               .type = r.str("type", true),
                               .ingoingTaxAccount = r.opt("ingoingTaxAccount"),
                               .outgoingTaxAccount = r.opt("outgoingTaxAccount"),
                               .blocked = r.flag("blocked")};
}

std::optional<ledgerbridge::DimensionValue> HostErp::dimension_value(std::string_view dimension,
                                                                     std::string_view code) {
  const std::string value(code);
  auto j = query(LEDGERBRIDGE_QUERY_DIMENSION_VALUE, dimension, &value);
  if (!j) return std::nullopt;
  const Record r{*j, "dimension_value"};
  r.require_object();
  return ledgerbridge::DimensionValue{
      .dimension = r.str("dimension", true), .code = r.str("code", true), .name = r.str("name"), .blocked = r.flag("blocked")};
}

bool HostErp::period_open(std::string_view date) {
  auto j = query(LEDGERBRIDGE_QUERY_PERIOD_OPEN, date);
  if (!j) return true;
  if (!j->is_boolean()) throw std::runtime_error("period_open reply must be true or false");
  return j->get<bool>();
}

std::optional<std::string> HostErp::next_open_date(std::string_view date) {
  auto j = query(LEDGERBRIDGE_QUERY_NEXT_OPEN_DATE, date);
  if (!j) return std::nullopt;
  if (!j->is_string()) throw std::runtime_error("next_open_date reply must be a \"YYYY-MM-DD\" string or null");
  return j->get<std::string>();
}

}  // namespace lb::capi
