#include "common/json_util.h"

#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <limits>

namespace aether {
namespace {

namespace json = boost::json;

std::string FieldError(std::string_view path, std::string_view what) {
  std::string msg = "field \"";
  msg.append(path);
  msg.append("\" ");
  msg.append(what);
  return msg;
}

// Length of the well-formed UTF-8 sequence at p (1..4), or 0 with
// `*bad` = the length of the maximal ill-formed subpart (at least 1).
// Table 3-7 of the Unicode standard: excludes overlongs, surrogates and
// code points above U+10FFFF.
size_t Utf8Sequence(const unsigned char* p, size_t n, size_t* bad) {
  unsigned char b0 = p[0];
  if (b0 < 0x80) return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 == 0xE0) {
    need = 2, lo = 0xA0;
  } else if (b0 == 0xED) {
    need = 2, hi = 0x9F;
  } else if (b0 >= 0xE1 && b0 <= 0xEF) {
    need = 2;
  } else if (b0 == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    need = 3;
  } else if (b0 == 0xF4) {
    need = 3, hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (k >= n || p[k] < lo || p[k] > hi) {
      *bad = k;
      return 0;
    }
    lo = 0x80, hi = 0xBF;
  }
  return need + 1;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Walks `path` (dotted) through nested objects. Returns nullptr when the
// last element is absent; an error when an intermediate one is not an object.
Result<const json::value*> Walk(const json::object& root, std::string_view path) {
  const json::object* obj = &root;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view key = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    const json::value* v = obj->if_contains(key);
    if (dot == std::string_view::npos || v == nullptr) return v;
    obj = v->if_object();
    if (obj == nullptr) {
      return InvalidArgument(FieldError(path.substr(0, dot), "must be an object"));
    }
    start = dot + 1;
  }
}

Result<const json::value*> Require(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Walk(obj, path));
  if (v == nullptr || v->is_null()) return InvalidArgument(FieldError(path, "is required"));
  return v;
}

Result<std::string> AsString(const json::value& v, std::string_view path) {
  if (const json::string* s = v.if_string()) return std::string(s->data(), s->size());
  return InvalidArgument(FieldError(path, "must be a string"));
}

Result<int64_t> AsInt(const json::value& v, std::string_view path) {
  if (const int64_t* i = v.if_int64()) return *i;
  if (const uint64_t* u = v.if_uint64()) {
    if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(*u);
    }
  }
  // 3.0 is an integer to anyone writing JSON by hand.
  if (const double* d = v.if_double()) {
    if (std::trunc(*d) == *d && std::abs(*d) < 9.2e18) return static_cast<int64_t>(*d);
  }
  return InvalidArgument(FieldError(path, "must be an integer"));
}

Result<double> AsDouble(const json::value& v, std::string_view path) {
  if (v.is_number()) return v.to_number<double>();
  return InvalidArgument(FieldError(path, "must be a number"));
}

Result<bool> AsBool(const json::value& v, std::string_view path) {
  if (const bool* b = v.if_bool()) return *b;
  return InvalidArgument(FieldError(path, "must be a boolean"));
}

// Shared shape of the getters with a fallback: absent or null gives the
// fallback, anything else must convert.
template <typename T, typename Convert>
Result<T> Optional(const json::object& obj, std::string_view path, T fallback, Convert convert) {
  ASSIGN_OR_RETURN(const json::value* v, Walk(obj, path));
  if (v == nullptr || v->is_null()) return fallback;
  return convert(*v, path);
}

}  // namespace

namespace {
bool AllNumbersFinite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!AllNumbersFinite(e)) return false;
      }
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!AllNumbersFinite(kv.value())) return false;
      }
      return true;
    default:
      return true;
  }
}
}  // namespace

Result<json::value> ParseJson(std::string_view text, JsonSyntaxError* error) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  json::stream_parser parser({}, opts);
  boost::system::error_code ec;
  size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);
    consumed = text.size();
  }
  if (ec) {
    if (error != nullptr) *error = {consumed, ec.message()};
    return InvalidArgument("invalid JSON at offset " + std::to_string(consumed) + ": " +
                           ec.message());
  }
  json::value v = parser.release();
  // Boost.JSON reads 1e400 as infinity, which no JSON writer can print back:
  // refuse such numbers here rather than emit invalid JSON later.
  if (!AllNumbersFinite(v)) {
    if (error != nullptr) *error = {text.size(), "a number is out of range"};
    return InvalidArgument("invalid JSON: a number is out of range");
  }
  return v;
}

