/* ledgerbridge.h - the C ABI of ledgerbridge (issue #6).
 *
 * Embeds the rules engine in any language that can call C: load a rule pack, evaluate Pleo
 * Export API v3 items, answer the rules' ERP questions from the host, and run the whole Pleo
 * workflow (export jobs -> rules -> the host's ERP, exactly once) for configured companies.
 *
 * Conventions (the same for every function):
 *  - Every function returns a ledgerbridge_status (LEDGERBRIDGE_OK = 0) unless it is a plain
 *    accessor. No C++ exception ever crosses this boundary.
 *  - A function that can fail takes `char** error` last. On failure *error is set to a message
 *    the caller frees with ledgerbridge_free(); on success it is set to NULL. Pass NULL when the
 *    message is not wanted.
 *  - Handles are opaque. Each has one function that frees it (NULL is accepted and ignored).
 *    Strings given to the library are copied; the caller keeps ownership. Strings returned by
 *    accessors (const char*) belong to the handle and live as long as it does.
 *  - Strings are UTF-8. JSON in is NUL-terminated unless a length is taken.
 *  - Symbols are versioned (LEDGERBRIDGE_1; the run functions LEDGERBRIDGE_1.1;
 *    ledgerbridge_erp_set_capabilities LEDGERBRIDGE_1.2; ledgerbridge_engine_set_limit_ceiling
 *    LEDGERBRIDGE_1.3); only ledgerbridge_* is exported.
 */
#ifndef LEDGERBRIDGE_H
#define LEDGERBRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LEDGERBRIDGE_BUILDING) && defined(__GNUC__)
#define LEDGERBRIDGE_API __attribute__((visibility("default")))
#else
#define LEDGERBRIDGE_API
#endif

/* Bumped on any incompatible change of this header. Compare with ledgerbridge_abi_version() to
 * check that the library loaded at run time is the one compiled against. */
#define LEDGERBRIDGE_ABI_VERSION 1

typedef enum ledgerbridge_status {
  LEDGERBRIDGE_OK = 0,
  LEDGERBRIDGE_ERROR_ARGUMENT = 1,  /* a NULL handle or pointer, an invalid option */
  LEDGERBRIDGE_ERROR_INPUT = 2,     /* the item is not valid JSON or not a valid v3 export item */
  LEDGERBRIDGE_ERROR_NOT_FOUND = 3, /* a file, folder or configured company does not exist */
  LEDGERBRIDGE_ERROR_PACK = 4,      /* the rule pack is invalid or a rule does not compile */
  LEDGERBRIDGE_ERROR_DIRECTORY = 5, /* the ERP directory file is invalid */
  LEDGERBRIDGE_ERROR_CALLBACK = 6,  /* a host callback failed (also what callbacks return) */
  LEDGERBRIDGE_ERROR_MEMORY = 7,    /* out of memory */
  LEDGERBRIDGE_ERROR_INTERNAL = 8,  /* a bug in ledgerbridge: please report it */
  LEDGERBRIDGE_ERROR_CONFIG = 9     /* the run configuration is invalid, or no company could start */
} ledgerbridge_status;

/* ---- library ------------------------------------------------------------------------------ */

/* "MAJOR.MINOR.PATCH". Static string. Thread-safe. */
LEDGERBRIDGE_API const char* ledgerbridge_version(void);
/* LEDGERBRIDGE_ABI_VERSION of the library. Thread-safe. */
LEDGERBRIDGE_API int ledgerbridge_abi_version(void);
/* "ok", "argument", "input", ..., "config" ("unknown" for other values). Static string. Thread-safe. */
LEDGERBRIDGE_API const char* ledgerbridge_status_name(ledgerbridge_status status);
/* Frees a string the library allocated for the caller (the `error` out-parameters). NULL is
 * ignored. Thread-safe. */
LEDGERBRIDGE_API void ledgerbridge_free(void* pointer);

/* ---- engine ------------------------------------------------------------------------------- */

typedef struct ledgerbridge_engine ledgerbridge_engine;

