#pragma once
// The enumerations of the v3 contract, as lists of the values known today. Item types and the
// like are kept as strings (Pleo adds values); these lists say whether a value is known.
#include <array>
#include <string_view>

namespace lb::model {

inline constexpr std::array<std::string_view, 17> kItemTypes = {
    "card_purchase", "card_invoice",  "out_of_pocket",   "mileage",        "per_diem",
    "external_reimbursement",         "direct_reimbursement",             "invoice",
    "invoice_payment", "chargeback",  "refund",          "cashback",       "atm_withdrawal",
    "wallet_topup",  "wallet_unload", "personal_spend",  "fee"};

inline constexpr std::array<std::string_view, 6> kItemSubTypes = {
    "reimbursement_to_employee_refund", "reimbursement_to_company", "reimbursement_to_employee",
    "invoice_payment_returned",         "invoice_payment_sent",     "interest"};

inline constexpr std::array<std::string_view, 3> kBookkeepingMethods = {"none", "journal",
                                                                        "accounts_payable"};

inline constexpr std::array<std::string_view, 3> kTaxTypes = {"inclusive", "exclusive", "reverse"};

// ExportJobItemFailureReasonType, including the v3-only values (domain brief §3.2).
inline constexpr std::array<std::string_view, 18> kItemFailureReasonTypes = {
    "receipt_upload_failure",
    "receipt_download_failure",
    "receipt_file_size_limit_exceeded",
    "receipt_conversion_failure",
    "unexpected_failure",
    "invalid_configuration",
    "missing_configuration",
    "accounting_system_authentication_failure",
    "accounting_system_rate_limit",
    "accounting_system_unreachable",
    "validation_failure",
    "accounting_system_validation_failure",
    "authorization_failure",
    "accounting_system_timeout",
    "vendor_unknown",
    "account_unknown",
    "tax_code_unknown",
    "tag_unknown"};

// ExportJobFailureReasonType (domain brief §3.3).
inline constexpr std::array<std::string_view, 15> kJobFailureReasonTypes = {
    "invalid_configuration",         "missing_configuration",
    "authentication_failure",        "accounting_system_authentication_failure",
    "pleo_rate_limit",               "accounting_system_rate_limit",
    "service_unreachable",           "accounting_system_unreachable",
    "validation_failure",            "authorization_failure",
    "integration_unusable",          "job_expired",
    "service_timeout",               "accounting_system_timeout",
    "canceled_by_user"};

inline constexpr std::array<std::string_view, 5> kJobItemStatuses = {
    "pending", "in_progress", "failed", "successful", "abandoned"};

inline constexpr std::array<std::string_view, 5> kJobStatuses = {
    "pending", "in_progress", "failed", "completed", "completed_with_errors"};

template <std::size_t N>
constexpr bool is_one_of(std::string_view value, const std::array<std::string_view, N>& known) {
  for (auto k : known)
    if (k == value) return true;
  return false;
}

}  // namespace lb::model
