/* aether_json.h: a very small JSON reader for guest functions (header only,
 * no allocation). Enough to validate a payload, read the top-level members
 * of an object and compact a document; not a general parser (no DOM).
 *
 *   double amount;
 *   if (aether_json_number(payload, len, "amount", &amount) == 1) ...
 *
 * Inputs are (pointer, length) spans; nothing needs a NUL terminator. Keys
 * are compared with their raw bytes between the quotes (a key written with
 * escapes does not match its unescaped form). Nesting is limited to
 * AETHER_JSON_MAX_DEPTH levels so that hostile input cannot exhaust the
 * stack.
 */
#ifndef AETHER_SDK_AETHER_JSON_H
#define AETHER_SDK_AETHER_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AETHER_JSON_MAX_DEPTH 64

static inline size_t aether_json_ws_(const char* s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

/* Advances *i over a string starting at its opening quote. 0 or -1. */
static inline int aether_json_skip_string_(const char* s, size_t n, size_t* i) {
  size_t j = *i + 1;
  while (j < n) {
    unsigned char c = (unsigned char)s[j];
    if (c == '"') {
      *i = j + 1;
      return 0;
    }
    if (c < 0x20) return -1;
    if (c == '\\') {
      if (j + 1 >= n) return -1;
      char e = s[j + 1];
      if (e == 'u') {
        if (j + 5 >= n) return -1;
        for (size_t k = j + 2; k < j + 6; ++k) {
          char h = s[k];
          if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) {
            return -1;
          }
        }
        j += 6;
        continue;
      }
      if (!strchr("\"\\/bfnrt", e) || e == 0) return -1;
      j += 2;
      continue;
    }
    ++j;
  }
  return -1;
}

static inline int aether_json_skip_depth_(const char* s, size_t n, size_t* i, int depth);

/* Advances *i over a number. 0 or -1. */
static inline int aether_json_skip_number_(const char* s, size_t n, size_t* i) {
  size_t j = *i;
  if (j < n && s[j] == '-') ++j;
  if (j >= n) return -1;
  if (s[j] == '0') {
    ++j;
  } else if (s[j] >= '1' && s[j] <= '9') {
    while (j < n && s[j] >= '0' && s[j] <= '9') ++j;
  } else {
    return -1;
  }
  if (j < n && s[j] == '.') {
    ++j;
    if (j >= n || s[j] < '0' || s[j] > '9') return -1;
    while (j < n && s[j] >= '0' && s[j] <= '9') ++j;
  }
  if (j < n && (s[j] == 'e' || s[j] == 'E')) {
    ++j;
    if (j < n && (s[j] == '+' || s[j] == '-')) ++j;
    if (j >= n || s[j] < '0' || s[j] > '9') return -1;
    while (j < n && s[j] >= '0' && s[j] <= '9') ++j;
  }
  *i = j;
  return 0;
}

static inline int aether_json_skip_container_(const char* s, size_t n, size_t* i, int depth) {
  char close = s[*i] == '{' ? '}' : ']';
  int object = close == '}';
  size_t j = aether_json_ws_(s, n, *i + 1);
  if (j < n && s[j] == close) {
    *i = j + 1;
    return 0;
  }
  for (;;) {
    if (object) {
      if (j >= n || s[j] != '"' || aether_json_skip_string_(s, n, &j) != 0) return -1;
      j = aether_json_ws_(s, n, j);
      if (j >= n || s[j] != ':') return -1;
      j = aether_json_ws_(s, n, j + 1);
    }
    if (aether_json_skip_depth_(s, n, &j, depth + 1) != 0) return -1;
    j = aether_json_ws_(s, n, j);
    if (j < n && s[j] == ',') {
      j = aether_json_ws_(s, n, j + 1);
      continue;
    }
    if (j < n && s[j] == close) {
      *i = j + 1;
      return 0;
    }
    return -1;
  }
}

static inline int aether_json_skip_depth_(const char* s, size_t n, size_t* i, int depth) {
  if (depth > AETHER_JSON_MAX_DEPTH) return -1;
  size_t j = aether_json_ws_(s, n, *i);
  if (j >= n) return -1;
  int rc;
  switch (s[j]) {
    case '"':
      rc = aether_json_skip_string_(s, n, &j);
      break;
    case '{':
    case '[':
      rc = aether_json_skip_container_(s, n, &j, depth);
      break;
    case 't':
      rc = (n - j >= 4 && memcmp(s + j, "true", 4) == 0) ? (j += 4, 0) : -1;
      break;
    case 'f':
      rc = (n - j >= 5 && memcmp(s + j, "false", 5) == 0) ? (j += 5, 0) : -1;
      break;
    case 'n':
      rc = (n - j >= 4 && memcmp(s + j, "null", 4) == 0) ? (j += 4, 0) : -1;
      break;
    default:
      rc = aether_json_skip_number_(s, n, &j);
      break;
  }
  if (rc == 0) *i = j;
  return rc;
}

