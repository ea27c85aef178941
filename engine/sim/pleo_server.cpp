// The simulated Pleo (pleo_server.hpp). Where things are, top to bottom (each section starts
// with a "// --- name ---" line):
//   helpers           base32 cursors, base64 credentials, form and URL decoding, replies
//   state             jobs, job items, credentials, OAuth authorizations, fault decisions
//   State: set-up     seeded companies, jobs and items (pleo_data.cpp builds the data)
//   State: time       job expiry
//   State: auth       API keys, bearer tokens, the per-credential rate limit
//   State: faults     the seeded fault draw per request
//   State: paging     cursors and page caps shared by every list endpoint
//   State: handlers   Export API v3 (jobs, events, job items, export items), OAuth token,
//                     master data (tax codes, tags, accounts, vendors)
//   State: plumbing   routing, auth/rate-limit/fault wrapping of every handler, files
//   PleoServer        the public class: start/stop, inspection, test controls
//
// One mutex guards the whole state; cpp-httplib's worker
// threads take it for the duration of one request's state work, never while sleeping (latency
// faults) or writing to the socket.
//
// Choices made where the contract is silent (each also noted at its code):
// - Pagination: `after`/`before` take the cursors a page returns (endCursor/startCursor); a
//   cursor is base32 (^[A-Z2-7=~]+$) of the element's position in the collection's stable order
//   (jobs by createdAt, items in job order), so items changing status while a client pages do
//   not shift pages. `limit` absent or 0 means the page cap; above the cap the cap applies
//   (README §2 [GAP]). sorting_keys/sorting_order are validated and echoed but not applied.
// - 400 bodies use type BAD_REQUEST, 401 UNAUTHORIZED, 403 FORBIDDEN (credential not for that
//   company), 429 TOO_MANY_REQUESTS, 5xx INTERNAL_SERVER_ERROR/BAD_GATEWAY/SERVICE_UNAVAILABLE:
//   the spec names no type for these.
// - POST /v3/export-job-events and GET /v3/export-items for an unknown job answer 404
//   EXPORT_NOT_FOUND (the spec lists only 202/422 and 200/400/422 there).
// - PUT items on a `pending` job (not started) is 422 EXPORT_JOB_STATUS_UNPROCESSABLE, like a
//   finished job: a client must claim the job first (§1.3).
// - An item update with status pending or abandoned, or `failed` without failureReasonType,
//   is refused per item in errors[] (ACCOUNTING_ENTRY_UPDATE_FAILED, "Export entry status update
//   failed" per the spec's table); an update naming an item not in the job gets
//   ACCOUNTING_ENTRY_DOES_NOT_EXIST. A malformed element (bad uuid, unknown enum) fails the
//   whole request with 400 and applies nothing, as schema validation would.
// - Item updates and job events count as actions on the job (refresh lastUpdatedAt); reads do
//   not (§1.11 [INF]). Only in_progress jobs expire: the job becomes failed/job_expired and its
//   items that have no final status become abandoned.
#include "sim/pleo_server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "sim/generate.hpp"
#include "sim/pleo_data.hpp"
#include "sim/world.hpp"

namespace lb::sim {
namespace {

using pleo::Json;
using Clock = std::chrono::system_clock;
using Seconds = std::chrono::seconds;

constexpr const char* kJsonType = "application/json;charset=UTF-8";
constexpr int kMaxUpdateBatch = 100;  // §1.9: at most 100 items per update

constexpr std::array<const char*, 5> kJobStatuses = {"pending", "in_progress", "failed", "completed",
                                                     "completed_with_errors"};
constexpr std::array<const char*, 4> kJobEvents = {"started", "failed", "completed", "completed_with_errors"};
constexpr std::array<const char*, 5> kItemStatuses = {"pending", "in_progress", "failed", "successful", "abandoned"};
constexpr std::array<const char*, 15> kJobFailureTypes = {
    "invalid_configuration", "missing_configuration", "authentication_failure",
    "accounting_system_authentication_failure", "pleo_rate_limit", "accounting_system_rate_limit",
    "service_unreachable", "accounting_system_unreachable", "validation_failure", "authorization_failure",
    "integration_unusable", "job_expired", "service_timeout", "accounting_system_timeout", "canceled_by_user"};
constexpr std::array<const char*, 18> kItemFailureTypes = {
    "receipt_upload_failure", "receipt_download_failure", "receipt_file_size_limit_exceeded",
    "receipt_conversion_failure", "unexpected_failure", "invalid_configuration", "missing_configuration",
    "accounting_system_authentication_failure", "accounting_system_rate_limit", "accounting_system_unreachable",
    "validation_failure", "accounting_system_validation_failure", "authorization_failure",
    "accounting_system_timeout", "vendor_unknown", "account_unknown", "tax_code_unknown", "tag_unknown"};
constexpr std::array<const char*, 6> kPageOrders = {"ASC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST",
                                                    "DESC", "DESC_NULLS_FIRST", "DESC_NULLS_LAST"};

// Companies taken from the fixed world in this order, so that a few already span every wallet
// currency (DKK, GBP, SEK, EUR, USD).
constexpr std::array<int, 20> kCompanyOrder = {0, 5, 9, 12, 19, 14, 1, 6, 10, 13, 15, 16, 17, 18, 2, 7, 11, 3, 8, 4};

template <size_t N>
bool one_of(const std::array<const char*, N>& set, std::string_view v) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

bool is_uuid(std::string_view s) {
  static const std::regex re("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return std::regex_match(s.begin(), s.end(), re);
}

bool is_date_time(std::string_view s) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$)");
  return std::regex_match(s.begin(), s.end(), re);
}

std::string iso(Clock::time_point t) {
  const std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Json opt_time(const std::optional<Clock::time_point>& t) { return t ? Json(iso(*t)) : Json(nullptr); }
Json opt_str(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

// --- base32 cursors and base64 credentials --------------------------------------------------

constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string base32(std::string_view in) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kB32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kB32[(buffer << (5 - bits)) & 31];
  while (out.size() % 8) out += '=';
  return out;
}

std::optional<std::string> unbase32(std::string_view in) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kB32, c);
    if (!p || !*p) return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(p - kB32);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string encode_cursor(size_t position) { return base32(fmt::format("p:{}", position)); }

std::optional<size_t> decode_cursor(std::string_view cursor) {
  auto raw = unbase32(cursor);
  if (!raw || raw->size() < 3 || raw->rfind("p:", 0) != 0) return std::nullopt;
  size_t v = 0;
  for (size_t i = 2; i < raw->size(); ++i) {
    if ((*raw)[i] < '0' || (*raw)[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>((*raw)[i] - '0');
  }
  return v;
}

std::optional<std::string> unbase64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hexpair(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hexpair.c_str(), &end, 16);
      if (end && *end == '\0' && hexpair.size() == 2) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += '%';
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> form;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) form[url_decode(pair)] = "";
      else form[url_decode(pair.substr(0, eq))] = url_decode(pair.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return form;
}

// --- replies -----------------------------------------------------------------------------------

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = kJsonType;
  std::vector<std::pair<std::string, std::string>> headers;
};

// ExceptionInfo (§4.1): { "type": ..., "message": ... }.
Reply exception(int status, std::string_view type, std::string_view message) {
  Json j = Json::object();
  j["type"] = type;
  j["message"] = message;
  return Reply{status, j.dump()};
}

Reply bad_request(std::string_view message) { return exception(400, "BAD_REQUEST", message); }

Reply json_reply(int status, const Json& j, const char* content_type = kJsonType) {
  return Reply{status, j.dump(), content_type, {}};
}

Reply oauth_error(int status, std::string_view error, std::string_view description) {
  Json j = Json::object();
  j["error"] = error;
  j["error_description"] = description;
  Reply r = json_reply(status, j, "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// --- state ---------------------------------------------------------------------------------------

struct JobItem {
  std::string id;  // accountingEntryId
  std::string status = "pending";
  std::optional<std::string> external_id, external_url, exported_at, failure_reason, failure_reason_type;
  int final_sets = 0;
  int updates = 0;
  std::string export_item;      // ExportItemV3 JSON with kBasePlaceholder in file URLs
  std::string wallet_currency;  // for the contra-account check
};

struct Job {
  std::string id;
  std::string company_id;
  std::string status = "pending";
  Clock::time_point created_at;
  std::optional<Clock::time_point> started_at, completed_at, expired_at;
  Clock::time_point last_updated_at;
  std::optional<std::string> created_by;
  bool interactive = true;
  bool vendor_based_bookkeeping = true;
  std::optional<std::string> failure_reason, failure_reason_type;
  std::vector<JobItem> items;
  std::map<std::string, size_t> index;  // accountingEntryId -> items[]
  std::vector<SimJobEvent> events;
};

bool is_final(std::string_view item_status) { return item_status == "successful" || item_status == "failed"; }
bool is_live(std::string_view job_status) { return job_status == "pending" || job_status == "in_progress"; }

struct Credential {
  std::string rate_key;  // never the secret itself: "key#3", "oauth#1"
  std::vector<std::string> companies;
};

struct Authorization {
  size_t client = 0;
  std::string refresh_token;
  std::set<std::string> used_refresh_tokens;
  bool revoked = false;
};

struct AccessToken {
  size_t authorization = 0;
  Clock::time_point expires;
};

struct FaultDecision {
  bool server_error = false, rate_limit = false, latency = false, drop = false, lost_response = false,
       truncate = false;
  int server_status = 500;
  bool truncate_by_length = true;
  int latency_ms = 0;
  int burst_length = 0;
};

// cpp-httplib cannot close a connection without answering, so find the accepted socket by its
// two ports and shut it down; cpp-httplib still owns (and later closes) the descriptor, and its
// writes fail quietly (it sends with MSG_NOSIGNAL).
void drop_connection(const httplib::Request& req, int server_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (...) {
      continue;
    }
    sockaddr_in local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 || local.sin_family != AF_INET) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (ntohs(local.sin_port) == server_port && ntohs(peer.sin_port) == req.remote_port) {
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
  }
}

std::string hex_token(detail::Rng& r, size_t n) { return detail::hex(r, n); }

}  // namespace

FaultProfile FaultProfile::uniform(double p) {
  FaultProfile f;
  f.server_error = f.rate_limit = f.drop = f.lost_response = f.truncate = p / 5;
  f.latency = p;
  return f;
}

struct PleoServer::State {
  explicit State(PleoServerConfig c)
      : cfg(std::move(c)), token_rng(cfg.seed ^ 0x70ce5a11d0c0ffeeull), fault_rng(fault_seed(cfg.faults)) {}

