/* Embedding ledgerbridge from C: a host ERP directory of our own (a few static tables), the
 * `demo` rule pack, and every item of a JSON-lines file evaluated through the C ABI.
 *
 *   embed <rules/demo> <items.jsonl>
 */
#define _POSIX_C_SOURCE 200809L
#include <ledgerbridge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- our ERP: what the rules may ask (ctx.erp.*) ---------------------------------------------- */

static const char* const accounts[] = {"1810", "1812", "5810", "1900", "2000", "2820", "2830", "2640", "14400",
                                       "14500", "6010", "6110", "6210", "7110", "7310", "8510"};
static const char* const wallets[][2] = {{"1810", "GBP"}, {"1812", "EUR"}, {"5810", "DKK"}};

static int reply(ledgerbridge_reply* r, const char* json) {
  return ledgerbridge_reply_json(r, json, (size_t)-1);
}

static ledgerbridge_status directory(void* user_data, ledgerbridge_directory_query query, const char* key,
                                     const char* key2, ledgerbridge_reply* r) {
  int* queries = user_data; /* whatever the host needs: here, a counter */
  ++*queries;
  char json[256];
  switch (query) {
    case LEDGERBRIDGE_QUERY_ACCOUNT:
      for (size_t i = 0; i < sizeof accounts / sizeof *accounts; ++i) {
        if (strcmp(key, accounts[i]) != 0) continue;
        const char* currency = NULL;
        for (size_t w = 0; w < 3; ++w)
          if (strcmp(key, wallets[w][0]) == 0) currency = wallets[w][1];
        if (currency) snprintf(json, sizeof json, "{\"code\":\"%s\",\"name\":\"\",\"currency\":\"%s\"}", key, currency);
        else snprintf(json, sizeof json, "{\"code\":\"%s\",\"name\":\"\"}", key);
        return reply(r, json);
      }
      return LEDGERBRIDGE_OK; /* no answer: the account does not exist */
    case LEDGERBRIDGE_QUERY_VENDOR_BY_CODE:
    case LEDGERBRIDGE_QUERY_VENDOR_BY_EXTERNAL_ID:
    case LEDGERBRIDGE_QUERY_VENDOR_BY_TAX_NUMBER:
      if (strcmp(key, "V1001") == 0 || strcmp(key, "12345") == 0)
        return reply(r, "{\"code\":\"V1001\",\"name\":\"TestSupplier123\",\"externalId\":\"V1001\","
                        "\"taxNumber\":\"12345\",\"payablesAccount\":\"2000\"}");
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_TAX_CODE:
      if (strcmp(key, "RC25") == 0)
        return reply(r, "{\"code\":\"RC25\",\"name\":\"Reverse charge 25%\",\"rate\":0.25,\"type\":\"reverse\","
                        "\"ingoingTaxAccount\":\"14400\",\"outgoingTaxAccount\":\"14500\"}");
      if (strcmp(key, "S20") == 0) return reply(r, "{\"code\":\"S20\",\"name\":\"Standard\",\"rate\":0.2,\"type\":\"inclusive\",\"ingoingTaxAccount\":\"2640\"}");
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_DIMENSION_VALUE:
      /* Every value of DEPT and PROJ exists in this ERP. */
      if (strcmp(key, "DEPT") == 0 || strcmp(key, "PROJ") == 0) {
        snprintf(json, sizeof json, "{\"dimension\":\"%s\",\"code\":\"%s\"}", key, key2);
        return reply(r, json);
      }
      return LEDGERBRIDGE_OK;
    case LEDGERBRIDGE_QUERY_PERIOD_OPEN:
      return reply(r, strncmp(key, "2025-0", 6) == 0 && key[6] >= '1' && key[6] <= '3' ? "false" : "true");
    case LEDGERBRIDGE_QUERY_NEXT_OPEN_DATE:
      return reply(r, "\"2025-04-01\"");
  }
  ledgerbridge_reply_error(r, LEDGERBRIDGE_ERP_VALIDATION, 0, "unknown query");
  return LEDGERBRIDGE_ERROR_CALLBACK;
}

/* ---- the engine ----------------------------------------------------------------------------- */

static void on_log(void* user_data, ledgerbridge_log_level level, const char* message) {
  (void)user_data;
  fprintf(stderr, "[ledgerbridge %d] %s\n", (int)level, message);
}

static int fail(const char* what, ledgerbridge_status status, char* error) {
  fprintf(stderr, "%s: %s: %s\n", what, ledgerbridge_status_name(status), error ? error : "");
  ledgerbridge_free(error);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <rule pack folder> <items.jsonl>\n", argv[0]);
    return 2;
  }
  if (ledgerbridge_abi_version() != LEDGERBRIDGE_ABI_VERSION) {
    fprintf(stderr, "libledgerbridge has ABI %d, this program was built for %d\n", ledgerbridge_abi_version(),
            LEDGERBRIDGE_ABI_VERSION);
    return 1;
  }
  printf("ledgerbridge %s\n", ledgerbridge_version());

  char* error = NULL;
  ledgerbridge_status st;
  ledgerbridge_engine* engine = NULL;
  if ((st = ledgerbridge_engine_new(&engine, &error)) != LEDGERBRIDGE_OK) return fail("engine", st, error);
  ledgerbridge_engine_set_now(engine, 1768435200); /* 2026-01-15: reproducible output */
  ledgerbridge_engine_set_log(engine, on_log, LEDGERBRIDGE_LOG_INFO, NULL);

  int queries = 0;
  ledgerbridge_erp* erp = NULL;
  if ((st = ledgerbridge_erp_new(directory, NULL, NULL, NULL, NULL, &queries, &erp, &error)) != LEDGERBRIDGE_OK)
    return fail("erp", st, error);
  ledgerbridge_pack* pack = NULL;
  st = ledgerbridge_pack_load(engine, argv[1], NULL, NULL, erp, &pack, &error);
  ledgerbridge_erp_free(erp); /* the pack holds on to it */
  if (st != LEDGERBRIDGE_OK) return fail("rule pack", st, error);

  FILE* in = fopen(argv[2], "rb");
  if (!in) {
    perror(argv[2]);
    return 1;
  }
  int counts[3] = {0, 0, 0}, bad = 0;
  char* line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, in)) > 0) {
    ledgerbridge_result* result = NULL;
    st = ledgerbridge_pack_evaluate(pack, line, (size_t)n, 0, &result, &error);
    if (st != LEDGERBRIDGE_OK) {
      fprintf(stderr, "bad input: %s\n", error);
      ledgerbridge_free(error);
      ++bad;
      continue;
    }
    ++counts[ledgerbridge_result_status(result)];
    printf("%s\n", ledgerbridge_result_outcome_json(result, NULL));
    ledgerbridge_result_free(result);
  }
  free(line);
  fclose(in);
  printf("decided %d, skipped %d, failed %d, bad input %d (%d ERP look-ups)\n", counts[LEDGERBRIDGE_DECIDED],
         counts[LEDGERBRIDGE_SKIPPED], counts[LEDGERBRIDGE_FAILED], bad, queries);
  ledgerbridge_pack_free(pack);
  ledgerbridge_engine_free(engine);
  return 0;
}
