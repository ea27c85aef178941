#include "pleo/auth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <spdlog/spdlog.h>

#include "pleo/redact.hpp"

namespace lb::pleo {

using nlohmann::json;

Result<std::string> resolve_secret(std::string_view configured) {
  std::string value;
  if (configured.rfind("env:", 0) == 0) {
    const std::string name(configured.substr(4));
    const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!v || !*v)
      return Error{ErrorKind::config, "environment variable " + name + " is not set or empty"};
    value = v;
  } else if (configured.rfind("file:", 0) == 0) {
    const std::string path(configured.substr(5));
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{ErrorKind::config, "cannot read the credential file " + path};
    std::ostringstream s;
    s << in.rdbuf();
    value = s.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' '))
      value.pop_back();
    if (value.empty()) return Error{ErrorKind::config, "the credential file " + path + " is empty"};
  } else {
    value = std::string(configured);
    if (value.empty()) return Error{ErrorKind::config, "empty credential"};
  }
  register_secret(value);
  return value;
}

// --- API key ---------------------------------------------------------------------------------

ApiKeyAuth::ApiKeyAuth(std::string api_key) {
  register_secret(api_key);
  header_ = "Basic " + base64_encode(api_key + ":");  // §6.2: key as user, empty password
  register_secret(header_.substr(6));
}

Result<std::string> ApiKeyAuth::authorization() { return header_; }

// --- token file ------------------------------------------------------------------------------

FileTokenStore::FileTokenStore(std::string path) : path_(std::move(path)) {}

Result<OAuthTokens> FileTokenStore::load() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Error{ErrorKind::config, "cannot read the token file " + path_};
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
      !j.contains("refresh_token") || !j["refresh_token"].is_string())
    return Error{ErrorKind::config, "the token file " + path_ +
                                        " needs string fields access_token and refresh_token"};
  OAuthTokens t;
  t.access_token = j["access_token"].get<std::string>();
  t.refresh_token = j["refresh_token"].get<std::string>();
  if (j.contains("expires_at") && j["expires_at"].is_number_integer())
    t.expires_at = std::chrono::system_clock::time_point{} +
                   std::chrono::seconds(j["expires_at"].get<int64_t>());
  register_secret(t.access_token);
  register_secret(t.refresh_token);
  return t;
}

Status FileTokenStore::save(const OAuthTokens& tokens) {
  json j;
  j["access_token"] = tokens.access_token;
  j["refresh_token"] = tokens.refresh_token;
  if (tokens.expires_at)
    j["expires_at"] = std::chrono::duration_cast<std::chrono::seconds>(
                          tokens.expires_at->time_since_epoch())
                          .count();
  const std::string text = j.dump();
  const std::string tmp = path_ + ".tmp";
  auto fail = [&](const char* step) {
    return Error{ErrorKind::token_store,
                 std::string("cannot ") + step + " the token file " + path_ + ": " + std::strerror(errno)};
  };
  ::unlink(tmp.c_str());  // a leftover from a crash; O_EXCL below must not trip over it
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("create");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail("replace");
  }
  // The rename itself is durable only once the folder is synced.
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

// --- OAuth -----------------------------------------------------------------------------------

OAuthAuth::OAuthAuth(OAuthOptions options, std::shared_ptr<TokenStore> store, OAuthTokens tokens)
    : options_(std::move(options)),
      store_(std::move(store)),
      transport_(options_.transport),
      tokens_(std::move(tokens)) {
  register_secret(options_.client_secret);
  register_secret(tokens_.access_token);
  register_secret(tokens_.refresh_token);
}

Result<std::shared_ptr<OAuthAuth>> OAuthAuth::create(OAuthOptions options,
                                                     std::shared_ptr<TokenStore> store) {
  if (!store) return Error{ErrorKind::config, "OAuth needs a token store"};
  if (options.token_url.empty()) return Error{ErrorKind::config, "OAuth needs a token_url"};
  auto tokens = store->load();
  if (!tokens) return tokens.error();
  return std::make_shared<OAuthAuth>(std::move(options), std::move(store), std::move(*tokens));
}

std::string OAuthAuth::describe() const { return "oauth(company " + options_.company_id + ")"; }

int OAuthAuth::refresh_count() const {
  std::lock_guard lock(mutex_);
  return refreshes_;
}

Error OAuthAuth::reconnect_error() const {
  Error e{ErrorKind::reconnect_required,
          "the Pleo authorisation for company " + options_.company_id +
              " was revoked or has expired; reconnect the company to Pleo"};
  e.company_id = options_.company_id;
  e.endpoint = "POST " + options_.token_url;
  return e;
}

