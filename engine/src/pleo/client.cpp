#include "pleo/client.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "model/currency.hpp"
#include "model/enums.hpp"
#include "pleo/redact.hpp"

namespace lb::pleo {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// §1.6: the 400 names the currencies without contra accounts. The body's exact shape is not
// in the spec [GAP], so take ISO codes from the message and from any string array in the body.
std::vector<std::string> currencies_in(const json& body, const std::string& message) {
  std::set<std::string> found;
  for (std::size_t i = 0; i + 3 <= message.size(); ++i) {
    const bool start = i == 0 || !std::isalpha(static_cast<unsigned char>(message[i - 1]));
    const bool end = i + 3 == message.size() || !std::isalpha(static_cast<unsigned char>(message[i + 3]));
    if (!start || !end) continue;
    const std::string token = message.substr(i, 3);
    if (std::all_of(token.begin(), token.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) &&
        model::is_iso4217(token))
      found.insert(token);
  }
  if (body.is_object())
    for (const auto& [key, value] : body.items())
      if (value.is_array())
        for (const auto& v : value)
          if (v.is_string() && model::is_iso4217(v.get<std::string>())) found.insert(v.get<std::string>());
  return {found.begin(), found.end()};
}

// §4.1: status and ExceptionInfo {type, message} → a typed Error.
Error response_error(const HttpResponse& r, const std::string& endpoint) {
  Error e;
  e.http_status = static_cast<int>(r.status);
  e.request_id = r.request_id();
  e.endpoint = endpoint;
  json body = json::parse(r.body, nullptr, false);
  std::string message;
  if (body.is_object()) {
    if (body.contains("type") && body["type"].is_string()) e.type = body["type"].get<std::string>();
    if (body.contains("message") && body["message"].is_string())
      message = body["message"].get<std::string>();
  }
  if (message.empty() && !body.is_object() && !r.body.empty())
    message = r.body.substr(0, 200);  // not ExceptionInfo: show the start of what came back
  if (message.size() > 1000) message.resize(1000);
  e.message = redact(message);
  const std::string type = upper(e.type);  // §4.1: compare type case-insensitively
  switch (r.status) {
    case 400:
      if (type == "MISSING_CONTRA_ACCOUNTS") {
        e.kind = ErrorKind::missing_contra_accounts;
        e.currencies = currencies_in(body, message);
      } else {
        e.kind = ErrorKind::bad_request;
      }
      break;
    case 401: e.kind = ErrorKind::auth; break;
    case 403: e.kind = ErrorKind::forbidden; break;
    case 404: e.kind = ErrorKind::not_found; break;
    case 409: e.kind = ErrorKind::conflict_409; break;
    case 413: e.kind = ErrorKind::payload_too_large_413; break;
    case 422: e.kind = ErrorKind::conflict_422; break;
    case 429: e.kind = ErrorKind::rate_limited; break;
    default: e.kind = r.status >= 500 ? ErrorKind::server : ErrorKind::bad_response; break;
  }
  if (e.message.empty()) e.message = fmt::format("HTTP {}", r.status);
  return e;
}

Error bad_response(const HttpResponse& r, const std::string& endpoint, std::string message) {
  Error e{ErrorKind::bad_response, redact(message), static_cast<int>(r.status), {}, r.request_id(), endpoint};
  return e;
}

std::string endpoint_of(const Client::Call& c) { return c.method + " " + (c.log_path.empty() ? c.path : c.log_path); }

// The `pagination` object of a CursorPaginatedResponse (§1.11).
template <typename PageInfo>
Result<PageInfo> read_pagination(simdjson::dom::element root, const HttpResponse& r,
                                 const std::string& endpoint) {
  simdjson::dom::object pagination;
  if (root["pagination"].get_object().get(pagination) != simdjson::SUCCESS)
    return bad_response(r, endpoint, "the page has no pagination object");
  PageInfo info;
  bool has_next = false;
  if (pagination["hasNextPage"].get_bool().get(has_next) != simdjson::SUCCESS)
    return bad_response(r, endpoint, "pagination.hasNextPage is missing or not a boolean");
  info.has_next = has_next;
  std::string_view cursor;
  if (pagination["endCursor"].get_string().get(cursor) == simdjson::SUCCESS) info.end_cursor = cursor;
  return info;
}

template <typename PageInfo>
Result<PageInfo> read_pagination(const json& root, const HttpResponse& r, const std::string& endpoint) {
  if (!root.contains("pagination") || !root["pagination"].is_object())
    return bad_response(r, endpoint, "the page has no pagination object");
  const json& p = root["pagination"];
  if (!p.contains("hasNextPage") || !p["hasNextPage"].is_boolean())
    return bad_response(r, endpoint, "pagination.hasNextPage is missing or not a boolean");
  PageInfo info;
  info.has_next = p["hasNextPage"].get<bool>();
  if (p.contains("endCursor") && p["endCursor"].is_string()) info.end_cursor = p["endCursor"].get<std::string>();
  return info;
}

// Small readers for master-data JSON (nlohmann; these bodies are small).
struct Fields {
  const json& j;
  std::string where;
  std::string error;