typedef enum ledgerbridge_log_level {
  LEDGERBRIDGE_LOG_DEBUG = 0,
  LEDGERBRIDGE_LOG_INFO = 1,
  LEDGERBRIDGE_LOG_WARNING = 2,
  LEDGERBRIDGE_LOG_ERROR = 3
} ledgerbridge_log_level;

/* `message` is valid only during the call. Called from whichever thread logs, possibly several
 * at once. Must not call back into the library with the same engine's setters. */
typedef void (*ledgerbridge_log_fn)(void* user_data, ledgerbridge_log_level level, const char* message);

/* Creates an engine: what every pack shares (clock, logging). Free with ledgerbridge_engine_free.
 * Thread-safe. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_engine_new(ledgerbridge_engine** out, char** error);
/* Frees the engine. Packs loaded from it stay usable (they keep what they need). Not
 * thread-safe with other calls on the same engine. */
LEDGERBRIDGE_API void ledgerbridge_engine_free(ledgerbridge_engine* engine);
/* Freezes the rules' clock (os.time, ctx.date.today) at `epoch_seconds` (UTC) for packs loaded
 * afterwards. 0 (the default): the wall clock, read once when each pack loads. Call before
 * loading packs; not thread-safe with other calls on the same engine. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_engine_set_now(ledgerbridge_engine* engine, int64_t epoch_seconds);
/* The operator's ceiling on what a rule pack's pack.toml [limits] may set, for packs loaded and
 * runs created afterwards: `memory_mb` (1-4096) and `hook_cpu_ms` (1-60000), compared with the
 * pack's limits after extends (a pack that sets none has the defaults, 64 MiB and 100 ms). 0
 * leaves that one at the engine maximum (no cap, the default); each call sets both. A pack above
 * it fails ledgerbridge_pack_load with PACK and a message naming the pack, the limit, its value
 * and the ceiling: "rule pack 'acme-dk' sets [limits] memory_mb = 1024, above this
 * installation's ceiling of 256". It is refused, never run with less than it asked for (it
 * would then behave unlike its fixtures). In a run, a non-zero value replaces the configuration
 * file's [limits] max_memory_mb / max_hook_cpu_ms, and a company whose pack is above the
 * ceiling does not start. ARGUMENT for a NULL engine or a value out of range. Call before
 * loading packs; not thread-safe with other calls on the same engine. (LEDGERBRIDGE_1.3) */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_engine_set_limit_ceiling(ledgerbridge_engine* engine,
                                                                           int64_t memory_mb, int64_t hook_cpu_ms);
/* Sends the engine's messages at `level` and above to `log` (NULL: stop logging). `user_data`
 * is passed back untouched and must stay valid while any pack loaded afterwards lives. Call
 * before loading packs; not thread-safe with other calls on the same engine. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_engine_set_log(ledgerbridge_engine* engine, ledgerbridge_log_fn log,
                                                                 ledgerbridge_log_level level, void* user_data);

/* ---- the host's ERP ----------------------------------------------------------------------- */
/* The host answers the rules' questions about its ERP (ctx.erp.*) and, for the workflow, takes
 * the documents. Every callback gets the `user_data` given to ledgerbridge_erp_new, answers
 * through the `reply` it is handed (valid only during the call; set at most one of JSON or
 * error), and returns LEDGERBRIDGE_OK, or any other status when it failed. Callbacks may be
 * called from several threads at once when a pack is evaluated concurrently. */

typedef struct ledgerbridge_erp ledgerbridge_erp;
typedef struct ledgerbridge_reply ledgerbridge_reply;

