#include "rules/item_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <lua.hpp>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "model/json_writer.hpp"
#include "rules/sandbox.hpp"

namespace lb::rules {

// engine/lua/views.lua declares these layouts again for the FFI.
static_assert(sizeof(lb_view_slot) == 24 && offsetof(lb_view_slot, num) == 8 && offsetof(lb_view_slot, len) == 16 &&
              offsetof(lb_view_slot, tag) == 20);
static_assert(sizeof(lb_view_node) == 16 && offsetof(lb_view_node, count) == 8 && offsetof(lb_view_node, same) == 12);
static_assert(sizeof(lb_view_arena) == 32 && offsetof(lb_view_arena, nodes) == 8 &&
              offsetof(lb_view_arena, tracing) == 12 && offsetof(lb_view_arena, node) == 16 &&
              offsetof(lb_view_arena, slot) == 24);

namespace {

using namespace lb::model;

enum class Kind : int32_t {
  Item, Amount, Money, Line, Account, Tag, Tax, Supplier, User, Team, Vendor, Bookkeeping,
  AdditionalInformation, InvoiceInformation, SupplierBankAccount, ServicePeriod, File, Links,
  LinkMap, Lines, Tags, Files, Strings, Count
};

// The C++ type each Kind shows, in Kind order.
using KindTypes =
    std::tuple<ExportItem, Amount, Money, Line, Account, Tag, Tax, Supplier, User, Team, Vendor, Bookkeeping,
               AdditionalInformation, InvoiceInformation, SupplierBankAccount, ServicePeriod, File, Links, LinkMap,
               std::vector<Line>, std::vector<Tag>, std::vector<File>, std::vector<std::string>>;
static_assert(std::tuple_size_v<KindTypes> == static_cast<size_t>(Kind::Count));

template <typename T, size_t I = 0>
constexpr Kind kind_of() {
  if constexpr (std::is_same_v<T, std::tuple_element_t<I, KindTypes>>) return static_cast<Kind>(I);
  else return kind_of<T, I + 1>();
}

template <typename T> struct IsOptional : std::false_type {};
template <typename T> struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T> struct IsVector : std::false_type {};
template <typename T> struct IsVector<std::vector<T>> : std::true_type {};

}  // namespace

// Writes an item into the arena: a node's slots are reserved when the node is made, then filled
// (children are appended after them, so slots are addressed by index). Objects and lists below
// a node are laid out when a script first reads them (ItemViews::expand): a hook reads a dozen
// of an item's forty-odd objects. While tracing, everything is laid out up front instead, so
// that every node has its path. This runs for every item: no allocation once the arena has
// grown to the largest item, and paths only while tracing.
class Flattener {
 public:
  Flattener(ItemViews& v, bool tracing) : v_(v), tracing_(tracing) {}

  // Where a node hangs: field `name` or 1-based element `index` (> 0) of node `parent`; a root
  // (parent < 0) is named `name`.
  struct Where {
    int32_t parent;
    const char* name;
    int index;
  };

  template <typename T>
  int32_t add(const T& value, Where where);

  // Lays out `value` again as a root named `name`, as nodes that show the same objects as the
  // nodes from `original` on (which must have been laid out from the same value).
  template <typename T>
  int32_t add_copy(const T& value, const char* name, int32_t original) {
    same_delta_ = original - v_.node_count_;
    const int32_t node = add(value, Where{-1, name, 0});
    same_delta_ = 0;
    return node;
  }

  struct Field {
    const char* name;
    void (*put)(Flattener&, int32_t slot, const void* obj, int32_t node, const char* name);
  };

  template <auto Member>
  static void put_member(Flattener& f, int32_t slot, const void* obj, int32_t node, const char* name) {
    using Owner = decltype(owner_of(Member));
    f.put(slot, static_cast<const Owner*>(obj)->*Member, Where{node, name, 0});
  }

 private:
  template <typename C, typename M>
  static C owner_of(M C::*);

