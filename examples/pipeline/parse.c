// parse: the first function of the pipeline. Turns a raw HTTP body into a
// compact JSON object and hands it to output "out" (the filter).
//
//   body                         event sent to "out"
//   amount=120&item=old+book     {"amount":120,"item":"old book"}
//   {"amount": 120, "item": "x"} {"amount":120,"item":"x"}
//
// Form fields are URL-decoded; a value that is a JSON number stays a
// number, anything else becomes a string.
//
//   call   calls "out" and replies with its reply (so the http-ingress
//          answers with the filter's verdict); a body that is neither a
//          JSON object nor a form gets {"verdict":"reject","reason":...}
//          without calling, a failed call {"verdict":"error","error":...}
//   cast   casts the object to "out" (an ingress in mode "cast")
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"
#include "aether_json.h"

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// URL-decodes s[0, n) in place ('+' is a space); returns the new length.
static size_t url_decode(char* s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '+') {
      s[o++] = ' ';
    } else if (s[i] == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      s[o++] = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      s[o++] = s[i];
    }
  }
  return o;
}

// Appends s[0, n) as a JSON string; out has room for 6 * n + 2 bytes.
static size_t put_string(char* out, const char* s, size_t n) {
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  return o;
}

static int is_number(const char* s, size_t n) {
  return n > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && aether_json_valid(s, n);
}

// The form body s[0, n) (modified in place) as a JSON object in out, which
// has room for 6 * n + 16 bytes. Returns its length, or 0 when there is no field.
static size_t form_to_json(char* s, size_t n, char* out) {
  size_t o = 0, fields = 0;
  out[o++] = '{';
  size_t i = 0;
  while (i < n) {
    size_t end = i;
    while (end < n && s[end] != '&') ++end;
    size_t eq = i;
    while (eq < end && s[eq] != '=') ++eq;
    size_t klen = url_decode(s + i, eq - i);
    size_t vlen = eq < end ? url_decode(s + eq + 1, end - eq - 1) : 0;
    if (klen > 0) {
      if (fields++) out[o++] = ',';
      o += put_string(out + o, s + i, klen);
      out[o++] = ':';
      const char* v = s + eq + 1;
      if (is_number(v, vlen)) {
        memcpy(out + o, v, vlen);
        o += vlen;
      } else {
        o += put_string(out + o, v, vlen);
      }
    }
    i = end + 1;
  }
  out[o++] = '}';
  return fields ? o : 0;
}

// The body as a compact JSON object in a malloc'd buffer (*len bytes), or
// NULL when it is neither a JSON object nor a form.
static char* normalize(const uint8_t* payload, size_t len, size_t* out_len) {
  const char* body = (const char*)payload;
  size_t a = 0, b = len;
  while (a < b && strchr(" \t\r\n", body[a]) && body[a]) ++a;
  while (b > a && strchr(" \t\r\n", body[b - 1]) && body[b - 1]) --b;
  if (a == b) return NULL;
  if (body[a] == '{') {
    if (!aether_json_is_object(body + a, b - a)) return NULL;
    char* out = malloc(b - a);
    if (out) *out_len = aether_json_compact(body + a, b - a, out);
    return out;
  }
  if (b - a > (SIZE_MAX - 16) / 7) return NULL;
  char* work = malloc(b - a);
  char* out = malloc(6 * (b - a) + 16);
  if (work && out) {
    memcpy(work, body + a, b - a);
    *out_len = form_to_json(work, b - a, out);
  }
  free(work);
  if (out && *out_len == 0) {
    free(out);
    return NULL;
  }
  return out;
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  size_t n = 0;
  char* event = normalize(payload, len, &n);
  if (!event) {
    aether_log(AETHER_LOG_INFO, "parse: dropped a body that is neither JSON nor a form");
    return;
  }
  int rc = aether_cast("out", event, n);
  if (rc != AETHER_OK) aether_log(AETHER_LOG_WARN, "parse: cast to out: %s", aether_strerror(rc));
  free(event);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  size_t n = 0;
  char* event = normalize(payload, len, &n);
  if (!event) {
    return aether_reply_str(
        "{\"verdict\":\"reject\",\"reason\":\"the body is neither a JSON object nor a form\"}");
  }
  uint8_t* reply;
  size_t reply_len;
  int rc = aether_call("out", event, n, 0, &reply, &reply_len);
  if (rc == AETHER_ENOOUTPUT) {  // not wired to a filter: show what it would get
    return aether_reply_take((uint8_t*)event, n);
  }
  free(event);
  if (rc != AETHER_OK) {
    aether_log(AETHER_LOG_WARN, "parse: call to out: %s", aether_strerror(rc));
    return aether_reply_printf("{\"verdict\":\"error\",\"error\":\"%s\"}", aether_strerror(rc));
  }
  return aether_reply_take(reply, reply_len);
}
