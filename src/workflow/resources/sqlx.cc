#include "workflow/resources/sqlx.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "common/log.h"
#include "common/work_queue.h"
#include "workflow/resources/call_slot.h"
#include "workflow/resources/sql_backend.h"
#include "workflow/resources/sqlx_statement.h"

namespace aether::workflow::resources {
namespace {

// A workflow id as a directory name: what the control plane generates
// ("wf-1a2b3c4d") passes, anything with '/', "..", or a leading '.' or
// '-' does not.
bool SafeDirName(std::string_view s) {
  return !s.empty() && s.size() <= 63 && s.front() != '.' && s.front() != '-' &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

std::string ConfiguredNames(const std::vector<SqlDatabase>& databases) {
  std::string out;
  for (const SqlDatabase& d : databases) out += (out.empty() ? "" : ", ") + d.name;
  return out.empty() ? "none" : out;
}

class Sqlx final : public Resource {
 public:
  Sqlx(ResourceContext ctx, std::unique_ptr<SqlBackend> backend, std::string where)
      : ctx_(std::move(ctx)),
        where_(std::move(where)),
        backend_(std::move(backend)),
        queue_(WorkQueueOptions{"sqlx: the queue of " + where_, 1, ctx_.limits.sqlx_queue_length,
                                kSqlxQueueBytes}) {}
  ~Sqlx() override { Stop(); }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    ASSIGN_OR_RETURN(SqlKind kind, ClassifySql(payload));
    return queue_.Post(
        [this, kind, sql = std::string(payload)] {
          auto deadline = std::chrono::steady_clock::now() + ctx_.limits.sqlx_statement_timeout;
          Result<SqlOutcome> r = backend_->Run(sql, kind, ctx_.workflow, deadline);
          // A cast's answer goes nowhere: a refused statement is a failure.
          if (!r.ok()) {
            ctx_.report_failure(r.status().message());
          } else if (r->failed) {
            ctx_.report_failure("sqlx: " + SqlExcerpt(sql) + ": " + r->reply);
          }
        },
        payload.size(), wait_until);
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds timeout) override {
    ASSIGN_OR_RETURN(SqlKind kind, ClassifySql(payload));
    // The statement stops when its caller stops waiting.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    return CallOnQueue(
        queue_,
        [this, kind, deadline, sql = std::string(payload)]() -> Result<std::string> {
          ASSIGN_OR_RETURN(SqlOutcome outcome, backend_->Run(sql, kind, ctx_.workflow, deadline));
          return std::move(outcome.reply);  // also a refusal's text, as EDGELESS answers
        },
        payload.size(), timeout, "sqlx", "sqlx: no answer from " + where_);
  }

  void Stop() override {
    size_t dropped = queue_.Stop();
    if (dropped > 0) {
      LOG_WARN("{}: {} queued sqlx statement(s) dropped at stop", ctx_.instance_id, dropped);
    }
    backend_.reset();  // the worker thread is gone: nobody else touches it
  }

 private:
  ResourceContext ctx_;
  const std::string where_;
  std::unique_ptr<SqlBackend> backend_;  // worker thread only (and Stop, once it is gone)
  WorkQueue queue_;                      // last: its thread uses the members above
};

}  // namespace

Result<SqlDatabase> ResolveSqlDatabase(const SqlxConfig& config,
                                       const std::vector<SqlDatabase>& databases,
                                       const std::string& workflow) {
  auto it = std::find_if(databases.begin(), databases.end(), [&](const SqlDatabase& d) {
    return config.database.empty() ? d.url == config.postgres_url : d.name == config.database;
  });
  if (it == databases.end() && !config.database.empty()) {
    return FailedPrecondition(
        "sqlx: this engine has no [[workflow.sql]] database named \"" + config.database +
        "\" (configured: " + ConfiguredNames(databases) +
        "); an operator adds one to the engine config: [[workflow.sql]] name = \"" +
        config.database + "\", url = \"postgresql://user@host:5432/db\" (docs/configuration.md)");
  }
  if (it == databases.end()) {
    return FailedPrecondition(
        "sqlx: the url " + config.postgres_url +
        " is not one of this engine's [[workflow.sql]] databases (configured: " +
        ConfiguredNames(databases) +
        "); workflows reach only the PostgreSQL databases an operator listed: add [[workflow.sql]] "
        "name = \"...\", url = \"" +
        config.postgres_url +
        "\" to the engine config, or name a configured one with \"database\" in the spec");
  }
  if (!it->workflows.empty() &&
      std::find(it->workflows.begin(), it->workflows.end(), workflow) == it->workflows.end()) {
    return FailedPrecondition("sqlx: workflow " + workflow + " may not use the database \"" +
                              it->name + "\": an operator adds it to that [[workflow.sql]]'s " +
                              "workflows list");
  }
  return *it;
}

Result<std::unique_ptr<Resource>> NewSqlx(ResourceContext ctx, const SqlxConfig& config) {
  if (config.backend == SqlxConfig::Backend::kPostgres) {
    ASSIGN_OR_RETURN(SqlDatabase db,
                     ResolveSqlDatabase(config, ctx.limits.sql_databases, ctx.workflow));
    std::string where = "the database " + db.name;
    auto backend = NewPostgresBackend({.name = db.name,
                                       .url = db.url,
                                       .password = std::move(db.password),
                                       .connect_timeout = ctx.limits.sqlx_connect_timeout,
                                       .statement_timeout = ctx.limits.sqlx_statement_timeout,
                                       .clock = ctx.clock});
    return std::unique_ptr<Resource>(
        std::make_unique<Sqlx>(std::move(ctx), std::move(backend), std::move(where)));
  }
  std::string path = ":memory:";
  if (!config.memory) {
    if (!SafeDirName(ctx.workflow)) {
      return InvalidArgument("sqlx: the workflow id \"" + ctx.workflow +
                             "\" is not a safe directory name");
    }
    if (ctx.data_dir.empty()) return FailedPrecondition("sqlx: the engine has no data dir");
    // <data_dir>/workflows/<workflow>/sqlx/: the workflow's own files.
    std::filesystem::path dir =
        std::filesystem::path(ctx.data_dir) / "workflows" / ctx.workflow / "sqlx";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Unavailable("sqlx: cannot create " + dir.string() + ": " + ec.message());
    path = (dir / config.sqlite_name).string();
  }
  std::string where = "sqlite:" + (config.memory ? std::string(":memory:") : config.sqlite_name);
  auto backend = NewSqliteBackend({.path = path, .max_bytes = ctx.limits.sqlx_max_database_bytes});
  return std::unique_ptr<Resource>(
      std::make_unique<Sqlx>(std::move(ctx), std::move(backend), std::move(where)));
}

}  // namespace aether::workflow::resources
