// Decoding v3 JSON into the model (decode.hpp). In order: errors and their JSON paths; values
// (string, integer, date, ... with the checks each needs); members of an object (a schema's names
// matched once per object, then O(1) per field); the v3 schemas and one decoder per v3 object;
// items, export jobs and job items, and the public entry points.
#include "model/decode.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "model/currency.hpp"
#include "model/enums.hpp"

namespace lb::model {

std::string DecodeError::to_string() const {
  std::string s;
  s.reserve(where.size() + accountingEntryId.size() + path.size() + message.size() + 16);
  if (!where.empty()) s.append(where).append(": ");
  if (!accountingEntryId.empty()) s.append("item ").append(accountingEntryId).append(": ");
  if (!path.empty()) s.append(path).append(": ");
  s += message;
  return s;
}

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// The JSON path of the value being decoded, as a chain of stack frames: building it costs two
// stores per level, and it is rendered to text only when an error is thrown.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // the member name, unless is_index
  std::size_t index = 0;
  bool is_index = false;
};

std::string render(const Path* p) {
  std::vector<const Path*> chain;
  for (; p != nullptr; p = p->parent) chain.push_back(p);
  std::string s;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->is_index) {
      s += '[';
      s += std::to_string((*it)->index);
      s += ']';
    } else {
      if (!s.empty()) s += '.';
      s += (*it)->key;
    }
  }
  return s;
}

// Thrown on the first error and caught at the public entry points, which turn it into a
// DecodeError value. Only the error path pays for it; the success path has no checks to unwind.
struct Failure {
  std::string path;
  std::string message;
};

[[noreturn]] void fail_at(const Path* at, std::string message) {
  throw Failure{render(at), std::move(message)};
}

[[noreturn]] void fail(const Path* parent, std::string_view key, std::string message) {
  Path here{parent, key};
  fail_at(&here, std::move(message));
}

// The offending value in JSON form, cut to about 40 characters on a UTF-8 boundary.
std::string show(element e) {
  constexpr std::size_t kMax = 40;
  std::string s = simdjson::to_string(e);
  if (s.size() > kMax) {
    std::size_t cut = kMax;
    while (cut > 0 && (uint8_t(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    s += "...";
  }
  return s;
}

// "expected <what>, got <value>": kept out of line so that the checks calling it stay small
// enough to be inlined into every field's decoding.
[[noreturn, gnu::cold, gnu::noinline]] void fail_expected(const Path* at, std::string_view what,
                                                         element e) {
  fail_at(at, std::string("expected ").append(what).append(", got ") + show(e));
}

// --- values -------------------------------------------------------------------------------------

object as_object(element e, const Path* at) {
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) fail_expected(at, "an object", e);
  return o;
}

array as_array(element e, const Path* at) {
  array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) fail_expected(at, "an array", e);
  return a;
}

std::string_view as_string(element e, const Path* at) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) fail_expected(at, "a string", e);
  return s;
}

// An integer given as a JSON number; an integral double (100.0) counts, as some producers
// write every number as a double.
int64_t as_integer(element e, const Path* at, std::string_view what) {
  switch (e.type()) {
    case element_type::INT64:
      return e.get_int64().value_unsafe();
    case element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      if (std::trunc(d) != d) break;
      // 2^63 is exact in a double; [-2^63, 2^63) is exactly the int64 range.
      if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return static_cast<int64_t>(d);
      [[fallthrough]];
    }
    case element_type::UINT64:
      fail_expected(at, std::string(what) + " within the int64 range", e);
    default:
      break;
  }
  fail_expected(at, what, e);
}

