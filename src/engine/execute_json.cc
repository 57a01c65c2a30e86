#include "engine/execute_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <optional>

#include "common/json_util.h"
#include "common/units.h"

namespace aether::engine {
namespace {

namespace json = boost::json;

// Writes one flat JSON object; keys are literals, values escaped.
class ObjectWriter {
 public:
  ObjectWriter() {
    out_.reserve(256);
    out_ += '{';
  }
  ObjectWriter& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonEscaped(out_, value);
    return *this;
  }
  ObjectWriter& Int(std::string_view key, int64_t value) {
    Key(key);
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
    return *this;
  }
  ObjectWriter& Ms(std::string_view key, double ms) {
    Key(key);
    // Microsecond resolution: enough for sub-millisecond guests, and no
    // float noise like 0.012000000000000002 in responses. std::to_chars:
    // fmt's formatting was ~2.5% of an /execute's instructions.
    char buf[320];  // room for any finite double in fixed notation
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 3);
    if (ec == std::errc()) {
      out_.append(buf, end);
    } else {
      out_ += '0';  // unreachable: the buffer holds any finite double
    }
    return *this;
  }
  std::string Finish() && {
    out_ += '}';
    return std::move(out_);
  }
  void Reserve(size_t n) { out_.reserve(n); }

 private:
  void Key(std::string_view key) {
    if (out_.size() > 1) out_ += ',';
    out_ += '"';
    out_ += key;
    out_.append("\":", 2);
  }
  std::string out_;
};

std::string_view Truncated(std::string_view s) {
  return s.size() > kMaxStderrInError ? s.substr(0, kMaxStderrInError) : s;
}

std::string_view TrimTrailingNewlines(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

ExecuteResponse Error500(std::string_view code, ObjectWriter&& w) {
  return {500, std::move(w).Finish(), code};
}

// The guest gets the client's own text of a non-string "input", minus
// insignificant whitespace: re-serializing the parsed value would change
// numbers (boost prints 2.5 as "2.5E0", and its parser is not correctly
// rounded for long mantissas, so some doubles would not even survive).
// These scanners only ever see text boost::json has already accepted; the
// bounds checks are for robustness, not validation.

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsJsonSpace(s[i])) ++i;
  return i;
}

// `i` at an opening quote; returns the index after the closing one.
size_t StringEnd(std::string_view s, size_t i) {
  for (++i; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\') ++i;
  }
  return std::min(i + 1, s.size());
}

size_t ValueEnd(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return StringEnd(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = StringEnd(s, i);
        continue;
      }
      ++i;
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) break;
    }
    return i;
  }
  while (i < s.size() && !IsJsonSpace(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

// The text of the top-level member `key` of the object `body` (the last one
// when repeated, as boost::json keeps the last); nullopt if absent.
std::optional<std::string_view> MemberText(std::string_view body, std::string_view key) {
  std::optional<std::string_view> found;
  size_t i = SkipSpace(body, 0);
  if (i >= body.size() || body[i] != '{') return std::nullopt;
  i = SkipSpace(body, i + 1);
  while (i < body.size() && body[i] == '"') {
    size_t key_end = StringEnd(body, i);
    std::string_view raw = body.substr(i + 1, key_end - i - 2);
    bool match = raw == key;
    if (!match && raw.find('\\') != std::string_view::npos) {
      boost::system::error_code ec;
      json::value k = json::parse(body.substr(i, key_end - i), ec);
      match = !ec && k.is_string() && k.get_string() == key;
    }
    i = SkipSpace(body, key_end);
    if (i >= body.size() || body[i] != ':') return std::nullopt;
    i = SkipSpace(body, i + 1);
    size_t value_end = ValueEnd(body, i);
    if (match) found = body.substr(i, value_end - i);
    i = SkipSpace(body, value_end);
    if (i < body.size() && body[i] == ',') i = SkipSpace(body, i + 1);
  }
  return found;
}

void AppendMinified(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '"') {
      size_t end = StringEnd(text, i);
      out.append(text.substr(i, end - i));
      i = end;
    } else {
      if (!IsJsonSpace(text[i])) out += text[i];
      ++i;
    }
  }
}

}  // namespace

