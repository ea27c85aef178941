#pragma once
// DESIGN §6, domain brief §6.1/§6.2: no API key, token or client secret ever appears in a log
// line or an error. Every credential is registered here when it is loaded or received, and the
// transport passes every log message and error text through redact() before it leaves.
#include <string>
#include <string_view>

namespace lb::pleo {

// Process-wide and thread-safe. Values shorter than 6 characters are not registered (they
// would blank out ordinary words; no real credential is that short).
void register_secret(std::string_view secret);
void forget_secret(std::string_view secret);  // after rotation, so the set does not grow

// `text` with every registered secret (and its base64 form inside a Basic header) replaced by
// "[redacted]", and any "Authorization: ..." / "Bearer ..." value blanked as a second line of
// defence.
std::string redact(std::string_view text);

// RFC 4648 base64 (Basic auth headers).
std::string base64_encode(std::string_view bytes);

}  // namespace lb::pleo