  uint64_t fault_seed(const Faults& f) const { return (f.seed ? *f.seed : cfg.seed) ^ 0xfa017fa017ull; }

  PleoServerConfig cfg;
  mutable std::mutex mu;
  httplib::Server http;
  std::thread thread;
  int bound_port = 0;
  std::string base;
  Seconds clock_offset{0};
  Clock::time_point boot = Clock::now();

  std::vector<SimCompany> companies;
  std::vector<ApiKeyConfig> keys;
  std::vector<OAuthClientConfig> clients;
  std::vector<Authorization> authorizations;
  std::map<std::string, AccessToken> access_tokens;
  detail::Rng token_rng;

  std::vector<Job> jobs;
  std::map<std::string, size_t> job_index;
  std::map<std::string, pleo::FileInfo> files;
  std::map<std::string, pleo::MasterData> master;  // built on first use per company
  std::map<std::string, std::vector<std::string>> missing_contra;
  std::set<std::string> withheld;  // accountingEntryIds the data layer no longer serves

  std::map<std::string, std::deque<Clock::time_point>> windows;  // rate limit, per credential
  std::map<std::string, int> bursts;                             // 429 bursts still to send
  Faults faults;
  detail::Rng fault_rng;
  std::map<std::string, int> faults_struck;  // per by_endpoint key ("" for `all`): FaultProfile::limit
  SimCounters counters;
  uint64_t request_seq = 0;

  Clock::time_point now() const { return Clock::now() + clock_offset; }

  // --- set-up -------------------------------------------------------------------------------

