/* The C ABI's run functions from plain C11: the Pleo workflow against the simulated Pleo
 * (`ledgerbridge sim` as a child process) with a host ERP written in C, progress, logs,
 * cancelling from another thread and resuming, and the errors.
 *
 * usage: capi_run_test <ledgerbridge CLI> <rules folder> */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mkdtemp, realpath */
#include <errno.h>
#include <limits.h>
#include <ledgerbridge.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      ++passed;                                                                  \
    } else {                                                                     \
      ++failed;                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

#define CONTAINS(haystack, needle) ((haystack) != NULL && strstr((haystack), (needle)) != NULL)

#define ITEMS 20
#define NOW 1768435200 /* 2026-01-15T00:00:00Z */

/* The integer after "key": in a JSON text (the summary has one company and one job), or -1. */
static long json_int(const char* json, const char* key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char* p = json ? strstr(json, pattern) : NULL;
  if (!p) return -1;
  return strtol(p + strlen(pattern), NULL, 10);
}

/* ---- the simulated Pleo, a child process -------------------------------------------------- */

static pid_t sim_pid;
static char sim_url[128], company_id[64], api_key[128];

static int start_sim(const char* cli) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  sim_pid = fork();
  if (sim_pid < 0) return 0;
  if (sim_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the test dies: so does the simulator */
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(cli, cli, "--log-level", "warn", "sim", "--port", "0", "--seed", "1", "--companies", "1", "--jobs", "1",
          "--items", "20", (char*)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE* out = fdopen(fds[0], "r");
  if (!out) return 0;
  char line[512];
  /* "simulated Pleo Export API v3 at http://127.0.0.1:PORT", then one line per company:
   * "    <company id>  DK DKK  key <api key>", then "Ctrl-C stops." */
  while (fgets(line, sizeof line, out)) {
    char id[64], country[8], currency[8], key[128];
    if (sscanf(line, "simulated Pleo Export API v3 at %127s", sim_url) == 1) continue;
    if (!company_id[0] && sscanf(line, " %63s %7s %7s key %127s", id, country, currency, key) == 4 &&
        strlen(id) == 36) {
      strcpy(company_id, id);
      strcpy(api_key, key);
    }
    if (strstr(line, "Ctrl-C stops.")) break;
  }
  fclose(out); /* the simulator's last line ("stopped: ...") is not needed */
  return sim_url[0] && company_id[0] && api_key[0];
}

static void stop_sim(void) {
  if (sim_pid <= 0) return;
  kill(sim_pid, SIGTERM);
  int status;
  while (waitpid(sim_pid, &status, 0) < 0 && errno == EINTR) {
  }
  sim_pid = 0;
}

/* ---- a host ERP in C: takes every document, answers look-ups from memory ------------------ */

#define MAX_DOCS 256

struct erp {
  char keys[MAX_DOCS][128]; /* external keys of the documents posted, in order */
  int posted;
  int duplicates; /* a key posted a second time: must stay 0 */
  int lookups;
  int uploads;
  int directory_queries;
  int released;
};

static const char* const tax_codes[][3] = {
    {"S25", "0.25", "inclusive"}, {"S24", "0.24", "inclusive"}, {"S23", "0.23", "inclusive"},
    {"S21", "0.21", "inclusive"}, {"S20", "0.2", "inclusive"},  {"S19", "0.19", "inclusive"},
    {"S12", "0.12", "inclusive"}, {"S7", "0.07", "inclusive"},  {"S6", "0.06", "inclusive"},
    {"Z0", "0", "exclusive"},     {"RC25", "0.25", "reverse"},  {"RC20", "0.2", "reverse"},
    {"RC19", "0.19", "reverse"},  {"RCEU", "0", "reverse"}};

static int digits(const char* s) {
  if (!*s) return 0;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

/* The simulated world's chart: every numeric account code exists (the pack maps Pleo's
 * categories onto them), its tax codes, every dimension value; vendors are unknown. */
static ledgerbridge_status directory(void* user_data, ledgerbridge_directory_query query, const char* key,
                                     const char* key2, ledgerbridge_reply* reply) {
  struct erp* e = user_data;
  ++e->directory_queries;
  char json[256];
  switch (query) {
    case LEDGERBRIDGE_QUERY_ACCOUNT:
      if (!digits(key) || strlen(key) > 8) return LEDGERBRIDGE_OK;
      snprintf(json, sizeof json, "{\"code\":\"%s\",\"name\":\"Account %s\"}", key, key);
      return ledgerbridge_reply_json(reply, json, (size_t)-1);
    case LEDGERBRIDGE_QUERY_TAX_CODE:
      for (size_t i = 0; i < sizeof tax_codes / sizeof tax_codes[0]; ++i) {
        if (strcmp(tax_codes[i][0], key) != 0) continue;
        snprintf(json, sizeof json,
                 "{\"code\":\"%s\",\"name\":\"%s\",\"rate\":%s,\"type\":\"%s\",\"ingoingTaxAccount\":\"66010\","
                 "\"outgoingTaxAccount\":\"66020\"}",
                 key, key, tax_codes[i][1], tax_codes[i][2]);
        return ledgerbridge_reply_json(reply, json, (size_t)-1);
      }
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_DIMENSION_VALUE:
      if (strlen(key) > 64 || strlen(key2) > 64) return LEDGERBRIDGE_OK;
      snprintf(json, sizeof json, "{\"dimension\":\"%s\",\"code\":\"%s\"}", key, key2);
      return ledgerbridge_reply_json(reply, json, (size_t)-1);
    default:
      return LEDGERBRIDGE_OK; /* vendors unknown, every period open */
  }
}

static int find_key(const struct erp* e, const char* key) {
  for (int i = 0; i < e->posted; ++i)
    if (strcmp(e->keys[i], key) == 0) return i;
  return -1;
}

static ledgerbridge_status post(void* user_data, const char* document_json, ledgerbridge_reply* reply) {
  struct erp* e = user_data;
  const char* p = strstr(document_json, "\"externalKey\":\"");
  if (!p) {
    ledgerbridge_reply_error(reply, LEDGERBRIDGE_ERP_VALIDATION, 0, "no externalKey");
    return LEDGERBRIDGE_ERROR_CALLBACK;
  }
  p += strlen("\"externalKey\":\"");
  const char* end = strchr(p, '"');
  if (!end || end - p >= 128 || e->posted >= MAX_DOCS) return LEDGERBRIDGE_ERROR_CALLBACK;
  char key[128];
  memcpy(key, p, (size_t)(end - p));
  key[end - p] = '\0';
  if (find_key(e, key) >= 0) ++e->duplicates;
  strcpy(e->keys[e->posted++], key);
  char json[96];
  snprintf(json, sizeof json, "{\"externalId\":\"DOC-%d\",\"url\":\"https://erp.test/DOC-%d\"}", e->posted, e->posted);
  return ledgerbridge_reply_json(reply, json, (size_t)-1);
}

static ledgerbridge_status lookup(void* user_data, const char* external_key, ledgerbridge_reply* reply) {
  struct erp* e = user_data;
  ++e->lookups;
  const int i = find_key(e, external_key);
  if (i < 0) return LEDGERBRIDGE_OK;
  char json[64];
  snprintf(json, sizeof json, "{\"externalId\":\"DOC-%d\"}", i + 1);
  return ledgerbridge_reply_json(reply, json, (size_t)-1);
}

static ledgerbridge_status upload(void* user_data, const char* posted_json, const char* attachment_json,
                                  const uint8_t* bytes, size_t size, ledgerbridge_reply* reply) {
  (void)posted_json;
  (void)attachment_json;
  (void)bytes;
  (void)size;
  (void)reply;
  struct erp* e = user_data;
  ++e->uploads;
  return LEDGERBRIDGE_OK;
}

static void release(void* user_data) {
  struct erp* e = user_data;
  ++e->released;
}

/* ---- progress, logs, and the thread that cancels ------------------------------------------ */

struct canceller {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  ledgerbridge_run* run;
  long cancel_at; /* the progress count at which to ask the other thread to cancel; 0: never */
  int asked, done;
  long last_done, last_total, calls;
  int wrong_company;
};

static void* cancel_thread(void* arg) {
  struct canceller* c = arg;
  pthread_mutex_lock(&c->mutex);
  while (!c->asked) pthread_cond_wait(&c->cond, &c->mutex);
  pthread_mutex_unlock(&c->mutex);
  ledgerbridge_run_cancel(c->run); /* from this thread, while execute runs on the main thread */
  pthread_mutex_lock(&c->mutex);
  c->done = 1;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mutex);
  return NULL;
}

static void on_progress(void* user_data, const char* company, const char* job_id, int64_t done, int64_t total) {
  struct canceller* c = user_data;
  (void)job_id;
  ++c->calls;
  c->last_done = (long)done;
  c->last_total = (long)total;
  if (strcmp(company, company_id) != 0) c->wrong_company = 1;
  if (c->cancel_at > 0 && done == c->cancel_at) {
    /* Wake the other thread and wait until it has cancelled: the run is then mid-job for sure. */
    pthread_mutex_lock(&c->mutex);
    c->asked = 1;
    pthread_cond_broadcast(&c->cond);
    while (!c->done) pthread_cond_wait(&c->cond, &c->mutex);
    pthread_mutex_unlock(&c->mutex);
  }
}

static atomic_int log_calls;
static char stopped_log[512];

static void on_log(void* user_data, ledgerbridge_log_level level, const char* message) {
  (void)user_data;
  atomic_fetch_add(&log_calls, 1);
  if (level == LEDGERBRIDGE_LOG_WARNING && strstr(message, "stopped: cancelled"))
    snprintf(stopped_log, sizeof stopped_log, "%s", message);
}

/* ---- the tests ---------------------------------------------------------------------------- */

static char dir[64], config_path[128], rules_pack[PATH_MAX + 16];

static void write_config(const char* path, const char* erp) {
  FILE* f = fopen(path, "w");
  if (!f) exit(2);
  fprintf(f,
          "[ledger]\npath = \"ledger.sqlite\"\n\n"
          "[[companies]]\nid = \"%s\"\nname = \"Simulated DK\"\npleo = \"%s\"\n"
          "api_key = \"env:LB_CAPI_RUN_PLEO_KEY\"\nrules = \"%s\"\nerp = %s\nattachments = true\n",
          company_id, sim_url, rules_pack, erp);
  fclose(f);
}

static void test_errors(ledgerbridge_engine* engine) {
  ledgerbridge_run* run = (ledgerbridge_run*)1;
  char* error = NULL;
  char path[256];

  CHECK(ledgerbridge_run_new(engine, config_path, NULL, NULL, &error) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(CONTAINS(error, "out is NULL"));
  ledgerbridge_free(error);
  CHECK(ledgerbridge_run_new(NULL, config_path, NULL, &run, &error) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(run == NULL);
  ledgerbridge_free(error);
  CHECK(ledgerbridge_run_new(engine, NULL, NULL, &run, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);

  /* no such file */
  snprintf(path, sizeof path, "%s/missing.toml", dir);
  CHECK(ledgerbridge_run_new(engine, path, NULL, &run, &error) == LEDGERBRIDGE_ERROR_NOT_FOUND);
  CHECK(CONTAINS(error, "missing.toml") && run == NULL);
  ledgerbridge_free(error);

  /* not a configuration: file:line */
  snprintf(path, sizeof path, "%s/bad.toml", dir);
  FILE* f = fopen(path, "w");
  fputs("[[companies]]\nid = \"x\"\npleo = [\n", f);
  fclose(f);
  CHECK(ledgerbridge_run_new(engine, path, NULL, &run, &error) == LEDGERBRIDGE_ERROR_CONFIG);
  CHECK(CONTAINS(error, "bad.toml:"));
  CHECK(strcmp(ledgerbridge_status_name(LEDGERBRIDGE_ERROR_CONFIG), "config") == 0);
  ledgerbridge_free(error);

  /* unknown company */
  CHECK(ledgerbridge_run_new(engine, config_path, "00000000-0000-0000-0000-000000000000", &run, &error) ==
        LEDGERBRIDGE_ERROR_NOT_FOUND);
  CHECK(CONTAINS(error, "has no company 00000000-0000-0000-0000-000000000000") && run == NULL);
  ledgerbridge_free(error);

  CHECK(ledgerbridge_run_new(engine, config_path, company_id, &run, &error) == LEDGERBRIDGE_OK && error == NULL);
  CHECK(ledgerbridge_run_set_erp(run, "nobody", NULL, &error) == LEDGERBRIDGE_ERROR_NOT_FOUND);
  CHECK(CONTAINS(error, "no company nobody"));
  ledgerbridge_free(error);
  CHECK(ledgerbridge_run_set_erp(NULL, company_id, NULL, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_run_set_progress(NULL, on_progress, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  CHECK(ledgerbridge_run_cancel(NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);
  char* summary = (char*)1;
  CHECK(ledgerbridge_run_execute(NULL, &summary, &error) == LEDGERBRIDGE_ERROR_ARGUMENT && summary == NULL);
  ledgerbridge_free(error);
  CHECK(ledgerbridge_run_execute(run, NULL, NULL) == LEDGERBRIDGE_ERROR_ARGUMENT);

  /* erp kind "host" and no host ERP: nothing can run */
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_ERROR_CONFIG);
  CHECK(summary == NULL && CONTAINS(error, "ledgerbridge_run_set_erp"));
  ledgerbridge_free(error);
  ledgerbridge_run_free(run);
  ledgerbridge_run_free(NULL);

  /* the credentials do not resolve: the company cannot start, the run fails with its reason */
  unsetenv("LB_CAPI_RUN_PLEO_KEY");
  snprintf(path, sizeof path, "%s/nokey.toml", dir);
  write_config(path, "{ kind = \"jsonl\", path = \"out.jsonl\" }");
  CHECK(ledgerbridge_run_new(engine, path, NULL, &run, &error) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_ERROR_CONFIG);
  CHECK(summary == NULL && CONTAINS(error, "LB_CAPI_RUN_PLEO_KEY"));
  ledgerbridge_free(error);
  ledgerbridge_run_free(run);
  setenv("LB_CAPI_RUN_PLEO_KEY", api_key, 1);

  /* The engine's limit ceiling is copied into the run like its clock: a company whose pack is
   * above it does not start (pleo-sim sets no limits, so it has the default 64 MiB). */
  ledgerbridge_engine* capped = NULL;
  CHECK(ledgerbridge_engine_new(&capped, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_engine_set_limit_ceiling(capped, 32, 0) == LEDGERBRIDGE_OK);
  snprintf(path, sizeof path, "%s/capped.toml", dir);
  write_config(path, "{ kind = \"jsonl\", path = \"capped.jsonl\" }");
  CHECK(ledgerbridge_run_new(capped, path, NULL, &run, &error) == LEDGERBRIDGE_OK);
  ledgerbridge_engine_free(capped);
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_ERROR_CONFIG);
  CHECK(summary == NULL && CONTAINS(error, "rule pack 'pleo-sim' sets no [limits] memory_mb and gets the default "
                                           "of 64, above this installation's ceiling of 32"));
  if (!CONTAINS(error, "ceiling of 32")) fprintf(stderr, "  got: %s\n", error ? error : "(null)");
  ledgerbridge_free(error);
  ledgerbridge_run_free(run);
}

static void test_run_cancel_resume(ledgerbridge_engine* engine) {
  static struct erp host; /* large: not on the stack */
  ledgerbridge_erp* erp = NULL;
  char* error = NULL;
  CHECK(ledgerbridge_erp_new(directory, post, lookup, upload, release, &host, &erp, &error) == LEDGERBRIDGE_OK);

  ledgerbridge_run* run = NULL;
  CHECK(ledgerbridge_run_new(engine, config_path, NULL, &run, &error) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_run_set_erp(run, company_id, erp, &error) == LEDGERBRIDGE_OK && error == NULL);
  ledgerbridge_erp_free(erp); /* the run keeps its own reference */
  CHECK(host.released == 0);

  struct canceller c = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .run = run,
                        .cancel_at = 6};
  CHECK(ledgerbridge_run_set_progress(run, on_progress, &c) == LEDGERBRIDGE_OK);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, cancel_thread, &c) == 0);

  /* 1: cancelled from the other thread after the 6th item */
  char* summary = NULL;
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_OK);
  if (error) fprintf(stderr, "execute: %s\n", error);
  CHECK(error == NULL);
  ledgerbridge_free(error);
  if (!c.asked) { /* the run never reached the item: let the thread go */
    pthread_mutex_lock(&c.mutex);
    c.asked = 1;
    pthread_cond_broadcast(&c.cond);
    pthread_mutex_unlock(&c.mutex);
  }
  pthread_join(thread, NULL);
  if (getenv("LB_TEST_VERBOSE")) printf("first: %s\n", summary);
  CHECK(CONTAINS(summary, "\"cancelled\":true"));
  CHECK(CONTAINS(summary, company_id));
  CHECK(CONTAINS(summary, "\"final_event\":null"));
  CHECK(CONTAINS(summary, "\"stopped\":\"cancelled\""));
  CHECK(CONTAINS(summary, "\"claimed_here\":true"));
  CHECK(CONTAINS(summary, "\"error\":null"));
  CHECK(c.last_done == 6 && c.last_total == ITEMS && c.calls == 6 && !c.wrong_company);
  const long first_done = json_int(summary, "successful") + json_int(summary, "failed");
  const long first_docs = json_int(summary, "documents_posted");
  CHECK(first_done == 6);
  CHECK(first_docs >= 1 && first_docs == host.posted);
  CHECK(host.duplicates == 0);
  CHECK(atomic_load(&log_calls) > 0);
  CHECK(CONTAINS(stopped_log, "stopped: cancelled")); /* the workflow's logs reach the engine's callback */
  ledgerbridge_free(summary);

  /* 2: the next execute resumes the job and finishes it, posting nothing twice */
  c.cancel_at = 0;
  c.calls = 0;
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_OK);
  if (getenv("LB_TEST_VERBOSE")) printf("second: %s\n", summary);
  CHECK(CONTAINS(summary, "\"cancelled\":false"));
  CHECK(CONTAINS(summary, "\"final_event\":\"completed\"") ||
        CONTAINS(summary, "\"final_event\":\"completed_with_errors\""));
  CHECK(CONTAINS(summary, "\"stopped\":null"));
  CHECK(CONTAINS(summary, "\"resumed\":true"));
  CHECK(first_done + json_int(summary, "successful") + json_int(summary, "failed") >= ITEMS);
  /* The items done before the cancel are in the ledger, not yet reported to Pleo: the resumed job
   * reports them again (from the ledger, without posting) with the rest. */
  CHECK(c.last_total >= ITEMS - first_done && c.last_total <= ITEMS);
  CHECK(c.last_done == c.last_total && c.calls == c.last_total);
  CHECK(first_docs + json_int(summary, "documents_posted") + json_int(summary, "documents_recovered") == host.posted);
  CHECK(host.posted >= ITEMS / 2);
  CHECK(host.duplicates == 0); /* every document reached the host ERP exactly once */
  CHECK(host.directory_queries > 0);
  ledgerbridge_free(summary);

  /* 3: nothing left to do */
  const int posted = host.posted;
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_OK);
  CHECK(CONTAINS(summary, "\"jobs\":[]") && CONTAINS(summary, "\"error\":null"));
  CHECK(host.posted == posted);
  ledgerbridge_free(summary);

  /* a cancel while nothing runs applies to the next execute, which starts no company */
  CHECK(ledgerbridge_run_cancel(run) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_run_execute(run, &summary, &error) == LEDGERBRIDGE_OK);
  CHECK(CONTAINS(summary, "\"cancelled\":true") && CONTAINS(summary, "\"error\":\"cancelled\""));
  ledgerbridge_free(summary);

  CHECK(host.released == 0);
  ledgerbridge_run_free(run);
  CHECK(host.released == 1); /* the last reference went with the run */
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <ledgerbridge CLI> <rules folder>\n", argv[0]);
    return 2;
  }
  char rules[PATH_MAX];
  if (!realpath(argv[2], rules)) { /* the configuration's paths are relative to its own folder */
    fprintf(stderr, "no folder %s\n", argv[2]);
    return 2;
  }
  snprintf(rules_pack, sizeof rules_pack, "%s/pleo-sim", rules);
  if (!start_sim(argv[1])) {
    fprintf(stderr, "could not start the simulated Pleo (%s sim)\n", argv[1]);
    stop_sim();
    return 2;
  }
  strcpy(dir, "/tmp/lb-capi-run-XXXXXX");
  if (!mkdtemp(dir)) return 2;
  snprintf(config_path, sizeof config_path, "%s/ledgerbridge.toml", dir);
  write_config(config_path, "{ kind = \"host\" }");
  setenv("LB_CAPI_RUN_PLEO_KEY", api_key, 1);

  ledgerbridge_engine* engine = NULL;
  CHECK(ledgerbridge_engine_new(&engine, NULL) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_engine_set_now(engine, NOW) == LEDGERBRIDGE_OK);
  CHECK(ledgerbridge_engine_set_log(engine, on_log, LEDGERBRIDGE_LOG_INFO, NULL) == LEDGERBRIDGE_OK);

  test_errors(engine);
  test_run_cancel_resume(engine);
  ledgerbridge_engine_free(engine);
  stop_sim();

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