double as_number(element e, const Path* at) {
  switch (e.type()) {
    case element_type::INT64:
      return double(e.get_int64().value_unsafe());
    case element_type::UINT64:
      return double(e.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return e.get_double().value_unsafe();
    default:
      fail_expected(at, "a number", e);
  }
}

bool as_bool(element e, const Path* at) {
  bool b = false;
  if (e.get_bool().get(b) != simdjson::SUCCESS) fail_expected(at, "a boolean", e);
  return b;
}

inline bool digits(const char* p, int n) {
  for (int i = 0; i < n; ++i)
    if (p[i] < '0' || p[i] > '9') return false;
  return true;
}

inline int num2(const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

// YYYY-MM-DD with month 01-12 and day 01-31 (the calendar is the ERP's business).
bool is_date(std::string_view s) {
  if (s.size() != 10) return false;
  const char* p = s.data();
  if (!digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' || !digits(p + 8, 2))
    return false;
  int month = num2(p + 5);
  int day = num2(p + 8);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); second 60 allows a leap second.
bool is_date_time(std::string_view s) {
  if (s.size() < 20 || !is_date(s.substr(0, 10)) || s[10] != 'T') return false;
  const char* p = s.data() + 11;
  if (!digits(p, 2) || p[2] != ':' || !digits(p + 3, 2) || p[5] != ':' || !digits(p + 6, 2))
    return false;
  if (num2(p) > 23 || num2(p + 3) > 59 || num2(p + 6) > 60) return false;
  std::size_t i = 19;
  if (s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return false;
  if (s[i] == 'Z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  if (s.size() - i != 6) return false;
  const char* z = s.data() + i + 1;
  return digits(z, 2) && z[2] == ':' && digits(z + 3, 2) && num2(z) <= 23 && num2(z + 3) <= 59;
}

std::string_view as_date_time(element e, const Path* at) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS || !is_date_time(s))
    fail_expected(at, "an ISO-8601 date-time (YYYY-MM-DDTHH:MM:SSZ)", e);
  return s;
}

std::string_view as_date(element e, const Path* at) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS || !(is_date(s) || is_date_time(s)))
    fail_expected(at, "a date (YYYY-MM-DD) or an ISO-8601 date-time", e);
  return s;
}

// clear() + append() costs half what assign() does, which must allow for a source inside the
// destination (never the case here: sources live in the parser's DOM). Out of line, so that
// set() stays small enough to inline.
[[gnu::noinline]] void set_other_length(std::string& dst, std::string_view v) {
  dst.clear();
  dst.append(v);
}

// Assignment that keeps the destination's capacity: items are decoded into reused objects.
// Most fields have the same length item after item (ids, dates, currencies): then the bytes
// are simply overwritten.
inline void set(std::string& dst, std::string_view v) {
  if (dst.size() != v.size()) return set_other_length(dst, v);
  if (!v.empty()) std::memcpy(dst.data(), v.data(), v.size());
}

inline void put(std::optional<std::string>& dst, std::string_view v) {
  if (dst)
    set(*dst, v);
  else
    dst.emplace(v);
}

template <typename T>
inline T& put(std::optional<T>& dst) {
  if (!dst) dst.emplace();
  return *dst;
}

// Decodes the elements of an array into `out`, reusing its elements. Null elements are skipped
// when `skip_null` (the contract marks the element schema nullable: a null there is "nothing").
template <typename T, typename Fn>
void array_into(element e, const Path* at, std::vector<T>& out, bool skip_null, Fn&& fn) {
  array a = as_array(e, at);
  std::size_t n = 0;
  std::size_t i = 0;
  for (element x : a) {
    Path here{at, {}, i++, true};
    if (x.is_null()) {
      if (skip_null) continue;
      fail_at(&here, "expected an object, got null");
    }
    if (n == out.size()) out.emplace_back();
    fn(x, &here, out[n++]);
  }
  out.resize(n);
}

void decode_string(element e, const Path* at, std::string& out) { set(out, as_string(e, at)); }

// --- members of an object -----------------------------------------------------------------------

template <typename Word>
Word load(std::string_view s, std::size_t at) {
  Word w;
  std::memcpy(&w, s.data() + at, sizeof w);
  return w;
}

// Keys are 2 to ~25 bytes long: a few word compares (the last one overlapping the one before)
// beat both a call to memcmp and a byte loop.
inline bool same(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8)
      if (load<uint64_t>(a, i) != load<uint64_t>(b, i)) return false;
    return load<uint64_t>(a, n - 8) == load<uint64_t>(b, n - 8);
  }
  if (n >= 4)
    return load<uint32_t>(a, 0) == load<uint32_t>(b, 0) &&
           load<uint32_t>(a, n - 4) == load<uint32_t>(b, n - 4);
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// The member names of one schema, with an open-addressing hash table built at compile time.
// Decoding an object walks its members once and files each known one under its index, so every
// field access after that is O(1). Looking each field up with at_key instead was a third of the
// whole decode time (a linear scan of ~18 keys per field on ExportItemV3).
template <std::size_t N>
struct Schema {
  static_assert(N <= 32, "Members keeps presence in a 32-bit mask");
  static constexpr std::size_t kSlots = 64;

