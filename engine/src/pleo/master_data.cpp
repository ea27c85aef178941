#include "pleo/master_data.hpp"

#include "pleo/client.hpp"

namespace lb::pleo {

MasterDataCache::MasterDataCache(Client& client, std::chrono::milliseconds ttl, Clock& clock)
    : client_(client), ttl_(ttl), clock_(clock) {}

template <typename T, typename Fetch>
Result<std::shared_ptr<const std::vector<T>>> MasterDataCache::get(std::map<std::string, Entry<T>>& map,
                                                                   const std::string& key, Fetch fetch) {
  {
    std::lock_guard lock(mutex_);
    auto it = map.find(key);
    if (it != map.end() && clock_.now() - it->second.fetched < ttl_) return it->second.value;
  }
  // Fetch outside the lock: a slow company must not block the others. Two threads may fetch
  // the same list once each; the later one wins, both answers are equally fresh.
  auto fetched = fetch();
  if (!fetched) return fetched.error();
  auto value = std::make_shared<const std::vector<T>>(std::move(*fetched));
  std::lock_guard lock(mutex_);
  map[key] = Entry<T>{value, clock_.now()};
  return value;
}

Result<std::shared_ptr<const std::vector<TaxCode>>> MasterDataCache::tax_codes(const std::string& company_id) {
  return get(tax_codes_, company_id, [&] { return client_.list_tax_codes(company_id); });
}

Result<std::shared_ptr<const std::vector<TagGroup>>> MasterDataCache::tag_groups(const std::string& company_id) {
  return get(tag_groups_, company_id, [&] { return client_.list_tag_groups(company_id); });
}

Result<std::shared_ptr<const std::vector<Tag>>> MasterDataCache::tags(const std::string& company_id,
                                                                      const std::string& group_id) {
  return get(tags_, company_id + "/" + group_id, [&] { return client_.list_tags(group_id); });
}

Result<std::shared_ptr<const std::vector<LedgerAccount>>> MasterDataCache::accounts(const std::string& company_id) {
  return get(accounts_, company_id, [&] { return client_.list_accounts(company_id); });
}

Result<std::shared_ptr<const std::vector<PleoVendor>>> MasterDataCache::vendors(const std::string& company_id) {
  return get(vendors_, company_id, [&] { return client_.list_vendors(company_id); });
}

void MasterDataCache::invalidate(const std::string& company_id) {
  std::lock_guard lock(mutex_);
  tax_codes_.erase(company_id);
  tag_groups_.erase(company_id);
  accounts_.erase(company_id);
  vendors_.erase(company_id);
  const std::string prefix = company_id + "/";
  for (auto it = tags_.lower_bound(prefix); it != tags_.end() && it->first.rfind(prefix, 0) == 0;)
    it = tags_.erase(it);
}

}  // namespace lb::pleo
