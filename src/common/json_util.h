// Small helpers over boost::json for request bodies and API responses:
// parsing into a Result with the error position, typed field getters whose
// errors name the field, and escaping that always yields valid JSON even
// for bytes that are not UTF-8 (guest output is arbitrary bytes).
// Pure functions: any thread may call them.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether {

// How deep arrays and objects may nest in any JSON this project parses.
inline constexpr size_t kMaxJsonDepth = 64;

// Parses one JSON text (trailing whitespace allowed, nothing else).
// InvalidArgument "invalid JSON at offset 12: <reason>" on error.
Result<boost::json::value> ParseJson(std::string_view text);

// Where and why a text is not JSON, for messages that point into a file
// ("line 2, column 17: syntax error").
struct JsonSyntaxError {
  size_t offset = 0;  // bytes consumed before the error
  std::string reason;
};
// The same, also filling `error` (when not null) on failure.
Result<boost::json::value> ParseJson(std::string_view text, JsonSyntaxError* error);

// Parses and requires an object: InvalidArgument "<what> must be a JSON
// object" otherwise.
Result<boost::json::object> ParseJsonObject(std::string_view text,
                                            std::string_view what = "request body");

// What ParseJsonObject checks (syntax, depth, finite numbers, an object at
// the top), with the same errors, without building the value: for a body
// passed on as it is (the gateway's forward), where the DOM's allocations
// were most of the cost of looking at it.
Status ValidateJsonObject(std::string_view text, std::string_view what = "request body");

// For a handler of boost::json::basic_parser that looks at a few events
// only (no value built): every event ignored and no size limit of its own.
// A handler derives from it and declares the events it needs, which hide
// these. (Instantiating basic_parser needs <boost/json/basic_parser_impl.hpp>.)
struct JsonEventsIgnored {
  using error_code = boost::system::error_code;
  static constexpr size_t max_array_size = -1;
  static constexpr size_t max_object_size = -1;
  static constexpr size_t max_string_size = -1;
  static constexpr size_t max_key_size = -1;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(size_t, error_code&) { return true; }
  bool on_string_part(boost::json::string_view, size_t, error_code&) { return true; }
  bool on_string(boost::json::string_view, size_t, error_code&) { return true; }
  bool on_key_part(boost::json::string_view, size_t, error_code&) { return true; }
  bool on_key(boost::json::string_view, size_t, error_code&) { return true; }
  bool on_number_part(boost::json::string_view, error_code&) { return true; }
  bool on_int64(int64_t, boost::json::string_view, error_code&) { return true; }
  bool on_uint64(uint64_t, boost::json::string_view, error_code&) { return true; }
  bool on_double(double, boost::json::string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, error_code&) { return true; }
  bool on_comment(boost::json::string_view, error_code&) { return true; }
};

// Typed getters. `path` is a field name or a dotted path into nested objects
// ("labels.zone"). Errors are InvalidArgument and name the path:
//   field "function" is required
//   field "function" must be a string
// The two-argument forms require the field; the forms with a fallback return
// it when the field is absent or null (a present field of the wrong type is
// still an error).
Result<std::string> GetString(const boost::json::object& obj, std::string_view path);
Result<std::string> GetString(const boost::json::object& obj, std::string_view path,
                              std::string_view fallback);
Result<int64_t> GetInt(const boost::json::object& obj, std::string_view path);
Result<int64_t> GetInt(const boost::json::object& obj, std::string_view path, int64_t fallback);
Result<double> GetDouble(const boost::json::object& obj, std::string_view path);
Result<double> GetDouble(const boost::json::object& obj, std::string_view path, double fallback);
Result<bool> GetBool(const boost::json::object& obj, std::string_view path);
Result<bool> GetBool(const boost::json::object& obj, std::string_view path, bool fallback);
// The returned pointers point into `obj` and live as long as it does.
Result<const boost::json::object*> GetObject(const boost::json::object& obj, std::string_view path);
Result<const boost::json::array*> GetArray(const boost::json::object& obj, std::string_view path);
// Any value; nullptr when absent (never an error unless an intermediate path
// element is not an object).
Result<const boost::json::value*> FindField(const boost::json::object& obj, std::string_view path);

// `text` as a quoted JSON string. Control characters are escaped; invalid
// UTF-8 is replaced by U+FFFD (one per maximal invalid subsequence, as the
// Unicode standard recommends), so the result is always valid JSON.
std::string JsonEscape(std::string_view text);
// Appends JsonEscape(text) to `out` without a temporary.
void AppendJsonEscaped(std::string& out, std::string_view text);

// `text` with invalid UTF-8 replaced by U+FFFD; valid input is returned
// unchanged. Use before putting arbitrary bytes into a boost::json::string,
// whose serializer passes bytes through unchecked.
std::string SanitizeUtf8(std::string_view text);

// Compact serialization.
std::string ToJson(const boost::json::value& v);

}  // namespace aether
