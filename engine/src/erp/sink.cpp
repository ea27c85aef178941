#include "erp/sink.hpp"

namespace lb::erp {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::validation: return "validation";
    case ErrorKind::unreachable: return "unreachable";
    case ErrorKind::auth: return "auth";
    case ErrorKind::rate_limit: return "rate_limit";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::attachment: return "attachment";
  }
  return "unreachable";
}

// §3.2: item failure reasons. Transient kinds only reach Pleo once retries are exhausted.
const char* failure_reason_type(const SinkError& error) {
  switch (error.kind) {
    case ErrorKind::validation: return "accounting_system_validation_failure";
    case ErrorKind::unreachable: return "accounting_system_unreachable";
    case ErrorKind::auth: return "accounting_system_authentication_failure";
    case ErrorKind::rate_limit: return "accounting_system_rate_limit";
    case ErrorKind::timeout: return "accounting_system_timeout";
    case ErrorKind::conflict: return "accounting_system_validation_failure";
    case ErrorKind::attachment: return "receipt_upload_failure";
  }
  return "unexpected_failure";
}

}  // namespace lb::erp
