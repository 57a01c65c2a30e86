#include "protocol/domain.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/json_util.h"
#include "protocol/ids.h"
#include "protocol/internal/string_map.h"
#include "protocol/node.h"

namespace aether::protocol {
namespace {

namespace json = boost::json;
using internal::StringMap;
using internal::StringMapJson;

json::array StringsJson(const std::vector<std::string>& v) {
  json::array a;
  for (const std::string& s : v) a.emplace_back(s);
  return a;
}

// A list of short names ("runtimes", "resource_classes"): absent or null =
// empty.
Result<std::vector<std::string>> Names(const json::object& o, std::string_view field) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(field);
  if (v == nullptr || v->is_null()) return out;
  std::string name = "field \"capabilities." + std::string(field) + "\"";
  if (!v->is_array()) return InvalidArgument(name + " must be an array");
  if (v->get_array().size() > kMaxDomainClasses) return InvalidArgument(name + " is too long");
  for (const json::value& e : v->get_array()) {
    if (!e.is_string() || e.get_string().empty() || e.get_string().size() > 64) {
      return InvalidArgument(name + " must hold names of 1 to 64 characters");
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

Result<int64_t> Count(const json::object& o, std::string_view field) {
  ASSIGN_OR_RETURN(int64_t n, GetInt(o, field, 0));
  return std::max<int64_t>(0, n);
}

}  // namespace

std::string EncodeDomainRegistration(const DomainRegistration& reg) {
  return ToJson(json::object{
      {"domain_id", reg.domain_id}, {"url", reg.url}, {"labels", StringMapJson(reg.labels)}});
}

Result<DomainRegistration> DomainRegistrationFromJson(const json::object& body) {
  DomainRegistration reg;
  ASSIGN_OR_RETURN(reg.domain_id, GetString(body, "domain_id"));
  RETURN_IF_ERROR(ValidateNodeId(reg.domain_id, "domain_id"));
  ASSIGN_OR_RETURN(reg.url, GetString(body, "url"));
  RETURN_IF_ERROR(ValidateNodeUrl(reg.url));
  while (!reg.url.empty() && reg.url.back() == '/') reg.url.pop_back();
  ASSIGN_OR_RETURN(reg.labels, StringMap(body, "labels", kMaxLabels));
  return reg;
}

std::string EncodeDomainRegisterReply(const DomainRegisterReply& reply) {
  json::object out{{"domain_id", reply.domain_id},
                   {"heartbeat_interval_ms", reply.heartbeat_interval_ms},
                   {"domain_timeout_ms", reply.domain_timeout_ms}};
  if (!reply.credential.empty()) out["credential"] = reply.credential;
  return ToJson(out);
}

Result<DomainRegisterReply> ParseDomainRegisterReply(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "the domain register answer"));
  DomainRegisterReply reply;
  ASSIGN_OR_RETURN(reply.domain_id, GetString(o, "domain_id", ""));
  ASSIGN_OR_RETURN(reply.heartbeat_interval_ms, GetInt(o, "heartbeat_interval_ms", 0));
  ASSIGN_OR_RETURN(reply.domain_timeout_ms, GetInt(o, "domain_timeout_ms", 0));
  ASSIGN_OR_RETURN(reply.credential, GetString(o, "credential", ""));
  return reply;
}

json::object CapabilitiesJson(const DomainCapabilities& caps) {
  json::array nodes;
  for (const DomainNode& n : caps.nodes) {
    nodes.push_back(json::object{{"node_id", n.node_id}, {"labels", StringMapJson(n.labels)}});
  }
  return json::object{{"nodes_up", caps.nodes_up},
                      {"nodes_total", caps.nodes_total},
                      {"nodes", std::move(nodes)},
                      {"runtimes", StringsJson(caps.runtimes)},
                      {"resource_classes", StringsJson(caps.resource_classes)},
                      {"workers", caps.workers},
                      {"free_workers", caps.free_workers},
                      {"instances", caps.instances},
                      {"health", caps.health}};
}

Result<DomainCapabilities> CapabilitiesFromJson(const json::value& v) {
  DomainCapabilities caps;
  if (v.is_null()) return caps;
  if (!v.is_object()) return InvalidArgument("field \"capabilities\" must be an object");
  const json::object& o = v.get_object();
  ASSIGN_OR_RETURN(caps.nodes_up, Count(o, "nodes_up"));
  ASSIGN_OR_RETURN(caps.nodes_total, Count(o, "nodes_total"));
  ASSIGN_OR_RETURN(caps.workers, Count(o, "workers"));
  ASSIGN_OR_RETURN(caps.free_workers, Count(o, "free_workers"));
  ASSIGN_OR_RETURN(caps.instances, Count(o, "instances"));
  ASSIGN_OR_RETURN(caps.health, GetString(o, "health", "ok"));
  if (caps.health != "ok" && caps.health != "degraded") {
    return InvalidArgument("field \"capabilities.health\" must be \"ok\" or \"degraded\"");
  }
  ASSIGN_OR_RETURN(caps.runtimes, Names(o, "runtimes"));
  ASSIGN_OR_RETURN(caps.resource_classes, Names(o, "resource_classes"));
  if (const json::value* n = o.if_contains("nodes"); n != nullptr && !n->is_null()) {
    if (!n->is_array()) return InvalidArgument("field \"capabilities.nodes\" must be an array");
    if (n->get_array().size() > kMaxDomainNodes) {
      return InvalidArgument("field \"capabilities.nodes\" lists more than " +
                             std::to_string(kMaxDomainNodes) + " nodes");
    }
    for (const json::value& e : n->get_array()) {
      if (!e.is_object()) {
        return InvalidArgument("field \"capabilities.nodes\" must hold objects");
      }
      DomainNode node;
      ASSIGN_OR_RETURN(node.node_id, GetString(e.get_object(), "node_id"));
      if (Status st = ValidateNodeId(node.node_id); !st.ok()) {
        return InvalidArgument("field \"capabilities.nodes\": " + st.message());
      }
      ASSIGN_OR_RETURN(node.labels, StringMap(e.get_object(), "labels", kMaxLabels));
      caps.nodes.push_back(std::move(node));
    }
  }
  return caps;
}

std::string EncodeDomainHeartbeat(const DomainHeartbeat& beat) {
  return ToJson(json::object{{"domain_id", beat.domain_id},
                             {"capabilities", CapabilitiesJson(beat.capabilities)}});
}

Result<DomainHeartbeat> DomainHeartbeatFromJson(const json::object& body,
                                                std::string_view default_domain_id) {
  DomainHeartbeat beat;
  ASSIGN_OR_RETURN(beat.domain_id, GetString(body, "domain_id", default_domain_id));
  const json::value* caps = body.if_contains("capabilities");
  ASSIGN_OR_RETURN(beat.capabilities, CapabilitiesFromJson(caps ? *caps : json::value(nullptr)));
  return beat;
}

}  // namespace aether::protocol