  std::array<std::string_view, N> names;
  std::array<uint8_t, kSlots> slots{};  // index + 1; 0 is empty

  static constexpr std::size_t hash(std::string_view k) {
    if (k.empty()) return 0;
    return (k.size() * 31 + uint8_t(k.front()) * 7 + uint8_t(k.back())) & (kSlots - 1);
  }

  consteval explicit Schema(std::array<std::string_view, N> keys) : names(keys) {
    for (std::size_t i = 0; i < N; ++i) {
      std::size_t h = hash(names[i]);
      while (slots[h] != 0) h = (h + 1) & (kSlots - 1);
      slots[h] = uint8_t(i + 1);
    }
  }

  int find(std::string_view k) const {
    for (std::size_t h = hash(k); slots[h] != 0; h = (h + 1) & (kSlots - 1))
      if (same(names[slots[h] - 1], k)) return slots[h] - 1;
    return -1;
  }

  consteval std::size_t index(std::string_view k) const {
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == k) return i;
    throw "not a member of this schema";  // a compile error: index() is consteval
  }
};

template <std::size_t N>
consteval auto schema(const std::string_view (&keys)[N]) {
  return Schema<N>(std::to_array(keys));
}

// The known members of one JSON object of schema S; unknown members are ignored.
template <const auto& S>
class Members {
 public:
  // A member name checked against S at compile time: a typo does not build.
  struct Key {
    // NOLINTNEXTLINE(google-explicit-constructor): call sites pass the bare literal.
    consteval Key(const char* member) : index(S.index(member)), name(member) {}
    std::size_t index;
    std::string_view name;
  };

  // Flattened, as is decode_money, the most frequent object: simdjson's small accessors
  // (after_element, get_string, get_int64) are only `inline`, and GCC otherwise keeps them out of
  // line, a call per member (callgrind: decode 289 M -> 258 M instructions per 20k items; code
  // grows by a quarter, where flattening every leaf decoder would triple it for 5% more).
  [[gnu::flatten]] Members(object o, const Path* at) : at_(at) {
    for (auto [k, v] : o) {
      int i = find(k);
      if (i >= 0) {
        values_[std::size_t(i)] = v;
        present_ |= uint32_t(1) << i;
      }
    }
  }

  Members(element e, const Path* at) : Members(as_object(e, at), at) {}

  // Absent and null are the same for optional members.
  bool optional(Key k, element& out) const {
    if (!(present_ & (uint32_t(1) << k.index))) return false;
    out = values_[k.index];
    return !out.is_null();
  }

  element required(Key k) const {
    if (!(present_ & (uint32_t(1) << k.index))) fail(at_, k.name, "missing required field");
    element e = values_[k.index];
    if (e.is_null()) fail(at_, k.name, "required field is null");
    return e;
  }

  Path path(Key k) const { return Path{at_, k.name}; }

  std::string_view req_string(Key k) const {
    Path p = path(k);
    return as_string(required(k), &p);
  }
  void req_string(Key k, std::string& out) const { set(out, req_string(k)); }

  void opt_string(Key k, std::optional<std::string>& out) const {
    element e;
    if (!optional(k, e)) return out.reset();
    Path p = path(k);
    put(out, as_string(e, &p));
  }

  // Any parse of the member: `as(element, path)` for the required form, `as` + put for optional.
  template <typename As>
  auto req(Key k, As as) const {
    Path p = path(k);
    return as(required(k), &p);
  }

  template <typename As>
  void opt(Key k, std::optional<std::string>& out, As as) const {
    element e;
    if (!optional(k, e)) return out.reset();
    Path p = path(k);
    put(out, as(e, &p));
  }

  // A nested object member: `fn(element, path, T&)`.
  template <typename T, typename Fn>
  void req_object(Key k, T& out, Fn fn) const {
    Path p = path(k);
    fn(required(k), &p, out);
  }

