// The C ABI's run functions (ledgerbridge_run_*): the Pleo workflow (workflow::run_once) with
// the host's ERPs, progress callback, cancellation, and the engine's log callback.
#include <fmt/format.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "capi_internal.hpp"
#include "host_sink.hpp"
#include "ledgerbridge.h"
#include "workflow/config.hpp"
#include "workflow/runner.hpp"

struct ledgerbridge_run {
  ledgerbridge::EngineOptions engine;  // the clock, the limit ceiling and the log callback, copied from the engine
  std::filesystem::path config_path;
  lb::workflow::Config config;
  std::string only_company;
  std::map<std::string, std::unique_ptr<lb::erp::Sink>> sinks;  // the host's ERPs by company id
  ledgerbridge_progress_fn progress = nullptr;
  void* progress_data = nullptr;
  std::atomic<bool> cancel{false};
  std::atomic<bool> running{false};
};

namespace {

using lb::capi::argument;
using lb::capi::Failure;
using lb::capi::guard;

// ---- the workflow's logs to the engine's log callback ------------------------------------------
// The workflow logs through spdlog's default logger, which is process-wide (and shared with a
// host that uses spdlog itself). While runs execute, the default logger is a forwarder: a message
// logged on a thread that is executing a run goes to that run's log callback (or nowhere when it
// has none), any other message to the logger that was the default before, untouched. The last run
// to finish puts that logger back (unless the host replaced the default meanwhile). The forwarder
// is never destroyed: spdlog hands out raw pointers to the default logger.

thread_local const ledgerbridge::EngineOptions* t_run_log = nullptr;
thread_local bool t_in_run = false;

ledgerbridge::LogLevel level_of(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return ledgerbridge::LogLevel::debug;
    case spdlog::level::info: return ledgerbridge::LogLevel::info;
    case spdlog::level::warn: return ledgerbridge::LogLevel::warning;
    default: return ledgerbridge::LogLevel::error;
  }
}

spdlog::level::level_enum spdlog_level(const ledgerbridge::EngineOptions& o) {
  if (!o.log) return spdlog::level::off;
  switch (o.log_level) {
    case ledgerbridge::LogLevel::debug: return spdlog::level::debug;
    case ledgerbridge::LogLevel::info: return spdlog::level::info;
    case ledgerbridge::LogLevel::warning: return spdlog::level::warn;
    case ledgerbridge::LogLevel::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

class Forwarder final : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg& msg) override {
    if (t_in_run) {
      const ledgerbridge::EngineOptions* o = t_run_log;
      if (!o || !o->log || msg.level == spdlog::level::off) return;
      const auto level = level_of(msg.level);
      if (level < o->log_level) return;
      try {  // a throwing log callback must not fail the run
        o->log(level, std::string_view(msg.payload.data(), msg.payload.size()));
      } catch (...) {
      }
      return;
    }
    std::shared_ptr<spdlog::logger> prev;
    {
      std::lock_guard lock(mutex_);
      prev = previous_;
    }
    if (prev) prev->log(msg.time, msg.source, msg.level, msg.payload);
  }
  void flush() override {
    std::shared_ptr<spdlog::logger> prev;
    {
      std::lock_guard lock(mutex_);
      prev = previous_;
    }
    if (prev) prev->flush();
  }
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

  void set_previous(std::shared_ptr<spdlog::logger> p) {
    std::lock_guard lock(mutex_);
    previous_ = std::move(p);
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<spdlog::logger> previous_;
};

class LogRouting {
 public:
  static LogRouting& get() {
    static LogRouting* routing = new LogRouting();  // never destroyed, see above
    return *routing;
  }

  void enter(const ledgerbridge::EngineOptions& options) {
    std::lock_guard lock(mutex_);
    if (levels_.empty()) {
      previous_ = spdlog::default_logger();
      forwarder_->set_previous(previous_);
      spdlog::set_default_logger(logger_);
    }
    levels_.insert(spdlog_level(options));
    update_level();
    t_run_log = &options;
    t_in_run = true;
  }

  void leave(const ledgerbridge::EngineOptions& options) {
    t_in_run = false;
    t_run_log = nullptr;
    std::lock_guard lock(mutex_);
    levels_.erase(levels_.find(spdlog_level(options)));
    if (levels_.empty()) {
      if (spdlog::default_logger_raw() == logger_.get() && previous_) spdlog::set_default_logger(previous_);
      // The forwarder keeps `previous_` for threads still logging through a stale raw pointer.
      previous_.reset();
    } else {
      update_level();
    }
  }

 private:
  LogRouting() : forwarder_(std::make_shared<Forwarder>()), logger_(std::make_shared<spdlog::logger>("ledgerbridge", forwarder_)) {}

  // Lets through what the previous default logger prints and what any executing run wants.
  void update_level() {
    auto level = previous_ ? previous_->level() : spdlog::level::off;
    for (auto l : levels_) level = std::min(level, l);
    logger_->set_level(level);
  }

  std::mutex mutex_;
  std::shared_ptr<Forwarder> forwarder_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::logger> previous_;
  std::multiset<spdlog::level::level_enum> levels_;
};

struct LogScope {
  explicit LogScope(const ledgerbridge::EngineOptions& o) : options(o) { LogRouting::get().enter(options); }
  ~LogScope() { LogRouting::get().leave(options); }
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;
  const ledgerbridge::EngineOptions& options;
};

// ---- the summary -------------------------------------------------------------------------------

nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

nlohmann::json job_json(const lb::workflow::JobSummary& j) {
  nlohmann::json failures = nlohmann::json::object();
  for (const auto& [type, n] : j.failures) failures[type] = n;
  return {{"id", j.job_id},
          {"final_event", text_or_null(j.final_event)},
          {"stopped", text_or_null(j.stopped)},
          {"claimed_here", j.claimed_here},
          {"resumed", j.resumed},
          {"successful", j.successful},
          {"failed", j.failed},
          {"skipped", j.skipped},
          {"already_final", j.already_final},
          {"documents_posted", j.documents_posted},
          {"documents_recovered", j.documents_recovered},
          {"reexports", j.reexports},
          {"job_entry_members", j.job_entry_members},
          {"failures", std::move(failures)}};
}

nlohmann::json company_json(const lb::workflow::CompanyResult& r) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& j : r.summary.jobs) jobs.push_back(job_json(j));
  const std::string& error = !r.error.empty() ? r.error : r.summary.error;
  return {{"id", r.company_id},
          {"name", r.name},
          {"error", text_or_null(error)},
          {"started", r.error.empty()},
          {"jobs_skipped", r.summary.jobs_skipped},
          {"jobs", std::move(jobs)}};
}

