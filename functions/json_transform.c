/* json_transform: reads one JSON object and writes it back in compact form
 * with every object key upper-cased (ASCII a-z, at every depth); values are
 * unchanged. A small validating parser (RFC 8259 syntax, nesting up to 64
 * levels), no library. Keys are upper-cased as written: an escaped letter
 * (\u0061) stays as it is, and keys that differ only in case both remain.
 *   input {"name": "ada", "tags": [{"k": 1}]}  ->  {"NAME":"ada","TAGS":[{"K":1}]}
 * Invalid input: "json_transform: invalid JSON at byte N: <reason>" on
 * stderr, nothing on stdout, exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct {
  const char* in;
  size_t len, pos;
  char* out; /* never longer than the input: the output drops whitespace only */
  size_t out_len;
  int depth;
  const char* error;
} parser;

static int fail(parser* p, const char* why) {
  if (!p->error) p->error = why;
  return 0;
}
static int peek(const parser* p) { return p->pos < p->len ? (unsigned char)p->in[p->pos] : -1; }
static void emit(parser* p, char c) { p->out[p->out_len++] = c; }
static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static void skip_ws(parser* p) {
  while (is_ws(peek(p))) p->pos++;
}
static int expect(parser* p, char c, const char* why) {
  if (peek(p) != c) return fail(p, why);
  emit(p, c);
  p->pos++;
  return 1;
}
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int parse_value(parser* p);

static int parse_string(parser* p, int upper) {
  if (!expect(p, '"', "expected a string")) return 0;
  for (;;) {
    int c = peek(p);
    if (c < 0) return fail(p, "unterminated string");
    if (c < 0x20) return fail(p, "control character in string");
    p->pos++;
    if (c == '"') {
      emit(p, '"');
      return 1;
    }
    if (c == '\\') {
      int e = peek(p);
      if (e <= 0 || !strchr("\"\\/bfnrtu", e)) return fail(p, "invalid escape");
      emit(p, '\\');
      emit(p, (char)e);
      p->pos++;
      if (e == 'u') {
        for (int i = 0; i < 4; i++) {
          if (!is_hex(peek(p))) return fail(p, "invalid \\u escape");
          emit(p, p->in[p->pos++]);
        }
      }
      continue;
    }
    if (upper && c >= 'a' && c <= 'z') c = c - 'a' + 'A';
    emit(p, (char)c);
  }
}

static int digits(parser* p) {
  if (!is_digit(peek(p))) return fail(p, "expected a digit");
  while (is_digit(peek(p))) emit(p, p->in[p->pos++]);
  return 1;
}

static int parse_number(parser* p) {
  if (peek(p) == '-') emit(p, p->in[p->pos++]);
  if (peek(p) == '0') {
    emit(p, p->in[p->pos++]);
    if (is_digit(peek(p))) return fail(p, "leading zero in number");
  } else if (!digits(p)) {
    return 0;
  }
  if (peek(p) == '.') {
    emit(p, p->in[p->pos++]);
    if (!digits(p)) return 0;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    emit(p, p->in[p->pos++]);
    if (peek(p) == '+' || peek(p) == '-') emit(p, p->in[p->pos++]);
    if (!digits(p)) return 0;
  }
  return 1;
}

static int parse_literal(parser* p, const char* word) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->in + p->pos, word, n) != 0)
    return fail(p, "unexpected character");
  for (size_t i = 0; i < n; i++) emit(p, word[i]);
  p->pos += n;
  return 1;
}

/* object or array: open, members separated by ',', close */
static int parse_container(parser* p, char open, char close) {
  if (++p->depth > MAX_DEPTH) return fail(p, "nested too deeply");
  emit(p, open);
  p->pos++;
  skip_ws(p);
  if (peek(p) == close) {
    emit(p, close);
    p->pos++;
    p->depth--;
    return 1;
  }
  for (;;) {
    skip_ws(p);
    if (open == '{') {
      if (peek(p) != '"') return fail(p, "expected a key string");
      if (!parse_string(p, 1)) return 0;
      skip_ws(p);
      if (!expect(p, ':', "expected ':' after a key")) return 0;
      skip_ws(p);
    }
    if (!parse_value(p)) return 0;
    skip_ws(p);
    if (peek(p) == ',') {
      emit(p, ',');
      p->pos++;
      continue;
    }
    if (!expect(p, close, open == '{' ? "expected ',' or '}'" : "expected ',' or ']'")) return 0;
    p->depth--;
    return 1;
  }
}

static int parse_value(parser* p) {
  switch (peek(p)) {
    case '{':
      return parse_container(p, '{', '}');
    case '[':
      return parse_container(p, '[', ']');
    case '"':
      return parse_string(p, 0);
    case 't':
      return parse_literal(p, "true");
    case 'f':
      return parse_literal(p, "false");
    case 'n':
      return parse_literal(p, "null");
    case -1:
      return fail(p, "unexpected end of input");
    default:
      if (peek(p) == '-' || is_digit(peek(p))) return parse_number(p);
      return fail(p, "unexpected character");
  }
}

int main(void) {
  size_t cap = 65536, len = 0, n;
  char* in = malloc(cap);
  if (!in) return 1;
  while ((n = fread(in + len, 1, cap - len, stdin)) > 0) {
    len += n;
    if (len == cap) {
      char* bigger = realloc(in, cap *= 2);
      if (!bigger) {
        fputs("json_transform: input too large\n", stderr);
        return 1;
      }
      in = bigger;
    }
  }
  parser p = {.in = in, .len = len, .out = malloc(len + 1)};
  if (!p.out) return 1;
  skip_ws(&p);
  if (peek(&p) != '{') {
    fail(&p, "expected a JSON object");
  } else if (parse_value(&p)) {
    skip_ws(&p);
    if (p.pos != p.len) fail(&p, "trailing characters after the object");
  }
  if (p.error) {
    fprintf(stderr, "json_transform: invalid JSON at byte %zu: %s\n", p.pos, p.error);
    return 1;
  }
  fwrite(p.out, 1, p.out_len, stdout);
  return 0;
}
