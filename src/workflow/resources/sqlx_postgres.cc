// The sqlx resource's PostgreSQL backend (sql_backend.h), through libpq.
// The database is the operator's ([[workflow.sql]]): its role's privileges
// bound what guests can do; the engine adds one statement per event,
// bound parameters only, the server's statement_timeout, and a cancel
// request when the caller's budget runs out first.
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "workflow/resources/sql_backend.h"

namespace aether::workflow::resources {
namespace {

constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// After a cancel request, how long the server may take to answer it before
// the connection is dropped instead.
constexpr std::chrono::milliseconds kCancelGrace{2000};

// Type OIDs (catalog/pg_type.h, stable across versions).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kJsonOid = 114, kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700,
              kJsonbOid = 3802;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages end with a newline.
std::string Trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Field(const PGresult* r, int field) {
  const char* v = PQresultErrorField(r, field);
  return v ? v : "";
}

// libpq prints NOTICEs ("relation already exists, skipping") to stderr by
// default; the engine's log is not the place for a guest's notices.
void IgnoreNotice(void*, const char*) {}

SqlValue Value(const PGresult* r, int col) {
  SqlValue v;
  if (PQgetisnull(r, 0, col)) return v;
  std::string text(PQgetvalue(r, 0, col), static_cast<size_t>(PQgetlength(r, 0, col)));
  switch (PQftype(r, col)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      v.type = SqlValue::Type::kInteger;
      break;
    case kFloat4Oid:
    case kFloat8Oid:
      v.type = SqlValue::Type::kReal;
      v.real = std::strtod(text.c_str(), nullptr);  // "NaN", "Infinity": non-finite, null
      return v;
    case kNumericOid:
      // NaN and the infinities are not JSON numbers: text then.
      v.type = !text.empty() && std::isdigit(static_cast<unsigned char>(text.back()))
                   ? SqlValue::Type::kJson
                   : SqlValue::Type::kText;
      break;
    case kBoolOid:
      v.type = SqlValue::Type::kJson;
      text = text == "t" ? "true" : "false";
      break;
    case kJsonOid:
    case kJsonbOid:
      v.type = SqlValue::Type::kJson;
      break;
    default:
      v.type = SqlValue::Type::kText;
  }
  v.text = std::move(text);
  return v;
}

class PostgresBackend final : public SqlBackend {
 public:
  explicit PostgresBackend(PostgresBackendOptions options) : options_(std::move(options)) {}

  Result<SqlOutcome> Run(std::string_view sql, SqlKind kind, std::string_view workflow,
                         std::chrono::steady_clock::time_point deadline) override {
    std::string text(sql);
    for (int attempt = 0;; ++attempt) {
      bool fresh = conn_ == nullptr;
      RETURN_IF_ERROR(Connect());
      // The unnamed statement: PQprepare refuses several commands, and
      // tells how many parameters there are.
      ResultPtr prepared(PQprepare(conn_.get(), "", text.c_str(), 0, nullptr));
      if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
        if (PQstatus(conn_.get()) == CONNECTION_BAD) {
          // A kept connection the server closed (a restart): the statement
          // did not run yet, so one more try on a new connection.
          std::string err = Trimmed(PQerrorMessage(conn_.get()));
          conn_.reset();
          if (!fresh && attempt == 0) continue;
          return Unavailable("sqlx: lost the connection to " + options_.name + ": " + err);
        }
        return Failure(prepared.get());
      }
      ResultPtr described(PQdescribePrepared(conn_.get(), ""));
      if (PQresultStatus(described.get()) != PGRES_COMMAND_OK) return Failure(described.get());
      int params = PQnparams(described.get());
      if (params > 1) {
        return InvalidArgument("sqlx: the statement has " + std::to_string(params) +
                               " parameters; it may have one ($1), which is the workflow id");
      }
      std::string id(workflow);
      const char* values[1] = {id.c_str()};
      return Execute(params, values, kind, deadline);
    }
  }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Runs the prepared statement. When `deadline` passes first, asks the
  // server to cancel it (PQcancel), so that it does not run on to
  // statement_timeout holding locks and this resource's thread (the next
  // statements wait behind it).
  Result<SqlOutcome> Execute(int params, const char* const* values, SqlKind kind,
                             SteadyTime deadline) {
    if (PQsendQueryPrepared(conn_.get(), "", params, values, nullptr, nullptr, 0) == 0) {
      return Failure(nullptr);
    }
    bool cancelled = false;
    ResultPtr last;
    for (;;) {
      while (PQisBusy(conn_.get()) != 0) {
        auto now = std::chrono::steady_clock::now();
        if (!cancelled && now >= deadline) {
          Cancel();
          cancelled = true;
        }
        SteadyTime until = cancelled ? deadline + kCancelGrace : deadline;
        if (cancelled && now >= until) {
          // No answer to the cancel: the connection goes (the server ends
          // the statement when it notices, or at statement_timeout).
          conn_.reset();
          return DeadlineExceeded(
              "sqlx: the statement ran past its caller's budget and the server did not answer "
              "the cancel request; its connection to " +
              options_.name + " was dropped");
        }
        if (!WaitReadable(until - now)) return Failure(nullptr);
        if (PQconsumeInput(conn_.get()) == 0) return Failure(nullptr);
      }
      PGresult* r = PQgetResult(conn_.get());
      if (r == nullptr) break;
      last.reset(r);
    }
    if (cancelled && Field(last.get(), PG_DIAG_SQLSTATE) == "57014") {
      return DeadlineExceeded("sqlx: the statement ran past its caller's budget and was cancelled");
    }
    return Outcome(last.get(), kind);
  }