  template <typename T, typename Fn>
  void opt_object(Key k, std::optional<T>& out, Fn fn) const {
    element e;
    if (!optional(k, e)) return out.reset();
    Path p = path(k);
    fn(e, &p, put(out));
  }

  template <typename T, typename Fn>
  void opt_array(Key k, std::optional<std::vector<T>>& out, Fn fn) const {
    element e;
    if (!optional(k, e)) return out.reset();
    Path p = path(k);
    array_into(e, &p, put(out), true, fn);
  }

  const Path* at() const { return at_; }

 private:
  static constexpr std::size_t kCompareEachUpTo = 8;

  // The index of member `k` in S, or -1. A small schema compares `k` with each name in turn:
  // the names being constants, that unrolls into a length test and a word compare or two each,
  // cheaper than hashing. A larger one uses S's hash table.
  static int find(std::string_view k) {
    if constexpr (S.names.size() <= kCompareEachUpTo)
      return find_each(k, std::make_index_sequence<S.names.size()>());
    else
      return S.find(k);
  }

  template <std::size_t... I>
  static int find_each(std::string_view k, std::index_sequence<I...>) {
    int found = -1;
    (void)((is<I>(k) && (found = int(I), true)) || ...);
    return found;
  }

  template <std::size_t I>
  static bool is(std::string_view k) {
    constexpr std::string_view name = S.names[I];
    return same(name, k);
  }

  const Path* at_;
  std::array<element, S.names.size()> values_{};
  uint32_t present_ = 0;
};

// --- the v3 schemas -----------------------------------------------------------------------------

constexpr auto kMoney = schema({"currency", "value"});
constexpr auto kAmount = schema({"inSupplierCurrency", "inWalletCurrency"});
constexpr auto kAccount = schema({"id", "name", "code", "identifier"});
constexpr auto kTag = schema({"id", "code", "groupCode"});
constexpr auto kTax =
    schema({"id", "code", "rate", "type", "amount", "ingoingTaxAccount", "outgoingTaxAccount"});
constexpr auto kLine =
    schema({"accountingEntryLineId", "lineAmount", "netAmount", "account", "tags", "tax"});
constexpr auto kFile = schema({"url", "type", "size"});
constexpr auto kSupplier =
    schema({"account", "categoryCode", "code", "country", "name", "taxIdentifier"});
constexpr auto kNamed = schema({"id", "name", "code"});  // ExportItemUserV3, TeamV3
constexpr auto kBankAccount =
    schema({"bankName", "country", "accountNumber", "bankCode", "bic", "iban"});
constexpr auto kInvoice = schema(
    {"invoiceNumber", "invoiceDate", "status", "dueDate", "paymentDate", "supplierBankAccount"});
constexpr auto kAdditional =
    schema({"reconciliationId", "attendees", "reconciledEntries", "invoiceInformation"});
constexpr auto kBookkeeping = schema({"method"});
constexpr auto kVendor = schema({"id", "name", "defaultCurrency", "code", "country", "externalId",
                                 "registrationNumber", "taxRegistrationNumber"});
constexpr auto kServicePeriod = schema({"from", "to"});
constexpr auto kLinks = schema({"web", "mobile", "api"});
constexpr auto kItem =
    schema({"companyId", "accountingEntryId", "type", "subType", "date", "amount", "note", "files",
            "supplier", "user", "team", "accountingEntryLines", "additionalInformation",
            "bookkeeping", "contraAccount", "vendor", "servicePeriod", "_links"});
constexpr auto kJob =
    schema({"id", "companyId", "status", "createdAt", "expiresIn", "isInteractive", "numberOfItems",
            "vendorBasedBookkeeping", "createdBy", "startedAt", "completedAt", "expiredAt",
            "lastUpdatedAt", "failureReason", "failureReasonType"});
constexpr auto kJobItem =
    schema({"accountingEntryId", "exportJobId", "status", "exportedAt", "externalId", "externalUrl",
            "failureReason", "failureReasonType"});

// --- one decoder per v3 object ------------------------------------------------------------------

[[gnu::flatten]] void decode_money(element e, const Path* at, Money& m) {
  Members<kMoney> f(e, at);
  element c = f.required("currency");
  std::string_view code;
  if (c.get_string().get(code) != simdjson::SUCCESS || !is_iso4217(code)) {
    const Path p = f.path("currency");
    fail_expected(&p, "ISO 4217 code", c);
  }
  set(m.currency, code);
  m.value = f.req("value", [](element v, const Path* p) {
    return as_integer(v, p, "an integer amount in minor units");
  });
}