  std::string str(const char* key) {
    if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    if (error.empty()) error = where + "." + key + ": expected a string";
    return {};
  }
  std::optional<std::string> opt(const char* key) {
    if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    return std::nullopt;
  }
  bool boolean(const char* key) {
    if (j.contains(key) && j[key].is_boolean()) return j[key].get<bool>();
    if (error.empty()) error = where + "." + key + ": expected a boolean";
    return false;
  }
  double number(const char* key) {
    if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
    if (error.empty()) error = where + "." + key + ": expected a number";
    return 0;
  }
};

Result<TaxCode> parse_tax_code(Fields f) {
  TaxCode t;
  t.id = f.str("id");
  t.companyId = f.str("companyId");
  t.name = f.str("name");
  t.rate = f.number("rate");
  t.type = f.str("type");
  t.archived = f.boolean("archived");
  t.code = f.opt("code");
  t.ingoingTaxAccount = f.opt("ingoingTaxAccount");
  t.outgoingTaxAccount = f.opt("outgoingTaxAccount");
  if (!f.error.empty()) return Error{ErrorKind::bad_response, f.error};
  return t;
}

Result<TagGroup> parse_tag_group(Fields f) {
  TagGroup g;
  g.id = f.str("id");
  g.companyId = f.str("companyId");
  g.code = f.str("code");
  g.name = f.str("name");
  g.archived = f.boolean("archived");
  if (f.j.contains("metadata") && f.j["metadata"].is_object())
    for (const auto& [k, v] : f.j["metadata"].items())
      if (v.is_string()) g.metadata[k] = v.get<std::string>();
  if (!f.error.empty()) return Error{ErrorKind::bad_response, f.error};
  return g;
}

Result<Tag> parse_tag(Fields f) {
  Tag t;
  t.id = f.str("id");
  t.groupId = f.str("groupId");
  t.code = f.str("code");
  t.name = f.opt("name");
  t.archived = f.boolean("archived");
  if (!f.error.empty()) return Error{ErrorKind::bad_response, f.error};
  return t;
}

Result<LedgerAccount> parse_account(Fields f) {
  LedgerAccount a;
  a.id = f.str("id");
  a.companyId = f.str("companyId");
  a.externalId = f.str("externalId");
  a.name = f.str("name");
  a.archived = f.boolean("archived");
  a.code = f.opt("code");
  a.taxCodeExternalId = f.opt("taxCodeExternalId");
  if (!f.error.empty()) return Error{ErrorKind::bad_response, f.error};
  return a;
}

Result<PleoVendor> parse_vendor(Fields f) {
  PleoVendor v;
  v.id = f.str("id");
  v.companyId = f.str("companyId");
  v.name = f.str("name");
  v.defaultCurrency = f.str("defaultCurrency");
  v.state = f.str("state");
  v.code = f.opt("code");
  v.externalId = f.opt("externalId");
  v.country = f.opt("country");
  v.registrationNumber = f.opt("registrationNumber");
  v.taxRegistrationNumber = f.opt("taxRegistrationNumber");
  v.accountingSystem = f.opt("accountingSystem");
  if (!f.error.empty()) return Error{ErrorKind::bad_response, f.error};
  return v;
}

void put_opt(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}

}  // namespace

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      transport_(std::make_unique<HttpTransport>(options_.transport)),
      clock_(options_.clock ? *options_.clock : system_clock()) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
  if (!options_.limiter) options_.limiter = std::make_shared<RateLimiter>(RateLimiter::kDefaultPerMinute, clock_);
  if (options_.page_limit < 1) options_.page_limit = 1;
}

Client::~Client() = default;

