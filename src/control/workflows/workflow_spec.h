// A workflow spec as a user writes it (docs/workflows.md): functions and
// resources, their output mappings and annotations. Aether's field names and
// EDGELESS's are both accepted and normalized into one form here.
// Pure functions: any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/resource_config.h"
#include "common/result.h"
#include "protocol/assignments.h"

namespace aether::control {

// A node label requirement: "key=value" (value set) or "key" (present).
struct LabelMatch {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const LabelMatch&) const = default;
};

struct FunctionSpec {
  std::string name;      // component name, unique in the workflow: [a-z0-9][a-z0-9_-]{0,62}
  std::string function;  // a deployed function's name
  std::map<std::string, std::string> output_mapping;  // output -> component name
  // annotations
  std::string init_payload;                    // bytes given to handle_init
  int max_instances = 1;                       // 1..64
  std::vector<std::string> node_id_match_any;  // empty = any node
  std::vector<LabelMatch> label_match_all;
  uint64_t memory_limit = 0;  // bytes; 0 = the function's / node's
  // Cluster controller only: the domains it may be mapped onto (empty = any).
  std::vector<std::string> domain_match_any;
  bool operator==(const FunctionSpec&) const = default;
};

struct ResourceSpec {
  std::string name;
  // One of KnownResourceClasses(), or a serverless class some engine
  // provides (SpecCheckHooks::node_class_offered).
  std::string class_type;
  ResourceConfigMap configurations;
  std::map<std::string, std::string> output_mapping;
  std::vector<std::string> node_id_match_any;  // from "annotations", as for functions
  std::vector<LabelMatch> label_match_all;
  std::vector<std::string> domain_match_any;  // as for functions
  bool operator==(const ResourceSpec&) const = default;
};

// annotations.domains: how a cluster controller maps the components onto
// domains. Spread: each on its own (near its neighbours); together: all in
// one domain.
enum class DomainAffinity { kSpread, kTogether };

struct WorkflowSpec {
  std::string name;  // optional "name"; "" = none (the id is generated)
  std::vector<FunctionSpec> functions;
  std::vector<ResourceSpec> resources;
  // Top level; kept as written. Only "domains" is interpreted (below); it
  // stays in the map too.
  std::map<std::string, std::string> annotations;
  // annotations.domains: "spread" (default) or "together".
  DomainAffinity domains = DomainAffinity::kSpread;
  // "delivery": "at-most-once" (default) or "at-least-once"
  protocol::Delivery delivery = protocol::Delivery::kAtMostOnce;
  bool operator==(const WorkflowSpec&) const = default;
};

struct SpecCheckHooks {
  // Whether a function of that name is deployed; empty = do not check.
  std::function<bool(const std::string& name)> function_exists;
  // Whether portals may be declared (IsPortalOnly): only in the parts a
  // cluster controller hands a domain (Orchestrator::Put).
  bool portals = false;
  // Whether some node provides resource class `class_type` (an engine's
  // [[workflow.serverless]]; common/config.h): such a class is accepted,
  // takes no configurations, and its resource is placed on a node with the
  // label ServerlessClassLabel(class_type). Null: only built-in classes.
  std::function<bool(const std::string& class_type)> node_class_offered{};
  // Where the fields and configuration keys an EDGELESS-shaped spec has
  // and Aether ignores are listed ("functions[0].foo: unknown field,
  // ignored"; at most 64); may be null.
  std::vector<std::string>* warnings = nullptr;
};

// Parses and validates. Errors are InvalidArgument whose message starts with
// the JSON path of the first bad field: "functions[1].output_mapping.out:
// unknown target \"filtr\" (components: parse, filter, log)". Rejects: not
// an object, unknown fields (an EDGELESS-shaped spec — a function has
// "class_specification" — ignores them, and unknown configuration keys,
// listing each in hooks.warnings), a missing or invalid name, duplicate component
// names (across functions and resources), a target naming no component,
// unknown or non-deployed functions, "code"/"include_code_file" paths (the
// CLI resolves those before it posts), bad annotations, an unknown
// class_type (listing the known ones), bad configurations
// (ValidateResourceConfig), more than 256 components.
//
// Also rejected: an output name starting with '@' (reserved for the routes
// back to senders, workflow_watch.h); an http-ingress without exactly one
// mapped output; a name
// of the form of a generated id (wf- and 8 hex digits); EDGELESS
// function_type "CONTAINER"; max_instances outside 1..64; memory_limit
// other than 0 or 64KiB..4GiB; init_payload over 1 MiB; more than 64
// outputs per component.
//
// Domain annotations take effect when the control plane is a cluster
// controller (`aether-control --role cluster`, docs/domains.md), which maps
// each component onto a domain; elsewhere they are checked and kept. Per
// component, `domain_match_any`: domain ids (as node_id_match_any; empty =
// any). Top level, `annotations.domains`: "spread" (the default: each
// component mapped on its own) or "together" (all in one domain); any other
// value is rejected.
//
// EDGELESS spellings accepted: class_specification {id, function_type,
// version, outputs} (id is the deployed function unless "function" is also
// given, as the CLI adds it; a non-empty outputs must list every mapped
// output; empty means undeclared, as EDGELESS's own examples use it);
// "init-payload"; annotations written as strings ("3"), and
// node_id_match_any / label_match_all / domain_match_any as comma lists
// ("red,blue").
// Configuration values that are numbers or booleans become their JSON text.
Result<WorkflowSpec> ParseWorkflowSpec(std::string_view json, const SpecCheckHooks& hooks = {});

// The normalized spec in Aether's own field names, as compact JSON text
// (stored, and returned by GET /api/workflows/{id});
// ParseWorkflowSpec(Serialize(s)) == s. `domains` is written as
// annotations.domains (over the map's entry) when it is together, or when
// the map has that entry.
std::string SerializeWorkflowSpec(const WorkflowSpec& spec);

}  // namespace aether::control
