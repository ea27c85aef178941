#pragma once
// C++ types for Pleo Export API v3 (../shared/pleo-api/pleo-export-openapi.yml). Field names
// follow the JSON names exactly so that a reader can map every member to the contract; rule
// scripts see the same names. Nullable JSON values are std::optional; absent and null are the
// same thing here. Enumerated strings (type, subType, method, ...) stay strings: Pleo adds values
// and the rules, not the decoder, decide what an unknown one means (enums.hpp lists known ones).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lb::model {

// MoneyModel: `value` is in minor units of `currency` (89696 SEK = 896.96).
struct Money {
  std::string currency;  // ISO 4217, validated on decode
  int64_t value = 0;
};

// ExportItemAmountV3, ExportItemLineAmountV3, ExportItemNetAmountV3 and TaxAmountV3 share a shape.
struct Amount {
  Money inSupplierCurrency;
  Money inWalletCurrency;
};

// AccountV3 and ContraAccount share a shape.
struct Account {
  std::string id;
  std::string name;
  std::optional<std::string> code;
  std::optional<std::string> identifier;
};

struct Tag {  // TagV3
  std::string id;
  std::string code;
  std::string groupCode;
};

struct Tax {  // TaxV3
  std::string id;
  std::optional<std::string> code;
  double rate = 0;   // a decimal fraction: 0.2 is 20%
  std::string type;  // inclusive | exclusive | reverse (others kept)
  Amount amount;
  std::optional<std::string> ingoingTaxAccount;
  std::optional<std::string> outgoingTaxAccount;
};

struct Line {  // ExportItemLineV3
  std::string accountingEntryLineId;
  Amount lineAmount;
  Amount netAmount;
  std::optional<Account> account;
  std::optional<std::vector<Tag>> tags;
  std::optional<Tax> tax;
};

struct Supplier {  // SupplierV3: every field nullable
  std::optional<std::string> account;
  std::optional<std::string> categoryCode;
  std::optional<std::string> code;
  std::optional<std::string> country;
  std::optional<std::string> name;
  std::optional<std::string> taxIdentifier;
};

struct User {  // ExportItemUserV3
  std::string id;
  std::string name;
  std::optional<std::string> code;
};

struct Team {  // TeamV3
  std::string id;
  std::string name;
  std::optional<std::string> code;
};

struct Vendor {  // VendorV3
  std::string id;
  std::string name;
  std::string defaultCurrency;
  std::optional<std::string> code;
  std::optional<std::string> country;
  std::optional<std::string> externalId;
  std::optional<std::string> registrationNumber;
  std::optional<std::string> taxRegistrationNumber;
};

struct Bookkeeping {  // BookkeepingV3
  std::string method;  // none | journal | accounts_payable (others kept)
};

struct SupplierBankAccount {
  std::string bankName;
  std::string country;
  std::optional<std::string> accountNumber;
  std::optional<std::string> bankCode;
  std::optional<std::string> bic;
  std::optional<std::string> iban;
};

struct InvoiceInformation {  // InvoiceInformationV3
  std::string invoiceNumber;
  std::string invoiceDate;  // YYYY-MM-DD (a date-time is accepted and kept as sent)
  std::string status;       // InvoiceInformationStatusV3 (others kept)
  std::optional<std::string> dueDate;
  std::optional<std::string> paymentDate;
  std::optional<SupplierBankAccount> supplierBankAccount;
};

struct AdditionalInformation {  // ExportItemAdditionalInformationV3
  std::string reconciliationId;
  std::optional<std::vector<std::string>> attendees;
  std::optional<std::vector<std::string>> reconciledEntries;
  std::optional<InvoiceInformation> invoiceInformation;
};

struct ServicePeriod {  // ServicePeriodV3
  std::string from;
  std::string to;
};

struct File {  // ExportItemFile
  std::string url;
  std::string type;
  int64_t size = 0;
};

// LinksResponse: each of web/mobile/api maps a link name (e.g. "exportItem") to a URL.
using LinkMap = std::vector<std::pair<std::string, std::string>>;
struct Links {
  LinkMap web;
  LinkMap mobile;
  LinkMap api;
};

struct ExportItem {  // ExportItemV3
  std::string companyId;
  std::string accountingEntryId;
  std::string type;
  std::optional<std::string> subType;
  std::string date;  // ISO-8601 date-time, as sent
  Amount amount;
  std::optional<std::string> note;
  std::optional<std::vector<File>> files;
  std::optional<Supplier> supplier;
  std::optional<User> user;
  std::optional<Team> team;
  std::vector<Line> accountingEntryLines;
  AdditionalInformation additionalInformation;
  std::optional<Bookkeeping> bookkeeping;
  std::optional<Account> contraAccount;
  std::optional<Vendor> vendor;
  std::optional<ServicePeriod> servicePeriod;
  Links _links;
};

// --- the control layer ---------------------------------------------------------------------

struct ExportJob {  // ExportJobV3
  std::string id;
  std::string companyId;
  std::string status;  // ExportJobStatus
  std::string createdAt;
  int32_t expiresIn = 0;
  bool isInteractive = false;
  int64_t numberOfItems = 0;
  bool vendorBasedBookkeeping = false;
  std::optional<std::string> createdBy;
  std::optional<std::string> startedAt;
  std::optional<std::string> completedAt;
  std::optional<std::string> expiredAt;
  std::optional<std::string> lastUpdatedAt;
  std::optional<std::string> failureReason;
  std::optional<std::string> failureReasonType;
};

struct ExportJobItem {  // ExportJobItemV3
  std::string accountingEntryId;
  std::string exportJobId;
  std::string status;  // ExportJobItemStatus
  std::optional<std::string> exportedAt;
  std::optional<std::string> externalId;
  std::optional<std::string> externalUrl;
  std::optional<std::string> failureReason;
  std::optional<std::string> failureReasonType;
};

}  // namespace lb::model
