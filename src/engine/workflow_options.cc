#include "engine/workflow_options.h"

#include <chrono>

#include "common/units.h"

namespace aether::engine {

WorkflowOptions WorkflowOptionsFromConfig(const Config& config) {
  const RuntimeConfig& rt = config.runtime;
  const WorkflowConfig& wf = config.workflow;
  WorkflowOptions o;
  o.host.data_dir = rt.data_dir;
  o.host.memory_limit = rt.memory_limit;
  o.host.timeout = WholeMilliseconds(rt.exec_timeout);
  o.host.threads = rt.workers;
  o.host.mailbox_length = wf.mailbox_length;
  o.host.send_wait = WholeMilliseconds(wf.send_wait);
  o.host.resource_limits = {
      .redis_connect_timeout = WholeMilliseconds(wf.redis_connect_timeout),
      .redis_command_timeout = WholeMilliseconds(wf.redis_command_timeout),
      .redis_queue_length = wf.redis_queue_length,
      .http_egress_queue_length = wf.http_egress_queue_length,
      .kv_queue_length = wf.kv_queue_length,
      .egress_public_by_default = wf.egress_default == "public",
  };
  for (const ServerlessClassConfig& sc : wf.serverless) {
    o.host.resource_limits.serverless.push_back(
        {sc.class_type, sc.function_url, WholeMilliseconds(sc.timeout)});
  }
  o.dataplane.queue_length = wf.dataplane_queue_length;
  o.dataplane.dedup_batches = wf.dataplane_dedup_batches;
  o.dataplane.dedup_window = WholeMilliseconds(wf.dataplane_dedup_window);
  return o;
}

}  // namespace aether::engine