  int32_t new_node(Kind kind, size_t count, const Where& where) {
    const int32_t index = v_.node_count_++;
    if (static_cast<size_t>(v_.node_count_) > v_.nodes_.size()) v_.nodes_.resize(v_.nodes_.size() * 2 + 64);
    const int32_t first = v_.slot_count_;
    const auto slots = static_cast<int32_t>(count) * (kind == Kind::LinkMap ? 2 : 1);
    v_.slot_count_ += slots;
    if (static_cast<size_t>(v_.slot_count_) > v_.slots_.size()) v_.slots_.resize(v_.slots_.size() * 2 + v_.slot_count_);
    // Not cleared: every slot is written by put() (an absent optional as kViewNil).
    v_.nodes_[static_cast<size_t>(index)] = {static_cast<int32_t>(kind), first, static_cast<int32_t>(count),
                                             index + same_delta_};
    if (tracing_) v_.paths_.push_back(path(where));
    return index;
  }

  std::string path(const Where& w) const {
    if (w.parent < 0) return w.name;
    const std::string& parent = v_.paths_[static_cast<size_t>(w.parent)];
    return w.index > 0 ? fmt::format("{}[{}]", parent, w.index) : fmt::format("{}.{}", parent, w.name);
  }

  lb_view_slot& slot(int32_t i) { return v_.slots_[static_cast<size_t>(i)]; }

  template <typename T>
  void put(int32_t at, const T& value, const Where& where) {
    if constexpr (IsOptional<T>::value) {
      if (value) put(at, *value, where);
      else slot(at).tag = kViewNil;
    } else if constexpr (std::is_same_v<T, std::string>) {
      lb_view_slot& s = slot(at);
      s.str = value.data();
      s.len = static_cast<int32_t>(value.size());
      s.tag = kViewString;
    } else if constexpr (std::is_same_v<T, bool>) {
      lb_view_slot& s = slot(at);
      s.num = value ? 1 : 0;
      s.tag = kViewBoolean;
    } else if constexpr (std::is_arithmetic_v<T>) {
      lb_view_slot& s = slot(at);
      s.num = static_cast<double>(value);
      s.tag = kViewNumber;
    } else if (!tracing_) {
      lb_view_slot& s = slot(at);
      s.str = reinterpret_cast<const char*>(&value);
      s.len = static_cast<int32_t>(kind_of<T>());
      s.tag = kViewLater;
    } else {
      const int32_t child = add(value, where);
      lb_view_slot& s = slot(at);  // after add(): the arena may have moved
      s.len = child;
      s.tag = kViewNode;
    }
  }