/* The answer of a callback: a JSON text (copied; `length` in bytes, or (size_t)-1 when `json` is
 * NUL-terminated). Not calling it means "not found" / null. Call only from inside the callback
 * that was handed `reply`, on its thread. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_reply_json(ledgerbridge_reply* reply, const char* json, size_t length);

typedef enum ledgerbridge_erp_error {
  LEDGERBRIDGE_ERP_VALIDATION = 1,  /* the ERP refused the document: the item fails */
  LEDGERBRIDGE_ERP_UNREACHABLE = 2, /* network, 5xx: retried, then the job fails */
  LEDGERBRIDGE_ERP_AUTH = 3,        /* credentials rejected: the company stops */
  LEDGERBRIDGE_ERP_RATE_LIMIT = 4,  /* slow down (retry_after_ms when known, else 0) */
  LEDGERBRIDGE_ERP_TIMEOUT = 5,     /* no answer in time: the write may have happened */
  LEDGERBRIDGE_ERP_CONFLICT = 6,    /* the ERP already holds a document with this external key */
  LEDGERBRIDGE_ERP_ATTACHMENT = 7   /* an attachment was refused */
} ledgerbridge_erp_error;

/* Why a callback failed (`message` copied, for people, never with credentials). A callback
 * that returns an error status without calling this is reported as UNREACHABLE. Same rules as
 * ledgerbridge_reply_json. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_reply_error(ledgerbridge_reply* reply, ledgerbridge_erp_error kind,
                                                              int64_t retry_after_ms, const char* message);

typedef enum ledgerbridge_directory_query {
  /* key: account code. Reply {"code","name","currency"?,"blocked"?} or nothing (unknown). */
  LEDGERBRIDGE_QUERY_ACCOUNT = 1,
  /* key: vendor code / external id / tax number. Reply {"code","name","externalId"?,
   * "taxNumber"?,"registrationNumber"?,"currency"?,"payablesAccount"?,"blocked"?} or nothing. */
  LEDGERBRIDGE_QUERY_VENDOR_BY_CODE = 2,
  LEDGERBRIDGE_QUERY_VENDOR_BY_EXTERNAL_ID = 3,
  LEDGERBRIDGE_QUERY_VENDOR_BY_TAX_NUMBER = 4,
  /* key: tax code. Reply {"code","name","rate":0.25,"type":"inclusive|exclusive|reverse",
   * "ingoingTaxAccount"?,"outgoingTaxAccount"?,"blocked"?} or nothing. */
  LEDGERBRIDGE_QUERY_TAX_CODE = 5,
  /* key: dimension (DEPT), key2: value code (ENG). Reply {"dimension","code","name"?,"blocked"?}. */
  LEDGERBRIDGE_QUERY_DIMENSION_VALUE = 6,
  /* key: YYYY-MM-DD. Reply true or false (nothing: open). */
  LEDGERBRIDGE_QUERY_PERIOD_OPEN = 7,
  /* key: YYYY-MM-DD. Reply "YYYY-MM-DD", the first open date on or after key, or nothing. */
  LEDGERBRIDGE_QUERY_NEXT_OPEN_DATE = 8
} ledgerbridge_directory_query;

/* `key` is never NULL; `key2` is NULL except for DIMENSION_VALUE. A failure fails the item being
 * evaluated with unexpected_failure and the reply_error message; it is never taken as "unknown". */
typedef ledgerbridge_status (*ledgerbridge_directory_fn)(void* user_data, ledgerbridge_directory_query query,
                                                          const char* key, const char* key2, ledgerbridge_reply* reply);
/* Writes one posting document (its canonical JSON, with "externalKey" that lookup must find
 * later). Reply {"externalId": "...", "url": "..."?}. */
typedef ledgerbridge_status (*ledgerbridge_post_fn)(void* user_data, const char* document_json,
                                                     ledgerbridge_reply* reply);
/* The document posted under `external_key`: reply {"externalId","url"?}, or nothing if none. */
typedef ledgerbridge_status (*ledgerbridge_lookup_fn)(void* user_data, const char* external_key,
                                                       ledgerbridge_reply* reply);
/* Attaches a file to a posted document. `posted_json` is {"externalId","url"}; `attachment_json`
 * is {"key","url","type","size"} (key is stable: the same key twice must attach once). Reply
 * nothing. */
typedef ledgerbridge_status (*ledgerbridge_upload_fn)(void* user_data, const char* posted_json,
                                                       const char* attachment_json, const uint8_t* bytes, size_t size,
                                                       ledgerbridge_reply* reply);
/* Called once, when the last handle that uses the ERP is freed: release user_data here. */
typedef void (*ledgerbridge_release_fn)(void* user_data);