  void build() {
    const int company_count = std::clamp(cfg.companies, 1, static_cast<int>(detail::kCompanies.size()));
    for (int i = 0; i < company_count; ++i) {
      const auto& c = detail::kCompanies[static_cast<size_t>(kCompanyOrder[static_cast<size_t>(i)])];
      companies.push_back(SimCompany{c.id, c.country, c.currency, ""});
    }
    detail::Rng key_rng(cfg.seed ^ 0xa91e4e75ull);
    if (cfg.api_keys.empty()) {
      for (auto& c : companies) {
        c.api_key = "sim_key_" + hex_token(key_rng, 32);
        keys.push_back(ApiKeyConfig{c.api_key, {c.id}});
      }
      keys.push_back(ApiKeyConfig{"sim_key_all_" + hex_token(key_rng, 28), {}});
    } else {
      keys = cfg.api_keys;
    }
    if (cfg.oauth_clients.empty()) {
      clients.push_back(OAuthClientConfig{"ledgerbridge-sim", "sim_secret_" + hex_token(key_rng, 32), {}});
    } else {
      clients = cfg.oauth_clients;
    }
    for (size_t i = 0; i < clients.size(); ++i) new_authorization(i);
    for (const auto& [company, currencies] : cfg.missing_contra_accounts) set_missing_contra(company, currencies);

    // Jobs: created ten minutes apart, oldest first, companies interleaved. Every item is
    // generated for its job's company (wallet currency and contra account follow), and the first
    // 17 items cycle through every ExportItemTypeV3 so that even a small data set has them all.
    ItemGenerator gen(cfg.seed);
    detail::Rng job_rng(cfg.seed ^ 0x10b5ull);
    const int job_count = company_count * std::max(0, cfg.jobs_per_company);
    const Clock::time_point start = std::chrono::time_point_cast<Seconds>(now());
    int made = 0;
    size_t generated = 0;
    for (int round = 0; round < cfg.jobs_per_company; ++round) {
      for (int ci = 0; ci < company_count; ++ci) {
        Job job;
        job.id = detail::uuid(job_rng);
        job.company_id = companies[static_cast<size_t>(ci)].id;
        job.created_at = start - std::chrono::minutes(10) * (job_count - made);
        job.last_updated_at = job.created_at;
        job.created_by = detail::world().users[job_rng.below(detail::world().users.size())][0];
        job.interactive = !job_rng.chance(0.2);
        for (int k = 0; k < cfg.items_per_job; ++k) {
          ItemGenerator::Pin pin;
          pin.company = kCompanyOrder[static_cast<size_t>(ci)];
          if (generated < std::size(kItemTypes)) pin.type = static_cast<int>(generated);
          ++generated;
          const std::string line = gen.next(pin);
          Json item = Json::parse(line);
          const bool ascii = std::all_of(line.begin(), line.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
          add_item(job, item, true, ascii);
        }
        add_job(std::move(job));
        ++made;
      }
    }
  }

  void add_item(Job& job, Json& item, bool scope_ids, bool escape) {
    JobItem ji;
    ji.id = item.value("accountingEntryId", std::string());
    try {
      ji.wallet_currency = item.at("amount").at("inWalletCurrency").at("currency").get<std::string>();
    } catch (const std::exception&) {
      ji.wallet_currency.clear();
    }
    ji.export_item = pleo::adapt_item(item, job.company_id, scope_ids, escape, files);
    job.index[ji.id] = job.items.size();
    job.items.push_back(std::move(ji));
  }

  void add_job(Job job) {
    job_index[job.id] = jobs.size();
    jobs.push_back(std::move(job));
  }

  std::string new_authorization(size_t client) {
    Authorization a;
    a.client = client;
    a.refresh_token = "sim_rt_" + hex_token(token_rng, 40);
    authorizations.push_back(a);
    return a.refresh_token;
  }

  void set_missing_contra(const std::string& company, std::vector<std::string> currencies) {
    if (currencies.empty()) {
      for (const auto& c : companies)
        if (c.id == company) currencies.push_back(c.currency);
    }
    missing_contra[company] = std::move(currencies);
  }

  // --- time-driven changes --------------------------------------------------------------------

  // §1.11: an in_progress job with no action for job_expiry fails with job_expired; items
  // without a final status are abandoned (ExportJobItemStatus: "could not be exported because
  // the export job could not be completed").
  void expire_jobs(Clock::time_point t) {
    for (auto& job : jobs) {
      if (job.status != "in_progress" || t < job.last_updated_at + cfg.job_expiry) continue;
      job.status = "failed";
      job.expired_at = job.last_updated_at + cfg.job_expiry;
      job.failure_reason_type = "job_expired";
      job.failure_reason = "Job not updated within expiry time limit";
      for (auto& it : job.items)
        if (!is_final(it.status)) it.status = "abandoned";
    }
  }

  // --- auth and rate limit ----------------------------------------------------------------------

  std::optional<Credential> authenticate(const httplib::Request& req, Clock::time_point t, std::string& why) {
    const std::string header = req.get_header_value("Authorization");
    if (header.empty()) {
      why = "Missing Authorization header";
      return std::nullopt;
    }
    if (header.rfind("Basic ", 0) == 0) {
      // §6.2: the API key is the user name and the password is empty.
      const auto decoded = unbase64(header.substr(6));
      const size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (!decoded || colon == std::string::npos) {
        why = "Malformed Basic credentials";
        return std::nullopt;
      }
      const std::string user = decoded->substr(0, colon);
      if (colon + 1 != decoded->size()) {
        why = "API keys are sent as the user name with an empty password";
        return std::nullopt;
      }
      for (size_t i = 0; i < keys.size(); ++i)
        if (keys[i].key == user) return Credential{fmt::format("key#{}", i), keys[i].companies};
      why = "Unknown API key";
      return std::nullopt;
    }
    if (header.rfind("Bearer ", 0) == 0) {
      const auto it = access_tokens.find(header.substr(7));
      if (it == access_tokens.end()) {
        why = "Unknown or revoked access token";
        return std::nullopt;
      }
      if (t >= it->second.expires) {
        why = "Access token expired";
        return std::nullopt;
      }
      const Authorization& a = authorizations[it->second.authorization];
      return Credential{fmt::format("oauth#{}", it->second.authorization), clients[a.client].companies};
    }
    why = "Unsupported authorization scheme";
    return std::nullopt;
  }

  // §4.2: 600 requests a minute per credential; a sliding 60-second window. Returns the seconds
  // until a slot frees when the limit is reached.
  std::optional<int> rate_limited(const std::string& key, Clock::time_point t) {
    if (cfg.rate_limit_per_minute <= 0) return std::nullopt;
    auto& window = windows[key];
    while (!window.empty() && window.front() <= t - Seconds(60)) window.pop_front();
    if (static_cast<int>(window.size()) >= cfg.rate_limit_per_minute) {
      const auto wait = window.front() + Seconds(60) - t;
      const auto secs = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
      return std::max<int>(1, static_cast<int>((secs + 999) / 1000));
    }
    window.push_back(t);
    return std::nullopt;
  }

  static bool may_access(const Credential& c, std::string_view company) {
    return c.companies.empty() || std::find(c.companies.begin(), c.companies.end(), company) != c.companies.end();
  }

  std::vector<std::string> accessible_companies(const Credential& c) const {
    std::vector<std::string> out;
    for (const auto& co : companies)
      if (may_access(c, co.id)) out.push_back(co.id);
    // Jobs added for a company outside the generated set (add_job) stay reachable too.
    for (const auto& job : jobs)
      if (may_access(c, job.company_id) && std::find(out.begin(), out.end(), job.company_id) == out.end())
        out.push_back(job.company_id);
    return out;
  }

  // --- faults ------------------------------------------------------------------------------------

  FaultDecision draw_faults(const std::string& op) {
    const auto it = faults.by_endpoint.find(op);
    const FaultProfile& p = it != faults.by_endpoint.end() ? it->second : faults.all;
    // Always the same number of draws per request, so a sequence of requests meets the same
    // faults for the same seed whatever the probabilities.
    std::array<double, 6> u{};
    for (auto& x : u) x = fault_rng.unit();
    const uint64_t extra = fault_rng.u64();
    FaultDecision d;
    d.drop = u[0] < p.drop;
    d.server_error = !d.drop && u[1] < p.server_error;
    d.rate_limit = !d.drop && !d.server_error && u[2] < p.rate_limit;
    d.lost_response = !d.drop && !d.server_error && !d.rate_limit && u[3] < p.lost_response;
    d.truncate = !d.drop && !d.server_error && !d.rate_limit && !d.lost_response && u[4] < p.truncate;
    if (d.drop || d.server_error || d.rate_limit || d.lost_response || d.truncate) {
      int& struck = faults_struck[it != faults.by_endpoint.end() ? op : std::string()];
      if (p.limit >= 0 && struck >= p.limit) d.drop = d.server_error = d.rate_limit = d.lost_response = d.truncate = false;
      else ++struck;
    }
    d.latency = u[5] < p.latency;
    d.latency_ms = p.latency_ms;
    d.burst_length = std::max(1, p.burst_length);
    d.server_status = std::array<int, 3>{500, 502, 503}[extra % 3];
    d.truncate_by_length = (extra >> 8) % 2 == 0;
    return d;
  }

  // --- pagination ----------------------------------------------------------------------------------

  struct PageRequest {
    std::optional<std::string> after, before;
    std::optional<int64_t> offset;
    int limit = 0;  // effective
    std::optional<int64_t> requested_limit;
    std::vector<std::string> sorting_keys, sorting_order;
    Json parameters = Json::object();
  };

  static const std::set<std::string>& paging_names() {
    static const std::set<std::string> names = {"before", "after", "offset", "limit", "sorting_keys", "sorting_order"};
    return names;
  }

  std::optional<Reply> parse_page(const httplib::Request& req, PageRequest& page) const {
    auto get = [&](const char* name) -> std::optional<std::string> {
      if (!req.has_param(name)) return std::nullopt;
      return req.get_param_value(name);
    };
    page.after = get("after");
    page.before = get("before");
    static const std::regex cursor_re("^[A-Z2-7=~]+$");
    for (const auto* c : {&page.after, &page.before})
      if (*c && (!std::regex_match(**c, cursor_re) || !decode_cursor(**c))) return bad_request("Invalid cursor");
    auto number = [&](const char* name, std::optional<int64_t>& into) -> bool {
      const auto v = get(name);
      if (!v) return true;
      try {
        size_t used = 0;
        const long long n = std::stoll(*v, &used);
        if (used != v->size() || n < 0) return false;
        into = n;
        return true;
      } catch (...) {
        return false;
      }
    };
    if (!number("offset", page.offset)) return bad_request("offset must be an integer >= 0");
    if (!number("limit", page.requested_limit)) return bad_request("limit must be an integer >= 0");
    if ((page.after ? 1 : 0) + (page.before ? 1 : 0) + (page.offset ? 1 : 0) > 1)
      return bad_request("before, after and offset cannot be used together");
    // limit absent or 0: the page cap; more than the cap: the cap ([GAP] in the domain brief).
    const int64_t cap = std::max(1, cfg.page_cap);
    page.limit = static_cast<int>(!page.requested_limit || *page.requested_limit == 0 ? cap
                                                                                       : std::min(cap, *page.requested_limit));
    for (size_t i = 0; i < req.get_param_value_count("sorting_keys"); ++i)
      page.sorting_keys.push_back(req.get_param_value("sorting_keys", i));
    for (size_t i = 0; i < req.get_param_value_count("sorting_order"); ++i) {
      page.sorting_order.push_back(req.get_param_value("sorting_order", i));
      if (!one_of(kPageOrders, page.sorting_order.back())) return bad_request("Invalid sorting_order");
    }
    if (!page.sorting_order.empty() && page.sorting_order.size() != page.sorting_keys.size())
      return bad_request("sorting_order must be the same length as sorting_keys");
    for (const auto& [name, value] : req.params)
      if (!paging_names().count(name)) page.parameters[name].push_back(value);
    return std::nullopt;
  }

  // `positions`: the matching elements' positions in the collection's stable order, ascending.
  // Returns the selected slice [first, last) of `positions` and the CursorPageInfo.
  static std::pair<std::pair<size_t, size_t>, Json> paginate(const std::vector<size_t>& positions,
                                                             const PageRequest& page) {
    const size_t limit = static_cast<size_t>(page.limit);
    size_t first = 0, last = 0;
    if (page.after) {
      const size_t p = *decode_cursor(*page.after);
      first = static_cast<size_t>(std::upper_bound(positions.begin(), positions.end(), p) - positions.begin());
      last = std::min(positions.size(), first + limit);
    } else if (page.before) {
      const size_t p = *decode_cursor(*page.before);
      last = static_cast<size_t>(std::lower_bound(positions.begin(), positions.end(), p) - positions.begin());
      first = last > limit ? last - limit : 0;
    } else {
      first = std::min(positions.size(), static_cast<size_t>(page.offset.value_or(0)));
      last = std::min(positions.size(), first + limit);
    }
    Json current = Json::object();
    if (page.after) current["after"] = *page.after;
    if (page.before) current["before"] = *page.before;
    current["limit"] = page.limit;
    if (page.offset) current["offset"] = *page.offset;
    current["parameters"] = page.parameters;
    current["sortingKeys"] = page.sorting_keys;
    current["sortingOrder"] = page.sorting_order;
    Json info = Json::object();
    info["currentRequestPagination"] = std::move(current);
    if (first < last) {
      info["startCursor"] = encode_cursor(positions[first]);
      info["endCursor"] = encode_cursor(positions[last - 1]);
    }
    info["hasNextPage"] = last < positions.size();
    info["hasPreviousPage"] = first > 0;
    info["total"] = positions.size();
    return {{first, last}, info};
  }

  // A CursorPaginatedResponse of already-serialised elements.
  static Reply page_reply(const std::vector<std::string>& elements, const Json& info,
                          const char* content_type = kJsonType) {
    std::string body = "{\"data\":[";
    for (size_t i = 0; i < elements.size(); ++i) {
      if (i) body += ',';
      body += elements[i];
    }
    body += "],\"pagination\":";
    body += info.dump();
    body += '}';
    return Reply{200, std::move(body), content_type, {}};
  }

  // --- JSON views ------------------------------------------------------------------------------------

  Json job_json(const Job& j) const {
    Json o = Json::object();
    o["id"] = j.id;
    o["companyId"] = j.company_id;
    o["status"] = j.status;
    o["createdAt"] = iso(j.created_at);
    o["createdBy"] = opt_str(j.created_by);
    o["startedAt"] = opt_time(j.started_at);
    o["completedAt"] = opt_time(j.completed_at);
    o["expiredAt"] = opt_time(j.expired_at);
    o["lastUpdatedAt"] = iso(j.last_updated_at);
    o["expiresIn"] = static_cast<int64_t>(cfg.job_expiry.count());
    o["isInteractive"] = j.interactive;
    o["numberOfItems"] = j.items.size();
    o["vendorBasedBookkeeping"] = j.vendor_based_bookkeeping;
    o["failureReason"] = opt_str(j.failure_reason);
    o["failureReasonType"] = opt_str(j.failure_reason_type);
    return o;
  }

  static Json job_item_json(const Job& j, const JobItem& it) {
    Json o = Json::object();
    o["exportJobId"] = j.id;
    o["accountingEntryId"] = it.id;
    o["status"] = it.status;
    o["externalId"] = opt_str(it.external_id);
    o["externalUrl"] = opt_str(it.external_url);
    o["failureReasonType"] = opt_str(it.failure_reason_type);
    o["failureReason"] = opt_str(it.failure_reason);
    o["exportedAt"] = opt_str(it.exported_at);
    return o;
  }

  std::string render_item(const std::string& stored) const {
    std::string out = stored;
    for (size_t pos = out.find(pleo::kBasePlaceholder); pos != std::string::npos;
         pos = out.find(pleo::kBasePlaceholder, pos + base.size()))
      out.replace(pos, pleo::kBasePlaceholder.size(), base);
    return out;
  }

  Job* find_job(const std::string& id) {
    const auto it = job_index.find(id);
    return it == job_index.end() ? nullptr : &jobs[it->second];
  }

  // §1.0/§1.6: export items of a job with items in a wallet currency whose contra account is
  // not configured are refused; the message names the currencies.
  std::optional<Reply> check_contra(const Job& job) const {
    const auto it = missing_contra.find(job.company_id);
    if (it == missing_contra.end()) return std::nullopt;
    std::set<std::string> missing;
    for (const auto& item : job.items)
      if (std::find(it->second.begin(), it->second.end(), item.wallet_currency) != it->second.end())
        missing.insert(item.wallet_currency);
    if (missing.empty()) return std::nullopt;
    std::string list;
    for (const auto& c : missing) list += (list.empty() ? "" : ", ") + c;
    return exception(400, "MISSING_CONTRA_ACCOUNTS",
                     fmt::format("Contra accounts are not fully configured. Please map contra accounts in the "
                                 "Accounting settings. Missing contra accounts for currencies: {}",
                                 list));
  }

  // --- Export API v3 handlers (called with the lock held) -----------------------------------------

  Reply list_jobs(const httplib::Request& req, const Credential& cred) {
    PageRequest page;
    if (auto err = parse_page(req, page)) return *err;
    std::optional<std::string> company;
    if (req.has_param("company_id")) {
      company = req.get_param_value("company_id");
      if (!is_uuid(*company)) return bad_request("company_id must be a uuid");
      if (!may_access(cred, *company)) return exception(403, "FORBIDDEN", "No access to this company");
    }
    // statuses is a repeatable parameter (explode: true); a comma-separated value is accepted too.
    std::set<std::string> statuses;
    for (size_t i = 0; i < req.get_param_value_count("statuses"); ++i) {
      const std::string v = req.get_param_value("statuses", i);
      size_t pos = 0;
      while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        if (comma == std::string::npos) comma = v.size();
        const std::string s = v.substr(pos, comma - pos);
        if (!s.empty()) {
          if (!one_of(kJobStatuses, s)) return bad_request(fmt::format("Unknown export job status '{}'", s));
          statuses.insert(s);
        }
        pos = comma + 1;
      }
    }
    // Stable order: by createdAt (jobs are kept in creation order).
    std::vector<size_t> positions;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job& j = jobs[i];
      if (!may_access(cred, j.company_id)) continue;
      if (company && j.company_id != *company) continue;
      if (!statuses.empty() && !statuses.count(j.status)) continue;
      positions.push_back(i);
    }
    auto [slice, info] = paginate(positions, page);
    std::vector<std::string> out;
    for (size_t k = slice.first; k < slice.second; ++k) out.push_back(job_json(jobs[positions[k]]).dump());
    return page_reply(out, info);
  }

