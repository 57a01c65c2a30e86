// The keys of a Config that shape the workflow layer ([runtime] caps and
// [workflow] limits), mapped into workflow/'s option structs in one place,
// so a key that stops reaching its field fails workflow_options_test.cc.
// The wiring (engine, dataplane link, metrics, callbacks) stays in
// engine_service.cc.
#pragma once

#include "common/config.h"
#include "workflow/dataplane.h"
#include "workflow/workflow_host.h"

namespace aether::engine {

struct WorkflowOptions {
  // data_dir, memory_limit, timeout, threads, mailbox_length and
  // resource_limits set; the pointers and callbacks left empty.
  workflow::WorkflowHostOptions host;
  // queue_length and the dedup window set; identity, metrics and http
  // left empty.
  workflow::DataplaneOptions dataplane;
};

// Pure: reads nothing but `config`. Durations are cut to milliseconds.
// The [[workflow.sql]] databases come without their passwords.
WorkflowOptions WorkflowOptionsFromConfig(const Config& config);

// Reads each [[workflow.sql]] password_file (its first line, without the
// line end) into options->host.resource_limits.sql_databases, once, when
// the engine starts. InvalidArgument naming the file (never its content)
// when one cannot be read or starts with an empty line.
Status ReadSqlPasswords(const Config& config, WorkflowOptions* options);

}  // namespace aether::engine