namespace {

// One validating pass over the body that keeps only what /execute needs:
// the top-level "function" and "input" members (the last of each, as
// boost::json's object keeps the last of repeated keys), a string's
// decoded bytes, and otherwise only the kind of value. Building the whole
// DOM was ~10 % of an /execute's instructions.
class ExecuteHandler : public JsonEventsIgnored {
 public:
  enum class Kind { kAbsent, kNull, kString, kOther };
  struct Member {
    Kind kind = Kind::kAbsent;
    std::string text;  // the decoded string when kind is kString
  };

  bool top_is_object = false;
  Member function, input;

  bool on_array_begin(error_code&) {
    Scalar(Kind::kOther);
    ++depth_;
    return true;
  }
  bool on_array_end(size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_object_begin(error_code&) {
    top_is_object |= depth_ == 0;
    Scalar(Kind::kOther);
    ++depth_;
    return true;
  }
  bool on_object_end(size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_string_part(json::string_view s, size_t, error_code&) {
    if (Current() != nullptr) part_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, size_t, error_code&) {
    if (Member* m = Current()) {
      m->kind = Kind::kString;
      m->text = std::move(part_);
      m->text.append(s.data(), s.size());
      part_.clear();
    }
    return true;
  }
  bool on_key_part(json::string_view s, size_t, error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, size_t, error_code&) {
    if (depth_ != 1) return true;
    key_.append(s.data(), s.size());
    current_ = key_ == "function" ? &function : key_ == "input" ? &input : nullptr;
    key_.clear();
    return true;
  }
  bool on_int64(int64_t, json::string_view, error_code&) { return Scalar(Kind::kOther); }
  bool on_uint64(uint64_t, json::string_view, error_code&) { return Scalar(Kind::kOther); }
  bool on_double(double, json::string_view, error_code&) { return Scalar(Kind::kOther); }
  bool on_bool(bool, error_code&) { return Scalar(Kind::kOther); }
  bool on_null(error_code&) { return Scalar(Kind::kNull); }

 private:
  // The member whose value is being read: a top-level one we keep.
  Member* Current() const { return depth_ == 1 ? current_ : nullptr; }
  bool Scalar(Kind kind) {
    if (Member* m = Current()) {
      m->kind = kind;
      m->text.clear();
    }
    return true;
  }

  size_t depth_ = 0;
  Member* current_ = nullptr;  // the member of the last top-level key, if kept
  std::string key_;            // a top-level key arriving in parts
  std::string part_;           // a kept string arriving in parts
};

}  // namespace

Result<ExecuteRequest> ParseExecuteRequest(std::string_view body) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  json::basic_parser<ExecuteHandler> parser(opts);
  boost::system::error_code ec;
  size_t consumed = parser.write_some(false, body.data(), body.size(), ec);
  if (!ec && consumed < body.size()) ec = json::error::extra_data;
  if (ec || !parser.handler().top_is_object) {
    // The shared helper words the error (with its offset) as everywhere else.
    Result<json::object> r = ParseJsonObject(body);
    if (!r.ok()) return r.status();
    return InvalidArgument("request body must be a JSON object");
  }
  ExecuteHandler& h = parser.handler();
  using Kind = ExecuteHandler::Kind;
  if (h.function.kind == Kind::kAbsent || h.function.kind == Kind::kNull) {
    return InvalidArgument("field \"function\" is required");
  }
  if (h.function.kind != Kind::kString) {
    return InvalidArgument("field \"function\" must be a string");
  }
  if (h.function.text.empty()) return InvalidArgument("field \"function\" must not be empty");
  ExecuteRequest req;
  req.function = std::move(h.function.text);
  if (h.input.kind == Kind::kString) {
    req.input = std::move(h.input.text);
  } else if (h.input.kind == Kind::kOther) {
    if (std::optional<std::string_view> text = MemberText(body, "input")) {
      AppendMinified(req.input, *text);
    }
  }
  return req;
}

ExecuteResponse MakeRunResponse(std::string_view function, const Result<wasm::RunResult>& run,
                                std::chrono::nanoseconds timeout) {
  if (!run.ok()) {
    const Status& st = run.status();
    ObjectWriter w;
    switch (st.code()) {
      case Code::kResourceExhausted:
        w.Str("error", fmt::format("function {}: {}", function, st.message()))
            .Str("code", "instantiate");
        return Error500("instantiate", std::move(w));
      case Code::kInvalidArgument:
        w.Str("error", fmt::format("function {}: {}", function, st.message()))
            .Str("code", "invalid_module");
        return Error500("invalid_module", std::move(w));
      default:
        w.Str("error", fmt::format("function {} failed to start: {}", function, st.message()))
            .Str("code", "internal");
        return Error500("internal", std::move(w));
    }
  }
  const wasm::RunResult& r = *run;
  std::string_view stderr_text = Truncated(r.stderr_data);
  if (r.trap == wasm::TrapKind::kTimeout) {
    ObjectWriter w;
    w.Str("error", fmt::format("function {} timed out after {}", function, FormatDuration(timeout)))
        .Str("code", "timeout")
        .Str("trap", wasm::TrapName(r.trap))
        .Str("stderr", stderr_text)
        .Ms("execution_time_ms", r.exec_ms);
    return Error500("timeout", std::move(w));
  }
  if (r.trap != wasm::TrapKind::kNone) {
    ObjectWriter w;
    w.Str("error", fmt::format("function {} trapped: {}", function, wasm::TrapMessage(r.trap)))
        .Str("code", "trap")
        .Str("trap", wasm::TrapName(r.trap))
        .Str("stderr", stderr_text)
        .Ms("execution_time_ms", r.exec_ms);
    return Error500("trap", std::move(w));
  }
  if (r.exit_code != 0) {
    std::string_view brief = TrimTrailingNewlines(stderr_text);
    std::string msg = fmt::format("function {} exited with code {}", function, r.exit_code);
    if (!brief.empty()) {
      msg += ": ";
      msg += brief;
    }
    ObjectWriter w;
    w.Str("error", msg)
        .Str("code", "exit")
        .Int("exit_code", r.exit_code)
        .Str("stderr", stderr_text)
        .Ms("execution_time_ms", r.exec_ms);
    return Error500("exit", std::move(w));
  }
  ObjectWriter w;
  // Escaping grows plain text little; reserving avoids regrowth for big outputs.
  w.Reserve(r.stdout_data.size() + r.stdout_data.size() / 8 + 96);
  w.Str("output", r.stdout_data)
      .Ms("execution_time_ms", r.exec_ms)
      .Int("memory_used_kb", static_cast<int64_t>(r.peak_memory_bytes / 1024));
  return {200, std::move(w).Finish(), {}};
}

ExecuteResponse MakeLoadErrorResponse(std::string_view function, const Status& status) {
  ObjectWriter w;
  if (status.code() == Code::kInvalidArgument) {
    w.Str("error", fmt::format("function {}: {}", function, status.message()))
        .Str("code", "invalid_module");
    return Error500("invalid_module", std::move(w));
  }
  w.Str("error", fmt::format("function {} cannot be loaded: {}", function, status.message()))
      .Str("code", "internal");
  return Error500("internal", std::move(w));
}

ExecuteResponse MakeError(int status, std::string_view code, std::string_view message) {
  ObjectWriter w;
  w.Str("error", message).Str("code", code);
  return {status, std::move(w).Finish(), code};
}

}  // namespace aether::engine
