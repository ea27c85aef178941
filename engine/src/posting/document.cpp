#include "posting/document.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/json_writer.hpp"

namespace lb::posting {

using namespace model::json_literals;

namespace {

constexpr std::pair<DocumentKind, const char*> kKinds[] = {
    {DocumentKind::journal_entry, "journal_entry"},
    {DocumentKind::ap_invoice, "ap_invoice"},
    {DocumentKind::ap_payment, "ap_payment"},
    {DocumentKind::credit_note, "credit_note"},
};

constexpr std::pair<LineRole, const char*> kRoles[] = {
    {LineRole::expense, "expense"},
    {LineRole::tax, "tax"},
    {LineRole::reverse_charge_in, "reverse_charge_in"},
    {LineRole::reverse_charge_out, "reverse_charge_out"},
    {LineRole::counter, "counter"},
    {LineRole::payables, "payables"},
};

template <typename E, size_t N>
const char* name_of(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <typename E, size_t N>
std::optional<E> value_of(const std::pair<E, const char*> (&table)[N], std::string_view name) {
  for (const auto& [v, n] : table)
    if (name == n) return v;
  return std::nullopt;
}

void optional_string(model::JsonWriter& w, const std::optional<std::string>& s) {
  if (s)
    w.value(*s);
  else
    w.null();
}

}  // namespace

const char* to_string(DocumentKind kind) { return name_of(kKinds, kind); }
std::optional<DocumentKind> document_kind_from(std::string_view name) { return value_of(kKinds, name); }
const char* to_string(LineRole role) { return name_of(kRoles, role); }
std::optional<LineRole> line_role_from(std::string_view name) { return value_of(kRoles, name); }

Status check_invariants(const Document& d) {
  if (d.lines.empty()) return Error{fmt::format("{} {} has no lines", to_string(d.kind), d.externalKey)};
  // Per currency: debits and credits, in the order currencies first appear (stable messages).
  // A document has one currency, rarely a few: the first line's is summed on its own and any
  // other in a short list, so that checking a one-currency document allocates nothing.
  struct Sums {
    std::string_view currency;
    int64_t debit = 0;
    int64_t credit = 0;
  };
  Sums first{d.lines[0].currency};
  std::vector<Sums> others;
  for (size_t i = 0; i < d.lines.size(); ++i) {
    const Line& l = d.lines[i];
    if (l.account.empty())
      return Error{fmt::format("line {} ({}) of {} {} has no account", i + 1, to_string(l.role),
                               to_string(d.kind), d.externalKey)};
    if (l.currency.empty())
      return Error{fmt::format("line {} ({}) of {} {} has no currency", i + 1, to_string(l.role),
                               to_string(d.kind), d.externalKey)};
    if (l.debit < 0 || l.credit < 0 || (l.debit > 0) == (l.credit > 0))
      return Error{fmt::format("line {} ({}, account {}) of {} {} must have exactly one positive side, has "
                               "debit {} and credit {}",
                               i + 1, to_string(l.role), l.account, to_string(d.kind), d.externalKey, l.debit,
                               l.credit)};
    Sums* sums = &first;
    if (l.currency != first.currency) {
      auto it = std::find_if(others.begin(), others.end(),
                             [&](const Sums& s) { return s.currency == l.currency; });
      sums = it != others.end() ? &*it : &others.emplace_back(Sums{l.currency});
    }
    sums->debit += l.debit;
    sums->credit += l.credit;
  }
  auto balanced = [&](const Sums& s) -> Status {
    if (s.debit == s.credit) return {};
    return Error{fmt::format("{} {} does not balance in {}: debits {} != credits {}", to_string(d.kind),
                             d.externalKey, s.currency, s.debit, s.credit)};
  };
  if (auto st = balanced(first); !st) return st;
  for (const Sums& s : others)
    if (auto st = balanced(s); !st) return st;
  return {};
}

void write_document_json(const Document& d, std::string& out) {
  model::JsonWriter w(out);
  write_document_json(d, w);
}

void write_document_json(const Document& d, model::JsonWriter& w) {
  w.begin_object();
  w.key("kind"_key).value(to_string(d.kind));
  w.key("externalKey"_key).value(d.externalKey);
  w.key("accountingEntryId"_key).value(d.accountingEntryId);
  w.key("reference"_key).value(d.reference);
  w.key("documentDate"_key).value(d.documentDate);
  w.key("postingDate"_key).value(d.postingDate);
  w.key("dueDate"_key);
  optional_string(w, d.dueDate);
  w.key("currency"_key).value(d.currency);
  w.key("vendor"_key);
  optional_string(w, d.vendor);
  w.key("invoiceNumber"_key);
  optional_string(w, d.invoiceNumber);
  w.key("description"_key).value(d.description);
  w.key("draft"_key).value(d.draft);
  w.key("lines"_key).begin_array();
  for (const Line& l : d.lines) {
    w.begin_object();
    w.key("role"_key).value(to_string(l.role));
    w.key("account"_key).value(l.account);
    w.key("debit"_key).value(l.debit);
    w.key("credit"_key).value(l.credit);
    w.key("currency"_key).value(l.currency);
    w.key("taxCode"_key);
    optional_string(w, l.taxCode);
    w.key("dimensions"_key).begin_object();
    for (const auto& [dimension, value] : l.dimensions) w.key(dimension).value(value);
    w.end_object();
    w.key("text"_key).value(l.text);
    w.key("accountingEntryLineId"_key);
    optional_string(w, l.accountingEntryLineId);
    w.end_object();
  }
  w.end_array();
  w.key("attachments"_key).begin_array();
  for (const Attachment& a : d.attachments) {
    w.begin_object();
    w.key("key"_key).value(a.key);
    w.key("url"_key).value(a.url);
    w.key("type"_key).value(a.type);
    w.key("size"_key).value(a.size);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

std::string document_json(const Document& document) {
  std::string out;
  write_document_json(document, out);
  return out;
}

Result<Document> parse_document_json(std::string_view text) {
  using nlohmann::json;
  try {
    json j = json::parse(text.begin(), text.end());
    auto opt = [](const json& v) -> std::optional<std::string> {
      if (v.is_null()) return std::nullopt;
      return v.get<std::string>();
    };
    Document d;
    auto kind = document_kind_from(j.at("kind").get<std::string>());
    if (!kind) return Error{"document: unknown kind " + j.at("kind").dump()};
    d.kind = *kind;
    d.externalKey = j.at("externalKey").get<std::string>();
    d.accountingEntryId = j.at("accountingEntryId").get<std::string>();
    d.reference = j.at("reference").get<std::string>();
    d.documentDate = j.at("documentDate").get<std::string>();
    d.postingDate = j.at("postingDate").get<std::string>();
    d.dueDate = opt(j.at("dueDate"));
    d.currency = j.at("currency").get<std::string>();
    d.vendor = opt(j.at("vendor"));
    d.invoiceNumber = opt(j.at("invoiceNumber"));
    d.description = j.at("description").get<std::string>();
    d.draft = j.at("draft").get<bool>();
    for (const json& l : j.at("lines")) {
      Line line;
      auto role = line_role_from(l.at("role").get<std::string>());
      if (!role) return Error{"document: unknown line role " + l.at("role").dump()};
      line.role = *role;
      line.account = l.at("account").get<std::string>();
      line.debit = l.at("debit").get<int64_t>();
      line.credit = l.at("credit").get<int64_t>();
      line.currency = l.at("currency").get<std::string>();
      line.taxCode = opt(l.at("taxCode"));
      for (const auto& [dimension, value] : l.at("dimensions").items())
        line.dimensions.emplace_back(dimension, value.get<std::string>());
      line.text = l.at("text").get<std::string>();
      line.accountingEntryLineId = opt(l.at("accountingEntryLineId"));
      d.lines.push_back(std::move(line));
    }
    for (const json& a : j.at("attachments"))
      d.attachments.push_back({.key = a.at("key").get<std::string>(),
                               .url = a.at("url").get<std::string>(),
                               .type = a.at("type").get<std::string>(),
                               .size = a.at("size").get<int64_t>()});
    return d;
  } catch (const json::exception& e) {
    return Error{std::string("document: ") + e.what()};
  }
}

std::string document_hash(const Document& document) {
  // FNV-1a, 64 bit, over the canonical JSON.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : document_json(document)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace lb::posting
