#include "pleo/error.hpp"

#include <fmt/format.h>

namespace lb::pleo {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::network: return "network";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::auth: return "auth";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::bad_request: return "bad_request";
    case ErrorKind::conflict_409: return "conflict_409";
    case ErrorKind::conflict_422: return "conflict_422";
    case ErrorKind::payload_too_large_413: return "payload_too_large_413";
    case ErrorKind::rate_limited: return "rate_limited";
    case ErrorKind::server: return "server";
    case ErrorKind::bad_response: return "bad_response";
    case ErrorKind::cursor_repeated: return "cursor_repeated";
    case ErrorKind::reconnect_required: return "reconnect_required";
    case ErrorKind::missing_contra_accounts: return "missing_contra_accounts";
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::config: return "config";
    case ErrorKind::token_store: return "token_store";
  }
  return "network";
}

std::string Error::to_string() const {
  std::string out;
  if (!endpoint.empty()) out += endpoint + ": ";
  out += pleo::to_string(kind);
  std::string detail;
  if (http_status != 0) detail += fmt::format("HTTP {}", http_status);
  if (!type.empty()) detail += (detail.empty() ? "" : " ") + type;
  if (!request_id.empty()) detail += (detail.empty() ? "" : ", ") + ("request-id " + request_id);
  if (!detail.empty()) out += " (" + detail + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace lb::pleo
