#include "protocol/internal/string_map.h"

namespace aether::protocol::internal {

Result<std::map<std::string, std::string>> StringMap(const boost::json::object& body,
                                                     std::string_view field, size_t max_entries) {
  std::map<std::string, std::string> out;
  const boost::json::value* v = body.if_contains(field);
  if (!v || v->is_null()) return out;
  if (!v->is_object()) {
    return InvalidArgument("field \"" + std::string(field) + "\" must be an object");
  }
  if (v->get_object().size() > max_entries) {
    return InvalidArgument("field \"" + std::string(field) + "\" has too many entries");
  }
  for (const auto& [k, val] : v->get_object()) {
    if (!val.is_string() || k.size() > 128 || val.get_string().size() > 256) {
      return InvalidArgument(
          "field \"" + std::string(field) +
          "\" must map short keys to strings (keys up to 128, values up to 256 characters)");
    }
    out.emplace(std::string(k), std::string(val.get_string()));
  }
  return out;
}

boost::json::object StringMapJson(const std::map<std::string, std::string>& m) {
  boost::json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

}  // namespace aether::protocol::internal
