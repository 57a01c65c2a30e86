#include "protocol/instance_status.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "common/json_util.h"
#include "protocol/ids.h"

namespace aether::protocol {
namespace {

namespace json = boost::json;

Result<InstanceStatus> ParseInstance(const json::value& v, size_t index) {
  std::string at = "instances[" + std::to_string(index) + "]";
  if (!v.is_object()) return InvalidArgument(at + " must be an object");
  const json::object& o = v.get_object();
  InstanceStatus r;
  auto field = [&](Status st) { return InvalidArgument(at + ": " + st.message()); };
  Result<std::string> id = GetString(o, "id");
  if (!id.ok()) return field(id.status());
  r.id = std::move(*id);
  Result<std::string> state = GetString(o, "state");
  if (!state.ok()) return field(state.status());
  if (*state != "starting" && *state != "running" && *state != "restarting" && *state != "failed") {
    return InvalidArgument(at + ".state must be starting, running, restarting or failed");
  }
  r.state = std::move(*state);
  for (auto [name, out] : {std::pair{"events", &r.events}, std::pair{"failures", &r.failures},
                           std::pair{"restarts", &r.restarts}, std::pair{"dropped", &r.dropped}}) {
    Result<int64_t> n = GetInt(o, name, 0);
    if (!n.ok()) return field(n.status());
    *out = std::max<int64_t>(0, *n);
  }
  Result<std::string> err = GetString(o, "last_error", "");
  if (!err.ok()) return field(err.status());
  r.last_error = err->substr(0, kMaxLastError);
  if (const json::value* t = o.if_contains("telemetry"); t && !t->is_null()) {
    if (!t->is_object() || t->get_object().size() > kMaxTelemetry) {
      return InvalidArgument(at + ".telemetry must be an object of at most 64 numbers");
    }
    for (const auto& [k, val] : t->get_object()) {
      if (!val.is_number() || k.size() > kMaxTelemetryName) {
        return InvalidArgument(at + ".telemetry must map short names to numbers");
      }
      r.telemetry[std::string(k)] = val.to_number<double>();
    }
  }
  Result<std::string> node = GetString(o, "node_id", "");
  if (!node.ok()) return field(node.status());
  if (!node->empty() && !IsNodeId(*node)) return InvalidArgument(at + ".node_id is not a node id");
  r.node_id = std::move(*node);
  return r;
}

}  // namespace

std::string EncodeStatusReport(const StatusReport& report) {
  json::array list;
  list.reserve(report.instances.size());
  for (const InstanceStatus& s : report.instances) {
    json::object telemetry;
    for (const auto& [name, value] : s.telemetry) {
      // JSON has no NaN/Inf; a guest may well record them.
      telemetry[SanitizeUtf8(name)] = std::isfinite(value) ? value : 0.0;
    }
    json::object entry{{"id", s.id},
                       {"state", s.state},
                       {"events", s.events},
                       {"failures", s.failures},
                       {"restarts", s.restarts},
                       {"dropped", s.dropped},
                       {"last_error", SanitizeUtf8(s.last_error)},
                       {"telemetry", std::move(telemetry)}};
    if (!s.node_id.empty()) entry["node_id"] = s.node_id;
    list.push_back(std::move(entry));
  }
  return ToJson(json::object{{"node_id", report.node_id}, {"instances", std::move(list)}});
}

Result<StatusReport> StatusReportFromJson(const json::object& body,
                                          std::string_view default_node_id) {
  StatusReport report;
  ASSIGN_OR_RETURN(report.node_id, GetString(body, "node_id", default_node_id));
  ASSIGN_OR_RETURN(const json::array* list, GetArray(body, "instances"));
  if (list->size() > kMaxReportedInstances) {
    return InvalidArgument("at most 10000 instances per report");
  }
  report.instances.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(InstanceStatus s, ParseInstance((*list)[i], i));
    report.instances.push_back(std::move(s));
  }
  return report;
}

}  // namespace aether::protocol