void decode_amount(element e, const Path* at, Amount& a) {
  Members<kAmount> f(e, at);
  f.req_object("inSupplierCurrency", a.inSupplierCurrency, decode_money);
  f.req_object("inWalletCurrency", a.inWalletCurrency, decode_money);
}

void decode_account(element e, const Path* at, Account& a) {
  Members<kAccount> f(e, at);
  f.req_string("id", a.id);
  f.req_string("name", a.name);
  f.opt_string("code", a.code);
  f.opt_string("identifier", a.identifier);
}

void decode_tag(element e, const Path* at, Tag& t) {
  Members<kTag> f(e, at);
  f.req_string("id", t.id);
  f.req_string("code", t.code);
  f.req_string("groupCode", t.groupCode);
}

void decode_tax(element e, const Path* at, Tax& t) {
  Members<kTax> f(e, at);
  f.req_string("id", t.id);
  f.opt_string("code", t.code);
  t.rate = f.req("rate", as_number);
  f.req_string("type", t.type);
  f.req_object("amount", t.amount, decode_amount);
  f.opt_string("ingoingTaxAccount", t.ingoingTaxAccount);
  f.opt_string("outgoingTaxAccount", t.outgoingTaxAccount);
}

void decode_line(element e, const Path* at, Line& l) {
  Members<kLine> f(e, at);
  f.req_string("accountingEntryLineId", l.accountingEntryLineId);
  f.req_object("lineAmount", l.lineAmount, decode_amount);
  f.req_object("netAmount", l.netAmount, decode_amount);
  f.opt_object("account", l.account, decode_account);
  f.opt_array("tags", l.tags, decode_tag);
  f.opt_object("tax", l.tax, decode_tax);
}

void decode_file(element e, const Path* at, File& file) {
  Members<kFile> f(e, at);
  f.req_string("url", file.url);
  f.req_string("type", file.type);
  file.size =
      f.req("size", [](element v, const Path* p) { return as_integer(v, p, "an integer"); });
}

void decode_supplier(element e, const Path* at, Supplier& s) {
  Members<kSupplier> f(e, at);
  f.opt_string("account", s.account);
  f.opt_string("categoryCode", s.categoryCode);
  f.opt_string("code", s.code);
  f.opt_string("country", s.country);
  f.opt_string("name", s.name);
  f.opt_string("taxIdentifier", s.taxIdentifier);
}

template <typename T>
void decode_named(element e, const Path* at, T& t) {
  Members<kNamed> f(e, at);
  f.req_string("id", t.id);
  f.req_string("name", t.name);
  f.opt_string("code", t.code);
}

void decode_bank_account(element e, const Path* at, SupplierBankAccount& b) {
  Members<kBankAccount> f(e, at);
  f.req_string("bankName", b.bankName);
  f.req_string("country", b.country);
  f.opt_string("accountNumber", b.accountNumber);
  f.opt_string("bankCode", b.bankCode);
  f.opt_string("bic", b.bic);
  f.opt_string("iban", b.iban);
}

void decode_invoice(element e, const Path* at, InvoiceInformation& inv) {
  Members<kInvoice> f(e, at);
  f.req_string("invoiceNumber", inv.invoiceNumber);
  set(inv.invoiceDate, f.req("invoiceDate", as_date));
  f.req_string("status", inv.status);
  f.opt("dueDate", inv.dueDate, as_date);
  f.opt("paymentDate", inv.paymentDate, as_date);
  f.opt_object("supplierBankAccount", inv.supplierBankAccount, decode_bank_account);
}

void decode_additional(element e, const Path* at, AdditionalInformation& a) {
  Members<kAdditional> f(e, at);
  f.req_string("reconciliationId", a.reconciliationId);
  f.opt_array("attendees", a.attendees, decode_string);
  f.opt_array("reconciledEntries", a.reconciledEntries, decode_string);
  f.opt_object("invoiceInformation", a.invoiceInformation, decode_invoice);
}

void decode_bookkeeping(element e, const Path* at, Bookkeeping& b) {
  Members<kBookkeeping> f(e, at);
  f.req_string("method", b.method);
}