  // Waits until the connection's socket is readable or `wait` passed
  // (true), or the socket failed (false).
  bool WaitReadable(std::chrono::steady_clock::duration wait) {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    pollfd p{PQsocket(conn_.get()), POLLIN, 0};
    if (p.fd < 0) return false;
    int rc = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(ms, 1, 1000)));
    return rc >= 0 || errno == EINTR;
  }

  void Cancel() {
    PGcancel* c = PQgetCancel(conn_.get());
    if (c == nullptr) return;
    char error[256] = {};
    if (PQcancel(c, error, sizeof error) == 0) {
      LOG_DEBUG("sqlx: {}: the cancel request failed: {}", options_.name, error);
    }
    PQfreeCancel(c);
  }

  Status Connect() {
    if (conn_ != nullptr) return OkStatus();
    Clock::TimePoint now = options_.clock->Now();
    if (now < next_attempt_) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
      return Unavailable("sqlx: cannot connect to the database " + options_.name + ": " +
                         last_error_ + " (next attempt in " + std::to_string(wait.count()) +
                         " ms)");
    }
    // libpq counts whole seconds and treats 1 as 2.
    std::string connect_timeout =
        std::to_string(std::max<int64_t>(2, (options_.connect_timeout.count() + 999) / 1000));
    std::string server_options =
        "-c statement_timeout=" + std::to_string(options_.statement_timeout.count());
    // Later keywords override what the URL (dbname, expanded) says.
    std::vector<const char*> keys = {"dbname", "connect_timeout", "options", "application_name",
                                     "client_encoding"};
    std::vector<const char*> values = {options_.url.c_str(), connect_timeout.c_str(),
                                       server_options.c_str(), "aether-sqlx", "UTF8"};
    if (!options_.password.empty()) {
      keys.push_back("password");
      values.push_back(options_.password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    ConnPtr c(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
    if (c == nullptr || PQstatus(c.get()) != CONNECTION_OK) {
      last_error_ = c == nullptr ? "out of memory" : Trimmed(PQerrorMessage(c.get()));
      next_attempt_ = options_.clock->Now() + backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
      return Unavailable("sqlx: cannot connect to the database " + options_.name + ": " +
                         last_error_);
    }
    PQsetNoticeProcessor(c.get(), &IgnoreNotice, nullptr);
    // EDGELESS's table. A role that may not create tables finds it made by
    // the operator, or the guest's statements say what is missing.
    ResultPtr created(PQexec(c.get(),
                             "CREATE TABLE IF NOT EXISTS WorkflowState (id VARCHAR(255) PRIMARY "
                             "KEY, metadata JSONB NOT NULL)"));
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
      LOG_DEBUG("sqlx: {}: WorkflowState not created: {}", options_.name,
                Field(created.get(), PG_DIAG_MESSAGE_PRIMARY));
    }
    backoff_ = kMinBackoff;
    next_attempt_ = {};
    conn_ = std::move(c);
    return OkStatus();
  }

  Result<SqlOutcome> Outcome(PGresult* r, SqlKind kind) {
    ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_TUPLES_OK && kind == SqlKind::kQuery) {
      if (PQntuples(r) == 0) return SqlOutcome{std::string(kNoRowsReply), true};
      std::vector<SqlColumn> row;
      row.reserve(static_cast<size_t>(PQnfields(r)));
      for (int col = 0; col < PQnfields(r); ++col) {
        row.push_back({PQfname(r, col), Value(r, col)});
      }
      return SqlOutcome{RowToJson(row), false};
    }
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      // No last_insert_rowid in PostgreSQL (RETURNING gives ids): 0.
      return SqlOutcome{ExecReply(std::strtoull(PQcmdTuples(r), nullptr, 10), 0), false};
    }
    return Failure(r);
  }

  // What the server refused: an Err for the limits and privileges and a
  // lost connection, EDGELESS's error reply for the statement's mistakes.
  Result<SqlOutcome> Failure(const PGresult* r) {
    if (conn_ != nullptr && PQstatus(conn_.get()) == CONNECTION_BAD) {
      std::string err = Trimmed(PQerrorMessage(conn_.get()));
      conn_.reset();
      return Unavailable("sqlx: lost the connection to " + options_.name + " (the statement " +
                         "may or may not have run): " + err);
    }
    std::string state = Field(r, PG_DIAG_SQLSTATE);
    std::string message =
        r != nullptr ? Field(r, PG_DIAG_MESSAGE_PRIMARY) : Trimmed(PQerrorMessage(conn_.get()));
    if (message.find("multiple commands") != std::string::npos) {
      return InvalidArgument("sqlx: one statement per event (" + message + ")");
    }
    if (state == "57014") {  // query_canceled: statement_timeout
      return DeadlineExceeded("sqlx: the statement ran longer than " +
                              std::to_string(options_.statement_timeout.count()) +
                              " ms ([workflow] sqlx_statement_timeout) and was stopped");
    }
    if (state == "42501") {  // insufficient_privilege
      return PermissionDenied("sqlx: " + message + " (the role of [[workflow.sql]] " +
                              options_.name + " does not allow it)");
    }
    if (state.starts_with("53")) {  // insufficient resources: disk full, out of memory
      return ResourceExhausted("sqlx: " + options_.name + ": " + message);
    }
    return SqlOutcome{DatabaseErrorReply(message), true};
  }

  const PostgresBackendOptions options_;
  ConnPtr conn_;
  std::string last_error_;
  Clock::TimePoint next_attempt_{};  // on options_.clock
  std::chrono::milliseconds backoff_ = kMinBackoff;
};

}  // namespace

std::unique_ptr<SqlBackend> NewPostgresBackend(PostgresBackendOptions options) {
  return std::make_unique<PostgresBackend>(std::move(options));
}

}  // namespace aether::workflow::resources