Result<HttpResponse> Client::call(const Call& c) {
  const std::string endpoint = endpoint_of(c);
  if (!options_.auth) return Error{ErrorKind::config, "the client has no credential", 0, {}, {}, endpoint};

  HttpRequest request;
  request.method = c.method;
  request.log_path = c.log_path.empty() ? c.path : c.log_path;
  request.url = options_.base_url + c.path;
  for (std::size_t i = 0; i < c.query.size(); ++i)
    request.url += (i == 0 ? "?" : "&") + url_encode(c.query[i].first) + "=" + url_encode(c.query[i].second);
  request.body = c.body;

  Backoff backoff(options_.retry, clock_, options_.random);
  bool refreshed = false;
  for (;;) {
    auto authorization = options_.auth->authorization();
    if (!authorization) {
      Error e = std::move(authorization.error());
      if (e.endpoint.empty()) e.endpoint = endpoint;
      return e;
    }
    request.headers = {{"Authorization", *authorization}, {"Accept", "application/json"}};
    if (!request.body.empty()) request.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");

    options_.limiter->acquire();  // §4.2: one budget per credential
    auto response = transport_->perform(request);
    if (!response) {
      // Network errors and timeouts are transient (§4.2). Reads are safe to repeat; the two
      // writes that are not (`started`, item updates: no idempotency key) are sent by the
      // workflow through a client with max_attempts = 1, and it settles a lost answer itself
      // (job_runner.cpp: send_started, report_batch).
      if (backoff.wait()) continue;
      return response.error();
    }
    HttpResponse& r = *response;
    if (r.status >= 200 && r.status < 300) return std::move(r);

    if (r.status == 401 && !refreshed) {
      // §4.2: 401 → one centralised refresh, then one retry.
      auto again = options_.auth->on_unauthorized(*authorization);
      if (!again) {
        Error e = std::move(again.error());
        if (e.endpoint.empty() || e.kind == ErrorKind::reconnect_required) e.endpoint = endpoint;
        return e;
      }
      if (*again) {
        refreshed = true;
        continue;
      }
    }
    std::optional<milliseconds> retry_after;
    if (auto ra = r.header("retry-after")) retry_after = parse_retry_after(*ra, clock_.wall_now());
    if (r.status == 429) {
      // §4.2: a 429 pauses everyone on this credential, not just this call.
      options_.limiter->pause_for(backoff.next_delay(retry_after));
      if (backoff.wait(retry_after)) continue;
    } else if (r.status >= 500) {
      if (backoff.wait(retry_after)) continue;
    }
    Error e = response_error(r, endpoint);
    e.retry_after = retry_after;
    return e;
  }
}

Status Client::paginate(Call c, const std::function<Result<PageInfo>(const HttpResponse&, bool&)>& on_page) {
  const std::string endpoint = endpoint_of(c);
  std::set<std::string> seen;
  const std::size_t base_query = c.query.size();
  c.query.emplace_back("limit", std::to_string(options_.page_limit));
  for (;;) {
    auto response = call(c);
    if (!response) return response.error();
    bool stop = false;
    auto info = on_page(*response, stop);
    if (!info) return info.error();
    if (stop || !info->has_next) return ok_status();
    if (info->end_cursor.empty())
      return bad_response(*response, endpoint, "hasNextPage is true but endCursor is missing");
    // §1.11: a cursor seen before would loop for ever.
    if (!seen.insert(info->end_cursor).second) {
      Error e = bad_response(*response, endpoint, "the server repeated cursor " + info->end_cursor);
      e.kind = ErrorKind::cursor_repeated;
      return e;
    }
    c.query.resize(base_query + 1);
    c.query.emplace_back("after", info->end_cursor);
  }
}

// --- control layer -----------------------------------------------------------------------------

