#include "protocol/event.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "protocol/names.h"

namespace aether::protocol {

std::string EncodeEventPost(std::string_view type, const boost::json::value& data) {
  return ToJson(boost::json::object{{"event", type}, {"data", data}});
}

Result<EventPost> EventPostFromJson(const boost::json::object& body, size_t max_data) {
  EventPost post;
  ASSIGN_OR_RETURN(post.type, GetString(body, "event"));
  RETURN_IF_ERROR(ValidateEventType(post.type));
  if (const boost::json::value* d = body.if_contains("data")) post.data = ToJson(*d);
  if (post.data.size() > max_data) {
    return ResourceExhausted("event data is larger than " + std::to_string(max_data >> 10) +
                             " KiB");
  }
  return post;
}

}  // namespace aether::protocol
