/* The C ABI from plain C11: every function, its errors, who owns what (run under ASan in CI),
 * a host ERP directory written in C, and concurrent evaluation from several threads. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* realpath */
#include <ledgerbridge.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (cond) {                                                           \
      ++passed;                                                           \
    } else {                                                              \
      ++failed;                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

#define CONTAINS(haystack, needle) ((haystack) != NULL && strstr((haystack), (needle)) != NULL)

/* 2026-01-15T00:00:00Z: the same frozen day as the CLI tests, so outcomes are stable. */
#define NOW 1768435200

/* ---- test data --------------------------------------------------------------------------- */

#define MAX_ITEMS 16
static char* items[MAX_ITEMS];
static int item_count;

static void read_items(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  char* line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0 && item_count < MAX_ITEMS) {
    if (line[n - 1] == '\n') line[--n] = '\0';
    if (n == 0) continue;
    items[item_count++] = strdup(line);
  }
  free(line);
  fclose(f);
}

static char* temp_dir(void) {
  char templ[] = "/tmp/lb-capi-XXXXXX";
  char* dir = mkdtemp(templ);
  return dir ? strdup(dir) : NULL;
}

/* Removes and frees a temp_dir(). */
static void remove_temp_dir(char* dir) {
  char command[600];
  snprintf(command, sizeof command, "rm -rf '%s'", dir);
  CHECK(system(command) == 0);
  free(dir);
}

static void write_file(const char* dir, const char* name, const char* text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "wb");
  if (!f) exit(2);
  fputs(text, f);
  fclose(f);
}

/* ---- a host ERP directory in C: examples/data/directory.yaml as static tables ------------ */

struct host {
  atomic_int queries;
  atomic_int released;
  const char* fail_account; /* an account code whose look-up fails, or NULL */
  int bad_json;             /* answer every account look-up with text that is not JSON */
};

static const char* const accounts[][2] = {
    {"1810", "{\"code\":\"1810\",\"name\":\"Pleo GBP wallet\",\"currency\":\"GBP\"}"},
    {"1812", "{\"code\":\"1812\",\"name\":\"Pleo EUR wallet\",\"currency\":\"EUR\"}"},
    {"5810", "{\"code\":\"5810\",\"name\":\"Pleo DKK wallet\",\"currency\":\"DKK\"}"},
    {"1900", "{\"code\":\"1900\",\"name\":\"Bank clearing\"}"},
    {"2000", "{\"code\":\"2000\",\"name\":\"Accounts payable\"}"},
    {"2820", "{\"code\":\"2820\",\"name\":\"Employee out-of-pocket\"}"},
    {"2640", "{\"code\":\"2640\",\"name\":\"Input VAT\"}"},
    {"2830", "{\"code\":\"2830\",\"name\":\"Payroll reimbursements\"}"},
    {"14400", "{\"code\":\"14400\",\"name\":\"Input VAT, reverse charge\"}"},
    {"14500", "{\"code\":\"14500\",\"name\":\"Output VAT, reverse charge\"}"},
    {"6010", "{\"code\":\"6010\",\"name\":\"Office supplies\"}"},
    {"6110", "{\"code\":\"6110\",\"name\":\"Software subscriptions\"}"},
    {"6210", "{\"code\":\"6210\",\"name\":\"Hardware\"}"},
    {"7110", "{\"code\":\"7110\",\"name\":\"Consulting\"}"},
    {"7310", "{\"code\":\"7310\",\"name\":\"Travel and accommodation\"}"},
    {"8510", "{\"code\":\"8510\",\"name\":\"Bank fees and interest\"}"},
};
static const char* const v1001 =
    "{\"code\":\"V1001\",\"name\":\"TestSupplier123\",\"externalId\":\"V1001\",\"taxNumber\":\"12345\","
    "\"payablesAccount\":\"2000\"}";
static const char* const v2002 = "{\"code\":\"V2002\",\"name\":\"Old Supplier Ltd\",\"blocked\":true}";
static const char* const tax_codes[][2] = {
    {"S20", "{\"code\":\"S20\",\"name\":\"Standard 20%\",\"rate\":0.2,\"type\":\"inclusive\",\"ingoingTaxAccount\":\"2640\"}"},
    {"RC25", "{\"code\":\"RC25\",\"name\":\"Reverse charge 25%\",\"rate\":0.25,\"type\":\"reverse\","
             "\"ingoingTaxAccount\":\"14400\",\"outgoingTaxAccount\":\"14500\"}"},
};
static const char* const dimensions[][2] = {
    {"DEPT", "ENG"}, {"DEPT", "SALES"}, {"DEPT", "OPS"}, {"PROJ", "P-2025-07"}, {"PROJ", "P-2025-08"}};