  ItemViews& v_;
  bool tracing_;
  int32_t same_delta_ = 0;
};

namespace {

using Field = Flattener::Field;
#define LB_FIELD(Type, name) Field{#name, &Flattener::put_member<&Type::name>}

const Field kItemFields[] = {
    LB_FIELD(ExportItem, companyId), LB_FIELD(ExportItem, accountingEntryId),
    LB_FIELD(ExportItem, type), LB_FIELD(ExportItem, subType), LB_FIELD(ExportItem, date),
    LB_FIELD(ExportItem, amount), LB_FIELD(ExportItem, note), LB_FIELD(ExportItem, files),
    LB_FIELD(ExportItem, supplier), LB_FIELD(ExportItem, user), LB_FIELD(ExportItem, team),
    LB_FIELD(ExportItem, accountingEntryLines), LB_FIELD(ExportItem, additionalInformation),
    LB_FIELD(ExportItem, bookkeeping), LB_FIELD(ExportItem, contraAccount),
    LB_FIELD(ExportItem, vendor), LB_FIELD(ExportItem, servicePeriod),
    LB_FIELD(ExportItem, _links)};
const Field kAmountFields[] = {LB_FIELD(Amount, inSupplierCurrency), LB_FIELD(Amount, inWalletCurrency)};
const Field kMoneyFields[] = {LB_FIELD(Money, currency), LB_FIELD(Money, value)};
const Field kLineFields[] = {LB_FIELD(Line, accountingEntryLineId), LB_FIELD(Line, lineAmount),
                             LB_FIELD(Line, netAmount), LB_FIELD(Line, account),
                             LB_FIELD(Line, tags), LB_FIELD(Line, tax)};
const Field kAccountFields[] = {LB_FIELD(Account, id), LB_FIELD(Account, name), LB_FIELD(Account, code),
                                LB_FIELD(Account, identifier)};
const Field kTagFields[] = {LB_FIELD(Tag, id), LB_FIELD(Tag, code), LB_FIELD(Tag, groupCode)};
const Field kTaxFields[] = {LB_FIELD(Tax, id), LB_FIELD(Tax, code), LB_FIELD(Tax, rate),
                            LB_FIELD(Tax, type), LB_FIELD(Tax, amount),
                            LB_FIELD(Tax, ingoingTaxAccount), LB_FIELD(Tax, outgoingTaxAccount)};
const Field kSupplierFields[] = {LB_FIELD(Supplier, account), LB_FIELD(Supplier, categoryCode),
                                 LB_FIELD(Supplier, code), LB_FIELD(Supplier, country),
                                 LB_FIELD(Supplier, name), LB_FIELD(Supplier, taxIdentifier)};
const Field kUserFields[] = {LB_FIELD(User, id), LB_FIELD(User, name), LB_FIELD(User, code)};
const Field kTeamFields[] = {LB_FIELD(Team, id), LB_FIELD(Team, name), LB_FIELD(Team, code)};
const Field kVendorFields[] = {
    LB_FIELD(Vendor, id), LB_FIELD(Vendor, name), LB_FIELD(Vendor, defaultCurrency),
    LB_FIELD(Vendor, code), LB_FIELD(Vendor, country), LB_FIELD(Vendor, externalId),
    LB_FIELD(Vendor, registrationNumber), LB_FIELD(Vendor, taxRegistrationNumber)};
const Field kBookkeepingFields[] = {LB_FIELD(Bookkeeping, method)};
const Field kAdditionalInformationFields[] = {
    LB_FIELD(AdditionalInformation, reconciliationId), LB_FIELD(AdditionalInformation, attendees),
    LB_FIELD(AdditionalInformation, reconciledEntries),
    LB_FIELD(AdditionalInformation, invoiceInformation)};
const Field kInvoiceInformationFields[] = {
    LB_FIELD(InvoiceInformation, invoiceNumber), LB_FIELD(InvoiceInformation, invoiceDate),
    LB_FIELD(InvoiceInformation, status), LB_FIELD(InvoiceInformation, dueDate),
    LB_FIELD(InvoiceInformation, paymentDate), LB_FIELD(InvoiceInformation, supplierBankAccount)};
const Field kSupplierBankAccountFields[] = {
    LB_FIELD(SupplierBankAccount, bankName), LB_FIELD(SupplierBankAccount, country),
    LB_FIELD(SupplierBankAccount, accountNumber), LB_FIELD(SupplierBankAccount, bankCode),
    LB_FIELD(SupplierBankAccount, bic), LB_FIELD(SupplierBankAccount, iban)};
const Field kServicePeriodFields[] = {LB_FIELD(ServicePeriod, from), LB_FIELD(ServicePeriod, to)};
const Field kFileFields[] = {LB_FIELD(File, url), LB_FIELD(File, type), LB_FIELD(File, size)};
const Field kLinksFields[] = {LB_FIELD(Links, web), LB_FIELD(Links, mobile), LB_FIELD(Links, api)};

#undef LB_FIELD

enum class Shape { object, list, link_map };

struct KindInfo {
  const char* name;  // how errors and traces name the kind
  Shape shape = Shape::object;
  const Field* fields = nullptr;
  size_t field_count = 0;
};

template <size_t N>
constexpr KindInfo object(const char* name, const Field (&fields)[N]) {
  return KindInfo{name, Shape::object, fields, N};
}
constexpr KindInfo list(const char* name) { return KindInfo{name, Shape::list}; }

const std::array<KindInfo, static_cast<size_t>(Kind::Count)> kKinds = {
    object("item", kItemFields),
    object("amount", kAmountFields),
    object("money", kMoneyFields),
    object("line", kLineFields),
    object("account", kAccountFields),
    object("tag", kTagFields),
    object("tax", kTaxFields),
    object("supplier", kSupplierFields),
    object("user", kUserFields),
    object("team", kTeamFields),
    object("vendor", kVendorFields),
    object("bookkeeping", kBookkeepingFields),
    object("additionalInformation", kAdditionalInformationFields),
    object("invoiceInformation", kInvoiceInformationFields),
    object("supplierBankAccount", kSupplierBankAccountFields),
    object("servicePeriod", kServicePeriodFields),
    object("file", kFileFields),
    object("_links", kLinksFields),
    KindInfo{"links", Shape::link_map},  // name -> URL
    list("accountingEntryLines"),
    list("tags"),
    list("files"),
    list("strings"),
};

const KindInfo& info(Kind k) { return kKinds[static_cast<size_t>(k)]; }


ItemViews& views_of(lua_State* L) { return *static_cast<ItemViews*>(lua_touserdata(L, lua_upvalueindex(1))); }

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <typename T>
int32_t Flattener::add(const T& value, Where where) {
  if constexpr (std::is_same_v<T, LinkMap>) {
    const int32_t node = new_node(Kind::LinkMap, value.size(), where);
    int32_t at = v_.nodes_[static_cast<size_t>(node)].first;
    for (const auto& [name, url] : value) {
      slot(at++) = {name.data(), 0, static_cast<int32_t>(name.size()), kViewString};
      slot(at++) = {url.data(), 0, static_cast<int32_t>(url.size()), kViewString};
    }
    return node;
  } else if constexpr (IsVector<T>::value) {
    const int32_t node = new_node(kind_of<T>(), value.size(), where);
    const int32_t first = v_.nodes_[static_cast<size_t>(node)].first;
    for (size_t i = 0; i < value.size(); ++i) {
      put(first + static_cast<int32_t>(i), value[i], Where{node, nullptr, static_cast<int>(i + 1)});
    }
    return node;
  } else {
    const KindInfo& k = info(kind_of<T>());
    const int32_t node = new_node(kind_of<T>(), k.field_count, where);
    const int32_t first = v_.nodes_[static_cast<size_t>(node)].first;
    for (size_t i = 0; i < k.field_count; ++i) {
      k.fields[i].put(*this, first + static_cast<int32_t>(i), &value, node, k.fields[i].name);
    }
    return node;
  }
}

// Per kind: lays out the object a kViewLater slot points at.
using Expander = int32_t (*)(Flattener&, const void*);
template <size_t... I>
constexpr std::array<Expander, sizeof...(I)> make_expanders(std::index_sequence<I...>) {
  return {[](Flattener& f, const void* object) {
    return f.add(*static_cast<const std::tuple_element_t<I, KindTypes>*>(object), Flattener::Where{-1, nullptr, 0});
  }...};
}
constexpr auto kExpanders = make_expanders(std::make_index_sequence<std::tuple_size_v<KindTypes>>());

constexpr int kKindBits = 32;  // views.lua packs a view's kind into its id below this
static_assert(static_cast<int>(Kind::Count) <= kKindBits);

ItemViews::ItemViews() { arena_.base = 1; }

void ItemViews::bind(const model::ExportItem& item, ReadRecorder* recorder) {
  recorder_ = recorder;
  node_count_ = 0;
  slot_count_ = 0;
  paths_.clear();
  line_roots_.clear();
  Flattener f(*this, recorder != nullptr);
  f.add(item, Flattener::Where{-1, "item", 0});
  // Line hooks get a view of their line: lay the lines out now.
  static const auto lines_field = static_cast<int32_t>(
      std::find_if(std::begin(kItemFields), std::end(kItemFields),
                   [](const Field& field) { return std::string_view(field.name) == "accountingEntryLines"; }) -
      std::begin(kItemFields));
  const int32_t list = laid_out(nodes_[0].first + lines_field);
  for (size_t i = 0; i < item.accountingEntryLines.size(); ++i) {
    line_roots_.push_back(laid_out(nodes_[static_cast<size_t>(list)].first + static_cast<int32_t>(i)));
  }
  if (recorder) {
    for (size_t i = 0; i < line_roots_.size(); ++i) {
      line_roots_[i] = f.add_copy(item.accountingEntryLines[i], "line", line_roots_[i]);
    }
  }
  arena_.tracing = recorder ? 1 : 0;
  publish();
}

int32_t ItemViews::laid_out(int32_t slot) {
  const int32_t node = expand(this, slot);
  if (node < 0) throw std::bad_alloc();
  return node;
}

int32_t ItemViews::expand(ItemViews* self, int32_t slot) noexcept {
  if (slot < 0 || slot >= self->slot_count_) return -1;
  const lb_view_slot s = self->slots_[static_cast<size_t>(slot)];
  if (s.tag == kViewNode) return s.len;
  if (s.tag != kViewLater) return -1;
  try {
    Flattener f(*self, false);
    const int32_t node = kExpanders[static_cast<size_t>(s.len)](f, s.str);
    self->slots_[static_cast<size_t>(slot)] = {nullptr, 0, node, kViewNode};
    self->publish();
    return node;
  } catch (const std::bad_alloc&) {
    return -1;
  }
}

void ItemViews::publish() {
  arena_.nodes = node_count_;
  arena_.node = nodes_.data();
  arena_.slot = slots_.data();
}

void ItemViews::unbind() {
  arena_.base += arena_.nodes;
  arena_.nodes = 0;
  arena_.tracing = 0;
  recorder_ = nullptr;
}

// record(node, key): while tracing, the read of field `key` (or element `key`) of `node`;
// record(node, false): the read of its length (#list).
int ItemViews::record(lua_State* L) {
  ItemViews& v = views_of(L);
  const auto n = static_cast<size_t>(lua_tointeger(L, 1));
  if (!v.recorder_ || n >= static_cast<size_t>(v.node_count_)) return 0;
  const lb_view_node& node = v.nodes_[n];
  const KindInfo& k = info(static_cast<Kind>(node.kind));
  std::string path = v.paths_[n];
  if (lua_type(L, 2) == LUA_TBOOLEAN) {
    v.recorder_->read("#" + path, std::to_string(node.count), false);
    return 0;
  }
  const lb_view_slot* slot = nullptr;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    const auto i = static_cast<int32_t>(lua_tointeger(L, 2));
    if (i < 1 || i > node.count) return 0;
    slot = &v.slots_[static_cast<size_t>(node.first + i - 1)];
    fmt::format_to(std::back_inserter(path), "[{}]", i);
  } else {
    size_t len = 0;
    const char* s = lua_tolstring(L, 2, &len);
    const std::string_view key(s ? s : "", s ? len : 0);
    if (k.shape == Shape::link_map) {
      for (int32_t p = 0; p < node.count && !slot; ++p) {
        const lb_view_slot& name = v.slots_[static_cast<size_t>(node.first + 2 * p)];
        if (std::string_view(name.str, static_cast<size_t>(name.len)) == key) slot = &name + 1;
      }
    } else {
      for (size_t f = 0; f < k.field_count && !slot; ++f) {
        if (key == k.fields[f].name) slot = &v.slots_[static_cast<size_t>(node.first) + f];
      }
    }
    if (!slot) return 0;
    fmt::format_to(std::back_inserter(path), ".{}", key);
  }
  std::string value;
  bool container = false;
  switch (slot->tag) {
    case kViewString: JsonWriter::escape(value, std::string_view(slot->str, static_cast<size_t>(slot->len))); break;
    case kViewNumber: JsonWriter(value).value(slot->num); break;
    case kViewBoolean: value = slot->num != 0 ? "true" : "false"; break;
    case kViewNil: value = "null"; break;
    default: {
      // An object or a list: shown by its shape (a read of a field of it follows, and the
      // recorder folds this one into it; alone, it was a presence check).
      const Kind kind = static_cast<Kind>(slot->tag == kViewNode ? v.nodes_[static_cast<size_t>(slot->len)].kind : slot->len);
      value = info(kind).shape == Shape::object ? "\"{…}\"" : "\"[…]\"";
      container = true;
    }
  }
  v.recorder_->read(path, value, container);
  return 0;
}

// unknown_field(kind, key) -> the error message, with the closest field name when one is near.
int ItemViews::unknown_field(lua_State* L) {
  const KindInfo& k = info(static_cast<Kind>(lua_tointeger(L, 1)));
  size_t len = 0;
  const char* s = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &len) : "?";
  const std::string_view key(s, len ? len : std::char_traits<char>::length(s));
  std::string_view best;
  size_t best_distance = 4;
  for (size_t i = 0; i < k.field_count; ++i) {
    const size_t d = edit_distance(key, k.fields[i].name);
    if (d < best_distance) best_distance = d, best = k.fields[i].name;
  }
  const std::string message = best.empty()
                                  ? fmt::format("{} has no field '{}'", k.name, key)
                                  : fmt::format("{} has no field '{}' (did you mean '{}'?)", k.name, key, best);
  lua_pushlstring(L, message.data(), message.size());
  return 1;
}

