#ifndef LB_TESTS_SINK_HOST_H
#define LB_TESTS_SINK_HOST_H
#include <ledgerbridge.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SINK_HOST_MAX 8

struct sink_host {
  char keys[SINK_HOST_MAX][96]; /* external keys of posted documents; ids are V-<index+1> */
  int count;
  int uploads;
  char last_upload[512];
  int released;
};

ledgerbridge_status sink_host_post(void* user_data, const char* document_json, ledgerbridge_reply* reply);
ledgerbridge_status sink_host_lookup(void* user_data, const char* external_key, ledgerbridge_reply* reply);
ledgerbridge_status sink_host_upload(void* user_data, const char* posted_json, const char* attachment_json,
                                     const uint8_t* bytes, size_t size, ledgerbridge_reply* reply);
void sink_host_release(void* user_data);

#ifdef __cplusplus
}
#endif
#endif