  Reply create_job(const httplib::Request& req, const Credential& cred) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("companyId") || !body["companyId"].is_string() ||
        !is_uuid(body["companyId"].get<std::string>()) || !body.contains("accountingEntryIds") ||
        !body["accountingEntryIds"].is_array())
      return bad_request("CreateExportJob needs companyId (uuid) and accountingEntryIds (uuid[])");
    const std::string company = body["companyId"];
    if (!may_access(cred, company)) return exception(403, "FORBIDDEN", "No access to this company");
    for (const auto& j : jobs)
      if (j.company_id == company && is_live(j.status))
        return exception(409, "EXPORT_ALREADY_IN_PROGRESS", "Export Job already in progress for this company.");
    Job job;
    job.id = detail::uuid(token_rng);
    job.company_id = company;
    job.created_at = job.last_updated_at = now();
    if (body.contains("employeeId") && body["employeeId"].is_string()) job.created_by = body["employeeId"];
    if (body.contains("isInteractive") && body["isInteractive"].is_boolean()) job.interactive = body["isInteractive"];
    job.vendor_based_bookkeeping = false;  // Options.vendorBasedBookkeeping defaults to false
    if (body.contains("options") && body["options"].is_object() && body["options"].contains("vendorBasedBookkeeping") &&
        body["options"]["vendorBasedBookkeeping"].is_boolean())
      job.vendor_based_bookkeeping = body["options"]["vendorBasedBookkeeping"];
    // The entries must be export items this company already has (in any job): a re-export
    // (§4.3) copies them into the new job.
    for (const auto& id : body["accountingEntryIds"]) {
      if (!id.is_string() || !is_uuid(id.get<std::string>())) return bad_request("accountingEntryIds must be uuids");
      const JobItem* found = nullptr;
      for (const auto& j : jobs) {
        if (j.company_id != company) continue;
        const auto it = j.index.find(id.get<std::string>());
        if (it != j.index.end()) found = &j.items[it->second];
      }
      if (!found) return bad_request(fmt::format("Unknown accounting entry {}", id.get<std::string>()));
      if (job.index.count(found->id)) continue;
      JobItem copy;
      copy.id = found->id;
      copy.export_item = found->export_item;
      copy.wallet_currency = found->wallet_currency;
      job.index[copy.id] = job.items.size();
      job.items.push_back(std::move(copy));
    }
    if (auto err = check_contra(job)) return *err;
    Json data = Json::object();
    data["data"] = job_json(job);
    add_job(std::move(job));
    return json_reply(201, data);
  }

  Reply get_job(const std::string& id, const Credential& cred) {
    if (!is_uuid(id)) return bad_request("jobId must be a uuid");
    Job* job = find_job(id);
    if (!job) return exception(404, "EXPORT_NOT_FOUND", "Export job not found.");
    if (!may_access(cred, job->company_id)) return exception(403, "FORBIDDEN", "No access to this company");
    Json data = Json::object();
    data["data"] = job_json(*job);
    return json_reply(200, data);
  }

  Reply job_event(const httplib::Request& req, const Credential& cred) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (!body.is_object()) return bad_request("CreateExportJobEvent must be a JSON object");
    const Json& job_id = body.contains("jobId") ? body["jobId"] : Json();
    const Json& event = body.contains("event") ? body["event"] : Json();
    if (!job_id.is_string() || !is_uuid(job_id.get<std::string>())) return bad_request("jobId (uuid) is required");
    if (!event.is_string() || !one_of(kJobEvents, event.get<std::string>()))
      return bad_request("event must be one of started, failed, completed, completed_with_errors");
    std::string reason, reason_type;
    if (body.contains("failureReason") && !body["failureReason"].is_null()) {
      if (!body["failureReason"].is_string()) return bad_request("failureReason must be a string");
      reason = body["failureReason"];
    }
    if (body.contains("failureReasonType") && !body["failureReasonType"].is_null()) {
      // §3.3: the job-level enum (ExportJobFailureReasonType), not the item one.
      if (!body["failureReasonType"].is_string() || !one_of(kJobFailureTypes, body["failureReasonType"].get<std::string>()))
        return bad_request("failureReasonType must be an ExportJobFailureReasonType value");
      reason_type = body["failureReasonType"];
    }
    Job* job = find_job(job_id);
    if (!job) return exception(404, "EXPORT_NOT_FOUND", "Export job not found.");
    if (!may_access(cred, job->company_id)) return exception(403, "FORBIDDEN", "No access to this company");

    const std::string ev = event;
    auto record = [&](Reply r) {
      job->events.push_back(SimJobEvent{ev, reason, reason_type, r.status});
      return r;
    };
    auto refuse = [&](std::string_view why) {
      return record(exception(422, "INVALID_EXPORT_JOB_STATUS_CHANGE", fmt::format("Export Job status change failed: {}", why)));
    };
    const Clock::time_point t = now();
    if (ev == "started") {
      // §1.3: started only from pending; a job someone else claimed (or finished) is 422.
      if (job->status != "pending") return refuse(fmt::format("job is {}, not pending", job->status));
      job->status = "in_progress";
      job->started_at = t;
      job->last_updated_at = t;
      return record(Reply{202, "", kJsonType, {}});
    }
    // §1.10: the final events only from in_progress.
    if (job->status != "in_progress") return refuse(fmt::format("job is {}, not in_progress", job->status));
    size_t successful = 0, failed = 0;
    for (const auto& it : job->items) {
      successful += it.status == "successful";
      failed += it.status == "failed";
    }
    const bool all_final = successful + failed == job->items.size();
    if (ev == "failed") {
      // §3.3: a failed job needs a reason for the user and a job-level reason type.
      if (reason.empty() || reason_type.empty()) return refuse("failed needs failureReason and failureReasonType");
    } else if (cfg.strict_completion) {
      // §1.10, §3.3: completed only when every item is successful; completed_with_errors once
      // every item is final and some (not all) failed.
      if (ev == "completed" && successful != job->items.size())
        return refuse(fmt::format("completed needs every item successful ({} of {})", successful, job->items.size()));
      if (ev == "completed_with_errors" && (!all_final || failed == 0 || successful == 0))
        return refuse(fmt::format("completed_with_errors needs every item final with some failed and some successful "
                                  "({} successful, {} failed of {})",
                                  successful, failed, job->items.size()));
    }
    job->status = ev;
    job->completed_at = t;
    job->last_updated_at = t;
    if (ev == "failed") {
      job->failure_reason = reason;
      job->failure_reason_type = reason_type;
      for (auto& it : job->items)
        if (!is_final(it.status)) it.status = "abandoned";
    }
    return record(Reply{202, "", kJsonType, {}});
  }

  Reply list_job_items(const std::string& id, const httplib::Request& req, const Credential& cred) {
    if (!is_uuid(id)) return bad_request("jobId must be a uuid");
    PageRequest page;
    if (auto err = parse_page(req, page)) return *err;
    std::optional<std::string> status;
    if (req.has_param("status")) {
      status = req.get_param_value("status");
      if (!one_of(kItemStatuses, *status)) return bad_request("status must be an ExportJobItemStatus value");
    }
    Job* job = find_job(id);
    if (!job) return exception(404, "EXPORT_NOT_FOUND", "Export job not found.");
    if (!may_access(cred, job->company_id)) return exception(403, "FORBIDDEN", "No access to this company");
    std::vector<size_t> positions;
    for (size_t i = 0; i < job->items.size(); ++i)
      if (!status || job->items[i].status == *status) positions.push_back(i);
    auto [slice, info] = paginate(positions, page);
    std::vector<std::string> out;
    for (size_t k = slice.first; k < slice.second; ++k) out.push_back(job_item_json(*job, job->items[positions[k]]).dump());
    return page_reply(out, info);
  }

  Reply update_job_items(const std::string& id, const httplib::Request& req, const Credential& cred) {
    if (!is_uuid(id)) return bad_request("jobId must be a uuid");
    Job* job = find_job(id);
    if (!job) return exception(404, "EXPORT_NOT_FOUND", "Export job not found.");
    if (!may_access(cred, job->company_id)) return exception(403, "FORBIDDEN", "No access to this company");
    const Json body = Json::parse(req.body, nullptr, false);
    if (!body.is_array()) return bad_request("The body must be an array of UpdateExportJobItemV3");
    if (body.size() > static_cast<size_t>(kMaxUpdateBatch))
      return exception(413, "EXPORT_JOB_ITEMS_UPDATE_LIMIT", "Number of items to update is more than 100.");
    if (job->status != "in_progress")
      return exception(422, "EXPORT_JOB_STATUS_UNPROCESSABLE",
                       job->status == "pending" ? "Export job is not started." : "Export job is finished.");
    // Schema validation first: a malformed element fails the whole request, nothing applied.
    for (size_t i = 0; i < body.size(); ++i) {
      const Json& u = body[i];
      const auto where = fmt::format("[{}]", i);
      if (!u.is_object()) return bad_request(where + ": must be an object");
      if (!u.contains("accountingEntryId") || !u["accountingEntryId"].is_string() ||
          !is_uuid(u["accountingEntryId"].get<std::string>()))
        return bad_request(where + ".accountingEntryId: uuid required");
      if (!u.contains("status") || !u["status"].is_string() || !one_of(kItemStatuses, u["status"].get<std::string>()))
        return bad_request(where + ".status: must be an ExportJobItemStatus value");
      for (const char* f : {"externalId", "externalUrl", "failureReason", "exportedAt", "failureReasonType"})
        if (u.contains(f) && !u[f].is_null() && !u[f].is_string()) return bad_request(fmt::format("{}.{}: must be a string", where, f));
      if (u.contains("failureReasonType") && u["failureReasonType"].is_string() &&
          !one_of(kItemFailureTypes, u["failureReasonType"].get<std::string>()))
        return bad_request(where + ".failureReasonType: must be an ExportJobItemFailureReasonType value");
      if (u.contains("exportedAt") && u["exportedAt"].is_string() && !is_date_time(u["exportedAt"].get<std::string>()))
        return bad_request(where + ".exportedAt: must be a date-time");
    }
    Json data = Json::array();
    Json errors = Json::array();
    auto field = [](const Json& u, const char* f) -> std::optional<std::string> {
      if (u.contains(f) && u[f].is_string()) return u[f].get<std::string>();
      return std::nullopt;
    };
    for (const Json& u : body) {
      const std::string entry = u["accountingEntryId"];
      const std::string status = u["status"];
      auto error = [&](const char* type, std::string message) {
        Json e = Json::object();
        e["accountingEntryId"] = entry;
        e["message"] = std::move(message);
        e["type"] = type;
        errors.push_back(std::move(e));
      };
      const auto it = job->index.find(entry);
      if (it == job->index.end()) {
        error("ACCOUNTING_ENTRY_DOES_NOT_EXIST", fmt::format("Accounting entry {} is not part of export job {}", entry, job->id));
        continue;
      }
      JobItem& item = job->items[it->second];
      // §3.1: the integration reports in_progress, successful or failed; pending and abandoned
      // are Pleo's own states.
      if (status == "pending" || status == "abandoned") {
        error("ACCOUNTING_ENTRY_UPDATE_FAILED", fmt::format("Status {} cannot be set by an integration", status));
        continue;
      }
      if (status == "failed" && !field(u, "failureReasonType")) {
        error("ACCOUNTING_ENTRY_UPDATE_FAILED", "A failed item needs a failureReasonType");
        continue;
      }
      item.status = status;
      item.external_id = field(u, "externalId");
      item.external_url = field(u, "externalUrl");
      item.exported_at = field(u, "exportedAt");
      item.failure_reason = field(u, "failureReason");
      item.failure_reason_type = field(u, "failureReasonType");
      ++item.updates;
      if (is_final(status)) ++item.final_sets;
      data.push_back(job_item_json(*job, item));
    }
    job->last_updated_at = now();  // an update is an action on the job (§1.11 [INF])
    Json out = Json::object();
    out["data"] = std::move(data);
    out["errors"] = std::move(errors);
    return json_reply(200, out);
  }

  Reply export_items(const httplib::Request& req, const Credential& cred) {
    PageRequest page;
    if (auto err = parse_page(req, page)) return *err;
    std::vector<Job*> selected;
    if (req.has_param("job_id")) {
      const std::string id = req.get_param_value("job_id");
      if (!is_uuid(id)) return bad_request("job_id must be a uuid");
      Job* job = find_job(id);
      if (!job) return exception(404, "EXPORT_NOT_FOUND", "Export job not found.");
      if (!may_access(cred, job->company_id)) return exception(403, "FORBIDDEN", "No access to this company");
      // §1.6: only from pending and in_progress jobs.
      if (!is_live(job->status))
        return exception(422, "EXPORT_JOB_STATUS_UNPROCESSABLE", "Export Job is finished and can no longer be processed.");
      selected.push_back(job);
    } else {
      for (auto& j : jobs)
        if (may_access(cred, j.company_id) && is_live(j.status)) selected.push_back(&j);
    }
    for (const Job* j : selected)
      if (auto err = check_contra(*j)) return *err;
    // Positions over the concatenation of the selected jobs' items.
    std::vector<const JobItem*> all;
    for (const Job* j : selected)
      for (const auto& it : j->items)
        if (!withheld.count(it.id)) all.push_back(&it);
    std::vector<size_t> positions(all.size());
    for (size_t i = 0; i < all.size(); ++i) positions[i] = i;
    auto [slice, info] = paginate(positions, page);
    std::vector<std::string> out;
    for (size_t k = slice.first; k < slice.second; ++k) out.push_back(render_item(all[positions[k]]->export_item));
    return page_reply(out, info);
  }

  // --- OAuth 2.0 token endpoint (§6.1) -----------------------------------------------------------------

  Reply token(const httplib::Request& req) {
    auto form = parse_form(req.body);
    std::string client_id = form["client_id"], secret = form["client_secret"];
    const std::string header = req.get_header_value("Authorization");
    if (header.rfind("Basic ", 0) == 0) {
      if (const auto decoded = unbase64(header.substr(6)); decoded && decoded->find(':') != std::string::npos) {
        client_id = url_decode(decoded->substr(0, decoded->find(':')));
        secret = url_decode(decoded->substr(decoded->find(':') + 1));
      }
    }
    size_t client = clients.size();
    for (size_t i = 0; i < clients.size(); ++i)
      if (clients[i].client_id == client_id && clients[i].client_secret == secret) client = i;
    if (client == clients.size()) {
      ++counters.auth_refused;
      Reply r = oauth_error(401, "invalid_client", "Client authentication failed");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"pleo-sim\"");
      return r;
    }
    if (form["grant_type"] != "refresh_token")
      return oauth_error(400, "unsupported_grant_type", "Only grant_type=refresh_token is simulated");
    const std::string presented = form["refresh_token"];
    if (presented.empty()) return oauth_error(400, "invalid_request", "refresh_token is required");
    for (size_t a = 0; a < authorizations.size(); ++a) {
      Authorization& auth = authorizations[a];
      if (auth.client != client) continue;
      if (!auth.revoked && auth.refresh_token == presented) {
        // Rotation: a new access and refresh token; every earlier one stops working.
        auth.used_refresh_tokens.insert(auth.refresh_token);
        auth.refresh_token = "sim_rt_" + hex_token(token_rng, 40);
        for (auto it = access_tokens.begin(); it != access_tokens.end();)
          it = it->second.authorization == a ? access_tokens.erase(it) : std::next(it);
        const std::string access = "sim_at_" + hex_token(token_rng, 40);
        access_tokens[access] = AccessToken{a, now() + cfg.access_token_ttl};
        Json j = Json::object();
        j["access_token"] = access;
        j["token_type"] = "Bearer";
        j["expires_in"] = static_cast<int64_t>(cfg.access_token_ttl.count());
        j["refresh_token"] = auth.refresh_token;
        j["scope"] = "export-jobs:read export-jobs:write export-items:read";
        Reply r = json_reply(200, j, "application/json");
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
      }
      if (auth.used_refresh_tokens.count(presented)) {
        // §6.1: presenting a rotated-out refresh token revokes the whole authorization.
        revoke(a);
        return oauth_error(400, "invalid_grant", "Refresh token already used; the authorization is revoked");
      }
    }
    return oauth_error(400, "invalid_grant", "Unknown, expired or revoked refresh token");
  }

  void revoke(size_t authorization) {
    authorizations[authorization].revoked = true;
    for (auto it = access_tokens.begin(); it != access_tokens.end();)
      it = it->second.authorization == authorization ? access_tokens.erase(it) : std::next(it);
  }

  // --- master data -------------------------------------------------------------------------------------

  const pleo::MasterData& master_of(const std::string& company) {
    auto it = master.find(company);
    if (it == master.end()) it = master.emplace(company, pleo::make_master_data(company)).first;
    return it->second;
  }

  // The companies a master-data request covers: company_id if given (and allowed), else all the
  // credential's.
  std::optional<Reply> scope_companies(const httplib::Request& req, const Credential& cred, bool required,
                                       std::vector<std::string>& out) {
    if (req.has_param("company_id")) {
      const std::string c = req.get_param_value("company_id");
      if (!is_uuid(c)) return bad_request("company_id must be a uuid");
      if (!may_access(cred, c)) return exception(403, "FORBIDDEN", "No access to this company");
      out.push_back(c);
      return std::nullopt;
    }
    if (required) return bad_request("company_id is required");
    out = accessible_companies(cred);
    return std::nullopt;
  }

  Reply paged_master(const httplib::Request& req, const std::vector<const Json*>& rows, const char* content_type) {
    PageRequest page;
    if (auto err = parse_page(req, page)) return *err;
    std::vector<size_t> positions(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) positions[i] = i;
    auto [slice, info] = paginate(positions, page);
    std::vector<std::string> out;
    for (size_t k = slice.first; k < slice.second; ++k) out.push_back(rows[k]->dump());
    return page_reply(out, info, content_type);
  }

  static bool in_list(const Json& body, const char* key, const Json& value) {
    if (!body.is_object() || !body.contains(key) || !body[key].is_array() || body[key].empty()) return true;
    return std::find(body[key].begin(), body[key].end(), value) != body[key].end();
  }

  Reply search_tax_codes(const httplib::Request& req, const Credential& cred) {
    std::vector<std::string> scope;
    if (auto err = scope_companies(req, cred, false, scope)) return *err;
    const Json body = req.body.empty() ? Json::object() : Json::parse(req.body, nullptr, false);
    if (!body.is_object()) return bad_request("TaxCodeSearchRequest must be a JSON object");
    std::vector<const Json*> rows;
    for (const auto& c : scope) {
      for (const auto& t : master_of(c).tax_codes) {
        if (body.contains("archived") && body["archived"].is_boolean() && t["archived"] != body["archived"]) continue;
        if (body.contains("type") && body["type"].is_string() && t["type"] != body["type"]) continue;
        if (!in_list(body, "taxCodeIds", t["id"])) continue;
        rows.push_back(&t);
      }
    }
    return paged_master(req, rows, kJsonType);
  }

  template <typename Pick>
  Reply get_master(const std::string& id, const Credential& cred, Pick pick, const char* content_type) {
    for (const auto& c : accessible_companies(cred))
      for (const auto& row : pick(master_of(c)))
        if (row["id"] == id) {
          Json data = Json::object();
          data["data"] = row;
          return json_reply(200, data, content_type);
        }
    return exception(404, "NOT_FOUND", "Not found");
  }

  Reply tag_groups(const httplib::Request& req, const Credential& cred) {
    std::vector<std::string> scope;
    // The spec: supply company_id or organization_id; with neither the request fails.
    if (!req.has_param("company_id") && req.has_param("organization_id")) {
      scope = accessible_companies(cred);
    } else if (auto err = scope_companies(req, cred, true, scope)) {
      return *err;
    }
    Json data = Json::array();
    for (const auto& c : scope)
      for (const auto& g : master_of(c).tag_groups) data.push_back(g);
    Json out = Json::object();
    out["data"] = std::move(data);
    return json_reply(200, out);
  }

  Reply tags_of_group(const std::string& group_id, const httplib::Request& req, const Credential& cred) {
    const bool include_archived = req.has_param("include_archived") && req.get_param_value("include_archived") == "true";
    for (const auto& c : accessible_companies(cred)) {
      const auto& md = master_of(c);
      if (std::none_of(md.tag_groups.begin(), md.tag_groups.end(), [&](const Json& g) { return g["id"] == group_id; }))
        continue;
      std::vector<const Json*> rows;
      for (const auto& t : md.tags)
        if (t["groupId"] == group_id && (include_archived || !t["archived"].get<bool>())) rows.push_back(&t);
      return paged_master(req, rows, kJsonType);
    }
    return exception(404, "NOT_FOUND", "Tag group not found");
  }

  Reply search_tags(const httplib::Request& req, const Credential& cred) {
    std::vector<std::string> scope;
    if (auto err = scope_companies(req, cred, false, scope)) return *err;
    const std::string text = req.has_param("text_search") ? req.get_param_value("text_search") : "";
    std::vector<const Json*> rows;
    for (const auto& c : scope)
      for (const auto& t : master_of(c).tags)
        if (text.empty() || t["code"].get<std::string>().find(text) != std::string::npos ||
            t["name"].get<std::string>().find(text) != std::string::npos)
          rows.push_back(&t);
    return paged_master(req, rows, kJsonType);
  }

  Reply search_accounts(const httplib::Request& req, const Credential& cred) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("companyId") || !body["companyId"].is_string() ||
        !is_uuid(body["companyId"].get<std::string>()))
    {
      Reply r = bad_request("companyId (uuid) is required");
      r.content_type = "application/json";
      return r;
    }
    const std::string company = body["companyId"];
    if (!may_access(cred, company)) return exception(403, "FORBIDDEN", "No access to this company");
    std::vector<const Json*> rows;
    for (const auto& a : master_of(company).accounts) {
      if (body.contains("archived") && body["archived"].is_boolean() && a["archived"] != body["archived"]) continue;
      if (!in_list(body, "ids", a["id"]) || !in_list(body, "codes", a["code"])) continue;
      if (body.contains("externalId") && body["externalId"].is_string() && a["externalId"] != body["externalId"]) continue;
      if (body.contains("code") && body["code"].is_string() && a["code"] != body["code"]) continue;
      if (body.contains("name") && body["name"].is_string() &&
          a["name"].get<std::string>().find(body["name"].get<std::string>()) == std::string::npos)
        continue;
      rows.push_back(&a);
    }
    return paged_master(req, rows, "application/json");
  }

  Reply search_vendors(const httplib::Request& req, const Credential& cred) {
    std::vector<std::string> scope;
    if (auto err = scope_companies(req, cred, true, scope)) return *err;
    const Json body = req.body.empty() ? Json::object() : Json::parse(req.body, nullptr, false);
    if (!body.is_object()) return bad_request("VendorSearchRequestV1 must be a JSON object");
    std::vector<const Json*> rows;
    for (const auto& v : master_of(scope.front()).vendors) {
      if (!in_list(body, "ids", v["id"]) || !in_list(body, "codes", v["code"]) ||
          !in_list(body, "externalIds", v["externalId"]) || !in_list(body, "countries", v["country"]) ||
          !in_list(body, "states", v["state"]) || !in_list(body, "taxRegistrationNumbers", v["taxRegistrationNumber"]))
        continue;
      if (body.contains("name") && body["name"].is_string() &&
          v["name"].get<std::string>().find(body["name"].get<std::string>()) == std::string::npos)
        continue;
      rows.push_back(&v);
    }
    return paged_master(req, rows, kJsonType);
  }

  // --- HTTP plumbing -------------------------------------------------------------------------------------

  using Handler = std::function<Reply(const httplib::Request&, const Credential*)>;

  void serve(const std::string& op, bool needs_auth, const Handler& handler, const httplib::Request& req,
             httplib::Response& res) {
    FaultDecision fault;
    uint64_t seq = 0;
    {
      std::lock_guard lock(mu);
      ++counters.requests[op];
      seq = ++request_seq;
      fault = draw_faults(op);
      if (fault.latency) ++counters.faults_latency;
      if (fault.drop) ++counters.faults_drop;
    }
    if (fault.latency) std::this_thread::sleep_for(std::chrono::milliseconds(fault.latency_ms));
    if (fault.drop) {  // before any state change
      drop_connection(req, bound_port);
      return;
    }
    Reply reply;
    {
      std::lock_guard lock(mu);
      const Clock::time_point t = now();
      expire_jobs(t);
      std::optional<Credential> cred;
      std::string why;
      if (needs_auth) cred = authenticate(req, t, why);
      const std::string rate_key = cred ? cred->rate_key : "anonymous";
      if (needs_auth && !cred) {
        ++counters.auth_refused;
        reply = exception(401, "UNAUTHORIZED", why);
        reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"pleo-sim\", Bearer realm=\"pleo-sim\"");
        fault.lost_response = fault.truncate = false;
      } else if (auto wait = needs_auth ? rate_limited(rate_key, t) : std::nullopt) {
        ++counters.rate_limited;
        reply = exception(429, "TOO_MANY_REQUESTS", "Rate limit exceeded");
        reply.headers.emplace_back("Retry-After", std::to_string(*wait));
        fault.lost_response = fault.truncate = false;
      } else if (bursts[rate_key] > 0 || fault.rate_limit) {
        // A 429 burst (fault): this request and the next burst_length - 1 of this credential.
        if (bursts[rate_key] > 0) --bursts[rate_key];
        else bursts[rate_key] = fault.burst_length - 1;
        ++counters.faults_rate_limit;
        reply = exception(429, "TOO_MANY_REQUESTS", "Rate limit exceeded (simulated burst)");
        reply.headers.emplace_back("Retry-After", "1");
        fault.lost_response = fault.truncate = false;
      } else if (fault.server_error) {  // before any state change
        ++counters.faults_server_error;
        const char* type = fault.server_status == 500 ? "INTERNAL_SERVER_ERROR"
                           : fault.server_status == 502 ? "BAD_GATEWAY" : "SERVICE_UNAVAILABLE";
        reply = exception(fault.server_status, type, "Simulated server error");
        fault.lost_response = fault.truncate = false;
      } else {
        try {
          reply = handler(req, cred ? &*cred : nullptr);
        } catch (const std::exception& e) {
          reply = exception(500, "INTERNAL_SERVER_ERROR", e.what());
        }
        if (fault.lost_response) ++counters.faults_lost_response;
        if (fault.truncate) ++counters.faults_truncate;
      }
    }
    SPDLOG_LOGGER_DEBUG(spdlog::default_logger(), "sim pleo: {} {} -> {}", req.method, req.path, reply.status);
    if (fault.lost_response) {  // after the state change: the write stands, the answer is lost
      drop_connection(req, bound_port);
      return;
    }
    res.status = reply.status;
    res.set_header("request-id", fmt::format("sim-{:08d}", seq));
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    if (fault.truncate && reply.body.size() > 1) {
      const size_t cut = reply.body.size() / 2;
      if (fault.truncate_by_length) {
        // Content-Length promises the whole body; half is sent, then the connection closes.
        auto body = std::make_shared<std::string>(std::move(reply.body));
        res.set_content_provider(body->size(), reply.content_type,
                                 [body, cut](size_t offset, size_t, httplib::DataSink& sink) {
                                   if (offset >= cut) return false;
                                   sink.write(body->data() + offset, cut - offset);
                                   return true;
                                 });
      } else {
        res.set_content(reply.body.substr(0, cut), reply.content_type.c_str());  // cut JSON, honest length
      }
      return;
    }
    if (reply.body.empty()) {
      res.body.clear();
    } else {
      res.set_content(reply.body, reply.content_type.c_str());
    }
  }

  void route_get(const std::string& pattern, const std::string& op, bool auth, Handler h) {
    http.Get(pattern, [this, op, auth, h](const httplib::Request& req, httplib::Response& res) { serve(op, auth, h, req, res); });
  }
  void route_post(const std::string& pattern, const std::string& op, bool auth, Handler h) {
    http.Post(pattern, [this, op, auth, h](const httplib::Request& req, httplib::Response& res) { serve(op, auth, h, req, res); });
  }
  void route_put(const std::string& pattern, const std::string& op, bool auth, Handler h) {
    http.Put(pattern, [this, op, auth, h](const httplib::Request& req, httplib::Response& res) { serve(op, auth, h, req, res); });
  }

  void routes() {
    using R = const httplib::Request&;
    using C = const Credential*;
    route_get("/v3/export-jobs", kOpListJobs, true, [this](R req, C c) { return list_jobs(req, *c); });
    route_post("/v3/export-jobs", kOpCreateJob, true, [this](R req, C c) { return create_job(req, *c); });
    route_get(R"(/v3/export-jobs/([^/]+))", kOpGetJob, true, [this](R req, C c) { return get_job(req.matches[1], *c); });
    route_post("/v3/export-job-events", kOpJobEvent, true, [this](R req, C c) { return job_event(req, *c); });
    route_get(R"(/v3/export-jobs/([^/]+)/items)", kOpListJobItems, true,
              [this](R req, C c) { return list_job_items(req.matches[1], req, *c); });
    route_put(R"(/v3/export-jobs/([^/]+)/items)", kOpUpdateJobItems, true,
              [this](R req, C c) { return update_job_items(req.matches[1], req, *c); });
    route_get("/v3/export-items", kOpExportItems, true, [this](R req, C c) { return export_items(req, *c); });
    route_post("/oauth/token", kOpToken, false, [this](R req, C) { return token(req); });
    route_get(R"(/files/([^/]+))", kOpFile, false, [this](R req, C) {
      const auto it = files.find(req.matches[1]);
      if (it == files.end()) return exception(404, "NOT_FOUND", "File not found");
      return Reply{200, pleo::file_bytes(it->first, it->second.type, it->second.size), it->second.type, {}};
    });
    // Master data (tax codes, tags, chart of accounts, vendors), per their OpenAPI files.
    route_post("/v0/tax-codes:search", kOpTaxCodes, true, [this](R req, C c) { return search_tax_codes(req, *c); });
    route_get(R"(/v0/tax-codes/([^/]+))", kOpTaxCodes, true, [this](R req, C c) {
      return get_master(req.matches[1], *c, [](const pleo::MasterData& m) -> const std::vector<Json>& { return m.tax_codes; }, kJsonType);
    });
    route_get("/v0/tag-groups", kOpTags, true, [this](R req, C c) { return tag_groups(req, *c); });
    route_get(R"(/v0/tag-groups/([^/]+))", kOpTags, true, [this](R req, C c) {
      return get_master(req.matches[1], *c, [](const pleo::MasterData& m) -> const std::vector<Json>& { return m.tag_groups; }, kJsonType);
    });
    route_get(R"(/v0/tag-groups/([^/]+)/tags)", kOpTags, true,
              [this](R req, C c) { return tags_of_group(req.matches[1], req, *c); });
    route_get("/v0/tags", kOpTags, true, [this](R req, C c) { return search_tags(req, *c); });
    route_get(R"(/v0/tags/([^/]+))", kOpTags, true, [this](R req, C c) {
      return get_master(req.matches[1], *c, [](const pleo::MasterData& m) -> const std::vector<Json>& { return m.tags; }, kJsonType);
    });
    route_post("/v1/chart-of-accounts:search", kOpAccounts, true, [this](R req, C c) { return search_accounts(req, *c); });
    route_get(R"(/v1/chart-of-accounts/([^/]+))", kOpAccounts, true, [this](R req, C c) {
      return get_master(req.matches[1], *c, [](const pleo::MasterData& m) -> const std::vector<Json>& { return m.accounts; },
                        "application/json");
    });
    route_post("/v1/vendors:search", kOpVendors, true, [this](R req, C c) { return search_vendors(req, *c); });
    route_get(R"(/v1/vendors/([^/]+))", kOpVendors, true, [this](R req, C c) {
      return get_master(req.matches[1], *c, [](const pleo::MasterData& m) -> const std::vector<Json>& { return m.vendors; }, kJsonType);
    });
    // Unknown paths: an ExceptionInfo body rather than an empty 404.
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty() && res.status == 404) {
        res.set_content(exception(404, "NOT_FOUND", "No such endpoint").body, kJsonType);
      }
    });
  }

  SimJob view(const Job& j) const {
    SimJob v;
    v.id = j.id;
    v.company_id = j.company_id;
    v.status = j.status;
    v.failure_reason = j.failure_reason;
    v.failure_reason_type = j.failure_reason_type;
    v.events = j.events;
    for (const auto& it : j.items) {
      SimJobItem si;
      si.accounting_entry_id = it.id;
      si.status = it.status;
      si.external_id = it.external_id;
      si.external_url = it.external_url;
      si.exported_at = it.exported_at;
      si.failure_reason = it.failure_reason;
      si.failure_reason_type = it.failure_reason_type;
      si.final_sets = it.final_sets;
      si.updates = it.updates;
      v.items.push_back(std::move(si));
    }
    return v;
  }
};

