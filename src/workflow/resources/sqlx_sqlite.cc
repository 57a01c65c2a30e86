// The sqlx resource's SQLite backend (sql_backend.h). Guests send arbitrary
// SQL, so the connection is locked down before their first statement:
// no ATTACH (no other files), no PRAGMA (no writable_schema, no settings),
// no extension loading, defensive mode and an untrusted schema, bounded
// values and statements, a size cap (max_page_count, set by us before the
// authorizer closes PRAGMA) and a time budget per statement (a progress
// handler). VACUUM, CREATE, DROP, BEGIN... never reach it: the resource
// accepts only SELECT, WITH, INSERT, UPDATE, DELETE and REPLACE. Temporary
// tables, indices and sorts stay in memory (no file outside the workflow's
// directory, where no size cap would hold), and all of the engine's SQLite
// memory is capped (kMaxSqliteHeap).
#include <sqlite3.h>

#include <array>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "workflow/resources/sql_backend.h"

namespace aether::workflow::resources {
namespace {

// What a guest's statement may hold at most (SQLITE_LIMIT_LENGTH and
// SQL_LENGTH): the workflow payload limit, so randomblob(1e9) fails at
// once instead of taking the engine's memory.
constexpr int kMaxValueBytes = 1 << 20;
// The progress handler runs every this many virtual machine instructions
// (about a microsecond's work each): the deadline is checked often enough
// to stop a runaway statement within milliseconds.
constexpr int kProgressSteps = 1000;
// How long a statement waits for another connection's lock on the same
// file (another instance of the workflow on this node).
constexpr int kBusyTimeoutMs = 1000;
// All SQLite memory of the engine (its sqlx databases are its only ones):
// a statement whose sort or temporary table would take more fails with
// ResourceExhausted instead of taking the node's memory.
constexpr int64_t kMaxSqliteHeap = int64_t{256} << 20;

constexpr std::array<std::string_view, 5> kDeniedFunctions = {
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"};

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

class SqliteBackend final : public SqlBackend {
 public:
  explicit SqliteBackend(SqliteBackendOptions options) : options_(std::move(options)) {}

  Result<SqlOutcome> Run(std::string_view sql, SqlKind kind, std::string_view workflow,
                         std::chrono::steady_clock::time_point deadline) override {
    RETURN_IF_ERROR(Open());
    deadline_ = deadline;
    denied_.clear();
    sqlite3_set_last_insert_rowid(db_.get(), 0);  // as on a fresh connection (EDGELESS's)

    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc =
        sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), 0, &raw, &tail);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Failure(rc);
    if (stmt == nullptr) return InvalidArgument("sqlx: the statement is empty");
    std::string_view rest(tail, sql.data() + sql.size() - tail);
    if (!OnlySpaceAndComments(rest)) {
      return InvalidArgument("sqlx: one statement per event; refused the second one, " +
                             SqlExcerpt(rest));
    }
    int params = sqlite3_bind_parameter_count(stmt.get());
    if (params > 1) {
      return InvalidArgument("sqlx: the statement has " + std::to_string(params) +
                             " parameters; it may have one ($1), which is the workflow id");
    }
    if (params == 1) {
      sqlite3_bind_text(stmt.get(), 1, workflow.data(), static_cast<int>(workflow.size()),
                        SQLITE_TRANSIENT);
    }

    rc = sqlite3_step(stmt.get());
    if (kind == SqlKind::kQuery && rc == SQLITE_ROW) return SqlOutcome{Row(stmt.get()), false};
    // INSERT ... RETURNING: its rows are not the reply, its count is.
    while (rc == SQLITE_ROW) rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE) return Failure(rc);
    // A WITH that ends in INSERT/UPDATE/DELETE has no columns: it answers
    // as one.
    if (kind == SqlKind::kQuery && sqlite3_column_count(stmt.get()) > 0) {
      return SqlOutcome{std::string(kNoRowsReply), true};
    }
    return SqlOutcome{ExecReply(static_cast<uint64_t>(sqlite3_changes64(db_.get())),
                                sqlite3_last_insert_rowid(db_.get())),
                      false};
  }

