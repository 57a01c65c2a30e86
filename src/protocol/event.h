// POST /callback {"event": TYPE, "data": ANY}: what engines (and operators)
// report into the control plane's event log (docs/api.md, "Events").
//
// Pure functions: any thread may call them.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::protocol {

struct EventPost {
  std::string type;           // ValidateEventType
  std::string data = "null";  // any JSON value, as compact text
  bool operator==(const EventPost&) const = default;
};

std::string EncodeEventPost(std::string_view type, const boost::json::value& data);
// InvalidArgument for a missing or invalid "event"; ResourceExhausted when
// "data" is longer than `max_data` bytes as compact JSON.
Result<EventPost> EventPostFromJson(const boost::json::object& body, size_t max_data);

}  // namespace aether::protocol
