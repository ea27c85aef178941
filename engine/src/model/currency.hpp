#pragma once
// ISO 4217 currencies and their minor units. Pleo sends amounts in minor units ("cents");
// the number of decimals per currency is ISO's (JPY 0, KWD 3), see domain brief §2.7 [GAP].
#include <optional>
#include <string_view>

namespace lb::model {

// Number of minor-unit digits for an active ISO 4217 code, or nullopt if the code is unknown.
std::optional<int> currency_minor_units(std::string_view code);

inline bool is_iso4217(std::string_view code) { return currency_minor_units(code).has_value(); }

}  // namespace lb::model