static int closed(const char* date) {
  return strncmp(date, "2025-01", 7) == 0 || strncmp(date, "2025-02", 7) == 0 || strncmp(date, "2025-03", 7) == 0;
}

static int upper_equal(const char* a, const char* b) {
  for (; *a && *b; ++a, ++b) {
    char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;
    char y = *b >= 'a' && *b <= 'z' ? (char)(*b - 32) : *b;
    if (x != y) return 0;
  }
  return *a == *b;
}

static ledgerbridge_status directory(void* user_data, ledgerbridge_directory_query query, const char* key,
                                     const char* key2, ledgerbridge_reply* reply) {
  struct host* h = user_data;
  atomic_fetch_add(&h->queries, 1);
  size_t i;
  switch (query) {
    case LEDGERBRIDGE_QUERY_ACCOUNT:
      if (h->fail_account && strcmp(key, h->fail_account) == 0) {
        ledgerbridge_reply_error(reply, LEDGERBRIDGE_ERP_UNREACHABLE, 0, "ERP is down for maintenance");
        return LEDGERBRIDGE_ERROR_CALLBACK;
      }
      if (h->bad_json) return ledgerbridge_reply_json(reply, "{not json", (size_t)-1);
      for (i = 0; i < sizeof accounts / sizeof accounts[0]; ++i)
        if (strcmp(key, accounts[i][0]) == 0) return ledgerbridge_reply_json(reply, accounts[i][1], strlen(accounts[i][1]));
      return LEDGERBRIDGE_OK; /* unknown */
    case LEDGERBRIDGE_QUERY_VENDOR_BY_CODE:
      if (strcmp(key, "V1001") == 0) return ledgerbridge_reply_json(reply, v1001, (size_t)-1);
      if (strcmp(key, "V2002") == 0) return ledgerbridge_reply_json(reply, v2002, (size_t)-1);
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_VENDOR_BY_EXTERNAL_ID:
      if (strcmp(key, "V1001") == 0) return ledgerbridge_reply_json(reply, v1001, (size_t)-1);
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_VENDOR_BY_TAX_NUMBER:
      if (strcmp(key, "12345") == 0) return ledgerbridge_reply_json(reply, v1001, (size_t)-1);
      return ledgerbridge_reply_json(reply, "null", 4); /* null is "unknown" too */
    case LEDGERBRIDGE_QUERY_TAX_CODE:
      for (i = 0; i < sizeof tax_codes / sizeof tax_codes[0]; ++i)
        if (strcmp(key, tax_codes[i][0]) == 0) return ledgerbridge_reply_json(reply, tax_codes[i][1], (size_t)-1);
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_DIMENSION_VALUE:
      if (!key2) return LEDGERBRIDGE_ERROR_ARGUMENT;
      for (i = 0; i < sizeof dimensions / sizeof dimensions[0]; ++i) {
        if (upper_equal(key, dimensions[i][0]) && upper_equal(key2, dimensions[i][1])) {
          char json[128];
          snprintf(json, sizeof json, "{\"dimension\":\"%s\",\"code\":\"%s\"}", dimensions[i][0], dimensions[i][1]);
          return ledgerbridge_reply_json(reply, json, (size_t)-1);
        }
      }
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_PERIOD_OPEN:
      return ledgerbridge_reply_json(reply, closed(key) ? "false" : "true", (size_t)-1);
    case LEDGERBRIDGE_QUERY_NEXT_OPEN_DATE:
      if (closed(key)) return ledgerbridge_reply_json(reply, "\"2025-04-01\"", (size_t)-1);
      {
        char json[32];
        snprintf(json, sizeof json, "\"%.10s\"", key);
        return ledgerbridge_reply_json(reply, json, (size_t)-1);
      }
  }
  return LEDGERBRIDGE_ERROR_ARGUMENT;
}

static void release(void* user_data) {
  struct host* h = user_data;
  atomic_fetch_add(&h->released, 1);
}

/* ---- logging ----------------------------------------------------------------------------- */

static char last_log[512];
static int log_calls;
static ledgerbridge_log_level last_level;

