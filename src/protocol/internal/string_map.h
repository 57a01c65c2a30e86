// Objects of short strings on the wire ("labels", "ready"), shared by the
// node and domain messages.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::protocol::internal {

// `body[field]`: absent or null = empty; keys up to 128 and values up to 256
// characters, at most `max_entries`. InvalidArgument naming the field.
Result<std::map<std::string, std::string>> StringMap(const boost::json::object& body,
                                                     std::string_view field, size_t max_entries);
boost::json::object StringMapJson(const std::map<std::string, std::string>& m);

}  // namespace aether::protocol::internal
