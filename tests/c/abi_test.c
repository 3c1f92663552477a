/* Exercises the C ABI from C, built against include/resourceequality.h and linked to the cdylib.
 * One function per behaviour; `make c-test` runs it (under valgrind --leak-check=full when
 * valgrind is installed, so leaks fail the test too). */
#define _GNU_SOURCE
#include "resourceequality.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
      return false;                                                              \
    }                                                                            \
  } while (0)

/* LogsData { resource_logs: [ { resource: { attributes: [ k8s.pod.uid = "abc" ] } } ] } */
static const uint8_t ONE_POD[] = {
    0x0a, 0x18, 0x0a, 0x16, 0x0a, 0x14, 0x0a, 0x0b, 'k', '8', 's', '.', 'p', 'o',
    'd',  '.',  'u',  'i',  'd',  0x12, 0x05, 0x0a, 0x03, 'a', 'b', 'c'};

static uint8_t output[4096];

/* Processes ONE_POD with `cap` bytes of output; returns the status. */
static re_status process(re_engine *e, size_t len, size_t cap, size_t *answer_len, re_buffer *overflow,
                         re_buffer *err) {
  return re_engine_process(e, NULL, 0, ONE_POD, len, output, cap, answer_len, overflow, err);
}

static re_engine *new_engine(const char *json) {
  re_engine *e = NULL;
  if (re_engine_new((const uint8_t *)json, strlen(json), &e, NULL) != RE_STATUS_OK) return NULL;
  return e;
}

static bool test_new_process_free(void) {
  re_engine *e = new_engine("{}");
  CHECK(e != NULL);
  re_buffer overflow = {0}, err = {0};
  size_t n = 0;
  CHECK(process(e, sizeof ONE_POD, sizeof output, &n, &overflow, &err) == RE_STATUS_OK);
  CHECK(n > 0 && n <= sizeof output && overflow.ptr == NULL && err.ptr == NULL);
  CHECK(memmem(output, n, "resource.id", 11) != NULL);
  CHECK(memmem(output, n, "k8s.pod", 7) != NULL);
  /* The same answer, too long for a 1-byte output, comes back in the overflow buffer. */
  size_t m = 0;
  CHECK(process(e, sizeof ONE_POD, 1, &m, &overflow, &err) == RE_STATUS_OK);
  CHECK(m == n && overflow.ptr != NULL && overflow.len == n);
  CHECK(memcmp(overflow.ptr, output, n) == 0);
  re_buffer_free(&overflow);
  CHECK(overflow.ptr == NULL && overflow.len == 0);
  re_stats stats = {0};
  CHECK(re_engine_stats(e, &stats) == RE_STATUS_OK);
  CHECK(stats.resources_processed == 2);
  /* The held view points at the engine's own counters and cells. */
  re_held_view view = {0};
  CHECK(re_engine_held_view(e, &view) == RE_STATUS_OK);
  CHECK(view.cells != NULL && view.cells_len >= 64 && view.link_epoch != NULL);
  CHECK(*view.resources_processed == 2 && *view.cache_hits == stats.cache_hits);
  re_engine_free(e);
  return true;
}

static bool test_bad_config_reports_the_field(void) {
  re_engine *e = NULL;
  re_buffer err = {0};
  const char *bad = "{\"max_entities\": 0}";
  CHECK(re_engine_new((const uint8_t *)bad, strlen(bad), &e, &err) == RE_STATUS_INVALID_CONFIG);
  CHECK(e == NULL);
  CHECK(err.len > 0 && memmem(err.ptr, err.len, "max_entities", 12) != NULL);
  re_buffer_free(&err);
  return true;
}

