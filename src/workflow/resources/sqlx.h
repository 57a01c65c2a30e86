// sqlx (EDGELESS's): one SQL statement per event on a database, SQLite
// (a file of the workflow's own) or PostgreSQL (one the operator listed in
// the engine's [[workflow.sql]]). docs/workflows.md, "sqlx".
//
// Payload: one statement, whose parameter ($1, or ?), when it has one, is
// the workflow id. Its first keyword decides (sqlx_statement.h):
//   SELECT, WITH        reply: the first row as a JSON object; no row:
//                       EDGELESS's "no rows returned ..." text
//   INSERT, UPDATE,     reply: "rows_affected: N, last_insert_rowid: M."
//   DELETE, REPLACE     (M is 0 on PostgreSQL)
//   anything else       InvalidArgument (an Err answer)
// A statement the database refuses (syntax, constraint, no such table) is
// answered with EDGELESS's error text as the reply, not an Err; a cast
// reports it as a failure. Err answers: more than one statement or
// parameter (InvalidArgument), the sandbox or the role's privileges
// (PermissionDenied), a full database or a value over 1 MiB
// (ResourceExhausted), a statement past its budget (DeadlineExceeded: the
// call's timeout, else [workflow] sqlx_statement_timeout), the database
// unreachable (Unavailable), a full queue (ResourceExhausted).
//
// Threads: every statement, calls too, runs in order on the resource's own
// thread, which owns the connection (opened on the first statement), so a
// call sees the casts sent before it. Casts are queued ([workflow]
// sqlx_queue_length, kSqlxQueueBytes) and return at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

// Queued statements hold at most this many bytes together.
inline constexpr uint64_t kSqlxQueueBytes = 32ull << 20;

// The [[workflow.sql]] database that `config` (a PostgreSQL one) names for
// `workflow`: by "database" name, or by "url" equal to a configured url.
// FailedPrecondition telling the operator what to add when none matches,
// or when the workflow is not in that database's `workflows` list.
Result<SqlDatabase> ResolveSqlDatabase(const SqlxConfig& config,
                                       const std::vector<SqlDatabase>& databases,
                                       const std::string& workflow);

// InvalidArgument for a workflow id that is not a safe directory name
// (SQLite), FailedPrecondition from ResolveSqlDatabase, Unavailable when
// the workflow's directory cannot be made.
Result<std::unique_ptr<Resource>> NewSqlx(ResourceContext ctx, const SqlxConfig& config);

}  // namespace aether::workflow::resources