PleoServer::PleoServer(PleoServerConfig config) : state_(std::make_unique<State>(std::move(config))) {
  state_->faults = state_->cfg.faults;
  state_->build();
  state_->routes();
}

PleoServer::~PleoServer() { stop(); }

Status PleoServer::start() {
  State& s = *state_;
  if (s.thread.joinable()) return Error{"the simulated Pleo is already running"};
  // Short keep-alive so that stop() does not wait on idle client connections.
  s.http.set_keep_alive_timeout(2);
  int bound = 0;
  if (s.cfg.port == 0) {
    bound = s.http.bind_to_any_port("127.0.0.1");
    if (bound <= 0) return Error{"simulated Pleo: cannot bind an ephemeral port on 127.0.0.1"};
  } else {
    if (!s.http.bind_to_port("127.0.0.1", s.cfg.port)) return Error{fmt::format("simulated Pleo: cannot bind 127.0.0.1:{}", s.cfg.port)};
    bound = s.cfg.port;
  }
  {
    std::lock_guard lock(s.mu);
    s.bound_port = bound;
    s.base = fmt::format("http://127.0.0.1:{}", bound);
  }
  s.thread = std::thread([&s] { s.http.listen_after_bind(); });
  // stop() only stops a server that is already listening.
  for (int i = 0; i < 2000 && !s.http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!s.http.is_running()) return Error{"simulated Pleo: the listener did not start"};
  return {};
}