// Clears the run's flags however execute leaves.
struct Executing {
  explicit Executing(ledgerbridge_run& r) : run(r) {}
  ~Executing() {
    run.cancel.store(false);
    run.running.store(false);
  }
  ledgerbridge_run& run;
};

}  // namespace

extern "C" {

ledgerbridge_status ledgerbridge_run_new(ledgerbridge_engine* engine, const char* config_path, const char* company_id,
                                         ledgerbridge_run** out, char** error) {
  if (!out) return argument(error, "ledgerbridge_run_new: out is NULL");
  *out = nullptr;
  if (!engine) return argument(error, "ledgerbridge_run_new: engine is NULL");
  if (!config_path || !*config_path) return argument(error, "ledgerbridge_run_new: config_path is NULL or empty");
  if (company_id && !*company_id) return argument(error, "ledgerbridge_run_new: company_id is empty (NULL: every company)");
  return guard(error, [&] {
    auto run = std::make_unique<ledgerbridge_run>();
    run->engine = engine->options;
    run->config_path = config_path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(run->config_path, ec))
      throw Failure(LEDGERBRIDGE_ERROR_NOT_FOUND, fmt::format("configuration file {} does not exist", config_path));
    auto loaded = lb::workflow::load_config(run->config_path);
    if (!loaded) throw Failure(LEDGERBRIDGE_ERROR_CONFIG, loaded.error().message);
    run->config = std::move(*loaded);
    if (run->config.companies.empty())
      throw Failure(LEDGERBRIDGE_ERROR_CONFIG, fmt::format("{}: no [[companies]]", config_path));
    if (company_id) {
      const auto& cs = run->config.companies;
      if (std::none_of(cs.begin(), cs.end(), [&](const auto& c) { return c.id == company_id; }))
        throw Failure(LEDGERBRIDGE_ERROR_NOT_FOUND, fmt::format("{} has no company {}", config_path, company_id));
      run->only_company = company_id;
    }
    *out = run.release();
  });
}

ledgerbridge_status ledgerbridge_run_set_erp(ledgerbridge_run* run, const char* company_id, ledgerbridge_erp* erp,
                                             char** error) {
  if (!run) return argument(error, "ledgerbridge_run_set_erp: run is NULL");
  if (!company_id) return argument(error, "ledgerbridge_run_set_erp: company_id is NULL");
  if (run->running.load()) return argument(error, "ledgerbridge_run_set_erp: the run is executing");
  return guard(error, [&] {
    const auto& cs = run->config.companies;
    const bool known = std::any_of(cs.begin(), cs.end(), [&](const auto& c) {
      return c.id == company_id && (run->only_company.empty() || run->only_company == c.id);
    });
    if (!known)
      throw Failure(LEDGERBRIDGE_ERROR_NOT_FOUND,
                    fmt::format("the run has no company {} ({})", company_id, run->config_path.string()));
    if (!erp) {
      run->sinks.erase(company_id);
      return;
    }
    run->sinks[company_id] = lb::capi::make_sink(*erp);
  });
}

