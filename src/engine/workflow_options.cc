#include "engine/workflow_options.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/secret_file.h"
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
      .sqlx_statement_timeout = WholeMilliseconds(wf.sqlx_statement_timeout),
      .sqlx_connect_timeout = WholeMilliseconds(wf.sqlx_connect_timeout),
      .sqlx_max_database_bytes = wf.sqlx_max_database_bytes,
      .sqlx_queue_length = wf.sqlx_queue_length,
      .sql_databases = {},  // below: the [[workflow.sql]] tables
      .egress_public_by_default = wf.egress_default == "public",
  };
  for (const ServerlessClassConfig& sc : wf.serverless) {
    o.host.resource_limits.serverless.push_back(
        {sc.class_type, sc.function_url, WholeMilliseconds(sc.timeout)});
  }
  for (const SqlDatabaseConfig& d : wf.sql) {
    o.host.resource_limits.sql_databases.push_back(
        {.name = d.name, .url = d.url, .password = "", .workflows = d.workflows});
  }
  o.dataplane.queue_length = wf.dataplane_queue_length;
  o.dataplane.dedup_batches = wf.dataplane_dedup_batches;
  o.dataplane.dedup_window = WholeMilliseconds(wf.dataplane_dedup_window);
  return o;
}

Status ReadSqlPasswords(const Config& config, WorkflowOptions* options) {
  std::vector<workflow::SqlDatabase>& dbs = options->host.resource_limits.sql_databases;
  for (const SqlDatabaseConfig& d : config.workflow.sql) {
    if (d.password_file.empty()) continue;
    auto db = std::find_if(dbs.begin(), dbs.end(),
                           [&](const workflow::SqlDatabase& s) { return s.name == d.name; });
    if (db == dbs.end()) continue;
    ASSIGN_OR_RETURN(db->password, ReadSecretFile(d.password_file,
                                                  "[[workflow.sql]] " + d.name + " password_file " +
                                                      d.password_file,
                                                  1, SecretText::kFirstLine));
  }
  return OkStatus();
}

}  // namespace aether::engine
