#include "workflow/edgeless_http.h"

#include <boost/json.hpp>
#include <cctype>

namespace aether::workflow {

namespace json = boost::json;

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
  json::array bytes;
  bytes.reserve(body.size());
  for (char c : body) bytes.emplace_back(static_cast<uint8_t>(c));
  json::object h;
  for (const auto& [k, v] : headers) h[k] = v;
  // serde writes the fields in declaration order; keep it for readers that
  // compare text.
  json::object o;
  o["method"] = EdgelessMethod(method).value_or(method);
  o["protocol"] = "Unknown";
  o["host"] = host;
  o["path"] = path;
  o["body"] = std::move(bytes);
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
  if (const json::value* body = o.if_contains("body"); body != nullptr && !body->is_null()) {
    if (!body->is_array())
      return InvalidArgument("the reply's body is not null or a list of bytes");
    out.body.reserve(body->get_array().size());
    for (const json::value& b : body->get_array()) {
      auto byte = b.is_number() ? b.to_number<int64_t>(num_ec) : -1;
      if (num_ec || byte < 0 || byte > 255) {
        return InvalidArgument("the reply's body has an element that is not a byte (0..255)");
      }
      out.body.push_back(static_cast<char>(byte));
    }
  }
  if (const json::value* headers = o.if_contains("headers");
      headers != nullptr && !headers->is_null()) {
    if (!headers->is_object()) return InvalidArgument("the reply's headers are not an object");
    for (const auto& kv : headers->get_object()) {
      if (!kv.value().is_string()) {
        return InvalidArgument("the reply's header \"" + std::string(kv.key()) +
                               "\" is not a string");
      }
      std::string name(kv.key());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(kv.value().get_string());
    }
  }
  return out;
}

}  // namespace aether::workflow