void decode_vendor(element e, const Path* at, Vendor& v) {
  Members<kVendor> f(e, at);
  f.req_string("id", v.id);
  f.req_string("name", v.name);
  f.req_string("defaultCurrency", v.defaultCurrency);
  f.opt_string("code", v.code);
  f.opt_string("country", v.country);
  f.opt_string("externalId", v.externalId);
  f.opt_string("registrationNumber", v.registrationNumber);
  f.opt_string("taxRegistrationNumber", v.taxRegistrationNumber);
}

void decode_service_period(element e, const Path* at, ServicePeriod& s) {
  Members<kServicePeriod> f(e, at);
  set(s.from, f.req("from", as_date_time));
  set(s.to, f.req("to", as_date_time));
}

// A link-name -> URL map, in document order; a null URL is a link that is not there.
void decode_link_map(const Members<kLinks>& f, Members<kLinks>::Key k, LinkMap& m) {
  element e;
  std::size_t n = 0;
  if (f.optional(k, e)) {
    Path here = f.path(k);
    for (auto [name, url] : as_object(e, &here)) {
      if (url.is_null()) continue;
      Path p{&here, name};
      std::string_view s = as_string(url, &p);
      if (n == m.size()) m.emplace_back();
      set(m[n].first, name);
      set(m[n].second, s);
      ++n;
    }
  }
  m.resize(n);
}

void decode_links(element e, const Path* at, Links& l) {
  Members<kLinks> f(e, at);
  decode_link_map(f, "web", l.web);
  decode_link_map(f, "mobile", l.mobile);
  decode_link_map(f, "api", l.api);
}

// --- items, export jobs, job items ------------------------------------------------------------

// The accountingEntryId if it is a string, read first so that every later error can name it.
template <const auto& S>
std::string_view entry_id(const Members<S>& f) {
  element e;
  std::string_view id;
  if (f.optional("accountingEntryId", e) && e.get_string().get(id) == simdjson::SUCCESS) return id;
  return {};
}

// `id` is set as soon as the item's accountingEntryId is known, so that every later error can
// name the item.
void decode_item(element root, ExportItem& it, std::string_view& id) {
  object o;
  if (root.get_object().get(o) != simdjson::SUCCESS)
    fail_expected(nullptr, "an export item object", root);
  Members<kItem> f(o, nullptr);
  id = entry_id(f);

  f.req_string("accountingEntryId", it.accountingEntryId);
  f.req_string("companyId", it.companyId);
  f.req_string("type", it.type);
  f.opt_string("subType", it.subType);
  set(it.date, f.req("date", as_date_time));
  f.req_object("amount", it.amount, decode_amount);
  f.opt_string("note", it.note);
  f.opt_array("files", it.files, decode_file);
  f.opt_object("supplier", it.supplier, decode_supplier);
  f.opt_object("user", it.user, decode_named<User>);
  f.opt_object("team", it.team, decode_named<Team>);
  f.req_object("accountingEntryLines", it.accountingEntryLines,
               [](element lines, const Path* at, std::vector<Line>& out) {
                 array_into(lines, at, out, false, decode_line);
               });
  f.req_object("additionalInformation", it.additionalInformation, decode_additional);
  f.opt_object("bookkeeping", it.bookkeeping, decode_bookkeeping);
  f.opt_object("contraAccount", it.contraAccount, decode_account);
  f.opt_object("vendor", it.vendor, decode_vendor);
  f.opt_object("servicePeriod", it.servicePeriod, decode_service_period);
  f.req_object("_links", it._links, decode_links);
}

template <std::size_t N>
std::string one_of(const std::array<std::string_view, N>& known) {
  std::string s = "one of ";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) s += ", ";
    s += known[i];
  }
  return s;
}

// A status string that must be one of `known`.
template <const auto& S, std::size_t N>
std::string_view known_status(const Members<S>& f, const std::array<std::string_view, N>& known) {
  element st = f.required("status");
  Path p = f.path("status");
  std::string_view status = as_string(st, &p);
  if (!is_one_of(status, known)) fail_at(&p, "expected " + one_of(known) + ", got " + show(st));
  return status;
}

