#include "workflow/edgeless_http.h"

#include <boost/json.hpp>
#include <cctype>

#include "common/http_server.h"

namespace aether::workflow {

namespace json = boost::json;

namespace {

json::array ByteArray(std::string_view bytes) {
  json::array out;
  out.reserve(bytes.size());
  for (char c : bytes) out.emplace_back(static_cast<uint8_t>(c));
  return out;
}

// A "body": null or a list of bytes, appended to `out`; false when it is
// neither.
bool ReadBytes(const json::value* body, std::string* out) {
  if (body == nullptr || body->is_null()) return true;
  if (!body->is_array()) return false;
  out->reserve(body->get_array().size());
  for (const json::value& b : body->get_array()) {
    boost::system::error_code ec;
    auto byte = b.is_number() ? b.to_number<int64_t>(ec) : -1;
    if (ec || byte < 0 || byte > 255) return false;
    out->push_back(static_cast<char>(byte));
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "headers": null or an object of strings, into `out` (names lower-cased
// when `lower`); false otherwise, with the bad name in `bad`.
bool ReadHeaders(const json::value* headers, bool lower, std::map<std::string, std::string>* out,
                 std::string* bad) {
  if (headers == nullptr || headers->is_null()) return true;
  if (!headers->is_object()) return false;
  for (const auto& kv : headers->get_object()) {
    if (!kv.value().is_string()) {
      *bad = std::string(kv.key());
      return false;
    }
    (*out)[lower ? Lower(kv.key()) : std::string(kv.key())] = std::string(kv.value().get_string());
  }
  return true;
}

// What EDGELESS's ingress passes of a header value (hyper's to_str():
// visible ASCII, space and tab); it skips the others.
bool VisibleAscii(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x7f || (u < 0x20 && u != '\t')) return false;
  }
  return true;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> EdgelessResponseHeaders(
    const std::map<std::string, std::string>& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t bytes = 0;
  for (const auto& [name, value] : headers) {
    // The server writes these itself (or they describe one connection).
    if (IsHopByHopHeader(name) || name == "content-type" || name == "content-length" ||
        name == "server" || name == "date" || name.starts_with("x-aether-")) {
      continue;
    }
    // A name or value a client could not parse, or one that would split the
    // response (CR, LF), is left out rather than sent.
    if (!IsHttpToken(name) || !VisibleAscii(value)) continue;
    bytes += name.size() + value.size();
    if (out.size() == kMaxEdgelessResponseHeaders || bytes > kMaxEdgelessResponseHeaderBytes) break;
    out.emplace_back(name, value);
  }
  return out;
}

std::map<std::string, std::string> EdgelessHeaders(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    std::string lower = Lower(name);
    if (IsHopByHopHeader(lower) || lower == "host" || lower == "content-length" ||
        lower == "x-forwarded-host" || lower.starts_with("x-aether-") || !VisibleAscii(value)) {
      continue;
    }
    out[std::move(lower)] = value;
  }
  return out;
}

std::optional<std::string_view> EdgelessMethod(std::string_view method) {
  static const std::map<std::string_view, std::string_view> kNames = {
      {"GET", "Get"}, {"HEAD", "Head"},     {"POST", "Post"},
      {"PUT", "Put"}, {"DELETE", "Delete"}, {"PATCH", "Patch"}};
  auto it = kNames.find(method);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

std::string EncodeEdgelessRequest(std::string_view method, std::string_view host,
                                  std::string_view path, std::string_view body,
                                  const std::map<std::string, std::string>& headers) {
  json::object h;
  for (const auto& [k, v] : headers) h[k] = v;
  // serde writes the fields in declaration order; keep it for readers that
  // compare text.
  json::object o;
  o["method"] = EdgelessMethod(method).value_or(method);
  o["protocol"] = "Unknown";
  o["host"] = host;
  o["path"] = path;
  o["body"] = ByteArray(body);
  o["headers"] = std::move(h);
  return json::serialize(o);
}

Result<EdgelessRequest> DecodeEdgelessRequest(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    return InvalidArgument("the request is not JSON (EDGELESS's HTTP request): " + ec.message());
  if (!v.is_object()) return InvalidArgument("the request is not a JSON object");
  const json::object& o = v.get_object();
  EdgelessRequest out;
  const json::value* method = o.if_contains("method");
  static const std::map<std::string_view, std::string_view> kMethods = {
      {"Get", "GET"}, {"Head", "HEAD"},     {"Post", "POST"},
      {"Put", "PUT"}, {"Delete", "DELETE"}, {"Patch", "PATCH"}};
  auto m = method != nullptr && method->is_string() ? kMethods.find(method->get_string())
                                                    : kMethods.end();
  if (m == kMethods.end()) {
    return InvalidArgument(
        "the request's method is not one of Get, Head, Post, Put, Delete, Patch");
  }
  out.method = std::string(m->second);
  if (const json::value* p = o.if_contains("protocol"); p != nullptr && p->is_string()) {
    out.https = p->get_string() == "HTTPS";
  }
  for (auto [key, field] : {std::pair{"host", &out.host}, {"path", &out.path}}) {
    const json::value* f = o.if_contains(key);
    if (f == nullptr || !f->is_string()) {
      return InvalidArgument(std::string("the request's ") + key + " is not a string");
    }
    *field = std::string(f->get_string());
  }
  if (!ReadBytes(o.if_contains("body"), &out.body)) {
    return InvalidArgument("the request's body is not null or a list of bytes (0..255)");
  }
  std::string bad;
  if (!ReadHeaders(o.if_contains("headers"), /*lower=*/false, &out.headers, &bad)) {
    return InvalidArgument("the request's headers are not an object of strings" +
                           (bad.empty() ? std::string() : " (\"" + bad + "\")"));
  }
  return out;
}

std::string EncodeEdgelessResponse(int status, std::string_view body,
                                   const std::map<std::string, std::string>& headers) {
  json::object h;
  for (const auto& [k, v] : headers) h[k] = v;
  json::object o;
  o["body"] = ByteArray(body);
  o["status"] = status;
  o["headers"] = std::move(h);
  return json::serialize(o);
}

Result<EdgelessResponse> DecodeEdgelessResponse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    return InvalidArgument("the reply is not JSON (EDGELESS's HTTP response): " + ec.message());
  if (!v.is_object()) return InvalidArgument("the reply is not a JSON object");
  const json::object& o = v.get_object();
  EdgelessResponse out;
  const json::value* status = o.if_contains("status");
  if (status == nullptr || !status->is_number()) {
    return InvalidArgument("the reply has no numeric \"status\"");
  }
  boost::system::error_code num_ec;
  auto code = status->to_number<int64_t>(num_ec);
  if (num_ec || code < 100 || code > 599) {
    return InvalidArgument("the reply's status is not an HTTP status (100..599)");
  }
  out.status = static_cast<int>(code);
  if (!ReadBytes(o.if_contains("body"), &out.body)) {
    return InvalidArgument("the reply's body is not null or a list of bytes (0..255)");
  }
  std::string bad;
  if (!ReadHeaders(o.if_contains("headers"), /*lower=*/true, &out.headers, &bad)) {
    return InvalidArgument(bad.empty() ? "the reply's headers are not an object"
                                       : "the reply's header \"" + bad + "\" is not a string");
  }
  return out;
}

}  // namespace aether::workflow