/* Advances *i (an offset into s) over one JSON value and the whitespace
 * before it. 0, or -1 when the input is not valid JSON there. */
static inline int aether_json_skip(const char* s, size_t n, size_t* i) {
  return aether_json_skip_depth_(s, n, i, 0);
}

/* Whether s[0, n) is exactly one JSON value (whitespace around allowed). */
static inline int aether_json_valid(const char* s, size_t n) {
  size_t i = 0;
  return aether_json_skip(s, n, &i) == 0 && aether_json_ws_(s, n, i) == n;
}

/* Whether s[0, n) is a valid JSON object. */
static inline int aether_json_is_object(const char* s, size_t n) {
  size_t i = aether_json_ws_(s, n, 0);
  return i < n && s[i] == '{' && aether_json_valid(s, n);
}

/* Finds the top-level member `key` of the object s[0, n): 1 and the value's
 * span [*start, *end) when found, 0 when absent, -1 when s is not a valid
 * JSON object. */
static inline int aether_json_member(const char* s, size_t n, const char* key, size_t* start,
                                     size_t* end) {
  if (!aether_json_is_object(s, n)) return -1;
  size_t klen = strlen(key);
  size_t j = aether_json_ws_(s, n, aether_json_ws_(s, n, 0) + 1);
  while (j < n && s[j] == '"') {
    size_t k0 = j + 1;
    aether_json_skip_string_(s, n, &j);
    size_t k1 = j - 1;
    j = aether_json_ws_(s, n, j) + 1; /* past ':' */
    j = aether_json_ws_(s, n, j);
    size_t v0 = j;
    aether_json_skip(s, n, &j);
    if (k1 - k0 == klen && memcmp(s + k0, key, klen) == 0) {
      *start = v0;
      *end = j;
      return 1;
    }
    j = aether_json_ws_(s, n, j);
    if (j < n && s[j] == ',') j = aether_json_ws_(s, n, j + 1);
  }
  return 0;
}

/* The member `key` of object s as a number: 1 and *out when it is a JSON
 * number, 0 when absent, -2 when present but not a number, -1 when s is not
 * a valid object. */
static inline int aether_json_number(const char* s, size_t n, const char* key, double* out) {
  size_t a, b;
  int rc = aether_json_member(s, n, key, &a, &b);
  if (rc != 1) return rc;
  if (s[a] != '-' && (s[a] < '0' || s[a] > '9')) return -2;
  char buf[64];
  size_t len = b - a < sizeof buf - 1 ? b - a : sizeof buf - 1;
  memcpy(buf, s + a, len);
  buf[len] = 0;
  *out = strtod(buf, NULL);
  return 1;
}

/* The member `key` of object s as a string, unescaped into buf (capacity
 * cap, always NUL-terminated, truncated to fit; \u escapes beyond ASCII
 * become '?'): 1 when it is a JSON string, 0 absent, -2 not a string, -1
 * not an object. */
static inline int aether_json_string(const char* s, size_t n, const char* key, char* buf,
                                     size_t cap) {
  size_t a, b;
  int rc = aether_json_member(s, n, key, &a, &b);
  if (rc != 1) return rc;
  if (s[a] != '"') return -2;
  size_t o = 0;
  for (size_t j = a + 1; j + 1 < b && o + 1 < cap; ++j) {
    char c = s[j];
    if (c == '\\') {
      char e = s[++j];
      switch (e) {
        case 'n':
          c = '\n';
          break;
        case 't':
          c = '\t';
          break;
        case 'r':
          c = '\r';
          break;
        case 'b':
          c = '\b';
          break;
        case 'f':
          c = '\f';
          break;
        case 'u': {
          char hex[5] = {s[j + 1], s[j + 2], s[j + 3], s[j + 4], 0};
          long v = strtol(hex, NULL, 16);
          c = v > 0 && v < 0x80 ? (char)v : '?';
          j += 4;
          break;
        }
        default:
          c = e;
          break; /* \" \\ \/ */
      }
    }
    buf[o++] = c;
  }
  if (cap) buf[o] = 0;
  return 1;
}

/* Copies the valid JSON text s[0, n) to out without the whitespace outside
 * strings; out has room for n bytes (it may alias s). Returns the length. */
static inline size_t aether_json_compact(const char* s, size_t n, char* out) {
  size_t o = 0;
  int in_string = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (in_string) {
      out[o++] = c;
      if (c == '\\' && i + 1 < n) {
        out[o++] = s[++i];
      } else if (c == '"') {
        in_string = 0;
      }
    } else if (c == '"') {
      in_string = 1;
      out[o++] = c;
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out[o++] = c;
    }
  }
  return o;
}

#ifdef __cplusplus
}
#endif

#endif /* AETHER_SDK_AETHER_JSON_H */