static void on_log(void* user_data, ledgerbridge_log_level level, const char* message) {
  (void)user_data;
  ++log_calls;
  last_level = level;
  snprintf(last_log, sizeof last_log, "%s", message);
}

/* ---- tests ------------------------------------------------------------------------------- */

static const char* rules_dir;
static const char* data_dir;
static char demo_pack[PATH_MAX + 16], directory_file[PATH_MAX + 32];

static ledgerbridge_engine* new_engine(void) {
  ledgerbridge_engine* engine = NULL;
  char* error = NULL;
  CHECK(ledgerbridge_engine_new(&engine, &error) == LEDGERBRIDGE_OK);
  CHECK(error == NULL);
  CHECK(ledgerbridge_engine_set_now(engine, NOW) == LEDGERBRIDGE_OK);
  return engine;
}

static void test_library(void) {
  CHECK(strcmp(ledgerbridge_version(), "0.1.0") == 0 || strchr(ledgerbridge_version(), '.') != NULL);
  CHECK(ledgerbridge_abi_version() == LEDGERBRIDGE_ABI_VERSION);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_OK), "ok") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_ARGUMENT), "argument") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_INPUT), "input") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_PACK), "pack") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_DIRECTORY), "directory") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_CALLBACK), "callback") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_MEMORY), "memory") == 0);
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_INTERNAL), "internal") == 0);
  CHECK(strcmp(ledgerbridge_status_name((ledgerbridge_status)99), "unknown") == 0);
  ledgerbridge_free(NULL);
  /* NULL handles are ignored by every free function. */
  ledgerbridge_engine_free(NULL);
  ledgerbridge_pack_free(NULL);
  ledgerbridge_result_free(NULL);
  ledgerbridge_erp_free(NULL);
  /* Accessors on NULL do not crash. */
  CHECK(ledgerbridge_pack_name(NULL) == NULL);
  CHECK(ledgerbridge_result_status(NULL) == LEDGERBRIDGE_FAILED);
  size_t n = 99;
  CHECK(ledgerbridge_result_outcome_json(NULL, &n) == NULL && n == 0);
  CHECK(ledgerbridge_result_trace_json(NULL, NULL) == NULL);
}

