#pragma once
// Authentication against Pleo (domain brief §6): API keys as HTTP Basic, OAuth 2.0 bearer
// tokens with refresh-token rotation. An Auth is shared by every Client of one credential;
// both implementations are thread-safe.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "pleo/clock.hpp"
#include "pleo/error.hpp"
#include "pleo/http.hpp"
#include "pleo/retry.hpp"

namespace lb::pleo {

// A credential from configuration (§6.2: "stored server-side, never in plain config" when the
// operator wants): "env:NAME" reads the environment variable NAME, "file:/path" reads a file
// (trailing newline dropped), anything else is the literal value. Errors name the variable or
// the file, never a value. The result is registered with redact().
Result<std::string> resolve_secret(std::string_view configured);

class Auth {
 public:
  virtual ~Auth() = default;
  // The Authorization header value for the next request.
  virtual Result<std::string> authorization() = 0;
  // Pleo answered 401 to a request sent with `rejected` (an authorization() value). Ok(true):
  // a new credential is ready, retry once. Ok(false): nothing can be refreshed (API key).
  virtual Result<bool> on_unauthorized(const std::string& rejected) = 0;
  // Non-secret description for logs: "api-key", "oauth(company 1234…)".
  virtual std::string describe() const = 0;
};

// §6.2: the API key is the Basic user name, the password is empty.
class ApiKeyAuth final : public Auth {
 public:
  explicit ApiKeyAuth(std::string api_key);
  Result<std::string> authorization() override;
  Result<bool> on_unauthorized(const std::string&) override { return false; }
  std::string describe() const override { return "api-key"; }

 private:
  std::string header_;
};

struct OAuthTokens {
  std::string access_token;
  std::string refresh_token;
  std::optional<std::chrono::system_clock::time_point> expires_at{};
};

// Where rotated tokens live between runs (§6.1: persisted atomically before use).
class TokenStore {
 public:
  virtual ~TokenStore() = default;
  virtual Result<OAuthTokens> load() = 0;
  virtual Status save(const OAuthTokens& tokens) = 0;
};

// A JSON file {"access_token", "refresh_token", "expires_at" (unix seconds)}. save() writes a
// temporary file with mode 0600 in the same folder, fsyncs it, renames it over the old one and
// fsyncs the folder: a crash leaves the old tokens or the new ones, never a torn file.
class FileTokenStore final : public TokenStore {
 public:
  explicit FileTokenStore(std::string path);
  Result<OAuthTokens> load() override;
  Status save(const OAuthTokens& tokens) override;

 private:
  std::string path_;
};

struct OAuthOptions {
  std::string token_url;      // {auth}/oauth/token, e.g. https://auth.pleo.io/oauth/token
  std::string client_id;
  std::string client_secret;  // resolved (see resolve_secret)
  std::string company_id;     // named in "reconnect required" errors
  std::chrono::seconds refresh_margin{60};  // refresh this long before expires_at (§6.1)
  RetryPolicy retry{};                      // transient token-endpoint failures (§6.1)
  TransportOptions transport{};
  Clock* clock = nullptr;                   // null = system_clock()
  std::function<double()> random{};         // backoff jitter; null = PRNG
};

// §6.1 OAuth bearer with rotation:
// - one refresh in flight per authorisation: the refresh runs under a mutex; callers that
//   arrive meanwhile wait and reuse its result (a 401 for a token that is no longer current
//   retries with the new one, without refreshing again);
// - each refresh returns a new access and refresh token; both are saved to the TokenStore
//   before the new access token is handed out; if saving fails the tokens are held back and the
//   save is retried on the next call (token_store error meanwhile);
// - invalid_grant (revoked/expired/replayed refresh token) → reconnect_required naming the
//   company, and every later call fails the same way without calling the token endpoint again
//   (presenting a stale refresh token would invalidate the others, §6.1).
class OAuthAuth final : public Auth {
 public:
  static Result<std::shared_ptr<OAuthAuth>> create(OAuthOptions options,
                                                   std::shared_ptr<TokenStore> store);
  Result<std::string> authorization() override;
  Result<bool> on_unauthorized(const std::string& rejected) override;
  std::string describe() const override;

  int refresh_count() const;  // token-endpoint successes so far (tests, metrics)

  OAuthAuth(OAuthOptions options, std::shared_ptr<TokenStore> store, OAuthTokens tokens);

 private:
  Status refresh_locked();
  Status persist_pending_locked();
  Error reconnect_error() const;

  OAuthOptions options_;
  std::shared_ptr<TokenStore> store_;
  HttpTransport transport_;
  mutable std::mutex mutex_;
  OAuthTokens tokens_;
  bool pending_save_ = false;
  bool reconnect_required_ = false;
  int refreshes_ = 0;
};

}  // namespace lb::pleo