void decode_job(element root, ExportJob& j) {
  object o;
  if (root.get_object().get(o) != simdjson::SUCCESS)
    fail_expected(nullptr, "an export job object", root);
  Members<kJob> f(o, nullptr);
  f.req_string("id", j.id);
  f.req_string("companyId", j.companyId);
  set(j.status, known_status(f, kJobStatuses));
  set(j.createdAt, f.req("createdAt", as_date_time));
  j.expiresIn = f.req("expiresIn", [](element v, const Path* p) {
    int64_t seconds = as_integer(v, p, "an integer number of seconds");
    if (seconds < std::numeric_limits<int32_t>::min() ||
        seconds > std::numeric_limits<int32_t>::max())
      fail_expected(p, "an integer number of seconds within the int32 range", v);
    return static_cast<int32_t>(seconds);
  });
  j.isInteractive = f.req("isInteractive", as_bool);
  j.numberOfItems = f.req("numberOfItems",
                          [](element v, const Path* p) { return as_integer(v, p, "an integer"); });
  j.vendorBasedBookkeeping = f.req("vendorBasedBookkeeping", as_bool);
  f.opt_string("createdBy", j.createdBy);
  f.opt("startedAt", j.startedAt, as_date_time);
  f.opt("completedAt", j.completedAt, as_date_time);
  f.opt("expiredAt", j.expiredAt, as_date_time);
  f.opt("lastUpdatedAt", j.lastUpdatedAt, as_date_time);
  f.opt_string("failureReason", j.failureReason);
  // Unknown failure reasons are kept: they explain a failure, they never steer the flow.
  f.opt_string("failureReasonType", j.failureReasonType);
}

void decode_job_item(element root, ExportJobItem& ji, std::string_view& id) {
  object o;
  if (root.get_object().get(o) != simdjson::SUCCESS)
    fail_expected(nullptr, "an export job item object", root);
  Members<kJobItem> f(o, nullptr);
  id = entry_id(f);
  f.req_string("accountingEntryId", ji.accountingEntryId);
  f.req_string("exportJobId", ji.exportJobId);
  // The status decides whether an item is exported at all: a value we do not know must stop
  // the item rather than be guessed at.
  set(ji.status, known_status(f, kJobItemStatuses));
  f.opt("exportedAt", ji.exportedAt, as_date_time);
  f.opt_string("externalId", ji.externalId);
  f.opt_string("externalUrl", ji.externalUrl);
  f.opt_string("failureReason", ji.failureReason);
  f.opt_string("failureReasonType", ji.failureReasonType);
}

DecodeError to_error(Failure&& f, std::string_view id) {
  DecodeError err;
  err.accountingEntryId.assign(id);
  err.path = std::move(f.path);
  err.message = std::move(f.message);
  return err;
}

}  // namespace

bool decode_export_item(simdjson::dom::element json, ExportItem& out, DecodeError& error) {
  std::string_view id;
  try {
    decode_item(json, out, id);
    return true;
  } catch (Failure& f) {
    error = to_error(std::move(f), id);
    return false;
  }
}

Decoded<ExportItem> decode_export_item(simdjson::dom::element json) {
  Decoded<ExportItem> result;  // holds an ExportItem: decoded in place, no move afterwards
  DecodeError error;
  if (!decode_export_item(json, std::get<ExportItem>(result), error)) result = std::move(error);
  return result;
}

Decoded<ExportJob> decode_export_job(simdjson::dom::element json) {
  Decoded<ExportJob> result;
  try {
    decode_job(json, std::get<ExportJob>(result));
  } catch (Failure& f) {
    result = to_error(std::move(f), {});
  }
  return result;
}

Decoded<ExportJobItem> decode_export_job_item(simdjson::dom::element json) {
  Decoded<ExportJobItem> result;
  std::string_view id;
  try {
    decode_job_item(json, std::get<ExportJobItem>(result), id);
  } catch (Failure& f) {
    result = to_error(std::move(f), id);
  }
  return result;
}

Decoded<ExportItem> decode_export_item(std::string_view json_text) {
  // One parser per thread: its buffers are sized once and reused by later calls.
  thread_local simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json_text.data(), json_text.size(), true).get(root)) {
    DecodeError e;
    e.message = simdjson::error_message(err);
    return e;
  }
  return decode_export_item(root);
}

}  // namespace lb::model