void ItemViews::install(lua_State* L) {
  lua_createtable(L, 0, 5);  // host
  lua_pushlightuserdata(L, &arena_);
  lua_setfield(L, -2, "arena");
  lua_pushlightuserdata(L, this);
  lua_setfield(L, -2, "views");
  lua_pushlightuserdata(L, reinterpret_cast<void*>(&ItemViews::expand));
  lua_setfield(L, -2, "expand");
  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, &ItemViews::record, 1);
  lua_setfield(L, -2, "record");
  lua_pushcfunction(L, &ItemViews::unknown_field);
  lua_setfield(L, -2, "unknown_field");

  // kinds[id] = {name, shape, fields = {name -> slot offset}, names = {field names in order}}
  lua_createtable(L, static_cast<int>(kKinds.size()), 0);
  for (size_t id = 0; id < kKinds.size(); ++id) {
    const KindInfo& k = kKinds[id];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, k.name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, k.shape == Shape::object ? "object" : k.shape == Shape::list ? "list" : "link_map");
    lua_setfield(L, -2, "shape");
    lua_createtable(L, 0, static_cast<int>(k.field_count));
    lua_createtable(L, static_cast<int>(k.field_count), 0);
    for (size_t f = 0; f < k.field_count; ++f) {
      lua_pushinteger(L, static_cast<lua_Integer>(f));
      lua_setfield(L, -3, k.fields[f].name);
      lua_pushstring(L, k.fields[f].name);
      lua_rawseti(L, -2, static_cast<int>(f + 1));
    }
    lua_setfield(L, -3, "names");
    lua_setfield(L, -2, "fields");
    lua_rawseti(L, -2, static_cast<int>(id));
  }
  run_host_lua(L, "views.lua", 2);
}

std::vector<std::string> ItemViews::fields(std::string_view kind) {
  std::vector<std::string> out;
  for (const KindInfo& k : kKinds) {
    if (k.name != kind) continue;
    for (size_t i = 0; i < k.field_count; ++i) out.emplace_back(k.fields[i].name);
  }
  return out;
}

}  // namespace lb::rules