Status Client::for_each_export_job_page(const std::string& company_id,
                                        const std::vector<std::string>& statuses,
                                        const PageCallback<model::ExportJob>& on_page) {
  Call c{"GET", "/v3/export-jobs", "/v3/export-jobs"};
  c.query.emplace_back("company_id", company_id);
  for (const auto& s : statuses) c.query.emplace_back("statuses", s);  // form, explode: repeated
  simdjson::dom::parser parser;
  const std::string endpoint = endpoint_of(c);
  return paginate(c, [&](const HttpResponse& r, bool& stop) -> Result<PageInfo> {
    simdjson::dom::element root;
    if (parser.parse(r.body).get(root) != simdjson::SUCCESS)
      return bad_response(r, endpoint, "the body is not JSON");
    simdjson::dom::array data;
    if (root["data"].get_array().get(data) != simdjson::SUCCESS)
      return bad_response(r, endpoint, "the page has no data array");
    std::vector<model::ExportJob> jobs;
    std::size_t i = 0;
    for (auto el : data) {
      auto decoded = model::decode_export_job(el);
      if (auto* err = std::get_if<model::DecodeError>(&decoded))
        return bad_response(r, endpoint, fmt::format("data[{}]: {}", i, err->to_string()));
      jobs.push_back(std::move(std::get<model::ExportJob>(decoded)));
      ++i;
    }
    auto info = read_pagination<PageInfo>(root, r, endpoint);
    if (info && !on_page(jobs)) stop = true;
    return info;
  });
}

Result<std::vector<model::ExportJob>> Client::list_export_jobs(const std::string& company_id,
                                                               const std::vector<std::string>& statuses) {
  std::vector<model::ExportJob> all;
  auto s = for_each_export_job_page(company_id, statuses, [&](std::vector<model::ExportJob>& page) {
    for (auto& j : page) all.push_back(std::move(j));
    return true;
  });
  if (!s) return s.error();
  return all;
}

Result<model::ExportJob> Client::get_export_job(const std::string& job_id) {
  Call c{"GET", "/v3/export-jobs/" + url_encode(job_id), "/v3/export-jobs/{jobId}"};
  auto r = call(c);
  if (!r) return r.error();
  simdjson::dom::parser parser;
  simdjson::dom::element data;
  if (parser.parse(r->body)["data"].get(data) != simdjson::SUCCESS)
    return bad_response(*r, endpoint_of(c), "the body has no data object");
  auto decoded = model::decode_export_job(data);
  if (auto* err = std::get_if<model::DecodeError>(&decoded))
    return bad_response(*r, endpoint_of(c), "data: " + err->to_string());
  return std::move(std::get<model::ExportJob>(decoded));
}

Status Client::post_job_event(const JobEvent& event) {
  const std::string endpoint = "POST /v3/export-job-events";
  auto refuse = [&](std::string message) {
    return Error{ErrorKind::invalid_argument, std::move(message), 0, {}, {}, endpoint};
  };
  static constexpr std::array<std::string_view, 4> kEvents = {"started", "completed",
                                                              "completed_with_errors", "failed"};
  if (event.jobId.empty()) return refuse("jobId is empty");
  if (!model::is_one_of(event.event, kEvents)) return refuse("unknown job event '" + event.event + "'");
  const bool failed = event.event == "failed";
  // §3.3: failureReason and failureReasonType go with `failed` only, and `failed` needs both.
  if (!failed && (event.failureReason || event.failureReasonType))
    return refuse("failureReason/failureReasonType are only sent with a failed event");
  if (failed && (!event.failureReason || event.failureReason->empty() || !event.failureReasonType))
    return refuse("a failed event needs failureReason and failureReasonType");
  if (failed && !model::is_one_of(*event.failureReasonType, model::kJobFailureReasonTypes))
    return refuse("'" + *event.failureReasonType + "' is not an ExportJobFailureReasonType");
  json body{{"jobId", event.jobId}, {"event", event.event}};
  if (failed) {
    body["failureReason"] = *event.failureReason;
    body["failureReasonType"] = *event.failureReasonType;
  }
  auto r = call(Call{"POST", "/v3/export-job-events", "/v3/export-job-events", {}, body.dump()});
  if (!r) return r.error();
  return ok_status();
}

Status Client::for_each_job_item_page(const std::string& job_id, const std::optional<std::string>& status,
                                      const PageCallback<model::ExportJobItem>& on_page) {
  Call c{"GET", "/v3/export-jobs/" + url_encode(job_id) + "/items", "/v3/export-jobs/{jobId}/items"};
  if (status) c.query.emplace_back("status", *status);
  simdjson::dom::parser parser;
  const std::string endpoint = endpoint_of(c);
  return paginate(c, [&](const HttpResponse& r, bool& stop) -> Result<PageInfo> {
    simdjson::dom::element root;
    if (parser.parse(r.body).get(root) != simdjson::SUCCESS)
      return bad_response(r, endpoint, "the body is not JSON");
    simdjson::dom::array data;
    if (root["data"].get_array().get(data) != simdjson::SUCCESS)
      return bad_response(r, endpoint, "the page has no data array");
    std::vector<model::ExportJobItem> items;
    std::size_t i = 0;
    for (auto el : data) {
      auto decoded = model::decode_export_job_item(el);
      // The control layer decides what gets exported (§1.5): an unreadable entry is an error,
      // not something to skip silently.
      if (auto* err = std::get_if<model::DecodeError>(&decoded))
        return bad_response(r, endpoint, fmt::format("data[{}]: {}", i, err->to_string()));
      items.push_back(std::move(std::get<model::ExportJobItem>(decoded)));
      ++i;
    }
    auto info = read_pagination<PageInfo>(root, r, endpoint);
    if (info && !on_page(items)) stop = true;
    return info;
  });
}

