// filter: a workflow function that lets through the JSON events whose
// numeric field is in range.
//
//   init payload   {"field": "amount", "min": 100, "max": 1000}; every key is
//                  optional (field "amount", no min, no max by default)
//   cast           a JSON object: cast unchanged to output "out" when it
//                  passes, dropped (and counted) otherwise
//   call           the same decision as a reply: {"verdict":"accept"} (the
//                  event is also cast to "out"), or
//                  {"verdict":"reject","reason":"amount 20 < 100"}
//
// Telemetry: "accepted" and "rejected", the counts since the instance started.
#define AETHER_HANDLE_INIT
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include <math.h>

#include "aether.h"
#include "aether_json.h"

static char field[64] = "amount";
static double min_value = -INFINITY;
static double max_value = INFINITY;
static double accepted;
static double rejected;

void aether_on_init(const uint8_t* payload, size_t len) {
  const char* s = (const char*)payload;
  if (len == 0) return;
  if (!aether_json_is_object(s, len)) {
    aether_log(AETHER_LOG_ERROR, "filter: init payload is not a JSON object; using the defaults");
    return;
  }
  if (aether_json_string(s, len, "field", field, sizeof field) == -2) {
    aether_log(AETHER_LOG_ERROR, "filter: init payload: \"field\" is not a string");
  }
  if (aether_json_number(s, len, "min", &min_value) == -2) {
    aether_log(AETHER_LOG_ERROR, "filter: init payload: \"min\" is not a number");
  }
  if (aether_json_number(s, len, "max", &max_value) == -2) {
    aether_log(AETHER_LOG_ERROR, "filter: init payload: \"max\" is not a number");
  }
}

// 1 when the event passes; otherwise 0 and the reason, as JSON string
// content (the field name is from the init payload; it is escaped below).
static int judge(const uint8_t* payload, size_t len, char* reason, size_t cap) {
  double v;
  switch (aether_json_number((const char*)payload, len, field, &v)) {
    case 1:
      break;
    case 0:
      snprintf(reason, cap, "missing field %s", field);
      return 0;
    case -2:
      snprintf(reason, cap, "%s is not a number", field);
      return 0;
    default:
      snprintf(reason, cap, "not a JSON object");
      return 0;
  }
  if (v < min_value) {
    snprintf(reason, cap, "%s %.15g < %.15g", field, v, min_value);
    return 0;
  }
  if (v > max_value) {
    snprintf(reason, cap, "%s %.15g > %.15g", field, v, max_value);
    return 0;
  }
  return 1;
}

static int decide(const uint8_t* payload, size_t len, char* reason, size_t cap) {
  int pass = judge(payload, len, reason, cap);
  if (pass) {
    accepted += 1;
    aether_telemetry("accepted", accepted);
    int rc = aether_cast("out", payload, len);
    if (rc != AETHER_OK)
      aether_log(AETHER_LOG_WARN, "filter: cast to out: %s", aether_strerror(rc));
  } else {
    rejected += 1;
    aether_telemetry("rejected", rejected);
  }
  return pass;
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  char reason[160];
  if (!decide(payload, len, reason, sizeof reason)) {
    aether_log(AETHER_LOG_DEBUG, "filter: dropped: %s", reason);
  }
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  char reason[160];
  if (decide(payload, len, reason, sizeof reason)) {
    static const char accept[] = "{\"verdict\":\"accept\"}";
    aether_bytes reply = {(const uint8_t*)accept, sizeof accept - 1};
    return reply;
  }
  // JSON-escape the reason (it may quote a field name with " or \ in it).
  char escaped[2 * sizeof reason];
  size_t o = 0;
  for (const char* p = reason; *p && o + 2 < sizeof escaped; ++p) {
    if (*p == '"' || *p == '\\') escaped[o++] = '\\';
    escaped[o++] = (unsigned char)*p < 0x20 ? ' ' : *p;
  }
  escaped[o] = 0;
  return aether_reply_printf("{\"verdict\":\"reject\",\"reason\":\"%s\"}", escaped);
}
