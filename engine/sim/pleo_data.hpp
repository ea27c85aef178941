#pragma once
// The simulated Pleo's data: ids scoped per company, export items made consistent with their
// company's master data, the master data itself (tax codes, tag groups and tags, chart of
// accounts, vendors) and the bytes of attachment files. Internal to engine/sim.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lb::sim::pleo {

using Json = nlohmann::ordered_json;

// Stands for the server's base URL inside stored items; replaced when an item is served, since
// the port is known only once the server listens.
inline constexpr std::string_view kBasePlaceholder = "@@LB_SIM_BASE@@";

// A uuid (version 4 layout) derived from `company|kind|key`: the same entity gets the same id in
// items and in master data, and ids differ between companies.
std::string scoped_id(std::string_view company_id, std::string_view kind, std::string_view key);

struct FileInfo {
  std::string type;  // MIME type as the item states it
  int64_t size = 0;
};

// Rewrites a generated or given item for `company_id`: companyId, the ids of accounts, contra
// account, tax codes, tags and vendor (scoped to the company, as the master data has them),
// and files[].url (to /files/<id> on this server; the file is added to `files`). With
// `scope_ids` false only companyId and the files are touched (items a test supplies).
// Returns the serialised item; non-ASCII stays \u-escaped when the input had no raw non-ASCII.
std::string adapt_item(Json& item, const std::string& company_id, bool scope_ids, bool escape_non_ascii,
                       std::map<std::string, FileInfo>& files);

// The bytes of a file of `type`, the same for the same id: a real JPEG, PNG or PDF receipt
// (sim/receipt_files.hpp) of exactly `size` bytes when `size` is at least the receipt's own
// size (a few KB), and printable filler of exactly `size` bytes for other types.
std::string file_bytes(std::string_view file_id, std::string_view type, int64_t size);

// Master data of one company, per the master-data OpenAPI files.
struct MasterData {
  std::vector<Json> tax_codes;   // TaxCodeModel
  std::vector<Json> tag_groups;  // TagGroupModel
  std::vector<Json> tags;        // TagModel, grouped by group in order
  std::vector<Json> accounts;    // BookkeepingAccountRestModelV1
  std::vector<Json> vendors;     // VendorResponse
};
MasterData make_master_data(const std::string& company_id);

}  // namespace lb::sim::pleo