Result<JobItemsUpdateResult> Client::update_job_items(const std::string& job_id,
                                                      const std::vector<JobItemUpdate>& updates) {
  Call c{"PUT", "/v3/export-jobs/" + url_encode(job_id) + "/items", "/v3/export-jobs/{jobId}/items"};
  const std::string endpoint = endpoint_of(c);
  // §1.9: Pleo takes at most 100 per request (413 beyond). Refuse here so nothing is half-sent.
  if (updates.size() > kMaxItemUpdates)
    return Error{ErrorKind::invalid_argument,
                 fmt::format("{} item updates in one call; at most {} (batch them)", updates.size(), kMaxItemUpdates),
                 0, {}, {}, endpoint};
  if (updates.empty()) return JobItemsUpdateResult{};
  json body = json::array();
  for (const auto& u : updates) {
    if (u.accountingEntryId.empty() || u.status.empty())
      return Error{ErrorKind::invalid_argument, "every update needs accountingEntryId and status", 0, {}, {}, endpoint};
    json j{{"accountingEntryId", u.accountingEntryId}, {"status", u.status}};
    put_opt(j, "exportedAt", u.exportedAt);
    put_opt(j, "externalId", u.externalId);
    put_opt(j, "externalUrl", u.externalUrl);
    put_opt(j, "failureReason", u.failureReason);
    put_opt(j, "failureReasonType", u.failureReasonType);
    body.push_back(std::move(j));
  }
  c.body = body.dump();
  auto r = call(c);
  if (!r) return r.error();

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(r->body).get(root) != simdjson::SUCCESS)
    return bad_response(*r, endpoint, "the body is not JSON");
  JobItemsUpdateResult result;
  simdjson::dom::array data;
  if (root["data"].get_array().get(data) == simdjson::SUCCESS) {
    std::size_t i = 0;
    for (auto el : data) {
      auto decoded = model::decode_export_job_item(el);
      if (auto* err = std::get_if<model::DecodeError>(&decoded))
        return bad_response(*r, endpoint, fmt::format("data[{}]: {}", i, err->to_string()));
      result.data.push_back(std::move(std::get<model::ExportJobItem>(decoded)));
      ++i;
    }
  }
  simdjson::dom::array errors;
  if (root["errors"].get_array().get(errors) == simdjson::SUCCESS) {
    for (auto el : errors) {
      JobItemUpdateError e;
      std::string_view s;
      if (el["accountingEntryId"].get_string().get(s) == simdjson::SUCCESS) e.accountingEntryId = s;
      if (el["type"].get_string().get(s) == simdjson::SUCCESS) e.type = s;
      if (el["message"].get_string().get(s) == simdjson::SUCCESS) e.message = redact(s);
      result.errors.push_back(std::move(e));
    }
  }
  return result;
}

// --- data layer --------------------------------------------------------------------------------

Status Client::for_each_export_item_page(const std::string& job_id, const ExportItemsCallback& on_page) {
  Call c{"GET", "/v3/export-items", "/v3/export-items"};
  c.query.emplace_back("job_id", job_id);
  simdjson::dom::parser parser;
  const std::string endpoint = endpoint_of(c);
  ExportItemsPage page;
  return paginate(c, [&](const HttpResponse& r, bool& stop) -> Result<PageInfo> {
    simdjson::dom::element root;
    if (parser.parse(r.body).get(root) != simdjson::SUCCESS)
      return bad_response(r, endpoint, "the body is not JSON");
    simdjson::dom::array data;
    if (root["data"].get_array().get(data) != simdjson::SUCCESS)
      return bad_response(r, endpoint, "the page has no data array");
    page.items.clear();
    page.bad.clear();
    std::size_t i = 0;
    for (auto el : data) {
      auto decoded = model::decode_export_item(el);
      if (auto* err = std::get_if<model::DecodeError>(&decoded)) {
        // DESIGN §6: a bad item is reported and skipped; the rest of the job goes on.
        err->where = fmt::format("page {} data[{}]", page.number, i);
        page.bad.push_back(std::move(*err));
      } else {
        page.items.push_back(std::move(std::get<model::ExportItem>(decoded)));
      }
      ++i;
    }
    auto info = read_pagination<PageInfo>(root, r, endpoint);
    if (info && !on_page(page)) stop = true;
    ++page.number;
    return info;
  });
}