/* Creates a host ERP from callbacks; any may be NULL (a NULL `directory` answers "unknown" to
 * everything; post/lookup/upload are used by the workflow, see ledgerbridge_run_set_erp). Packs
 * and runs that use the ERP keep it alive: ledgerbridge_erp_free may be called right after
 * handing it to them, and callbacks go on until the last of them is freed, then `release` runs.
 * Thread-safe. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_erp_new(ledgerbridge_directory_fn directory, ledgerbridge_post_fn post,
                                                          ledgerbridge_lookup_fn lookup, ledgerbridge_upload_fn upload,
                                                          ledgerbridge_release_fn release, void* user_data,
                                                          ledgerbridge_erp** out, char** error);
/* Drops the caller's reference; packs and runs given it keep theirs. Not thread-safe with a
 * ledgerbridge_pack_load or ledgerbridge_run_set_erp that is using the same handle. */
LEDGERBRIDGE_API void ledgerbridge_erp_free(ledgerbridge_erp* erp);
/* What the ERP takes as attachments (receipts, domain brief §2.8), as a JSON object; every key is
 * optional: {"singleAttachment": true, "maxAttachmentBytes": 10485760, "attachmentTypes":
 * ["application/pdf", "image/jpeg"]}. singleAttachment: one file per document, so a run merges
 * an item's receipts into one PDF before calling upload. attachmentTypes: none = any; a JPEG or
 * PNG of another type is converted to PDF when PDF is accepted. Default: several files, any
 * type, 30 MB each. Replaces the previous setting; runs already given the ERP see it. An unknown
 * key or a wrong value is LEDGERBRIDGE_ERROR_ARGUMENT. Thread-safe. (LEDGERBRIDGE_1.2) */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_erp_set_capabilities(ledgerbridge_erp* erp,
                                                                       const char* capabilities_json, char** error);

/* ---- rule packs --------------------------------------------------------------------------- */

typedef struct ledgerbridge_pack ledgerbridge_pack;

/* Loads and compiles the rule pack in folder `path` (its `extends` parents are found beside it).
 * `settings_json`: NULL, or a JSON object merged over the pack's settings ({"accounts":
 * {"wallet":"5810"}}). The ERP directory the rules query: `erp` (a host ERP), or
 * `directory_path` (a YAML/JSON file or a folder of CSV files), or neither (an empty directory);
 * not both. Errors: NOT_FOUND, PACK (with file:line), DIRECTORY, ARGUMENT. Thread-safe. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_pack_load(ledgerbridge_engine* engine, const char* path,
                                                            const char* settings_json, const char* directory_path,
                                                            ledgerbridge_erp* erp, ledgerbridge_pack** out,
                                                            char** error);
/* Frees the pack. Not thread-safe with evaluations still running on it. */
LEDGERBRIDGE_API void ledgerbridge_pack_free(ledgerbridge_pack* pack);
/* The pack's name (pack.toml). Owned by the pack. Thread-safe. */
LEDGERBRIDGE_API const char* ledgerbridge_pack_name(const ledgerbridge_pack* pack);

/* ---- evaluating items --------------------------------------------------------------------- */

typedef struct ledgerbridge_result ledgerbridge_result;

typedef enum ledgerbridge_outcome_status {
  LEDGERBRIDGE_DECIDED = 0, /* the decisions (and documents) are in the outcome JSON */
  LEDGERBRIDGE_SKIPPED = 1, /* the pack skipped the item; "reason" says why */
  LEDGERBRIDGE_FAILED = 2   /* "failure": {"type": Pleo's failureReasonType, "message"} */
} ledgerbridge_outcome_status;

/* Flags for ledgerbridge_pack_evaluate. */
#define LEDGERBRIDGE_EVAL_TRACE 1u /* record the decision trace (slower) */

