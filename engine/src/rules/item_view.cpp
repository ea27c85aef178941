#include "rules/item_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <lua.hpp>
#include <optional>
#include <type_traits>

#include "model/json_writer.hpp"

namespace lb::rules {
namespace {

using namespace lb::model;

enum class Kind : uint16_t {
  Item, Amount, Money, Line, Account, Tag, Tax, Supplier, User, Team, Vendor, Bookkeeping,
  AdditionalInformation, InvoiceInformation, SupplierBankAccount, ServicePeriod, File, Links,
  LinkMap, Lines, Tags, Files, Strings, Count
};

struct View {
  const void* obj;
  uint32_t generation;
  Kind kind;
  int32_t path;  // index into ViewState::paths, or -1 when not tracing
};

ViewState& state_of(lua_State* L) {
  return *static_cast<ViewState*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// --- paths and recording (only while tracing) -----------------------------------------------

int32_t child_path(ViewState& vs, const View& parent, std::string_view name, int index = 0) {
  if (!vs.recorder || parent.path < 0) return -1;
  std::string p = vs.paths[static_cast<size_t>(parent.path)];
  if (index > 0) p += fmt::format("[{}]", index);
  else fmt::format_to(std::back_inserter(p), ".{}", name);
  vs.paths.push_back(std::move(p));
  return static_cast<int32_t>(vs.paths.size() - 1);
}

template <typename Render>
void record(ViewState& vs, const View& parent, std::string_view name, int index, Render render) {
  if (!vs.recorder || parent.path < 0) return;
  std::string path = vs.paths[static_cast<size_t>(parent.path)];
  if (index > 0) path += fmt::format("[{}]", index);
  else fmt::format_to(std::back_inserter(path), ".{}", name);
  std::string value;
  render(value);
  vs.recorder->read(path, value);
}

void push_view(lua_State* L, const ViewState& vs, const void* obj, Kind kind, int32_t path, uint32_t generation);

// --- pushing values by C++ type ----------------------------------------------------------------

template <typename T> struct KindOf;
template <> struct KindOf<ExportItem> { static constexpr Kind value = Kind::Item; };
template <> struct KindOf<Amount> { static constexpr Kind value = Kind::Amount; };
template <> struct KindOf<Money> { static constexpr Kind value = Kind::Money; };
template <> struct KindOf<Line> { static constexpr Kind value = Kind::Line; };
template <> struct KindOf<Account> { static constexpr Kind value = Kind::Account; };
template <> struct KindOf<Tag> { static constexpr Kind value = Kind::Tag; };
template <> struct KindOf<Tax> { static constexpr Kind value = Kind::Tax; };
template <> struct KindOf<Supplier> { static constexpr Kind value = Kind::Supplier; };
template <> struct KindOf<User> { static constexpr Kind value = Kind::User; };
template <> struct KindOf<Team> { static constexpr Kind value = Kind::Team; };
template <> struct KindOf<Vendor> { static constexpr Kind value = Kind::Vendor; };
template <> struct KindOf<Bookkeeping> { static constexpr Kind value = Kind::Bookkeeping; };
template <> struct KindOf<AdditionalInformation> { static constexpr Kind value = Kind::AdditionalInformation; };
template <> struct KindOf<InvoiceInformation> { static constexpr Kind value = Kind::InvoiceInformation; };
template <> struct KindOf<SupplierBankAccount> { static constexpr Kind value = Kind::SupplierBankAccount; };
template <> struct KindOf<ServicePeriod> { static constexpr Kind value = Kind::ServicePeriod; };
template <> struct KindOf<File> { static constexpr Kind value = Kind::File; };
template <> struct KindOf<Links> { static constexpr Kind value = Kind::Links; };
template <> struct KindOf<LinkMap> { static constexpr Kind value = Kind::LinkMap; };
template <> struct KindOf<std::vector<Line>> { static constexpr Kind value = Kind::Lines; };
template <> struct KindOf<std::vector<Tag>> { static constexpr Kind value = Kind::Tags; };
template <> struct KindOf<std::vector<File>> { static constexpr Kind value = Kind::Files; };
template <> struct KindOf<std::vector<std::string>> { static constexpr Kind value = Kind::Strings; };

template <typename T> struct IsOptional : std::false_type {};
template <typename T> struct IsOptional<std::optional<T>> : std::true_type {};

struct Where {
  ViewState& vs;
  const View& parent;
  std::string_view name;
  int index;  // 1-based array position, or 0 for a named field
};

template <typename T>
void push_value(lua_State* L, const T& v, const Where& w) {
  if constexpr (IsOptional<T>::value) {
    if (!v) {
      lua_pushnil(L);
      record(w.vs, w.parent, w.name, w.index, [](std::string& out) { out = "null"; });
    } else {
      push_value(L, *v, w);
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    lua_pushlstring(L, v.data(), v.size());
    record(w.vs, w.parent, w.name, w.index, [&](std::string& out) { JsonWriter(out).value(v); });
  } else if constexpr (std::is_same_v<T, bool>) {
    lua_pushboolean(L, v);
    record(w.vs, w.parent, w.name, w.index, [&](std::string& out) { out = v ? "true" : "false"; });
  } else if constexpr (std::is_arithmetic_v<T>) {
    lua_pushnumber(L, static_cast<lua_Number>(v));
    record(w.vs, w.parent, w.name, w.index, [&](std::string& out) {
      JsonWriter(out).value(static_cast<double>(v));
    });
  } else {
    push_view(L, w.vs, &v, KindOf<T>::value, child_path(w.vs, w.parent, w.name, w.index),
              w.parent.generation);
  }
}

// --- field tables ------------------------------------------------------------------------------

using Pusher = void (*)(lua_State*, const void*, const Where&);
struct Field {
  const char* name;
  Pusher push;
};

template <typename C, typename M>
C owner_of(M C::*);

template <auto Member>
void push_member(lua_State* L, const void* obj, const Where& w) {
  using Owner = decltype(owner_of(Member));
  push_value(L, static_cast<const Owner*>(obj)->*Member, w);
}

#define LB_FIELD(Type, name) Field{#name, &push_member<&Type::name>}

const Field kItemFields[] = {
    LB_FIELD(ExportItem, companyId), LB_FIELD(ExportItem, accountingEntryId),
    LB_FIELD(ExportItem, type), LB_FIELD(ExportItem, subType), LB_FIELD(ExportItem, date),
    LB_FIELD(ExportItem, amount), LB_FIELD(ExportItem, note), LB_FIELD(ExportItem, files),
    LB_FIELD(ExportItem, supplier), LB_FIELD(ExportItem, user), LB_FIELD(ExportItem, team),
    LB_FIELD(ExportItem, accountingEntryLines), LB_FIELD(ExportItem, additionalInformation),
    LB_FIELD(ExportItem, bookkeeping), LB_FIELD(ExportItem, contraAccount),
    LB_FIELD(ExportItem, vendor), LB_FIELD(ExportItem, servicePeriod),
    LB_FIELD(ExportItem, _links)};
const Field kAmountFields[] = {LB_FIELD(Amount, inSupplierCurrency),
                               LB_FIELD(Amount, inWalletCurrency)};
const Field kMoneyFields[] = {LB_FIELD(Money, currency), LB_FIELD(Money, value)};
const Field kLineFields[] = {LB_FIELD(Line, accountingEntryLineId), LB_FIELD(Line, lineAmount),
                             LB_FIELD(Line, netAmount), LB_FIELD(Line, account),
                             LB_FIELD(Line, tags), LB_FIELD(Line, tax)};
const Field kAccountFields[] = {LB_FIELD(Account, id), LB_FIELD(Account, name),
                                LB_FIELD(Account, code), LB_FIELD(Account, identifier)};
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

// Arrays: element count and element pusher per kind.
template <typename T>
struct ArrayOps {
  static size_t size(const void* obj) { return static_cast<const std::vector<T>*>(obj)->size(); }
  static void push(lua_State* L, const void* obj, size_t i, const Where& w) {
    push_value(L, (*static_cast<const std::vector<T>*>(obj))[i], w);
  }
};

struct KindInfo {
  const char* name;  // how errors and traces name the kind
  const Field* fields = nullptr;
  size_t field_count = 0;
  size_t (*size)(const void*) = nullptr;  // arrays only
  void (*push_element)(lua_State*, const void*, size_t, const Where&) = nullptr;
};

template <size_t N>
constexpr KindInfo object(const char* name, const Field (&fields)[N]) {
  return KindInfo{name, fields, N, nullptr, nullptr};
}
template <typename T>
constexpr KindInfo array(const char* name) {
  return KindInfo{name, nullptr, 0, &ArrayOps<T>::size, &ArrayOps<T>::push};
}

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
    KindInfo{"links", nullptr, 0, nullptr, nullptr},  // name -> URL map, see link_index
    array<Line>("accountingEntryLines"),
    array<Tag>("tags"),
    array<File>("files"),
    array<std::string>("strings"),
};

const KindInfo& info(Kind k) { return kKinds[static_cast<size_t>(k)]; }

// --- metamethods -------------------------------------------------------------------------------

View& check_view(lua_State* L, int index) {
  auto* v = static_cast<View*>(lua_touserdata(L, index));
  if (!v) luaL_error(L, "expected an item view");
  if (v->generation != state_of(L).generation) {
    luaL_error(L,
               "%s view used after its item was evaluated (keep the values you need, not the "
               "views)",
               info(v->kind).name);
  }
  return *v;
}

size_t edit_distance(std::string_view a, std::string_view b) {
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

int unknown_field(lua_State* L, const View& v, std::string_view key) {
  const KindInfo& k = info(v.kind);
  std::string_view best;
  size_t best_distance = 4;
  for (size_t i = 0; i < k.field_count; ++i) {
    const size_t d = edit_distance(key, k.fields[i].name);
    if (d < best_distance) best_distance = d, best = k.fields[i].name;
  }
  if (!best.empty()) {
    return luaL_error(L, "%s has no field '%s' (did you mean '%s'?)", k.name,
                      std::string(key).c_str(), std::string(best).c_str());
  }
  return luaL_error(L, "%s has no field '%s'", k.name, std::string(key).c_str());
}

// Field names to 1-based field positions, one table per object kind (upvalue 2 of __index).
int view_index(lua_State* L) {
  View& v = check_view(L, 1);
  ViewState& vs = state_of(L);
  const KindInfo& k = info(v.kind);
  if (k.size) {  // an array
    if (lua_type(L, 2) != LUA_TNUMBER) {
      return luaL_error(L, "%s is a list: index it with a number, not a %s", k.name,
                        luaL_typename(L, 2));
    }
    const lua_Number n = lua_tonumber(L, 2);
    const size_t count = k.size(v.obj);
    if (n < 1 || n > static_cast<lua_Number>(count) || n != static_cast<lua_Number>(static_cast<size_t>(n))) {
      lua_pushnil(L);
      return 1;
    }
    const auto i = static_cast<size_t>(n);
    k.push_element(L, v.obj, i - 1, Where{vs, v, {}, static_cast<int>(i)});
    return 1;
  }
  if (v.kind == Kind::LinkMap) {
    size_t len = 0;
    const char* key = lua_tolstring(L, 2, &len);
    const auto& links = *static_cast<const LinkMap*>(v.obj);
    const std::string_view name = key ? std::string_view(key, len) : std::string_view();
    for (const auto& [link, url] : links) {
      if (link == name) {
        push_value(L, url, Where{vs, v, name, 0});
        return 1;
      }
    }
    lua_pushnil(L);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(2));
  if (lua_isnil(L, -1)) {
    size_t len = 0;
    const char* key = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &len) : "?";
    return unknown_field(L, v, std::string_view(key, len));
  }
  const auto field = static_cast<size_t>(lua_tointeger(L, -1)) - 1;
  lua_pop(L, 1);
  k.fields[field].push(L, v.obj, Where{vs, v, k.fields[field].name, 0});
  return 1;
}

int view_newindex(lua_State* L) {
  auto* v = static_cast<View*>(lua_touserdata(L, 1));
  return luaL_error(L, "%s is read-only (tried to set '%s')", info(v->kind).name,
                    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

int view_len(lua_State* L) {
  View& v = check_view(L, 1);
  const KindInfo& k = info(v.kind);
  if (k.size) lua_pushinteger(L, static_cast<lua_Integer>(k.size(v.obj)));
  else if (v.kind == Kind::LinkMap) lua_pushinteger(L, static_cast<lua_Integer>(static_cast<const LinkMap*>(v.obj)->size()));
  else lua_pushinteger(L, 0);
  return 1;
}

// Iteration: arrays yield (i, element); objects yield (name, value) for non-nil fields in
// contract order; link maps yield (name, url).
int view_next(lua_State* L) {
  View& v = check_view(L, 1);
  ViewState& vs = state_of(L);
  const KindInfo& k = info(v.kind);
  if (k.size) {
    const auto i = lua_isnil(L, 2) ? 0 : static_cast<size_t>(lua_tointeger(L, 2));
    if (i >= k.size(v.obj)) return 0;
    lua_pushinteger(L, static_cast<lua_Integer>(i + 1));
    k.push_element(L, v.obj, i, Where{vs, v, {}, static_cast<int>(i + 1)});
    return 2;
  }
  if (v.kind == Kind::LinkMap) {
    const auto& links = *static_cast<const LinkMap*>(v.obj);
    size_t i = 0;
    if (!lua_isnil(L, 2)) {
      const std::string_view prev = lua_tostring(L, 2);
      while (i < links.size() && links[i].first != prev) ++i;
      ++i;
    }
    if (i >= links.size()) return 0;
    lua_pushlstring(L, links[i].first.data(), links[i].first.size());
    push_value(L, links[i].second, Where{vs, v, links[i].first, 0});
    return 2;
  }
  size_t i = 0;
  if (!lua_isnil(L, 2)) {
    const std::string_view prev = lua_tostring(L, 2);
    while (i < k.field_count && prev != k.fields[i].name) ++i;
    ++i;
  }
  for (; i < k.field_count; ++i) {
    k.fields[i].push(L, v.obj, Where{vs, v, k.fields[i].name, 0});
    if (!lua_isnil(L, -1)) {
      lua_pushstring(L, k.fields[i].name);
      lua_insert(L, -2);
      return 2;
    }
    lua_pop(L, 1);
  }
  return 0;
}

int view_pairs(lua_State* L) {
  check_view(L, 1);
  lua_pushvalue(L, lua_upvalueindex(2));  // view_next, closed over the same state
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int view_tostring(lua_State* L) {
  auto* v = static_cast<View*>(lua_touserdata(L, 1));
  switch (v->kind) {
    case Kind::Item:
      lua_pushfstring(L, "item %s", static_cast<const ExportItem*>(v->obj)->accountingEntryId.c_str());
      break;
    case Kind::Line:
      lua_pushfstring(L, "line %s", static_cast<const Line*>(v->obj)->accountingEntryLineId.c_str());
      break;
    case Kind::Money: {
      const auto* m = static_cast<const Money*>(v->obj);
      lua_pushstring(L, fmt::format("{} {} (minor units)", m->value, m->currency).c_str());
      break;
    }
    default:
      lua_pushfstring(L, "%s view", info(v->kind).name);
  }
  return 1;
}

int view_eq(lua_State* L) {
  auto* a = static_cast<View*>(lua_touserdata(L, 1));
  auto* b = static_cast<View*>(lua_touserdata(L, 2));
  lua_pushboolean(L, a && b && a->obj == b->obj && a->kind == b->kind);
  return 1;
}

void push_view(lua_State* L, const ViewState& vs, const void* obj, Kind kind, int32_t path, uint32_t generation) {
  auto* v = static_cast<View*>(lua_newuserdata(L, sizeof(View)));
  *v = View{obj, generation, kind, path};
  lua_rawgeti(L, LUA_REGISTRYINDEX, vs.metatables[static_cast<size_t>(kind)]);
  lua_setmetatable(L, -2);
}

void push_root(lua_State* L, ViewState& vs, const void* obj, Kind kind, std::string_view path) {
  int32_t id = -1;
  if (vs.recorder) {
    vs.paths.emplace_back(path);
    id = static_cast<int32_t>(vs.paths.size() - 1);
  }
  push_view(L, vs, obj, kind, id, vs.generation);
}

}  // namespace

void register_item_views(lua_State* L, ViewState* state) {
  state->metatables.clear();
  for (size_t kind = 0; kind < kKinds.size(); ++kind) {
    const KindInfo& k = kKinds[kind];
    lua_newtable(L);

    lua_pushlightuserdata(L, state);
    lua_createtable(L, 0, static_cast<int>(k.field_count));
    for (size_t f = 0; f < k.field_count; ++f) {
      lua_pushinteger(L, static_cast<lua_Integer>(f + 1));
      lua_setfield(L, -2, k.fields[f].name);
    }
    lua_pushcclosure(L, view_index, 2);
    lua_setfield(L, -2, "__index");

    lua_pushcfunction(L, view_newindex);
    lua_setfield(L, -2, "__newindex");

    lua_pushlightuserdata(L, state);
    lua_pushcclosure(L, view_len, 1);
    lua_setfield(L, -2, "__len");

    lua_pushlightuserdata(L, state);
    lua_pushlightuserdata(L, state);
    lua_pushcclosure(L, view_next, 1);
    lua_pushcclosure(L, view_pairs, 2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__pairs");
    lua_setfield(L, -2, "__ipairs");

    lua_pushcfunction(L, view_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, view_eq);
    lua_setfield(L, -2, "__eq");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    state->metatables.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
  }
}

void push_item_view(lua_State* L, ViewState& state, const ExportItem& item, std::string_view path) {
  push_root(L, state, &item, Kind::Item, path);
}

void push_line_view(lua_State* L, ViewState& state, const Line& line, std::string_view path) {
  push_root(L, state, &line, Kind::Line, path);
}

std::vector<std::string> view_fields(std::string_view kind) {
  std::vector<std::string> out;
  for (const KindInfo& k : kKinds) {
    if (k.name != kind) continue;
    for (size_t i = 0; i < k.field_count; ++i) out.emplace_back(k.fields[i].name);
  }
  return out;
}

}  // namespace lb::rules