// --- master data -------------------------------------------------------------------------------

namespace {
template <typename T, typename Parse>
Result<std::vector<T>> collect_json_pages(Client& client, Client::Call c, Parse parse, bool paginated,
                                          int page_limit) {
  std::vector<T> all;
  const std::string endpoint = endpoint_of(c);
  std::set<std::string> seen;
  const std::size_t base_query = c.query.size();
  if (paginated) c.query.emplace_back("limit", std::to_string(page_limit));
  for (;;) {
    auto r = client.call(c);
    if (!r) return r.error();
    json root = json::parse(r->body, nullptr, false);
    if (!root.is_object() || !root.contains("data") || !root["data"].is_array())
      return bad_response(*r, endpoint, "the body has no data array");
    std::size_t i = 0;
    for (const auto& el : root["data"]) {
      if (!el.is_object()) return bad_response(*r, endpoint, fmt::format("data[{}]: expected an object", i));
      auto parsed = parse(Fields{el, fmt::format("data[{}]", i), {}});
      if (!parsed) return bad_response(*r, endpoint, parsed.error().message);
      all.push_back(std::move(*parsed));
      ++i;
    }
    if (!paginated) return all;
    struct Info {
      bool has_next = false;
      std::string end_cursor;
    };
    auto info = read_pagination<Info>(root, *r, endpoint);
    if (!info) return info.error();
    if (!info->has_next) return all;
    if (info->end_cursor.empty()) return bad_response(*r, endpoint, "hasNextPage is true but endCursor is missing");
    if (!seen.insert(info->end_cursor).second) {
      Error e = bad_response(*r, endpoint, "the server repeated cursor " + info->end_cursor);
      e.kind = ErrorKind::cursor_repeated;
      return e;
    }
    c.query.resize(base_query + 1);
    c.query.emplace_back("after", info->end_cursor);
  }
}
}  // namespace

Result<std::vector<TaxCode>> Client::list_tax_codes(const std::string& company_id) {
  Call c{"POST", "/v0/tax-codes:search", "/v0/tax-codes:search", {{"company_id", company_id}}, "{}"};
  return collect_json_pages<TaxCode>(*this, c, parse_tax_code, true, options_.page_limit);
}

Result<std::vector<TagGroup>> Client::list_tag_groups(const std::string& company_id) {
  // DataResponseListTagGroupModel: one unpaginated list.
  Call c{"GET", "/v0/tag-groups", "/v0/tag-groups", {{"company_id", company_id}}};
  return collect_json_pages<TagGroup>(*this, c, parse_tag_group, false, options_.page_limit);
}

Result<std::vector<Tag>> Client::list_tags(const std::string& group_id, bool include_archived) {
  Call c{"GET", "/v0/tag-groups/" + url_encode(group_id) + "/tags", "/v0/tag-groups/{groupId}/tags",
         {{"include_archived", include_archived ? "true" : "false"}}};
  return collect_json_pages<Tag>(*this, c, parse_tag, true, options_.page_limit);
}

Result<std::vector<LedgerAccount>> Client::list_accounts(const std::string& company_id) {
  json body{{"companyId", company_id},
            {"excludeIfAssignedToCategory", false},
            {"excludeIfAssignedToContraAccount", false}};
  Call c{"POST", "/v1/chart-of-accounts:search", "/v1/chart-of-accounts:search", {}, body.dump()};
  return collect_json_pages<LedgerAccount>(*this, c, parse_account, true, options_.page_limit);
}

Result<std::vector<PleoVendor>> Client::list_vendors(const std::string& company_id) {
  Call c{"POST", "/v1/vendors:search", "/v1/vendors:search", {{"company_id", company_id}}, "{}"};
  return collect_json_pages<PleoVendor>(*this, c, parse_vendor, true, options_.page_limit);
}

}  // namespace lb::pleo
