#include "erp/sink.hpp"

#include <fmt/format.h>

#include <charconv>

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

Result<Capabilities> capabilities_from(const std::map<std::string, std::string>& settings, Capabilities base) {
  if (auto it = settings.find("single_attachment"); it != settings.end()) {
    if (it->second != "true" && it->second != "false")
      return Error{fmt::format("erp setting single_attachment must be true or false, not '{}'", it->second)};
    base.single_attachment = it->second == "true";
  }
  if (auto it = settings.find("max_attachment_bytes"); it != settings.end()) {
    int64_t v = 0;
    const auto& t = it->second;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || v <= 0)
      return Error{fmt::format("erp setting max_attachment_bytes must be a positive number of bytes, not '{}'", t)};
    base.max_attachment_bytes = v;
  }
  if (auto it = settings.find("attachment_types"); it != settings.end()) {
    base.attachment_types.clear();
    const std::string& t = it->second;
    for (size_t begin = 0; begin <= t.size();) {
      size_t comma = t.find(',', begin);
      if (comma == std::string::npos) comma = t.size();
      std::string type = t.substr(begin, comma - begin);
      type.erase(0, type.find_first_not_of(' '));
      type.erase(type.find_last_not_of(' ') + 1);
      if (!type.empty()) {
        if (type.find('/') == std::string::npos)
          return Error{fmt::format("erp setting attachment_types: '{}' is not a MIME type (e.g. application/pdf)", type)};
        base.attachment_types.push_back(type);
      }
      begin = comma + 1;
    }
  }
  return base;
}

}  // namespace lb::erp
