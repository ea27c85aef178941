#pragma once
// Pleo master data the rules and validation need (domain brief §2.13), as small structs that
// keep the JSON names of their OpenAPI schemas: tax codes (pleo-tax-code-openapi.yml
// TaxCodeModel), tag groups and tags (pleo-tags-openapi.yml TagGroupModel, TagModel), the chart
// of accounts (pleo-chart-of-accounts-openapi.yml BookkeepingAccountRestModelV1) and vendors
// (pleo-vendors-openapi.yml VendorResponse). Only what mapping needs is kept.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pleo/clock.hpp"
#include "pleo/error.hpp"

namespace lb::pleo {

struct TaxCode {  // TaxCodeModel
  std::string id;
  std::string companyId;
  std::string name;
  double rate = 0;   // a decimal fraction: 0.2 is 20%
  std::string type;  // inclusive | exclusive | reverse
  bool archived = false;
  std::optional<std::string> code;  // the accounting system's identifier (e.g. "01")
  std::optional<std::string> ingoingTaxAccount;
  std::optional<std::string> outgoingTaxAccount;
};

struct TagGroup {  // TagGroupModel
  std::string id;
  std::string companyId;
  std::string code;  // external identifier used for mapping to the ERP dimension
  std::string name;
  bool archived = false;
  std::map<std::string, std::string> metadata;
};

struct Tag {  // TagModel
  std::string id;
  std::string groupId;
  std::string code;  // external identifier of the tag
  std::optional<std::string> name;
  bool archived = false;
};

struct LedgerAccount {  // BookkeepingAccountRestModelV1
  std::string id;
  std::string companyId;
  std::string externalId;  // the ERP's identifier
  std::string name;
  bool archived = false;
  std::optional<std::string> code;
  std::optional<std::string> taxCodeExternalId;
};

struct PleoVendor {  // VendorResponse
  std::string id;
  std::string companyId;
  std::string name;
  std::string defaultCurrency;
  std::string state;  // DRAFT | ACTIVE | ARCHIVED
  std::optional<std::string> code;
  std::optional<std::string> externalId;
  std::optional<std::string> country;
  std::optional<std::string> registrationNumber;
  std::optional<std::string> taxRegistrationNumber;
  std::optional<std::string> accountingSystem;
};

class Client;

// Per-company cache of the lists above with a time to live, so a job's items do not each fetch
// master data (§4.2: avoid redundant calls). Thread-safe; a failed fetch is not cached. Returns
// shared, immutable lists, valid however long the caller keeps them.
class MasterDataCache {
 public:
  MasterDataCache(Client& client, std::chrono::milliseconds ttl = std::chrono::minutes(15),
                  Clock& clock = system_clock());

  Result<std::shared_ptr<const std::vector<TaxCode>>> tax_codes(const std::string& company_id);
  Result<std::shared_ptr<const std::vector<TagGroup>>> tag_groups(const std::string& company_id);
  Result<std::shared_ptr<const std::vector<Tag>>> tags(const std::string& company_id,
                                                       const std::string& group_id);
  Result<std::shared_ptr<const std::vector<LedgerAccount>>> accounts(const std::string& company_id);
  Result<std::shared_ptr<const std::vector<PleoVendor>>> vendors(const std::string& company_id);

  void invalidate(const std::string& company_id);  // e.g. after an unknown code is reported

 private:
  template <typename T>
  struct Entry {
    std::shared_ptr<const std::vector<T>> value;
    std::chrono::steady_clock::time_point fetched;
  };
  template <typename T, typename Fetch>
  Result<std::shared_ptr<const std::vector<T>>> get(std::map<std::string, Entry<T>>& map,
                                                    const std::string& key, Fetch fetch);

  Client& client_;
  std::chrono::milliseconds ttl_;
  Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Entry<TaxCode>> tax_codes_;
  std::map<std::string, Entry<TagGroup>> tag_groups_;
  std::map<std::string, Entry<Tag>> tags_;  // key: company + "/" + group
  std::map<std::string, Entry<LedgerAccount>> accounts_;
  std::map<std::string, Entry<PleoVendor>> vendors_;
};

}  // namespace lb::pleo
