#pragma once
// The operator's configuration: one TOML file for every company `ledgerbridge run` serves.
//
//   [ledger]
//   path = "var/ledger.sqlite"          # one ledger per installation (DESIGN §5)
//
//   [[companies]]
//   id = "6513270e-..."                  # Pleo company id
//   name = "Acme DK"                     # for people
//   pleo = "https://external.pleo.io"    # or "sim" for the embedded simulated Pleo
//   api_key = "env:PLEO_API_KEY_ACME"    # env:NAME, file:/path, or the key itself (discouraged)
//   # or: oauth = { client_id = "...", client_secret = "env:...", token_url = "...", token_file = "..." }
//   rules = "rules/example-nordic"
//   erp = { kind = "sqlite", path = "var/acme-erp.sqlite" }   # sqlite | jsonl | http
//   # every kind also takes the ERP's attachment capabilities (§2.8, erp::capabilities_from):
//   #   single_attachment = true (merge receipts into one PDF), max_attachment_bytes = N,
//   #   attachment_types = ["application/pdf", "image/jpeg"]
//   # http: url = "https://erp/api/documents", authorization = "env:ERP_TOKEN", directory = "..."
//   reexport = "report_existing"         # or post_again, fail (§4.3)
//   attachments = true                   # fetch receipts and attach them (§2.8)
//   attachments_required = false         # a receipt that cannot be fetched fails the item
//   requests_per_minute = 500            # the client's budget for this credential (max 600)
//
//   [limits]                             # optional: this installation's ceiling on every
//   max_memory_mb = 256                  # company's rule pack: a pack whose pack.toml [limits]
//   max_hook_cpu_ms = 1000               # (memory_mb, hook_cpu_ms; after extends, defaults 64 MiB
//                                        # and 100 ms) are above it does not start, and the
//                                        # company's error names the pack, the limit and both
//                                        # values. Default: 4096 and 60000, the most a pack may
//                                        # set. `run --max-memory-mb/--max-hook-cpu-ms` replace them.
//
// Relative paths are relative to the file. Secrets are kept as references and resolved only
// when a client is built; nothing here is ever logged.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "model/result.hpp"
#include "rules/sandbox.hpp"
#include "workflow/job_runner.hpp"

namespace lb::workflow {

struct OAuthConfig {
  std::string client_id;
  std::string client_secret;  // a secret reference (env:/file:)
  std::string token_url;
  std::string token_file;
};

struct CompanyConfig {
  std::string id;
  std::string name;
  std::string pleo;     // base URL, or "sim"
  std::string api_key;  // a secret reference; empty with oauth
  std::optional<OAuthConfig> oauth;
  std::filesystem::path rules;
  std::string erp_kind = "sqlite";
  std::string erp_path;
  std::string erp_directory;  // jsonl: the directory file for the rules
  std::map<std::string, std::string> erp_options;
  ReexportPolicy reexport = ReexportPolicy::report_existing;
  bool attachments = true;
  bool attachments_required = false;
  int requests_per_minute = 500;
};

struct Config {
  std::filesystem::path ledger;
  std::vector<CompanyConfig> companies;
  rules::LimitCeiling ceiling;  // [limits]
};

// Errors name the file, the line and the key.
Result<Config> load_config(const std::filesystem::path& file);

}  // namespace lb::workflow
