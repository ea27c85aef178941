/* A host ERP's sink callbacks written in C (post, lookup, upload_attachment), driven through the
 * engine's erp::Sink interface by host_sink_test.cpp: what the workflow will call. */
#include "sink_host.h"

#include <stdio.h>
#include <string.h>

/* The document's "externalKey" value (canonical JSON, no escapes in keys we post). */
static int external_key(const char* json, char* out, size_t size) {
  const char* p = strstr(json, "\"externalKey\":\"");
  if (!p) return 0;
  p += strlen("\"externalKey\":\"");
  const char* end = strchr(p, '"');
  if (!end || (size_t)(end - p) >= size) return 0;
  memcpy(out, p, (size_t)(end - p));
  out[end - p] = '\0';
  return 1;
}

ledgerbridge_status sink_host_post(void* user_data, const char* document_json, ledgerbridge_reply* reply) {
  struct sink_host* h = user_data;
  if (strstr(document_json, "\"description\":\"REFUSE\"")) {
    ledgerbridge_reply_error(reply, LEDGERBRIDGE_ERP_VALIDATION, 0, "account 9999 does not exist");
    return LEDGERBRIDGE_ERROR_CALLBACK;
  }
  if (strstr(document_json, "\"description\":\"SLOW DOWN\"")) {
    ledgerbridge_reply_error(reply, LEDGERBRIDGE_ERP_RATE_LIMIT, 1500, "too many requests");
    return LEDGERBRIDGE_ERROR_CALLBACK;
  }
  if (strstr(document_json, "\"description\":\"SILENT\"")) return LEDGERBRIDGE_ERROR_CALLBACK; /* no reason given */
  if (strstr(document_json, "\"description\":\"GARBAGE\"")) return ledgerbridge_reply_json(reply, "[1]", (size_t)-1);
  if (h->count >= SINK_HOST_MAX || !external_key(document_json, h->keys[h->count], sizeof h->keys[0]))
    return LEDGERBRIDGE_ERROR_ARGUMENT;
  ++h->count;
  char json[128];
  snprintf(json, sizeof json, "{\"externalId\":\"V-%d\",\"url\":\"https://erp.test/V-%d\"}", h->count, h->count);
  return ledgerbridge_reply_json(reply, json, strlen(json));
}

ledgerbridge_status sink_host_lookup(void* user_data, const char* external_key_, ledgerbridge_reply* reply) {
  struct sink_host* h = user_data;
  for (int i = 0; i < h->count; ++i) {
    if (strcmp(h->keys[i], external_key_) == 0) {
      char json[128];
      snprintf(json, sizeof json, "{\"externalId\":\"V-%d\"}", i + 1);
      return ledgerbridge_reply_json(reply, json, (size_t)-1);
    }
  }
  return LEDGERBRIDGE_OK; /* none */
}

ledgerbridge_status sink_host_upload(void* user_data, const char* posted_json, const char* attachment_json,
                                     const uint8_t* bytes, size_t size, ledgerbridge_reply* reply) {
  struct sink_host* h = user_data;
  if (size > 16) {
    ledgerbridge_reply_error(reply, LEDGERBRIDGE_ERP_ATTACHMENT, 0, "file too large");
    return LEDGERBRIDGE_ERROR_CALLBACK;
  }
  snprintf(h->last_upload, sizeof h->last_upload, "%s %s %.*s", posted_json, attachment_json, (int)size,
           (const char*)bytes);
  ++h->uploads;
  return LEDGERBRIDGE_OK;
}

void sink_host_release(void* user_data) {
  struct sink_host* h = user_data;
  ++h->released;
}