static void test_engine(void) {
  char* error = (char*)1;
  CHECK(ledgerbridge_engine_new(NULL, &error) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(CONTAINS(error, "out is NULL"));
  ledgerbridge_free(error);
  CHECK(ledgerbridge_engine_new(NULL, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT); /* error not wanted */

  ledgerbridge_engine* engine = new_engine();
  CHECK(ledgerbridge_engine_set_now(NULL, NOW) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_now(engine, -1) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_log(engine, on_log, (ledgerbridge_log_level)7, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_log(NULL, on_log, LEDGERBRIDGE_LOG_INFO, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_log(engine, on_log, LEDGERBRIDGE_LOG_INFO, NULL) == LEDGERBRIDGE_OK);

  ledgerbridge_pack* pack = NULL;
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, directory_file, NULL, &pack, &error) == LEDGERBRIDGE_OK);
  CHECK(error == NULL);
  CHECK(log_calls == 1 && last_level == LEDGERBRIDGE_LOG_INFO);
  CHECK(CONTAINS(last_log, "rule pack 'demo' loaded"));
  CHECK(strcmp(ledgerbridge_pack_name(pack), "demo") == 0);
  ledgerbridge_pack_free(pack);

  /* Above the level nothing is logged; NULL turns logging off. */
  CHECK(ledgerbridge_engine_set_log(engine, on_log, LEDGERBRIDGE_LOG_WARNING, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_pack_free(pack);
  CHECK(ledgerbridge_engine_set_log(engine, NULL, LEDGERBRIDGE_LOG_DEBUG, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_pack_free(pack);
  CHECK(log_calls == 1);
  ledgerbridge_engine_free(engine);
}

static void expect_load_error(ledgerbridge_engine* engine, const char* path, const char* settings, const char* dir,
                              ledgerbridge_erp* erp, ledgerbridge_status want, const char* message) {
  ledgerbridge_pack* pack = (ledgerbridge_pack*)1;
  char* error = NULL;
  ledgerbridge_status st = ledgerbridge_pack_load(engine, path, settings, dir, erp, &pack, &error);
  CHECK(st == want);
  CHECK(pack == NULL);
  CHECK(CONTAINS(error, message));
  if (st != want || !CONTAINS(error, message))
    fprintf(stderr, "  got %s: %s (wanted %s: %s)\n", ledgerbridge_status_name(st), error ? error : "(null)",
            ledgerbridge_status_name(want), message);
  ledgerbridge_free(error);
}

static void test_pack_errors(void) {
  ledgerbridge_engine* engine = new_engine();
  char* tmp = temp_dir();
  char path[512];

  expect_load_error(engine, "/no/such/pack", NULL, NULL, NULL, LEDGERBRIDGE_ERROR_NOT_FOUND, "/no/such/pack");
  expect_load_error(NULL, demo_pack, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_ARGUMENT, "engine is NULL");
  expect_load_error(engine, NULL, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_ARGUMENT, "path is NULL");
  expect_load_error(engine, demo_pack, "{\"accounts\":", NULL, NULL, LEDGERBRIDGE_ERROR_ARGUMENT, "JSON object");
  expect_load_error(engine, demo_pack, "[1,2]", NULL, NULL, LEDGERBRIDGE_ERROR_ARGUMENT, "JSON object");
  expect_load_error(engine, demo_pack, NULL, "/no/such/directory.yaml", NULL, LEDGERBRIDGE_ERROR_NOT_FOUND,
                    "no/such/directory.yaml");
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, NULL, NULL, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);

  /* A folder that is not a pack, a pack.toml with an unknown key, a rule that does not compile. */
  expect_load_error(engine, tmp, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_PACK, "pack.toml");
  write_file(tmp, "pack.toml", "name = \"broken\"\nfoo = 1\n");
  expect_load_error(engine, tmp, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_PACK, "unknown or mistyped key 'foo'");
  write_file(tmp, "pack.toml", "name = \"broken\"\n");
  write_file(tmp, "rules.lua", "local M = {}\nfunction M.account(line\nreturn M\n");
  expect_load_error(engine, tmp, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_PACK, "rules.lua:");

  /* A directory file that is not a directory. */
  write_file(tmp, "directory.yaml", "accounts:\n  - {name: no code}\n");
  snprintf(path, sizeof path, "%s/directory.yaml", tmp);
  expect_load_error(engine, demo_pack, NULL, path, NULL, LEDGERBRIDGE_ERROR_DIRECTORY, "directory.yaml");

  /* A host ERP and a directory file at once. */
  ledgerbridge_erp* erp = NULL;
  CHECK(ledgerbridge_erp_new(NULL, NULL, NULL, NULL, NULL, NULL, &erp, NULL) == LEDGERBRIDGE_OK);
  expect_load_error(engine, demo_pack, NULL, directory_file, erp, LEDGERBRIDGE_ERROR_ARGUMENT, "not both");
  ledgerbridge_erp_free(erp);
  CHECK(ledgerbridge_erp_new(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);

  remove_temp_dir(tmp);
  ledgerbridge_engine_free(engine);
}

/* The operator's ceiling on what a pack's [limits] may set (LEDGERBRIDGE_1.3): a pack above it
 * fails to load with PACK and a message naming the pack, the limit, its value and the ceiling. */
static void test_limit_ceiling(void) {
  ledgerbridge_engine* engine = new_engine();
  CHECK(ledgerbridge_engine_set_limit_ceiling(NULL, 256, 1000) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, -1, 0) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, 4097, 0) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, 0, 60001) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, 0, -5) == LEDGERBRIDGE_ERROR_ARGUMENT);

  char* tmp = temp_dir();
  char pack_dir[512], toml[PATH_MAX + 128];
  snprintf(pack_dir, sizeof pack_dir, "%s/acme-dk", tmp);
  CHECK(mkdir(pack_dir, 0700) == 0);
  snprintf(toml, sizeof toml, "name = \"acme-dk\"\nextends = \"%s\"\n[limits]\nmemory_mb = 1024\n", demo_pack);
  write_file(pack_dir, "pack.toml", toml);

  /* No ceiling (the default, or 0 for both): the engine maxima, so the pack loads. */
  ledgerbridge_pack* pack = NULL;
  CHECK(ledgerbridge_pack_load(engine, pack_dir, NULL, NULL, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_pack_free(pack);
  pack = NULL;

  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, 256, 0) == LEDGERBRIDGE_OK);
  expect_load_error(engine, pack_dir, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_PACK,
                    "rule pack 'acme-dk' sets [limits] memory_mb = 1024, above this installation's ceiling of 256");
  /* The demo pack sets no limits: the engine defaults (64 MiB, 100 ms) are under this ceiling. */
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_pack_free(pack);
  pack = NULL;
  /* Each call sets both: 0 puts memory back at the maximum, the CPU ceiling now applies. */
  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, 0, 50) == LEDGERBRIDGE_OK);
  expect_load_error(engine, demo_pack, NULL, NULL, NULL, LEDGERBRIDGE_ERROR_PACK,
                    "rule pack 'demo' sets no [limits] hook_cpu_ms and gets the default of 100, above this "
                    "installation's ceiling of 50");
  CHECK(ledgerbridge_engine_set_limit_ceiling(engine, 1024, 100) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_load(engine, pack_dir, NULL, NULL, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_pack_free(pack);

  remove_temp_dir(tmp);
  ledgerbridge_engine_free(engine);
}

/* Evaluates every item; returns the outcome JSON of each (NULL for bad input), caller frees. */
static void evaluate_all(ledgerbridge_pack* pack, char** outcomes, int* bad_input) {
  *bad_input = 0;
  for (int i = 0; i < item_count; ++i) {
    ledgerbridge_result* result = NULL;
    char* error = NULL;
    ledgerbridge_status st = ledgerbridge_pack_evaluate(pack, items[i], strlen(items[i]), 0, &result, &error);
    if (st == LEDGERBRIDGE_OK) {
      outcomes[i] = strdup(ledgerbridge_result_outcome_json(result, NULL));
    } else {
      outcomes[i] = NULL;
      ++*bad_input;
    }
    ledgerbridge_result_free(result);
    ledgerbridge_free(error);
  }
}

static char* reference[MAX_ITEMS]; /* outcomes with the directory file */

static void test_evaluate(void) {
  ledgerbridge_engine* engine = new_engine();
  ledgerbridge_pack* pack = NULL;
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, directory_file, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  /* The pack keeps what it needs: the engine may go first. */
  ledgerbridge_engine_free(engine);

  int decided = 0, bad = 0;
  for (int i = 0; i < item_count; ++i) {
    ledgerbridge_result* result = NULL;
    char* error = NULL;
    ledgerbridge_status st = ledgerbridge_pack_evaluate(pack, items[i], (size_t)-1, 0, &result, &error);
    if (st != LEDGERBRIDGE_OK) {
      /* The README's malformed item: reported with its JSON path and id, nothing returned. */
      ++bad;
      CHECK(st == LEDGERBRIDGE_ERROR_INPUT);
      CHECK(result == NULL);
      CHECK(CONTAINS(error, "accountingEntryLines[1]"));
      CHECK(CONTAINS(error, "3f6a9d02-7c5b-4e81-b2d4-9e0c1a7f5b38"));
      ledgerbridge_free(error);
      reference[i] = NULL;
      continue;
    }
    CHECK(error == NULL);
    size_t length = 0;
    const char* json = ledgerbridge_result_outcome_json(result, &length);
    CHECK(json != NULL && length == strlen(json) && json[0] == '{' && json[length - 1] == '}');
    CHECK(ledgerbridge_result_trace_json(result, NULL) == NULL);
    if (ledgerbridge_result_status(result) == LEDGERBRIDGE_DECIDED) {
      ++decided;
      CHECK(CONTAINS(json, "\"status\":\"decided\""));
    }
    reference[i] = strdup(json);
    ledgerbridge_result_free(result);
  }
  CHECK(decided == 8);
  CHECK(bad == 1);

  /* A trace on request. */
  ledgerbridge_result* result = NULL;
  CHECK(ledgerbridge_pack_evaluate(pack, items[0], (size_t)-1, LEDGERBRIDGE_EVAL_TRACE, &result, NULL) == LEDGERBRIDGE_OK);
  size_t trace_length = 0;
  const char* trace = ledgerbridge_result_trace_json(result, &trace_length);
  CHECK(trace != NULL && trace_length == strlen(trace));
  CHECK(CONTAINS(trace, "\"steps\":[{\"hook\":\"validate\""));
  CHECK(strcmp(ledgerbridge_result_outcome_json(result, NULL), reference[0]) == 0);
  ledgerbridge_result_free(result);

  /* Input errors. */
  char* error = NULL;
  result = (ledgerbridge_result*)1;
  CHECK(ledgerbridge_pack_evaluate(pack, "{\"accountingEntryId\": ", (size_t)-1, 0, &result, &error) ==
        LEDGERBRIDGE_ERROR_INPUT);
  CHECK(result == NULL);
  CHECK(CONTAINS(error, "not valid JSON"));
  ledgerbridge_free(error);
  CHECK(ledgerbridge_pack_evaluate(pack, "[]", 2, 0, &result, &error) == LEDGERBRIDGE_ERROR_INPUT);
  ledgerbridge_free(error);
  /* `length` is honoured: the first byte only is not an item. */
  CHECK(ledgerbridge_pack_evaluate(pack, items[0], 1, 0, &result, NULL) == LEDGERBRIDGE_ERROR_INPUT);
  CHECK(ledgerbridge_pack_evaluate(NULL, items[0], (size_t)-1, 0, &result, &error) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(CONTAINS(error, "pack is NULL"));
  ledgerbridge_free(error);
  CHECK(ledgerbridge_pack_evaluate(pack, NULL, 0, 0, &result, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_pack_evaluate(pack, items[0], (size_t)-1, 0, NULL, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_pack_evaluate(pack, items[0], (size_t)-1, 0x80, &result, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);

  /* The pack still works after errors. */
  CHECK(ledgerbridge_pack_evaluate(pack, items[0], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(strcmp(ledgerbridge_result_outcome_json(result, NULL), reference[0]) == 0);
  ledgerbridge_result_free(result);
  ledgerbridge_pack_free(pack);
}

static void test_settings_and_rule_errors(void) {
  ledgerbridge_engine* engine = new_engine();
  ledgerbridge_pack* pack = NULL;
  ledgerbridge_result* result = NULL;

  /* Settings override: the out-of-pocket counter account (item 2 books 2820 by default). */
  CHECK(ledgerbridge_pack_load(engine, demo_pack, "{\"accounts\":{\"out_of_pocket\":\"2830\"}}", directory_file, NULL,
                               &pack, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_evaluate(pack, items[1], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(CONTAINS(reference[1], "\"role\":\"counter\",\"account\":\"2820\""));
  CHECK(CONTAINS(ledgerbridge_result_outcome_json(result, NULL), "\"role\":\"counter\",\"account\":\"2830\""));
  ledgerbridge_result_free(result);
  ledgerbridge_pack_free(pack);
  /* Overrides are typed like the pack's setting: one that cannot be is the host's error. */
  expect_load_error(engine, demo_pack, "{\"posting\":{\"description_max_length\":\"long\"}}", directory_file, NULL,
                    LEDGERBRIDGE_ERROR_ARGUMENT,
                    "settings: setting posting.description_max_length: expected a number (the pack's value is 60), "
                    "got \"long\"");

  /* A rule that raises fails its item with file:line, and only that item. */
  char* tmp = temp_dir();
  char toml[PATH_MAX + 64];
  snprintf(toml, sizeof toml, "name = \"raising\"\nextends = \"%s\"\n", demo_pack);
  write_file(tmp, "pack.toml", toml);
  write_file(tmp, "rules.lua",
             "local M = {}\n"
             "function M.account(line, item, ctx)\n"
             "  if item.note == 'Printer ink' then error('no ink allowed') end\n"
             "  return ctx.base.account(line, item, ctx)\n"
             "end\n"
             "return M\n");
  char* error = NULL;
  CHECK(ledgerbridge_pack_load(engine, tmp, NULL, directory_file, NULL, &pack, &error) == LEDGERBRIDGE_OK);
  if (error) fprintf(stderr, "  %s\n", error);
  ledgerbridge_free(error);
  CHECK(ledgerbridge_pack_evaluate(pack, items[0], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_result_status(result) == LEDGERBRIDGE_FAILED);
  const char* json = ledgerbridge_result_outcome_json(result, NULL);
  CHECK(CONTAINS(json, "\"type\":\"unexpected_failure\""));
  CHECK(CONTAINS(json, "rules.lua:3"));
  CHECK(CONTAINS(json, "no ink allowed"));
  ledgerbridge_result_free(result);
  CHECK(ledgerbridge_pack_evaluate(pack, items[1], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_result_status(result) == LEDGERBRIDGE_DECIDED);
  ledgerbridge_result_free(result);
  ledgerbridge_pack_free(pack);

  remove_temp_dir(tmp);
  ledgerbridge_engine_free(engine);
}

static void test_host_directory(void) {
  ledgerbridge_engine* engine = new_engine();
  struct host h = {0};
  ledgerbridge_erp* erp = NULL;
  char* error = NULL;
  CHECK(ledgerbridge_erp_new(directory, NULL, NULL, NULL, release, &h, &erp, &error) == LEDGERBRIDGE_OK);
  CHECK(error == NULL);
  ledgerbridge_pack* pack = NULL;
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, erp, &pack, NULL) == LEDGERBRIDGE_OK);
  /* The pack keeps the ERP alive; the handle can go. */
  ledgerbridge_erp_free(erp);
  CHECK(atomic_load(&h.released) == 0);

  /* The same decisions as with the directory file, item for item. */
  char* outcomes[MAX_ITEMS];
  int bad = 0;
  evaluate_all(pack, outcomes, &bad);
  CHECK(bad == 1);
  for (int i = 0; i < item_count; ++i) {
    CHECK((outcomes[i] == NULL) == (reference[i] == NULL));
    if (outcomes[i] && reference[i] && strcmp(outcomes[i], reference[i]) != 0)
      fprintf(stderr, "  item %d differs:\n  host: %s\n  file: %s\n", i, outcomes[i], reference[i]), ++failed;
    free(outcomes[i]);
  }
  CHECK(atomic_load(&h.queries) > 0);

  /* A failing look-up fails the item (never "unknown"), and is asked again for the next one. */
  h.fail_account = "1810"; /* item 1's wallet account */
  ledgerbridge_pack* pack2 = NULL;
  CHECK(ledgerbridge_erp_new(directory, NULL, NULL, NULL, NULL, &h, &erp, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, erp, &pack2, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_result* result = NULL;
  CHECK(ledgerbridge_pack_evaluate(pack2, items[0], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_result_status(result) == LEDGERBRIDGE_FAILED);
  CHECK(CONTAINS(ledgerbridge_result_outcome_json(result, NULL), "ERP is down for maintenance"));
  CHECK(CONTAINS(ledgerbridge_result_outcome_json(result, NULL), "\"type\":\"unexpected_failure\""));
  ledgerbridge_result_free(result);
  h.fail_account = NULL;
  CHECK(ledgerbridge_pack_evaluate(pack2, items[0], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(strcmp(ledgerbridge_result_outcome_json(result, NULL), reference[0]) == 0);
  ledgerbridge_result_free(result);

  /* A reply that is not JSON is the host's bug, named in the failure. */
  h.bad_json = 1;
  ledgerbridge_pack_free(pack2);
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, erp, &pack2, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_evaluate(pack2, items[0], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_result_status(result) == LEDGERBRIDGE_FAILED);
  CHECK(CONTAINS(ledgerbridge_result_outcome_json(result, NULL), "account reply is not valid JSON"));
  ledgerbridge_result_free(result);
  h.bad_json = 0;
  ledgerbridge_pack_free(pack2);
  ledgerbridge_erp_free(erp);

  /* A host ERP without a directory callback knows nothing: accounts are unknown. */
  CHECK(ledgerbridge_erp_new(NULL, NULL, NULL, NULL, NULL, NULL, &erp, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, erp, &pack2, NULL) == LEDGERBRIDGE_OK);
  ledgerbridge_erp_free(erp);
  CHECK(ledgerbridge_pack_evaluate(pack2, items[0], (size_t)-1, 0, &result, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_result_status(result) == LEDGERBRIDGE_FAILED);
  ledgerbridge_result_free(result);
  ledgerbridge_pack_free(pack2);

  /* release runs once, when the last pack using the ERP goes. */
  CHECK(atomic_load(&h.released) == 0);
  ledgerbridge_pack_free(pack);
  CHECK(atomic_load(&h.released) == 1);

  /* Reply functions reject bad arguments. */
  CHECK(ledgerbridge_reply_json(NULL, "{}", 2) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_reply_error(NULL, LEDGERBRIDGE_ERP_AUTH, 0, "x") == LEDGERBRIDGE_ERROR_ARGUMENT);
  ledgerbridge_engine_free(engine);
}

/* ---- threads ----------------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 25

struct worker {
  ledgerbridge_pack* pack; /* shared, or NULL: load an own one */
  ledgerbridge_erp* erp;
  int mismatches;
  int errors;
};

static void* work(void* arg) {
  struct worker* w = arg;
  ledgerbridge_pack* pack = w->pack;
  ledgerbridge_engine* engine = NULL;
  if (!pack) {
    if (ledgerbridge_engine_new(&engine, NULL) != LEDGERBRIDGE_OK || ledgerbridge_engine_set_now(engine, NOW) != LEDGERBRIDGE_OK ||
        ledgerbridge_pack_load(engine, demo_pack, NULL, w->erp ? NULL : directory_file, w->erp, &pack, NULL) != LEDGERBRIDGE_OK) {
      ++w->errors;
      ledgerbridge_engine_free(engine);
      return NULL;
    }
  }
  for (int r = 0; r < ROUNDS; ++r) {
    for (int i = 0; i < item_count; ++i) {
      ledgerbridge_result* result = NULL;
      ledgerbridge_status st = ledgerbridge_pack_evaluate(pack, items[i], (size_t)-1, r % 5 == 0 ? LEDGERBRIDGE_EVAL_TRACE : 0,
                                                          &result, NULL);
      if (st != LEDGERBRIDGE_OK) {
        if (reference[i] != NULL) ++w->errors;
        continue;
      }
      if (!reference[i] || strcmp(ledgerbridge_result_outcome_json(result, NULL), reference[i]) != 0) ++w->mismatches;
      ledgerbridge_result_free(result);
    }
  }
  if (!w->pack) ledgerbridge_pack_free(pack);
  ledgerbridge_engine_free(engine);
  return NULL;
}

static void run_threads(ledgerbridge_pack* shared, ledgerbridge_erp* erp) {
  pthread_t threads[THREADS];
  struct worker workers[THREADS];
  for (int t = 0; t < THREADS; ++t) {
    workers[t] = (struct worker){.pack = shared, .erp = erp};
    CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
  }
  for (int t = 0; t < THREADS; ++t) {
    CHECK(pthread_join(threads[t], NULL) == 0);
    CHECK(workers[t].mismatches == 0);
    CHECK(workers[t].errors == 0);
  }
}

static void test_threads(void) {
  ledgerbridge_engine* engine = new_engine();
  ledgerbridge_pack* pack = NULL;

  /* One pack shared by every thread (documented as thread-safe). */
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, directory_file, NULL, &pack, NULL) == LEDGERBRIDGE_OK);
  run_threads(pack, NULL);
  ledgerbridge_pack_free(pack);

  /* One pack per thread. */
  run_threads(NULL, NULL);

  /* A shared pack over a host ERP whose callbacks run on every thread at once. */
  struct host h = {0};
  ledgerbridge_erp* erp = NULL;
  CHECK(ledgerbridge_erp_new(directory, NULL, NULL, NULL, release, &h, &erp, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_pack_load(engine, demo_pack, NULL, NULL, erp, &pack, NULL) == LEDGERBRIDGE_OK);
  run_threads(pack, NULL);
  ledgerbridge_pack_free(pack);
  /* Packs loaded on each thread from one ERP handle. */
  run_threads(NULL, erp);
  ledgerbridge_erp_free(erp);
  CHECK(atomic_load(&h.released) == 1);
  ledgerbridge_engine_free(engine);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <rules dir> <examples/data dir>\n", argv[0]);
    return 2;
  }
  /* Absolute, because a pack written to /tmp extends the demo pack by path. */
  static char rules_abs[PATH_MAX], data_abs[PATH_MAX];
  if (!realpath(argv[1], rules_abs) || !realpath(argv[2], data_abs)) {
    fprintf(stderr, "no such folder: %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  rules_dir = rules_abs;
  data_dir = data_abs;
  snprintf(demo_pack, sizeof demo_pack, "%s/demo", rules_dir);
  snprintf(directory_file, sizeof directory_file, "%s/directory.yaml", data_dir);
  char items_file[PATH_MAX + 32];
  snprintf(items_file, sizeof items_file, "%s/items.jsonl", data_dir);
  read_items(items_file);
  if (item_count != 9) {
    fprintf(stderr, "expected 9 items in %s, got %d\n", items_file, item_count);
    return 2;
  }

  test_library();
  test_engine();
  test_pack_errors();
  test_limit_ceiling();
  test_evaluate();
  test_settings_and_rule_errors();
  test_host_directory();
  test_threads();

  for (int i = 0; i < item_count; ++i) free(items[i]), free(reference[i]);
  printf("capi: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
