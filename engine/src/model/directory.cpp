#include "model/directory.hpp"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace lb::model {

namespace {

using std::chrono::sys_days;

struct StringHash {
  using is_transparent = void;  // look-ups by string_view without building a std::string
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

template <typename V>
std::optional<V> find(const StringMap<V>& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Dimension and value codes match case-insensitively (domain brief §2.13); ERP codes are ASCII
// in practice, so ASCII folding is enough and keeps "Å" from matching "å" by accident.
std::string dimension_key(std::string_view dimension, std::string_view code) {
  std::string key;
  key.reserve(dimension.size() + 1 + code.size());
  for (char c : dimension) key.push_back(fold(c));
  key.push_back('\0');  // cannot occur in either part, so ("AB","C") and ("A","BC") differ
  for (char c : code) key.push_back(fold(c));
  return key;
}

bool digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int to_int(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

std::optional<sys_days> parse_iso_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = text.substr(0, 4), m = text.substr(5, 2), d = text.substr(8, 2);
  if (!digits(y) || !digits(m) || !digits(d)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{to_int(y)},
                                        std::chrono::month{static_cast<unsigned>(to_int(m))},
                                        std::chrono::day{static_cast<unsigned>(to_int(d))}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

// Callers pass item dates that may carry a time ("2025-01-31T10:00:00Z"); the period is decided
// by the date part alone.
std::optional<sys_days> parse_date_or_date_time(std::string_view text) {
  if (text.size() > 10) {
    if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return std::nullopt;
    text = text.substr(0, 10);
  }
  return parse_iso_date(text);
}

// fmt, not snprintf: snprintf was most of the cost of next_open_date, which rules call for every
// item in a closed period.
std::string format_date(sys_days days) {
  const std::chrono::year_month_day ymd{days};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

sys_days ten_years_after(sys_days start) {
  using namespace std::chrono;
  const year_month_day ymd{start};
  const year_month_day later{ymd.year() + years{10}, ymd.month(), ymd.day()};
  if (later.ok()) return sys_days{later};
  return sys_days{year_month_day_last{later.year(), month_day_last{later.month()}}};  // 29 Feb
}

struct ClosedRange {
  sys_days from;
  sys_days to;
};

}  // namespace

bool is_iso_date(std::string_view text) { return parse_iso_date(text).has_value(); }

struct MemoryDirectory::Impl {
  StringMap<ErpAccount> accounts;
  // Vendors in the order their codes were first added; the secondary indexes map a key to the
  // earliest such vendor, which is what makes a shared tax number resolve deterministically.
  std::vector<ErpVendor> vendors;
  StringMap<std::size_t> vendor_by_code;
  StringMap<std::size_t> vendor_by_external_id;
  StringMap<std::size_t> vendor_by_tax_number;
  StringMap<ErpTaxCode> tax_codes;
  StringMap<ErpDimensionValue> dimension_values;  // by dimension_key()
  std::vector<ClosedRange> closed;

  // emplace keeps an existing entry, and slots are indexed in increasing order: first wins.
  void index_vendor(std::size_t slot) {
    const ErpVendor& v = vendors[slot];
    if (v.externalId && !v.externalId->empty()) vendor_by_external_id.emplace(*v.externalId, slot);
    if (v.taxNumber && !v.taxNumber->empty()) vendor_by_tax_number.emplace(*v.taxNumber, slot);
  }

  // A replaced vendor may have dropped a key that a later vendor shares, which then has to
  // take over; rebuilding is simplest and replacements are rare (fixture overlays).
  void reindex_vendors() {
    vendor_by_external_id.clear();
    vendor_by_tax_number.clear();
    for (std::size_t slot = 0; slot < vendors.size(); ++slot) index_vendor(slot);
  }

  std::optional<ErpVendor> vendor_at(const StringMap<std::size_t>& index,
                                     std::string_view key) const {
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    return vendors[it->second];
  }

  const ClosedRange* closed_range_containing(sys_days day) const {
    for (const ClosedRange& r : closed) {
      if (r.from <= day && day <= r.to) return &r;
    }
    return nullptr;
  }
};

MemoryDirectory::MemoryDirectory() : impl_(std::make_unique<Impl>()) {}
MemoryDirectory::~MemoryDirectory() = default;
MemoryDirectory::MemoryDirectory(const MemoryDirectory& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}
MemoryDirectory& MemoryDirectory::operator=(const MemoryDirectory& other) {
  if (this != &other) *impl_ = *other.impl_;
  return *this;
}

void MemoryDirectory::add(ErpAccount account) {
  std::string key = account.code;
  impl_->accounts.insert_or_assign(std::move(key), std::move(account));
}

void MemoryDirectory::add(ErpVendor vendor) {
  auto it = impl_->vendor_by_code.find(std::string_view(vendor.code));
  if (it != impl_->vendor_by_code.end()) {
    impl_->vendors[it->second] = std::move(vendor);
    impl_->reindex_vendors();
    return;
  }
  const std::size_t slot = impl_->vendors.size();
  impl_->vendor_by_code.emplace(vendor.code, slot);
  impl_->vendors.push_back(std::move(vendor));
  impl_->index_vendor(slot);
}

void MemoryDirectory::add(ErpTaxCode tax_code) {
  std::string key = tax_code.code;
  impl_->tax_codes.insert_or_assign(std::move(key), std::move(tax_code));
}

void MemoryDirectory::add(ErpDimensionValue value) {
  impl_->dimension_values.insert_or_assign(dimension_key(value.dimension, value.code),
                                           std::move(value));
}

void MemoryDirectory::add(ErpPeriod period) {
  const auto from = parse_date_or_date_time(period.from);
  const auto to = parse_date_or_date_time(period.to);
  if (!from || !to || *from > *to) {
    throw std::invalid_argument("invalid period [" + period.from + ", " + period.to + "]");
  }
  std::erase_if(impl_->closed,
                [&](const ClosedRange& r) { return r.from == *from && r.to == *to; });
  if (period.closed) impl_->closed.push_back({*from, *to});
}

std::optional<ErpAccount> MemoryDirectory::account(std::string_view code) const {
  return find(impl_->accounts, code);
}

std::optional<ErpVendor> MemoryDirectory::vendor_by_code(std::string_view code) const {
  return impl_->vendor_at(impl_->vendor_by_code, code);
}

std::optional<ErpVendor> MemoryDirectory::vendor_by_external_id(std::string_view id) const {
  return impl_->vendor_at(impl_->vendor_by_external_id, id);
}

std::optional<ErpVendor> MemoryDirectory::vendor_by_tax_number(std::string_view tax_number) const {
  return impl_->vendor_at(impl_->vendor_by_tax_number, tax_number);
}

std::optional<ErpTaxCode> MemoryDirectory::tax_code(std::string_view code) const {
  return find(impl_->tax_codes, code);
}

std::optional<ErpDimensionValue> MemoryDirectory::dimension_value(std::string_view dimension,
                                                                  std::string_view code) const {
  return find(impl_->dimension_values, dimension_key(dimension, code));
}

bool MemoryDirectory::period_open(std::string_view date) const {
  const auto day = parse_date_or_date_time(date);
  return day && impl_->closed_range_containing(*day) == nullptr;
}

std::optional<std::string> MemoryDirectory::next_open_date(std::string_view date) const {
  auto day = parse_date_or_date_time(date);
  if (!day) return std::nullopt;
  const sys_days limit = ten_years_after(*day);
  // Each jump lands past the end of a range, so no range is jumped twice and this ends.
  while (const ClosedRange* r = impl_->closed_range_containing(*day)) {
    *day = r->to + std::chrono::days{1};
    if (*day > limit) return std::nullopt;
  }
  return format_date(*day);
}

}  // namespace lb::model