/* Evaluates one export item: `item_json` is one ExportItemV3 object, `length` bytes ((size_t)-1:
 * NUL-terminated). A rule that fails is not an error: the result's status is FAILED. Errors:
 * INPUT (bad JSON or item, with the JSON path), INTERNAL. On success *out is a result the caller
 * frees with ledgerbridge_result_free.
 * Thread-safe: any number of threads may evaluate on one shared pack at once (each concurrent
 * caller gets its own sandboxed Lua state), and the host ERP's callbacks then run concurrently. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_pack_evaluate(ledgerbridge_pack* pack, const char* item_json,
                                                                size_t length, uint32_t flags,
                                                                ledgerbridge_result** out, char** error);
LEDGERBRIDGE_API void ledgerbridge_result_free(ledgerbridge_result* result);
/* Accessors: read-only, so thread-safe on a result no one frees meanwhile. */
LEDGERBRIDGE_API ledgerbridge_outcome_status ledgerbridge_result_status(const ledgerbridge_result* result);
/* The outcome as one JSON object (accountingEntryId, status, failure/reason/decisions,
 * warnings, documents...), NUL-terminated; its length in *length if not NULL. Owned by the
 * result. */
LEDGERBRIDGE_API const char* ledgerbridge_result_outcome_json(const ledgerbridge_result* result, size_t* length);
/* The decision trace as JSON when evaluated with LEDGERBRIDGE_EVAL_TRACE, else NULL. Owned by
 * the result. */
LEDGERBRIDGE_API const char* ledgerbridge_result_trace_json(const ledgerbridge_result* result, size_t* length);

/* ---- running the Pleo workflow ------------------------------------------------------------ */
/* One run of `ledgerbridge run` inside the host: for every company of a configuration file (see
 * engine/src/workflow/config.hpp for its TOML), list the pending export jobs (and the
 * in_progress ones this installation claimed), claim them, evaluate every item with the
 * company's rule pack, post the documents to its ERP exactly once through the ledger, and
 * report each item's status and the job's final event to Pleo. Companies run one after the
 * other, jobs one at a time, all on the thread that calls ledgerbridge_run_execute.
 *
 * A company's ERP is the one its configuration names (`erp = {kind = "sqlite", ...}`) unless the
 * host supplies its own with ledgerbridge_run_set_erp: then the host's callbacks answer the
 * rules' directory questions and receive the documents (post, then lookup when an earlier run
 * was interrupted between writing a document and recording it). A company whose ERP is always
 * the host's says so in the file: `erp = { kind = "host" }` (without a host ERP it does not start).
 * `pleo = "sim"` is not served here: start `ledgerbridge sim` and configure its URL instead.
 *
 *   ledgerbridge_run* run;
 *   ledgerbridge_run_new(engine, "ledgerbridge.toml", NULL, &run, &error);
 *   ledgerbridge_run_set_erp(run, "6513270e-...", erp, &error);       (optional)
 *   ledgerbridge_run_set_progress(run, on_progress, state);            (optional)
 *   ledgerbridge_run_execute(run, &summary_json, &error);   another thread: ledgerbridge_run_cancel(run)
 *   ledgerbridge_free(summary_json); ledgerbridge_run_free(run);
 */

typedef struct ledgerbridge_run ledgerbridge_run;

/* Called after each item of a job gets its final status: `done` of `total` items this run
 * processes in job `job_id` of company `company_id` (strings valid only during the call). Runs on
 * the thread of ledgerbridge_run_execute. May call ledgerbridge_run_cancel; must not call any
 * other function on the same run. */
typedef void (*ledgerbridge_progress_fn)(void* user_data, const char* company_id, const char* job_id, int64_t done,
                                         int64_t total);

