#pragma once
// Checks on the text a hook returns (rules/README.md, "What each hook returns"): every string the
// engine takes from a result goes into the outcome JSON and on to the ERP, so it must be UTF-8,
// free of control characters and of a sensible length.
#include <cstddef>
#include <string>
#include <string_view>

namespace lb::rules {

struct TextRule {
  std::size_t max_chars;  // code points
  bool free_text;         // control characters allowed but NUL
};

// Account, vendor, tax and dimension codes. Pleo's chart of accounts holds an account code of at
// most 255 characters (pleo-chart-of-accounts-openapi.yml, `code: maxLength: 255`): the engine
// holds every code to the same.
inline constexpr TextRule kCodeText{255, false};
// The posting reference: Pleo asks for an AS field of at least 50 characters for the
// reconciliation id (domain brief §2.7); 1,000 leaves room for any reference scheme.
inline constexpr TextRule kReferenceText{1000, false};
// The posting description and a skip reason: free text. It is made from the item's own text
// (supplier, user, note: domain brief §2.7), which may hold line breaks, tabs and other control
// characters (the generated world's notes carry "Ref:\x07"): those are kept (the outcome JSON
// escapes them); NUL is not, since it cuts a C string short. The AS field's own limit applies
// (§7 #19); this bound only keeps runaway text out.
inline constexpr TextRule kDescriptionText{10000, true};

// Dimensions on one line: Pleo lets a company select up to 5 AS dimensions (domain brief
// §2.13); 50 leaves room for a pack that tags more than Pleo syncs and keeps runaway tables out.
inline constexpr std::size_t kMaxDimensions = 50;

// The length of the UTF-8 sequence at the start of `s` (non-empty) if it is well-formed
// (shortest form, no surrogates, at most U+10FFFF), else 0.
std::size_t utf8_sequence(std::string_view s);

// Empty when `s` keeps `rule`; else what is wrong, to follow "it" or "field 'x'":
// "is not valid UTF-8 (byte 0xFF at offset 0)", "contains a control character (U+0000 at offset
// 2)", "is longer than 255 characters".
std::string text_problem(std::string_view s, TextRule rule);

// `s` for display in outcomes, traces and messages: every byte that does not start a well-formed
// UTF-8 character becomes U+FFFD, and text past `max_bytes` (at least 4) is cut on a character,
// ending in "…", so that the whole stays within `max_bytes`.
std::string displayable_text(std::string_view s, std::size_t max_bytes);

}  // namespace lb::rules
