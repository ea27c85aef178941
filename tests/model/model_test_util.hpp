#pragma once
// Shared by the model tests: reading the example files and rendering a decoded item as canonical
// JSON, so that two decodes can be compared field for field with one string compare (the model
// structs have no operator==).
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/export_item.hpp"
#include "model/json_writer.hpp"

namespace lb::model::test {

inline std::string data_path(const std::string& name) {
  return std::string(LB_TEST_DATA_DIR) + "/pleo/" + name;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string read_data(const std::string& name) { return read_file(data_path(name)); }

inline void put(JsonWriter& w, const std::optional<std::string>& s) {
  if (s)
    w.value(*s);
  else
    w.null();
}

inline void put(JsonWriter& w, const Money& m) {
  w.begin_object().key("currency").value(m.currency).key("value").value(m.value).end_object();
}

inline void put(JsonWriter& w, const Amount& a) {
  w.begin_object().key("inSupplierCurrency");
  put(w, a.inSupplierCurrency);
  w.key("inWalletCurrency");
  put(w, a.inWalletCurrency);
  w.end_object();
}

inline void put(JsonWriter& w, const std::optional<Account>& a) {
  if (!a) {
    w.null();
    return;
  }
  w.begin_object().key("id").value(a->id).key("name").value(a->name).key("code");
  put(w, a->code);
  w.key("identifier");
  put(w, a->identifier);
  w.end_object();
}

inline void put(JsonWriter& w, const std::optional<std::vector<std::string>>& v) {
  if (!v) {
    w.null();
    return;
  }
  w.begin_array();
  for (const auto& s : *v) w.value(s);
  w.end_array();
}

inline void put(JsonWriter& w, const LinkMap& m) {
  w.begin_object();
  for (const auto& [k, v] : m) w.key(k).value(v);
  w.end_object();
}

// Every member of the item, in declaration order, null for an empty optional.
inline std::string dump(const ExportItem& it) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("companyId").value(it.companyId);
  w.key("accountingEntryId").value(it.accountingEntryId);
  w.key("type").value(it.type);
  w.key("subType");
  put(w, it.subType);
  w.key("date").value(it.date);
  w.key("amount");
  put(w, it.amount);
  w.key("note");
  put(w, it.note);
  w.key("files");
  if (it.files) {
    w.begin_array();
    for (const auto& f : *it.files)
      w.begin_object()
          .key("url")
          .value(f.url)
          .key("type")
          .value(f.type)
          .key("size")
          .value(f.size)
          .end_object();
    w.end_array();
  } else {
    w.null();
  }
  w.key("supplier");
  if (it.supplier) {
    const auto& s = *it.supplier;
    w.begin_object().key("account");
    put(w, s.account);
    w.key("categoryCode");
    put(w, s.categoryCode);
    w.key("code");
    put(w, s.code);
    w.key("country");
    put(w, s.country);
    w.key("name");
    put(w, s.name);
    w.key("taxIdentifier");
    put(w, s.taxIdentifier);
    w.end_object();
  } else {
    w.null();
  }
  w.key("user");
  if (it.user) {
    w.begin_object().key("id").value(it.user->id).key("name").value(it.user->name).key("code");
    put(w, it.user->code);
    w.end_object();
  } else {
    w.null();
  }
  w.key("team");
  if (it.team) {
    w.begin_object().key("id").value(it.team->id).key("name").value(it.team->name).key("code");
    put(w, it.team->code);
    w.end_object();
  } else {
    w.null();
  }
  w.key("accountingEntryLines").begin_array();
  for (const auto& l : it.accountingEntryLines) {
    w.begin_object().key("accountingEntryLineId").value(l.accountingEntryLineId);
    w.key("lineAmount");
    put(w, l.lineAmount);
    w.key("netAmount");
    put(w, l.netAmount);
    w.key("account");
    put(w, l.account);
    w.key("tags");
    if (l.tags) {
      w.begin_array();
      for (const auto& t : *l.tags)
        w.begin_object()
            .key("id")
            .value(t.id)
            .key("code")
            .value(t.code)
            .key("groupCode")
            .value(t.groupCode)
            .end_object();
      w.end_array();
    } else {
      w.null();
    }
    w.key("tax");
    if (l.tax) {
      const auto& t = *l.tax;
      w.begin_object().key("id").value(t.id).key("code");
      put(w, t.code);
      w.key("rate").value(t.rate).key("type").value(t.type).key("amount");
      put(w, t.amount);
      w.key("ingoingTaxAccount");
      put(w, t.ingoingTaxAccount);
      w.key("outgoingTaxAccount");
      put(w, t.outgoingTaxAccount);
      w.end_object();
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_array();
  const auto& ai = it.additionalInformation;
  w.key("additionalInformation").begin_object().key("reconciliationId").value(ai.reconciliationId);
  w.key("attendees");
  put(w, ai.attendees);
  w.key("reconciledEntries");
  put(w, ai.reconciledEntries);
  w.key("invoiceInformation");
  if (ai.invoiceInformation) {
    const auto& inv = *ai.invoiceInformation;
    w.begin_object()
        .key("invoiceNumber")
        .value(inv.invoiceNumber)
        .key("invoiceDate")
        .value(inv.invoiceDate);
    w.key("status").value(inv.status).key("dueDate");
    put(w, inv.dueDate);
    w.key("paymentDate");
    put(w, inv.paymentDate);
    w.key("supplierBankAccount");
    if (inv.supplierBankAccount) {
      const auto& b = *inv.supplierBankAccount;
      w.begin_object().key("bankName").value(b.bankName).key("country").value(b.country);
      w.key("accountNumber");
      put(w, b.accountNumber);
      w.key("bankCode");
      put(w, b.bankCode);
      w.key("bic");
      put(w, b.bic);
      w.key("iban");
      put(w, b.iban);
      w.end_object();
    } else {
      w.null();
    }
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
  w.key("bookkeeping");
  if (it.bookkeeping)
    w.begin_object().key("method").value(it.bookkeeping->method).end_object();
  else
    w.null();
  w.key("contraAccount");
  put(w, it.contraAccount);
  w.key("vendor");
  if (it.vendor) {
    const auto& v = *it.vendor;
    w.begin_object()
        .key("id")
        .value(v.id)
        .key("name")
        .value(v.name)
        .key("defaultCurrency")
        .value(v.defaultCurrency);
    w.key("code");
    put(w, v.code);
    w.key("country");
    put(w, v.country);
    w.key("externalId");
    put(w, v.externalId);
    w.key("registrationNumber");
    put(w, v.registrationNumber);
    w.key("taxRegistrationNumber");
    put(w, v.taxRegistrationNumber);
    w.end_object();
  } else {
    w.null();
  }
  w.key("servicePeriod");
  if (it.servicePeriod)
    w.begin_object()
        .key("from")
        .value(it.servicePeriod->from)
        .key("to")
        .value(it.servicePeriod->to)
        .end_object();
  else
    w.null();
  w.key("_links").begin_object().key("web");
  put(w, it._links.web);
  w.key("mobile");
  put(w, it._links.mobile);
  w.key("api");
  put(w, it._links.api);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace lb::model::test
