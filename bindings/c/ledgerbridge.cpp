// The C ABI (ledgerbridge.h) over the public C++ API. Every entry point catches everything:
// no exception crosses into C, and every failure is a status plus a message the caller frees.
#include "ledgerbridge.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "capi_internal.hpp"
#include "rules/sandbox.hpp"

struct ledgerbridge_pack {
  ledgerbridge::RulePack pack;
};

struct ledgerbridge_result {
  ledgerbridge::Outcome outcome;
};

using lb::capi::argument;
using lb::capi::guard;

const char* lb::capi::status_name(int status) {
  switch (status) {
    case LEDGERBRIDGE_OK: return "ok";
    case LEDGERBRIDGE_ERROR_ARGUMENT: return "argument";
    case LEDGERBRIDGE_ERROR_INPUT: return "input";
    case LEDGERBRIDGE_ERROR_NOT_FOUND: return "not_found";
    case LEDGERBRIDGE_ERROR_PACK: return "pack";
    case LEDGERBRIDGE_ERROR_DIRECTORY: return "directory";
    case LEDGERBRIDGE_ERROR_CALLBACK: return "callback";
    case LEDGERBRIDGE_ERROR_MEMORY: return "memory";
    case LEDGERBRIDGE_ERROR_INTERNAL: return "internal";
    case LEDGERBRIDGE_ERROR_CONFIG: return "config";
  }
  return "unknown";
}