ledgerbridge_status ledgerbridge_run_set_progress(ledgerbridge_run* run, ledgerbridge_progress_fn progress,
                                                  void* user_data) {
  if (!run || run->running.load()) return LEDGERBRIDGE_ERROR_ARGUMENT;
  run->progress = progress;
  run->progress_data = user_data;
  return LEDGERBRIDGE_OK;
}

ledgerbridge_status ledgerbridge_run_execute(ledgerbridge_run* run, char** summary_json, char** error) {
  if (summary_json) *summary_json = nullptr;
  if (!run) return argument(error, "ledgerbridge_run_execute: run is NULL");
  if (!summary_json) return argument(error, "ledgerbridge_run_execute: summary_json is NULL");
  if (run->running.exchange(true)) return argument(error, "ledgerbridge_run_execute: the run is already executing");
  const Executing executing(*run);
  return guard(error, [&] {
    // Companies whose configuration says the host supplies the ERP (kind = "host") but that got
    // none do not reach the workflow, which would only say the kind is unknown.
    lb::workflow::Config config = run->config;
    // The engine's ceiling replaces the file's [limits] value for each limit it sets, like the
    // CLI's --max-memory-mb / --max-hook-cpu-ms.
    config.ceiling = config.ceiling.replaced_by(run->engine.max_memory_mb, run->engine.max_hook_cpu_ms);
    std::map<std::string, std::string> not_started;
    std::erase_if(config.companies, [&](const lb::workflow::CompanyConfig& c) {
      if (!run->only_company.empty() && c.id != run->only_company) return true;
      if (c.erp_kind == "host" && !run->sinks.count(c.id)) {
        not_started[c.id] = "erp kind \"host\": the host gave no ERP for this company (ledgerbridge_run_set_erp)";
        return true;
      }
      return false;
    });

    lb::workflow::RunOptions options;
    for (const auto& [id, sink] : run->sinks) options.sinks[id] = sink.get();
    options.cancel = &run->cancel;
    options.now = run->engine.now;
    if (run->progress) {
      options.on_progress = [fn = run->progress, data = run->progress_data](const lb::workflow::Progress& p) {
        fn(data, p.company_id.c_str(), p.job_id.c_str(), p.done, p.total);
      };
    }

    std::vector<lb::workflow::CompanyResult> results;
    if (!config.companies.empty()) {
      const LogScope logs(run->engine);
      results = lb::workflow::run_once(config, options);
    }

    // In the configuration's order, the companies kept out above included.
    nlohmann::json companies = nlohmann::json::array();
    bool any_started = false;
    std::string errors;
    for (const auto& c : run->config.companies) {
      if (!run->only_company.empty() && c.id != run->only_company) continue;
      if (auto it = not_started.find(c.id); it != not_started.end()) {
        lb::workflow::CompanyResult r{.company_id = c.id, .name = c.name, .summary = {}, .error = it->second};
        companies.push_back(company_json(r));
        errors += fmt::format("{}company {}: {}", errors.empty() ? "" : "; ", c.id, r.error);
        continue;
      }
      auto r = std::find_if(results.begin(), results.end(), [&](const auto& x) { return x.company_id == c.id; });
      if (r == results.end()) continue;
      companies.push_back(company_json(*r));
      if (r->error.empty() || r->error == "cancelled") any_started = true;
      else errors += fmt::format("{}company {}: {}", errors.empty() ? "" : "; ", c.id, r->error);
    }
    if (!any_started) throw Failure(LEDGERBRIDGE_ERROR_CONFIG, errors.empty() ? "no company to run" : errors);
    const nlohmann::json summary{{"cancelled", run->cancel.load()}, {"companies", std::move(companies)}};
    const std::string dumped = summary.dump();
    char* text = lb::capi::copy_string(dumped.data(), dumped.size());
    if (!text) throw std::bad_alloc();
    *summary_json = text;
  });
}

ledgerbridge_status ledgerbridge_run_cancel(ledgerbridge_run* run) {
  if (!run) return LEDGERBRIDGE_ERROR_ARGUMENT;
  run->cancel.store(true);
  return LEDGERBRIDGE_OK;
}

void ledgerbridge_run_free(ledgerbridge_run* run) { delete run; }

}  // extern "C"