/* Creates a run of the companies in the TOML configuration file `config_path` (its relative paths
 * are relative to the file), or only of company `company_id` when it is not NULL. The file is read
 * and checked now; secrets (api_key = "env:NAME" / "file:/path") are resolved when executing.
 * The engine's clock (ledgerbridge_engine_set_now), limit ceiling
 * (ledgerbridge_engine_set_limit_ceiling, over the file's [limits]) and log callback
 * (ledgerbridge_engine_set_log, which also receives the workflow's messages) are copied: the
 * engine may be freed afterwards.
 * Errors: NOT_FOUND (no such file, or no company `company_id` in it), CONFIG (the file is not a
 * valid configuration: the message has file:line), ARGUMENT. Free with ledgerbridge_run_free.
 * Thread-safe. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_run_new(ledgerbridge_engine* engine, const char* config_path,
                                                          const char* company_id, ledgerbridge_run** out,
                                                          char** error);
/* Uses the host's ERP `erp` for company `company_id` instead of the ERP its configuration names
 * (NULL: back to the configured one). The run keeps its own reference: `erp` may be freed right
 * after. The ERP's callbacks are then called on the thread of ledgerbridge_run_execute. Errors:
 * NOT_FOUND (no such company in the run), ARGUMENT (also while executing). Not thread-safe with
 * other calls on the same run except ledgerbridge_run_cancel. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_run_set_erp(ledgerbridge_run* run, const char* company_id,
                                                              ledgerbridge_erp* erp, char** error);
/* Calls `progress` (NULL: none) with `user_data`, which must stay valid while the run executes.
 * ARGUMENT while executing. Not thread-safe with other calls on the same run except
 * ledgerbridge_run_cancel. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_run_set_progress(ledgerbridge_run* run,
                                                                   ledgerbridge_progress_fn progress, void* user_data);
/* Runs every company of the run once; returns when all are done or the run was cancelled.
 *
 * LEDGERBRIDGE_OK when it ran, even if items, jobs or some companies failed: *summary_json (freed
 * with ledgerbridge_free) then tells what happened:
 *   {"cancelled": false,
 *    "companies": [{"id", "name",
 *                   "error": null | "why the company stopped or could not start",
 *                   "started": true (false: its set-up failed - credentials, pack, ERP - nothing ran),
 *                   "jobs_skipped": 0 (in_progress jobs another integration claimed),
 *                   "jobs": [{"id",
 *                             "final_event": "completed" | "completed_with_errors" | "failed" | null,
 *                             "stopped": null | "why this run left the job unfinished",
 *                             "claimed_here", "resumed": bool,
 *                             "successful", "failed", "skipped", "already_final",
 *                             "documents_posted", "documents_recovered", "reexports": integers,
 *                             "job_entry_members": items booked in one entry per export job
 *                             (the pack's posting.one_entry_per_job), reported with its id,
 *                             "failures": {"<failureReasonType>": count}}]}]}
 * A job with final_event null is left in_progress, claimed by this installation: the next
 * execute (of this or any later run on the same ledger) resumes it, without a second `started`
 * and without posting any document twice.
 * Errors (*summary_json NULL): CONFIG when no company could start at all (the ledger cannot be
 * opened, every company's credentials/pack/ERP failed; the message names each), ARGUMENT (NULL
 * run, or an execute already running on it), MEMORY, INTERNAL.
 * Not thread-safe with other calls on the same run except ledgerbridge_run_cancel; different runs
 * may execute on different threads at once (their companies should differ). */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_run_execute(ledgerbridge_run* run, char** summary_json,
                                                              char** error);
/* Asks the executing run to stop: it stops before its next item (the item being processed is
 * finished first: its document posted and recorded in the ledger) and leaves the job in_progress
 * ("final_event": null, "stopped": "cancelled"), claimed by this installation and resumable by a
 * later execute, which goes on from the ledger: nothing is posted twice. Jobs and companies not
 * started yet are skipped (a company's "error": "cancelled"); execute returns OK with
 * "cancelled": true. A cancel requested while no
 * execute runs applies to the next one. Each execute clears the request when it returns.
 * Thread-safe and async-signal-safe: callable from any thread, a progress callback or a signal
 * handler, while execute runs. ARGUMENT for a NULL run. */
LEDGERBRIDGE_API ledgerbridge_status ledgerbridge_run_cancel(ledgerbridge_run* run);
/* Frees the run and its references to host ERPs (whose release may run now). NULL is ignored.
 * Not while it executes: cancel, wait for execute to return, then free. */
LEDGERBRIDGE_API void ledgerbridge_run_free(ledgerbridge_run* run);

#ifdef __cplusplus
}
#endif

#endif /* LEDGERBRIDGE_H */