extern "C" {

const char* ledgerbridge_version(void) { return ledgerbridge::version(); }

int ledgerbridge_abi_version(void) { return LEDGERBRIDGE_ABI_VERSION; }

const char* ledgerbridge_status_name(ledgerbridge_status status) { return lb::capi::status_name(lb::capi::raw(status)); }


void ledgerbridge_free(void* pointer) { std::free(pointer); }

ledgerbridge_status ledgerbridge_engine_new(ledgerbridge_engine** out, char** error) {
  if (!out) return argument(error, "ledgerbridge_engine_new: out is NULL");
  *out = nullptr;
  return guard(error, [&] { *out = new ledgerbridge_engine(); });
}

void ledgerbridge_engine_free(ledgerbridge_engine* engine) { delete engine; }

ledgerbridge_status ledgerbridge_engine_set_now(ledgerbridge_engine* engine, int64_t epoch_seconds) {
  if (!engine || epoch_seconds < 0) return LEDGERBRIDGE_ERROR_ARGUMENT;
  engine->options.now = epoch_seconds;
  return LEDGERBRIDGE_OK;
}

ledgerbridge_status ledgerbridge_engine_set_limit_ceiling(ledgerbridge_engine* engine, int64_t memory_mb,
                                                          int64_t hook_cpu_ms) {
  if (!engine || memory_mb < 0 || memory_mb > lb::rules::kMaxMemoryMb || hook_cpu_ms < 0 ||
      hook_cpu_ms > lb::rules::kMaxHookCpuMs)
    return LEDGERBRIDGE_ERROR_ARGUMENT;
  engine->options.max_memory_mb = memory_mb;
  engine->options.max_hook_cpu_ms = hook_cpu_ms;
  return LEDGERBRIDGE_OK;
}

ledgerbridge_status ledgerbridge_engine_set_log(ledgerbridge_engine* engine, ledgerbridge_log_fn log,
                                                ledgerbridge_log_level level, void* user_data) {
  const int lvl = lb::capi::raw(level);
  if (!engine || lvl < LEDGERBRIDGE_LOG_DEBUG || lvl > LEDGERBRIDGE_LOG_ERROR) return LEDGERBRIDGE_ERROR_ARGUMENT;
  return guard(nullptr, [&] {
    engine->options.log_level = static_cast<ledgerbridge::LogLevel>(lvl);
    if (!log) {
      engine->options.log = nullptr;
      return;
    }
    engine->options.log = [log, user_data](ledgerbridge::LogLevel l, std::string_view message) {
      const std::string text(message);  // NUL-terminated for C
      log(user_data, static_cast<ledgerbridge_log_level>(l), text.c_str());
    };
  });
}

ledgerbridge_status ledgerbridge_reply_json(ledgerbridge_reply* reply, const char* json, size_t length) {
  if (!reply || !json) return LEDGERBRIDGE_ERROR_ARGUMENT;
  return guard(nullptr, [&] {
    reply->json.assign(json, length == static_cast<size_t>(-1) ? std::strlen(json) : length);
    reply->has_json = true;
  });
}

ledgerbridge_status ledgerbridge_reply_error(ledgerbridge_reply* reply, ledgerbridge_erp_error kind,
                                             int64_t retry_after_ms, const char* message) {
  const int k = lb::capi::raw(kind);
  if (!reply || k < LEDGERBRIDGE_ERP_VALIDATION || k > LEDGERBRIDGE_ERP_ATTACHMENT || retry_after_ms < 0)
    return LEDGERBRIDGE_ERROR_ARGUMENT;
  return guard(nullptr, [&] {
    reply->has_error = true;
    reply->kind = kind;
    reply->retry_after_ms = retry_after_ms;
    reply->message = message ? message : "";
  });
}

ledgerbridge_status ledgerbridge_erp_new(ledgerbridge_directory_fn directory, ledgerbridge_post_fn post,
                                         ledgerbridge_lookup_fn lookup, ledgerbridge_upload_fn upload,
                                         ledgerbridge_release_fn release, void* user_data, ledgerbridge_erp** out,
                                         char** error) {
  if (!out) return argument(error, "ledgerbridge_erp_new: out is NULL");
  *out = nullptr;
  return guard(error, [&] {
    const lb::capi::Callbacks cb{.directory = directory, .post = post, .lookup = lookup, .upload = upload,
                                 .release = release, .user_data = user_data};
    auto handle = std::make_unique<ledgerbridge_erp>();
    // The last step that can throw: if it does, no HostErp exists, so release does not run and
    // the host still owns user_data, as the failed status tells it.
    handle->erp = std::make_shared<lb::capi::HostErp>(cb);
    *out = handle.release();
  });
}

void ledgerbridge_erp_free(ledgerbridge_erp* erp) { delete erp; }

ledgerbridge_status ledgerbridge_erp_set_capabilities(ledgerbridge_erp* erp, const char* capabilities_json,
                                                      char** error) {
  if (!erp) return argument(error, "ledgerbridge_erp_set_capabilities: erp is NULL");
  if (!capabilities_json) return argument(error, "ledgerbridge_erp_set_capabilities: capabilities_json is NULL");
  return guard(error, [&] {
    auto bad = [](const std::string& why) {
      return lb::capi::Failure(LEDGERBRIDGE_ERROR_ARGUMENT, "ledgerbridge_erp_set_capabilities: " + why);
    };
    const nlohmann::json j = nlohmann::json::parse(capabilities_json, nullptr, false);
    if (!j.is_object()) throw bad("expected a JSON object");
    lb::capi::HostErp::Attachments a;
    for (const auto& [key, value] : j.items()) {
      if (key == "singleAttachment") {
        if (!value.is_boolean()) throw bad("singleAttachment must be true or false");
        a.single = value.get<bool>();
      } else if (key == "maxAttachmentBytes") {
        if (!value.is_number_integer() || value.get<int64_t>() <= 0)
          throw bad("maxAttachmentBytes must be a positive integer");
        a.max_bytes = value.get<int64_t>();
      } else if (key == "attachmentTypes") {
        if (!value.is_array()) throw bad("attachmentTypes must be an array of MIME types");
        for (const auto& t : value) {
          if (!t.is_string() || t.get<std::string>().find('/') == std::string::npos)
            throw bad("attachmentTypes must be an array of MIME types");
          a.types.push_back(t.get<std::string>());
        }
      } else {
        throw bad("unknown key '" + key + "' (singleAttachment, maxAttachmentBytes, attachmentTypes)");
      }
    }
    erp->erp->set_attachments(std::move(a));
  });
}

ledgerbridge_status ledgerbridge_pack_load(ledgerbridge_engine* engine, const char* path, const char* settings_json,
                                           const char* directory_path, ledgerbridge_erp* erp, ledgerbridge_pack** out,
                                           char** error) {
  if (!out) return argument(error, "ledgerbridge_pack_load: out is NULL");
  *out = nullptr;
  if (!engine) return argument(error, "ledgerbridge_pack_load: engine is NULL");
  if (!path) return argument(error, "ledgerbridge_pack_load: path is NULL");
  return guard(error, [&] {
    ledgerbridge::PackOptions options;
    options.path = path;
    if (settings_json) options.settings_json = settings_json;
    if (directory_path) options.directory_path = directory_path;
    if (erp) options.directory = erp->erp;
    // The C++ Engine is a shared copy of the options: cheap, and setters stay simple.
    const ledgerbridge::Engine cpp(engine->options);
    *out = new ledgerbridge_pack{cpp.load_pack(options)};
  });
}

void ledgerbridge_pack_free(ledgerbridge_pack* pack) { delete pack; }

const char* ledgerbridge_pack_name(const ledgerbridge_pack* pack) { return pack ? pack->pack.name().c_str() : nullptr; }

ledgerbridge_status ledgerbridge_pack_evaluate(ledgerbridge_pack* pack, const char* item_json, size_t length,
                                               uint32_t flags, ledgerbridge_result** out, char** error) {
  if (!out) return argument(error, "ledgerbridge_pack_evaluate: out is NULL");
  *out = nullptr;
  if (!pack) return argument(error, "ledgerbridge_pack_evaluate: pack is NULL");
  if (!item_json) return argument(error, "ledgerbridge_pack_evaluate: item_json is NULL");
  if (flags & ~LEDGERBRIDGE_EVAL_TRACE) return argument(error, "ledgerbridge_pack_evaluate: unknown flags");
  return guard(error, [&] {
    const size_t n = length == static_cast<size_t>(-1) ? std::strlen(item_json) : length;
    auto result = std::make_unique<ledgerbridge_result>();
    pack->pack.evaluate(std::string_view(item_json, n), result->outcome, (flags & LEDGERBRIDGE_EVAL_TRACE) != 0);
    *out = result.release();
  });
}

void ledgerbridge_result_free(ledgerbridge_result* result) { delete result; }

ledgerbridge_outcome_status ledgerbridge_result_status(const ledgerbridge_result* result) {
  return result ? static_cast<ledgerbridge_outcome_status>(result->outcome.status) : LEDGERBRIDGE_FAILED;
}

const char* ledgerbridge_result_outcome_json(const ledgerbridge_result* result, size_t* length) {
  if (length) *length = 0;
  if (!result) return nullptr;
  if (length) *length = result->outcome.json.size();
  return result->outcome.json.c_str();
}

const char* ledgerbridge_result_trace_json(const ledgerbridge_result* result, size_t* length) {
  if (length) *length = 0;
  if (!result || result->outcome.trace_json.empty()) return nullptr;
  if (length) *length = result->outcome.trace_json.size();
  return result->outcome.trace_json.c_str();
}

}  // extern "C"
