#include "protocol/node.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/json_util.h"
#include "protocol/ids.h"
#include "protocol/internal/string_map.h"

namespace aether::protocol {
namespace {

namespace json = boost::json;
using internal::StringMap;
using internal::StringMapJson;

}  // namespace

json::object CapacityObject(std::string_view capacity) {
  Result<json::value> v = ParseJson(capacity);
  return v.ok() && v->is_object() ? std::move(v->as_object()) : json::object();
}

std::string EncodeRegistration(const NodeRegistration& reg) {
  return ToJson(json::object{{"node_id", reg.node_id},
                             {"url", reg.url},
                             {"labels", StringMapJson(reg.labels)},
                             {"capacity", CapacityObject(reg.capacity)}});
}

Result<NodeRegistration> RegistrationFromJson(const json::object& body) {
  NodeRegistration reg;
  ASSIGN_OR_RETURN(reg.node_id, GetString(body, "node_id"));
  RETURN_IF_ERROR(ValidateNodeId(reg.node_id));
  ASSIGN_OR_RETURN(reg.url, GetString(body, "url"));
  RETURN_IF_ERROR(ValidateNodeUrl(reg.url));
  while (!reg.url.empty() && reg.url.back() == '/') reg.url.pop_back();
  ASSIGN_OR_RETURN(reg.labels, StringMap(body, "labels", kMaxLabels));
  if (const json::value* cap = body.if_contains("capacity"); cap && !cap->is_null()) {
    if (!cap->is_object()) return InvalidArgument("field \"capacity\" must be an object");
    reg.capacity = ToJson(*cap);
    if (reg.capacity.size() > kMaxCapacityBytes) {
      return InvalidArgument("field \"capacity\" is larger than 4 KiB");
    }
  }
  return reg;
}

std::string EncodeRegisterReply(const RegisterReply& reply) {
  json::object out{{"node_id", reply.node_id},
                   {"heartbeat_interval_ms", reply.heartbeat_interval_ms},
                   {"node_timeout_ms", reply.node_timeout_ms}};
  if (!reply.credential.empty()) out["credential"] = reply.credential;
  return ToJson(out);
}

Result<RegisterReply> ParseRegisterReply(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "the register answer"));
  RegisterReply reply;
  ASSIGN_OR_RETURN(reply.node_id, GetString(o, "node_id", ""));
  ASSIGN_OR_RETURN(reply.heartbeat_interval_ms, GetInt(o, "heartbeat_interval_ms", 0));
  ASSIGN_OR_RETURN(reply.node_timeout_ms, GetInt(o, "node_timeout_ms", 0));
  ASSIGN_OR_RETURN(reply.credential, GetString(o, "credential", ""));
  return reply;
}

std::string EncodeHeartbeat(const Heartbeat& beat) {
  return ToJson(json::object{
      {"node_id", beat.node_id},
      {"load", json::object{{"inflight", beat.load.inflight}, {"queue", beat.load.queue}}},
      {"ready", StringMapJson(beat.ready)},
      {"cached", beat.cached}});
}

Result<Heartbeat> HeartbeatFromJson(const json::object& body, std::string_view default_node_id) {
  Heartbeat beat;
  ASSIGN_OR_RETURN(beat.node_id, GetString(body, "node_id", default_node_id));
  ASSIGN_OR_RETURN(int64_t inflight, GetInt(body, "load.inflight", 0));
  ASSIGN_OR_RETURN(int64_t queue, GetInt(body, "load.queue", 0));
  ASSIGN_OR_RETURN(beat.cached, GetInt(body, "cached", 0));
  beat.load = {std::max<int64_t>(0, inflight), std::max<int64_t>(0, queue)};
  ASSIGN_OR_RETURN(beat.ready, StringMap(body, "ready", kMaxReadyEntries));
  return beat;
}

}  // namespace aether::protocol
