// POST /node/workflows/status (docs/workflow-protocol.md, "Control plane ↔
// engine"): what an engine reports about each workflow instance it runs.
// The engine's poller encodes it from WorkflowHost::Statuses(); the control
// plane parses and bounds it, and the orchestrator keeps it in memory.
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

// Bounds of one report.
inline constexpr size_t kMaxReportedInstances = 10000;
inline constexpr size_t kMaxTelemetry = 64;  // entries per instance
inline constexpr size_t kMaxTelemetryName = 128;
inline constexpr size_t kMaxLastError = 4096;  // longer ones are cut

struct InstanceStatus {
  std::string id;     // "<workflow>/<component>/<index>"
  std::string state;  // starting | running | restarting | failed
  int64_t events = 0;
  int64_t failures = 0;
  int64_t restarts = 0;
  int64_t dropped = 0;
  std::string last_error;
  std::map<std::string, double> telemetry;
  // A domain's report to its controller: the node in the domain that runs
  // it (docs/domains.md); "" in an engine's own report.
  std::string node_id{};
  bool operator==(const InstanceStatus&) const = default;
};

struct StatusReport {
  std::string node_id{};
  std::vector<InstanceStatus> instances;
};

// {"node_id", "instances": [{"id", "state", "events", "failures",
// "restarts", "dropped", "last_error", "telemetry"}]}. Non-finite telemetry
// (JSON has no NaN) is sent as 0; text is made valid UTF-8.
std::string EncodeStatusReport(const StatusReport& report);
// `default_node_id` when "node_id" is absent. Validates the states and the
// bounds above; negative counters count as 0. InvalidArgument naming the
// instance ("instances[3].state must be ...").
Result<StatusReport> StatusReportFromJson(const boost::json::object& body,
                                          std::string_view default_node_id);

}  // namespace aether::protocol