Status OAuthAuth::persist_pending_locked() {
  if (!pending_save_) return ok_status();
  auto saved = store_->save(tokens_);
  if (!saved) return saved.error();
  pending_save_ = false;
  return ok_status();
}

Result<std::string> OAuthAuth::authorization() {
  std::lock_guard lock(mutex_);
  if (reconnect_required_) return reconnect_error();
  if (auto p = persist_pending_locked(); !p) return p.error();
  Clock& clock = options_.clock ? *options_.clock : system_clock();
  // §6.1: refresh proactively shortly before expiry rather than waiting for a 401.
  if (tokens_.expires_at && clock.wall_now() + options_.refresh_margin >= *tokens_.expires_at) {
    if (auto r = refresh_locked(); !r) return r.error();
  }
  return "Bearer " + tokens_.access_token;
}

Result<bool> OAuthAuth::on_unauthorized(const std::string& rejected) {
  std::lock_guard lock(mutex_);
  if (reconnect_required_) return reconnect_error();
  if (auto p = persist_pending_locked(); !p) return p.error();
  // Someone else refreshed while this request was out: reuse their token (§6.1, one refresh).
  if (rejected != "Bearer " + tokens_.access_token) return true;
  if (auto r = refresh_locked(); !r) return r.error();
  return true;
}

Status OAuthAuth::refresh_locked() {
  Clock& clock = options_.clock ? *options_.clock : system_clock();
  const std::string endpoint = "POST " + options_.token_url;
  HttpRequest request;
  request.method = "POST";
  request.url = options_.token_url;
  request.log_path = options_.token_url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = "grant_type=refresh_token&refresh_token=" + url_encode(tokens_.refresh_token) +
                 "&client_id=" + url_encode(options_.client_id) +
                 "&client_secret=" + url_encode(options_.client_secret);

  Backoff backoff(options_.retry, clock, options_.random);
  for (;;) {
    auto response = transport_.perform(request);
    std::optional<std::chrono::milliseconds> retry_after;
    Error failure;
    if (!response) {
      failure = response.error();
    } else {
      const auto& r = *response;
      json body = json::parse(r.body, nullptr, false);
      const std::string oauth_error =
          body.is_object() && body.contains("error") && body["error"].is_string()
              ? body["error"].get<std::string>()
              : std::string();
      if (r.status == 200) {
        if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string())
          return Error{ErrorKind::bad_response, "the token endpoint answered without an access_token",
                       200, {}, r.request_id(), endpoint};
        OAuthTokens fresh;
        fresh.access_token = body["access_token"].get<std::string>();
        fresh.refresh_token = body.contains("refresh_token") && body["refresh_token"].is_string()
                                  ? body["refresh_token"].get<std::string>()
                                  : tokens_.refresh_token;
        if (body.contains("expires_in") && body["expires_in"].is_number_integer())
          fresh.expires_at = clock.wall_now() + std::chrono::seconds(body["expires_in"].get<int64_t>());
        register_secret(fresh.access_token);
        register_secret(fresh.refresh_token);
        // The old tokens are dead the moment the server rotated (§6.1): forget them now.
        const OAuthTokens old = tokens_;
        tokens_ = std::move(fresh);
        pending_save_ = true;
        ++refreshes_;
        if (old.access_token != tokens_.access_token) forget_secret(old.access_token);
        if (old.refresh_token != tokens_.refresh_token) forget_secret(old.refresh_token);
        transport_.logger().info("pleo oauth: tokens refreshed for company {}", options_.company_id);
        // §6.1: persisted before use. Until the save succeeds nobody gets the new token.
        return persist_pending_locked();
      }
      if (oauth_error == "invalid_grant") {
        reconnect_required_ = true;
        transport_.logger().error("pleo oauth: refresh refused (invalid_grant) for company {}; reconnect required",
                                  options_.company_id);
        auto e = reconnect_error();
        e.http_status = static_cast<int>(r.status);
        e.type = oauth_error;
        e.request_id = r.request_id();
        return e;
      }
      const bool transient = r.status == 429 || r.status >= 500;
      failure = Error{transient ? (r.status == 429 ? ErrorKind::rate_limited : ErrorKind::server)
                                : ErrorKind::auth,
                      redact("token refresh refused" + (oauth_error.empty() ? "" : ": " + oauth_error)),
                      static_cast<int>(r.status), oauth_error, r.request_id(), endpoint};
      if (!transient) return failure;
      if (auto ra = r.header("retry-after")) retry_after = parse_retry_after(*ra, clock.wall_now());
    }
    if (!backoff.wait(retry_after)) return failure;
  }
}

}  // namespace lb::pleo