 private:
  Status Open() {
    if (db_ != nullptr) return OkStatus();
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(options_.path.c_str(), &raw, flags, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK) {
      return Unavailable("sqlx: cannot open " + options_.path + ": " +
                         (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
    }
    sqlite3* d = db.get();
    for (auto [option, value] : {std::pair{SQLITE_DBCONFIG_DEFENSIVE, 1},
                                 {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
                                 {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
                                 {SQLITE_DBCONFIG_DQS_DML, 0},
                                 {SQLITE_DBCONFIG_DQS_DDL, 0}}) {
      if (sqlite3_db_config(d, option, value, nullptr) != SQLITE_OK) {
        return Internal("sqlx: cannot configure SQLite (option " + std::to_string(option) + ")");
      }
    }
    sqlite3_limit(d, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(d, SQLITE_LIMIT_LENGTH, kMaxValueBytes);
    sqlite3_limit(d, SQLITE_LIMIT_SQL_LENGTH, kMaxValueBytes);
    sqlite3_busy_timeout(d, kBusyTimeoutMs);
    static std::once_flag heap_limit;
    std::call_once(heap_limit, [] {
      int64_t now = sqlite3_hard_heap_limit64(-1);
      if (now == 0 || now > kMaxSqliteHeap) sqlite3_hard_heap_limit64(kMaxSqliteHeap);
    });
    // The size cap: our own PRAGMAs, before the authorizer denies them.
    int64_t page_size = 4096;
    RETURN_IF_ERROR(QueryInt(d, "PRAGMA page_size", &page_size));
    int64_t pages = static_cast<int64_t>(options_.max_bytes) / std::max<int64_t>(page_size, 512);
    int64_t set = 0;
    RETURN_IF_ERROR(
        QueryInt(d, ("PRAGMA max_page_count = " + std::to_string(pages)).c_str(), &set));
    // Temporary data in memory: a temp file would be outside the workflow's
    // directory and max_page_count.
    if (sqlite3_exec(d, "PRAGMA temp_store = MEMORY", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Internal("sqlx: cannot keep SQLite's temporary data in memory");
    }
    // EDGELESS's table, which its functions expect to find.
    char* err = nullptr;
    if (sqlite3_exec(d,
                     "CREATE TABLE IF NOT EXISTS WorkflowState (id VARCHAR(255) PRIMARY KEY, "
                     "metadata JSONB NOT NULL)",
                     nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : "unknown error";
      sqlite3_free(err);
      return Unavailable("sqlx: cannot create WorkflowState in " + options_.path + ": " + message);
    }
    sqlite3_set_authorizer(d, &SqliteBackend::Authorize, this);
    sqlite3_progress_handler(d, kProgressSteps, &SqliteBackend::Progress, this);
    db_ = std::move(db);
    return OkStatus();
  }

  static Status QueryInt(sqlite3* d, const char* sql, int64_t* out) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(d, sql, -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(stmt.get(), 0);
      return OkStatus();
    }
    return Internal("sqlx: " + std::string(sql) + ": " + sqlite3_errmsg(d));
  }

  // sqlite3_set_authorizer's callback: the 3rd and 4th arguments depend on
  // the action (a PRAGMA's name, a function's name in the 4th).
  static int Authorize(void* self, int action, const char* a3, const char* a4, const char*,
                       const char*) {
    auto* backend = static_cast<SqliteBackend*>(self);
    switch (action) {
      case SQLITE_ATTACH:
        backend->denied_ = "ATTACH";
        return SQLITE_DENY;
      case SQLITE_DETACH:
        backend->denied_ = "DETACH";
        return SQLITE_DENY;
      case SQLITE_PRAGMA:
        backend->denied_ = "PRAGMA " + std::string(a3 ? a3 : "");
        return SQLITE_DENY;
      case SQLITE_FUNCTION:
        for (std::string_view f : kDeniedFunctions) {
          if (a4 != nullptr && sqlite3_stricmp(a4, std::string(f).c_str()) == 0) {
            backend->denied_ = "the function " + std::string(f) + "()";
            return SQLITE_DENY;
          }
        }
        return SQLITE_OK;
      default:
        return SQLITE_OK;
    }
  }

  static int Progress(void* self) {
    auto* backend = static_cast<SqliteBackend*>(self);
    return std::chrono::steady_clock::now() > backend->deadline_ ? 1 : 0;
  }

  // A statement SQLite refused or stopped: an Err for the sandbox and the
  // limits, EDGELESS's error reply for what the statement got wrong.
  Result<SqlOutcome> Failure(int rc) {
    std::string message = sqlite3_errmsg(db_.get());
    // A denied function fails the prepare with SQLITE_ERROR ("not
    // authorized to use function"), ATTACH with SQLITE_AUTH: what the
    // authorizer refused decides.
    if (!denied_.empty() || (rc & 0xff) == SQLITE_AUTH) {
      return PermissionDenied("sqlx: " + (denied_.empty() ? message : denied_) +
                              " is not allowed: a workflow's database is sandboxed");
    }
    switch (rc & 0xff) {
      case SQLITE_INTERRUPT:
        return DeadlineExceeded("sqlx: the statement ran out of its time budget and was stopped");
      case SQLITE_FULL:
        return ResourceExhausted("sqlx: the database is full (" +
                                 std::to_string(options_.max_bytes) +
                                 " bytes at most: [workflow] sqlx_max_database_bytes)");
      case SQLITE_TOOBIG:
        return ResourceExhausted("sqlx: a value or statement is larger than 1 MiB");
      case SQLITE_NOMEM:
        if (sqlite3_hard_heap_limit64(-1) != 0) {
          return ResourceExhausted(
              "sqlx: the statement needs more memory than this engine's SQLite databases may "
              "use (" +
              std::to_string(kMaxSqliteHeap >> 20) + " MiB together)");
        }
        [[fallthrough]];
      case SQLITE_IOERR:
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
      case SQLITE_CANTOPEN:
      case SQLITE_READONLY:
        db_.reset();  // opened again for the next statement
        return Unavailable("sqlx: " + options_.path + ": " + message);
      default:
        return SqlOutcome{DatabaseErrorReply("(code: " + std::to_string(rc) + ") " + message),
                          true};
    }
  }

  static std::string Row(sqlite3_stmt* stmt) {
    std::vector<SqlColumn> row;
    int n = sqlite3_column_count(stmt);
    for (int i = 0; i < n; ++i) {
      SqlColumn c;
      const char* name = sqlite3_column_name(stmt, i);
      c.name = name ? name : "";
      switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
          c.value.type = SqlValue::Type::kInteger;
          c.value.text = std::to_string(sqlite3_column_int64(stmt, i));
          break;
        case SQLITE_FLOAT:
          c.value.type = SqlValue::Type::kReal;
          c.value.real = sqlite3_column_double(stmt, i);
          break;
        case SQLITE_NULL:
          break;
        default: {  // text, and blobs as their bytes
          c.value.type = SqlValue::Type::kText;
          const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
          c.value.text.assign(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
        }
      }
      row.push_back(std::move(c));
    }
    return RowToJson(row);
  }

  const SqliteBackendOptions options_;
  DbPtr db_;
  std::chrono::steady_clock::time_point deadline_{};
  std::string denied_;  // what the authorizer refused in the statement being prepared
};

}  // namespace

std::unique_ptr<SqlBackend> NewSqliteBackend(SqliteBackendOptions options) {
  return std::make_unique<SqliteBackend>(std::move(options));
}

}  // namespace aether::workflow::resources
