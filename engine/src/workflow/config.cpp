#include "workflow/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>

namespace lb::workflow {

namespace fs = std::filesystem;

namespace {

struct Reader {
  const fs::path& file;
  std::string error;

  std::string where(const toml::node& n) const {
    return fmt::format("{}:{}", file.string(), n.source().begin.line);
  }
  bool string(const toml::table& t, std::string_view key, std::string& into, bool required) {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required && error.empty()) error = fmt::format("{}: '{}' is required", where(t), key);
      return !required;
    }
    if (!n->is_string()) {
      if (error.empty()) error = fmt::format("{}: '{}' must be text", where(*n), key);
      return false;
    }
    into = n->as_string()->get();
    return true;
  }
  bool boolean(const toml::table& t, std::string_view key, bool& into) {
    const toml::node* n = t.get(key);
    if (!n) return true;
    if (!n->is_boolean()) {
      if (error.empty()) error = fmt::format("{}: '{}' must be true or false", where(*n), key);
      return false;
    }
    into = n->as_boolean()->get();
    return true;
  }
  fs::path path(const std::string& p) const { return p.empty() || fs::path(p).is_absolute() ? fs::path(p) : file.parent_path() / p; }
};

}  // namespace

Result<Config> load_config(const fs::path& file) {
  toml::table doc;
  try {
    doc = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return Error{fmt::format("{}:{}: {}", file.string(), e.source().begin.line, e.description())};
  }
  Reader r{file, {}};
  Config config;
  if (const auto* ledger = doc["ledger"].as_table()) {
    std::string p;
    r.string(*ledger, "path", p, true);
    config.ledger = r.path(p);
  }
  if (const toml::node* limits = doc.get("limits")) {
    const auto* t = limits->as_table();
    if (!t)
      return Error{fmt::format("{}: limits must be a table: [limits] max_memory_mb = N, max_hook_cpu_ms = N",
                               r.where(*limits))};
    for (const auto& [k, v] : *t) {
      const bool memory = k == "max_memory_mb";
      if (!memory && k != "max_hook_cpu_ms")
        return Error{fmt::format("{}: limits: unknown key '{}' (the ceiling's keys are max_memory_mb and "
                                 "max_hook_cpu_ms)",
                                 r.where(v), k.str())};
      const int64_t max = memory ? rules::kMaxMemoryMb : rules::kMaxHookCpuMs;
      const auto n = v.value_exact<int64_t>();
      if (!n || *n < 1 || *n > max)
        return Error{fmt::format("{}: limits.{} must be an integer 1..{}", r.where(v), k.str(), max)};
      (memory ? config.ceiling.memory_mb : config.ceiling.hook_cpu_ms) = *n;
    }
  }
  const auto* companies = doc["companies"].as_array();
  if (!companies || companies->empty()) return Error{file.string() + ": no [[companies]]"};
  for (const auto& node : *companies) {
    const auto* t = node.as_table();
    if (!t) return Error{fmt::format("{}: each [[companies]] entry must be a table", r.where(node))};
    CompanyConfig c;
    std::string rules, reexport = "report_existing";
    r.string(*t, "id", c.id, true);
    r.string(*t, "name", c.name, false);
    r.string(*t, "pleo", c.pleo, true);
    r.string(*t, "api_key", c.api_key, false);
    r.string(*t, "rules", rules, true);
    r.string(*t, "reexport", reexport, false);
    r.boolean(*t, "attachments", c.attachments);
    r.boolean(*t, "attachments_required", c.attachments_required);
    if (const auto* rpm = t->get("requests_per_minute")) {
      if (!rpm->is_integer() || rpm->as_integer()->get() < 1 || rpm->as_integer()->get() > 600)
        return Error{fmt::format("{}: requests_per_minute must be 1..600 (Pleo allows 600)", r.where(*rpm))};
      c.requests_per_minute = static_cast<int>(rpm->as_integer()->get());
    }
    if (const auto* oauth = (*t)["oauth"].as_table()) {
      OAuthConfig o;
      r.string(*oauth, "client_id", o.client_id, true);
      r.string(*oauth, "client_secret", o.client_secret, true);
      r.string(*oauth, "token_url", o.token_url, true);
      std::string token_file;
      r.string(*oauth, "token_file", token_file, true);
      o.token_file = r.path(token_file).string();
      c.oauth = o;
    }
    if (const auto* erp = (*t)["erp"].as_table()) {
      std::string p, d;
      r.string(*erp, "kind", c.erp_kind, true);
      r.string(*erp, "path", p, false);
      r.string(*erp, "directory", d, false);
      c.erp_path = r.path(p).string();
      c.erp_directory = r.path(d).string();
      // Every other setting goes to the sink as text (erp::make_sink reads them): strings as
      // they are, true/false, integers, and arrays of strings joined with commas
      // (attachment_types = ["application/pdf", "image/jpeg"]).
      for (const auto& [k, v] : *erp) {
        if (k == "kind" || k == "path" || k == "directory") continue;
        std::string& out = c.erp_options[std::string(k.str())];
        if (v.is_string()) {
          out = v.as_string()->get();
        } else if (v.is_boolean()) {
          out = v.as_boolean()->get() ? "true" : "false";
        } else if (v.is_integer()) {
          out = std::to_string(v.as_integer()->get());
        } else if (const auto* list = v.as_array(); list && (list->empty() || list->is_homogeneous(toml::node_type::string))) {
          for (const auto& item : *list) out += (out.empty() ? "" : ",") + item.as_string()->get();
        } else if (r.error.empty()) {
          r.error = fmt::format("{}: erp setting '{}' must be text, true/false, a number or a list of text",
                                r.where(v), k.str());
        }
      }
    } else if (r.error.empty()) {
      r.error = fmt::format("{}: 'erp' is required (e.g. erp = {{ kind = \"sqlite\", path = \"erp.sqlite\" }})", r.where(*t));
    }
    if (!r.error.empty()) return Error{r.error};
    if (c.api_key.empty() && !c.oauth && c.pleo != "sim")
      return Error{fmt::format("{}: company {} needs api_key or oauth", r.where(*t), c.id)};
    if (reexport == "report_existing") c.reexport = ReexportPolicy::report_existing;
    else if (reexport == "post_again") c.reexport = ReexportPolicy::post_again;
    else if (reexport == "fail") c.reexport = ReexportPolicy::fail;
    else return Error{fmt::format("{}: reexport must be report_existing, post_again or fail", r.where(*t))};
    c.rules = r.path(rules);
    config.companies.push_back(std::move(c));
  }
  if (config.ledger.empty()) config.ledger = file.parent_path() / "ledger.sqlite";
  return config;
}

}  // namespace lb::workflow