void PleoServer::stop() {
  State& s = *state_;
  if (!s.thread.joinable()) return;
  s.http.stop();
  s.thread.join();
}

std::string PleoServer::base_url() const {
  std::lock_guard lock(state_->mu);
  return state_->base;
}

int PleoServer::port() const {
  std::lock_guard lock(state_->mu);
  return state_->bound_port;
}

int export_api_requests(const SimCounters& c) {
  int n = 0;
  for (const char* op : {PleoServer::kOpListJobs, PleoServer::kOpGetJob, PleoServer::kOpJobEvent,
                         PleoServer::kOpListJobItems, PleoServer::kOpUpdateJobItems, PleoServer::kOpExportItems,
                         PleoServer::kOpCreateJob}) {
    const auto it = c.requests.find(op);
    if (it != c.requests.end()) n += it->second;
  }
  return n;
}

int PleoServer::page_cap() const { return std::max(1, state_->cfg.page_cap); }

const std::vector<SimCompany>& PleoServer::companies() const { return state_->companies; }

std::vector<ApiKeyConfig> PleoServer::api_keys() const {
  std::lock_guard lock(state_->mu);
  return state_->keys;
}

std::vector<OAuthClientConfig> PleoServer::oauth_clients() const {
  std::lock_guard lock(state_->mu);
  return state_->clients;
}

