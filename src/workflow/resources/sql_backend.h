// The narrow interface between the sqlx resource (sqlx.h) and a database:
// SQLite (sqlx_sqlite.cc) or PostgreSQL (sqlx_postgres.cc). The resource
// classifies the statement and keeps the queue; a backend owns the
// connection and runs one statement at a time.
//
// Thread-safety: none. A backend is used by one thread at a time (the
// resource's worker), and destroyed after it stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "workflow/resources/sqlx_statement.h"

namespace aether::workflow::resources {

// What a statement the database ran (or refused as SQL) answers.
struct SqlOutcome {
  // The first row's JSON, EDGELESS's exec text, or, with `failed`, its
  // error text ("no rows returned ...", "error returned from database: ...").
  std::string reply;
  // The database refused the statement (syntax, constraint, no such
  // table, no row): a call is still answered `reply` (EDGELESS's answer),
  // a cast reports it as a failure.
  bool failed = false;
};

class SqlBackend {
 public:
  virtual ~SqlBackend() = default;

  // Runs `sql`, one statement of `kind` (ClassifySql), with `workflow`
  // bound to its parameter when it has one, stopping it at `deadline`
  // where the database lets us. Errors (Err answers, not replies):
  //   InvalidArgument   more than one statement, or more than one parameter
  //   PermissionDenied  the sandbox or the role's privileges refused it
  //   ResourceExhausted the database is full, a value is too large
  //   DeadlineExceeded  it ran past `deadline` (or the statement timeout)
  //   Unavailable       the database cannot be opened or reached
  virtual Result<SqlOutcome> Run(std::string_view sql, SqlKind kind, std::string_view workflow,
                                 std::chrono::steady_clock::time_point deadline) = 0;
};

// SQLite: `path` is a file (its directory exists) or ":memory:"; the file
// grows to at most `max_bytes`. Opened on the first statement.
struct SqliteBackendOptions {
  std::string path;
  uint64_t max_bytes = 64ull << 20;
};
std::unique_ptr<SqlBackend> NewSqliteBackend(SqliteBackendOptions options);

// PostgreSQL: `url` (no password) and `password` of a [[workflow.sql]]
// database, called `name` in messages. Connected on the first statement;
// after a failed connect, statements fail at once until the next attempt
// (backoff 100 ms doubling to 5 s on `clock`).
struct PostgresBackendOptions {
  std::string name;
  std::string url;
  std::string password;  // secret: never in a message
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds statement_timeout{5000};  // the server's statement_timeout
  Clock* clock = &Clock::Real();
};
std::unique_ptr<SqlBackend> NewPostgresBackend(PostgresBackendOptions options);

}  // namespace aether::workflow::resources