static bool test_null_pointers(void) {
  re_engine *e = new_engine("{}");
  re_buffer out = {0};
  re_stats stats;
  size_t n = 0;
  CHECK(re_engine_new(NULL, 0, &e, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_process(NULL, NULL, 0, ONE_POD, sizeof ONE_POD, output, sizeof output, &n, &out, NULL) ==
        RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_process(e, NULL, 0, NULL, 0, output, sizeof output, &n, &out, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_process(e, NULL, 3, ONE_POD, sizeof ONE_POD, output, sizeof output, &n, &out, NULL) ==
        RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_process(e, NULL, 0, ONE_POD, sizeof ONE_POD, NULL, sizeof output, &n, &out, NULL) ==
        RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_process(e, NULL, 0, ONE_POD, sizeof ONE_POD, output, sizeof output, NULL, &out, NULL) ==
        RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_process(e, NULL, 0, ONE_POD, sizeof ONE_POD, output, sizeof output, &n, NULL, NULL) ==
        RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_snapshot(e, NULL, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_restore(e, NULL, 0, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_stats(NULL, &stats) == RE_STATUS_NULL_PARAMETER);
  re_held_view view;
  CHECK(re_engine_held_view(NULL, &view) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_held_view(e, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_entities_by_type(NULL, &out) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_entities_by_type(e, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_entity_events(NULL, 60, &out) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_engine_entity_events(e, 60, NULL) == RE_STATUS_NULL_PARAMETER);
  re_engine_free(NULL);
  re_buffer_free(NULL);
  re_engine_free(e);
  return true;
}

static bool test_truncated_input_is_an_error(void) {
  re_engine *e = new_engine("{}");
  for (size_t cut = 1; cut < sizeof ONE_POD; cut++) {
    re_buffer out = {0}, err = {0};
    size_t n = 0;
    re_status s = process(e, cut, sizeof output, &n, &out, &err);
    CHECK(s == RE_STATUS_INVALID_INPUT);
    CHECK(out.ptr == NULL && n == 0);
    CHECK(err.len > 0);
    re_buffer_free(&err);
  }
  re_engine_free(e);
  return true;
}

static bool test_snapshot_round_trip(void) {
  re_engine *a = new_engine("{}");
  re_buffer out = {0}, snap = {0};
  size_t n = 0;
  CHECK(process(a, sizeof ONE_POD, sizeof output, &n, &out, NULL) == RE_STATUS_OK);
  CHECK(re_engine_snapshot(a, &snap, NULL) == RE_STATUS_OK);
  re_engine *b = new_engine("{}");
  CHECK(re_engine_restore(b, snap.ptr, snap.len, NULL) == RE_STATUS_OK);
  re_buffer err = {0};
  snap.ptr[snap.len - 1] ^= 0xff; /* corrupt the checksum */
  CHECK(re_engine_restore(b, snap.ptr, snap.len, &err) == RE_STATUS_INVALID_SNAPSHOT);
  CHECK(err.len > 0);
  re_buffer_free(&err);
  re_buffer_free(&snap);
  re_engine_free(a);
  re_engine_free(b);
  return true;
}

static bool test_config_check(void) {
  const char *good = "{\"ttl\":\"10m\"}";
  re_buffer effective = {0}, err = {0};
  CHECK(re_config_check((const uint8_t *)good, strlen(good), &effective, &err) == RE_STATUS_OK);
  CHECK(effective.ptr != NULL && memmem(effective.ptr, effective.len, "\"ttl\":\"600s\"", 12) != NULL);
  re_buffer_free(&effective);
  const char *bad = "{\"rules\":[{\"name\":\"x\"}]}";
  CHECK(re_config_check((const uint8_t *)bad, strlen(bad), NULL, &err) == RE_STATUS_INVALID_CONFIG);
  CHECK(err.ptr != NULL && err.len > 0);
  re_buffer_free(&err);
  CHECK(re_config_check(NULL, 0, NULL, NULL) == RE_STATUS_NULL_PARAMETER);
  CHECK(re_config_check((const uint8_t *)"\xff", 1, NULL, NULL) == RE_STATUS_INVALID_CONFIG);
  return true;
}

static bool test_status_messages(void) {
  uint8_t buf[128];
  size_t n = re_status_message(RE_STATUS_INVALID_INPUT, buf, sizeof buf);
  CHECK(n > 0 && n < sizeof buf);
  CHECK(re_status_message(999, NULL, 0) > 0);
  return true;
}

int main(void) {
  struct { const char *name; bool (*fn)(void); } tests[] = {
      {"new_process_free", test_new_process_free},
      {"bad_config_reports_the_field", test_bad_config_reports_the_field},
      {"null_pointers", test_null_pointers},
      {"truncated_input_is_an_error", test_truncated_input_is_an_error},
      {"snapshot_round_trip", test_snapshot_round_trip},
      {"config_check", test_config_check},
      {"status_messages", test_status_messages},
  };
  int n = sizeof tests / sizeof tests[0];
  for (int i = 0; i < n; i++) {
    bool ok = tests[i].fn();
    printf("%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
    if (!ok) failures++;
  }
  printf("c-abi: %d passed, %d failed\n", n - failures, failures);
  return failures == 0 ? 0 : 1;
}
