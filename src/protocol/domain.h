// A domain's messages to the cluster controller (docs/domains.md, "Domain
// protocol"): POST /domain/register and its answer, POST /domain/heartbeat
// with the domain's capabilities. A domain orchestrator (aether-control
// --role domain) encodes the requests and parses the answer; the
// controller does the reverse and bounds what a domain sends (a domain can
// lie only about itself).
//
// Pure functions: any thread may call them.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::protocol {

// Bounds of what a domain may send.
inline constexpr size_t kMaxDomainNodes = 4096;
inline constexpr size_t kMaxDomainClasses = 64;

// POST /domain/register {"domain_id", "url", "labels"?}. The id follows the
// node id rules (ValidateNodeId); `url` is where the domain's control plane
// (its API and gateway) is reached.
struct DomainRegistration {
  std::string domain_id;
  std::string url;
  std::map<std::string, std::string> labels;
  bool operator==(const DomainRegistration&) const = default;
};
std::string EncodeDomainRegistration(const DomainRegistration& reg);
// InvalidArgument naming the field.
Result<DomainRegistration> DomainRegistrationFromJson(const boost::json::object& body);

// The answer to POST /domain/register.
struct DomainRegisterReply {
  std::string domain_id;
  int64_t heartbeat_interval_ms = 0;
  int64_t domain_timeout_ms = 0;
  // The domain's own secret: only when the domain join token admitted it.
  std::string credential;
  bool operator==(const DomainRegisterReply&) const = default;
};
std::string EncodeDomainRegisterReply(const DomainRegisterReply& reply);
Result<DomainRegisterReply> ParseDomainRegisterReply(std::string_view json);

// One node of a domain that takes new workflow instances (up, neither
// cordoned nor draining): what the controller's mapping matches
// node_id_match_any and label_match_all against.
struct DomainNode {
  std::string node_id;
  std::map<std::string, std::string> labels;
  bool operator==(const DomainNode&) const = default;
};

// What a domain can host right now.
struct DomainCapabilities {
  int64_t nodes_up = 0;
  int64_t nodes_total = 0;  // registered, up or down
  std::vector<DomainNode> nodes;
  std::vector<std::string> runtimes;          // "wasm"
  std::vector<std::string> resource_classes;  // "file-log", "http-ingress", ...
  int64_t workers = 0;                        // execution slots over its up nodes
  int64_t free_workers = 0;                   // of those, not busy at the last beats
  int64_t instances = 0;                      // workflow instances placed in the domain
  // "ok", or "degraded" when the domain's own store failed: it still
  // serves, but cannot change its placements.
  std::string health = "ok";
  bool operator==(const DomainCapabilities&) const = default;
};
boost::json::object CapabilitiesJson(const DomainCapabilities& caps);
// Negative counts become 0; at most kMaxDomainNodes nodes (each with at
// most kMaxLabels labels) and kMaxDomainClasses runtimes and classes.
// InvalidArgument naming the field.
Result<DomainCapabilities> CapabilitiesFromJson(const boost::json::value& v);

// POST /domain/heartbeat {"domain_id", "capabilities": {...}}.
struct DomainHeartbeat {
  std::string domain_id;
  DomainCapabilities capabilities;
  bool operator==(const DomainHeartbeat&) const = default;
};
std::string EncodeDomainHeartbeat(const DomainHeartbeat& beat);
// `default_domain_id` when "domain_id" is absent (the credential names it).
Result<DomainHeartbeat> DomainHeartbeatFromJson(const boost::json::object& body,
                                                std::string_view default_domain_id);

}  // namespace aether::protocol