Result<json::value> ParseJson(std::string_view text) { return ParseJson(text, nullptr); }

Result<json::object> ParseJsonObject(std::string_view text, std::string_view what) {
  ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (json::object* obj = v.if_object()) return std::move(*obj);
  return InvalidArgument(std::string(what) + " must be a JSON object");
}

namespace {

// The events of a validating parse: nothing is kept but whether the top is
// an object and whether a number overflowed to infinity (as ParseJson
// refuses them).
struct ValidatingHandler : JsonEventsIgnored {
  size_t depth = 0;
  bool top_is_object = false;
  bool infinite = false;

  bool on_array_begin(error_code&) {
    ++depth;
    return true;
  }
  bool on_array_end(size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_object_begin(error_code&) {
    top_is_object |= depth == 0;
    ++depth;
    return true;
  }
  bool on_object_end(size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_double(double d, json::string_view, error_code&) {
    // Reported only if the whole text parses, as ParseJson does.
    infinite |= !std::isfinite(d);
    return true;
  }
};

}  // namespace

Status ValidateJsonObject(std::string_view text, std::string_view what) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  json::basic_parser<ValidatingHandler> parser(opts);
  boost::system::error_code ec;
  size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) ec = json::error::extra_data;
  if (ec) {
    return InvalidArgument("invalid JSON at offset " + std::to_string(consumed) + ": " +
                           ec.message());
  }
  if (parser.handler().infinite) return InvalidArgument("invalid JSON: a number is out of range");
  if (!parser.handler().top_is_object) {
    return InvalidArgument(std::string(what) + " must be a JSON object");
  }
  return OkStatus();
}

Result<std::string> GetString(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Require(obj, path));
  return AsString(*v, path);
}
Result<std::string> GetString(const json::object& obj, std::string_view path,
                              std::string_view fallback) {
  return Optional<std::string>(obj, path, std::string(fallback), AsString);
}
Result<int64_t> GetInt(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Require(obj, path));
  return AsInt(*v, path);
}
Result<int64_t> GetInt(const json::object& obj, std::string_view path, int64_t fallback) {
  return Optional<int64_t>(obj, path, fallback, AsInt);
}
Result<double> GetDouble(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Require(obj, path));
  return AsDouble(*v, path);
}
Result<double> GetDouble(const json::object& obj, std::string_view path, double fallback) {
  return Optional<double>(obj, path, fallback, AsDouble);
}
Result<bool> GetBool(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Require(obj, path));
  return AsBool(*v, path);
}
Result<bool> GetBool(const json::object& obj, std::string_view path, bool fallback) {
  return Optional<bool>(obj, path, fallback, AsBool);
}

Result<const json::object*> GetObject(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Require(obj, path));
  if (const json::object* o = v->if_object()) return o;
  return InvalidArgument(FieldError(path, "must be an object"));
}

Result<const json::array*> GetArray(const json::object& obj, std::string_view path) {
  ASSIGN_OR_RETURN(const json::value* v, Require(obj, path));
  if (const json::array* a = v->if_array()) return a;
  return InvalidArgument(FieldError(path, "must be an array"));
}

Result<const json::value*> FindField(const json::object& obj, std::string_view path) {
  return Walk(obj, path);
}

void AppendJsonEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      // Copy the run of plain ASCII in one go; this is the common case.
      size_t j = i + 1;
      while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\') ++j;
      out.append(text.data() + i, j - i);
      i = j;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        default:
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
      }
      ++i;
      continue;
    }
    size_t bad = 0;
    size_t len = Utf8Sequence(p + i, n - i, &bad);
    if (len == 0) {
      out.append(kReplacement);
      i += bad;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  out.push_back('"');
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  AppendJsonEscaped(out, text);
  return out;
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    size_t bad = 0;
    size_t len = Utf8Sequence(p + i, text.size() - i, &bad);
    if (len == 0) {
      out.append(kReplacement);
      i += bad;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  return out;
}

std::string ToJson(const json::value& v) { return json::serialize(v); }

}  // namespace aether