std::optional<std::string> PleoServer::refresh_token(const std::string& client_id) const {
  std::lock_guard lock(state_->mu);
  const State& s = *state_;
  for (size_t a = s.authorizations.size(); a-- > 0;) {
    const auto& auth = s.authorizations[a];
    if (!auth.revoked && s.clients[auth.client].client_id == client_id) return auth.refresh_token;
  }
  return std::nullopt;
}

std::optional<std::string> PleoServer::authorize_oauth(const std::string& client_id) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  for (size_t i = 0; i < s.clients.size(); ++i)
    if (s.clients[i].client_id == client_id) return s.new_authorization(i);
  return std::nullopt;
}

Result<std::string> PleoServer::add_job(const std::string& company_id, const std::vector<std::string>& item_jsons) {
  if (!is_uuid(company_id)) return Error{fmt::format("add_job: company id '{}' is not a uuid", company_id)};
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  Job fresh;
  fresh.id = detail::uuid(s.token_rng);
  fresh.company_id = company_id;
  fresh.created_at = fresh.last_updated_at = s.now();
  for (size_t i = 0; i < item_jsons.size(); ++i) {
    Json item = Json::parse(item_jsons[i], nullptr, false);
    if (!item.is_object() || !item.contains("accountingEntryId") || !item["accountingEntryId"].is_string())
      return Error{fmt::format("add_job: item {} is not an export item object with an accountingEntryId", i)};
    const bool ascii = std::all_of(item_jsons[i].begin(), item_jsons[i].end(),
                                   [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
    s.add_item(fresh, item, false, ascii);
  }
  const std::string id = fresh.id;
  s.add_job(std::move(fresh));
  return id;
}

std::vector<std::string> PleoServer::job_ids() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> ids;
  for (const auto& j : state_->jobs) ids.push_back(j.id);
  return ids;
}

std::optional<SimJob> PleoServer::job(const std::string& job_id) const {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  s.expire_jobs(s.now());
  const Job* j = s.find_job(job_id);
  if (!j) return std::nullopt;
  return s.view(*j);
}

SimCounters PleoServer::counters() const {
  std::lock_guard lock(state_->mu);
  return state_->counters;
}

void PleoServer::advance_clock(std::chrono::seconds by) {
  std::lock_guard lock(state_->mu);
  state_->clock_offset += by;
  state_->expire_jobs(state_->now());
}

void PleoServer::set_faults(Faults faults) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  s.fault_rng = detail::Rng(s.fault_seed(faults));
  s.bursts.clear();
  s.faults_struck.clear();
  s.faults = std::move(faults);
}

void PleoServer::set_missing_contra_accounts(const std::string& company_id, std::vector<std::string> currencies) {
  std::lock_guard lock(state_->mu);
  state_->set_missing_contra(company_id, std::move(currencies));
}

void PleoServer::clear_missing_contra_accounts(const std::string& company_id) {
  std::lock_guard lock(state_->mu);
  state_->missing_contra.erase(company_id);
}

void PleoServer::withhold_item_data(const std::string& accounting_entry_id) {
  std::lock_guard lock(state_->mu);
  state_->withheld.insert(accounting_entry_id);
}

void PleoServer::revoke_oauth(const std::string& client_id) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  for (size_t a = 0; a < s.authorizations.size(); ++a)
    if (s.clients[s.authorizations[a].client].client_id == client_id) s.revoke(a);
}

void PleoServer::expire_access_tokens() {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  const auto t = s.now();
  for (auto& [token, at] : s.access_tokens) at.expires = std::min(at.expires, t);
}

}  // namespace lb::sim
