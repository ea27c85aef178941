#include "workflow/runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "erp/factory.hpp"
#include "ledger/ledger.hpp"
#include "pleo/auth.hpp"
#include "pleo/client.hpp"
#include "pleo/rate_limiter.hpp"
#include "rules/evaluator.hpp"
#include "rules/pack.hpp"

namespace lb::workflow {

namespace {

Result<std::shared_ptr<pleo::Auth>> make_auth(const CompanyConfig& c, const RunOptions& o) {
  if (c.pleo == "sim") {
    auto it = o.sim_api_keys.find(c.id);
    if (it == o.sim_api_keys.end()) return Error{"the simulated Pleo has no company " + c.id};
    return std::shared_ptr<pleo::Auth>(std::make_shared<pleo::ApiKeyAuth>(it->second));
  }
  if (c.oauth) {
    auto secret = pleo::resolve_secret(c.oauth->client_secret);
    if (!secret) return Error{"oauth client_secret: " + secret.error().message};
    auto auth = pleo::OAuthAuth::create({.token_url = c.oauth->token_url,
                                         .client_id = c.oauth->client_id,
                                         .client_secret = *secret,
                                         .company_id = c.id},
                                        std::make_shared<pleo::FileTokenStore>(c.oauth->token_file));
    if (!auth) return Error{auth.error().to_string()};
    return std::shared_ptr<pleo::Auth>(*auth);
  }
  auto key = pleo::resolve_secret(c.api_key);
  if (!key) return Error{"api_key: " + key.error().message};
  return std::shared_ptr<pleo::Auth>(std::make_shared<pleo::ApiKeyAuth>(*key));
}

}  // namespace

std::vector<CompanyResult> run_once(const Config& config, const RunOptions& options) {
  std::vector<CompanyResult> results;
  auto ledger = ledger::Ledger::open(config.ledger.string());
  if (!ledger) {
    for (const auto& c : config.companies)
      results.push_back({.company_id = c.id, .name = c.name, .summary = {}, .error = ledger.error().message});
    return results;
  }
  for (const auto& c : config.companies) {
    if (!options.only_company.empty() && c.id != options.only_company) continue;
    CompanyResult& result = results.emplace_back();
    result.company_id = c.id;
    result.name = c.name;
    if (options.cancel && options.cancel->load()) {
      result.error = "cancelled";
      continue;
    }
    auto auth = make_auth(c, options);
    if (!auth) {
      result.error = auth.error().message;
      continue;
    }
    pleo::ClientOptions client_options;
    client_options.base_url = c.pleo == "sim" ? options.sim_base_url : c.pleo;
    client_options.auth = *auth;
    client_options.limiter = pleo::shared_rate_limiter(c.id, c.requests_per_minute);
    pleo::Client client(client_options);

    erp::Sink* sink = nullptr;
    std::unique_ptr<erp::Sink> owned_sink;
    if (auto host = options.sinks.find(c.id); host != options.sinks.end()) {
      sink = host->second;
    } else {
      erp::SinkConfig sink_config{.kind = c.erp_kind, .path = c.erp_path, .directory = c.erp_directory};
      sink_config.options = c.erp_options;
      auto made = erp::make_sink(sink_config);
      if (!made) {
        result.error = "ERP: " + made.error().message;
        continue;
      }
      owned_sink = std::move(*made);
      sink = owned_sink.get();
    }
    auto pack = rules::Pack::load(c.rules);
    if (!pack) {
      result.error = "rule pack: " + pack.error().message;
      continue;
    }
    rules::EvalOptions eval;
    eval.directory = &sink->directory();
    eval.now = options.now;
    eval.ceiling = config.ceiling;
    auto evaluator = rules::Evaluator::create(*pack, eval);
    if (!evaluator) {
      result.error = "rule pack: " + evaluator.error().message;
      continue;
    }
    pleo::TransportOptions download_options;
    download_options.log_name = "receipts";
    pleo::HttpTransport downloads(download_options);

    CompanyRun run{.company_id = c.id,
                   .pleo = &client,
                   .sink = sink,
                   .ledger = ledger->get(),
                   .rules = evaluator->get(),
                   .reexport = c.reexport,
                   .attachments = c.attachments,
                   .attachments_required = c.attachments_required,
                   .downloads = &downloads,
                   .report_batch = 100,
                   .on_progress = options.on_progress,
                   .cancel = options.cancel};
    result.summary = run_company(run);
  }
  return results;
}

}  // namespace lb::workflow
