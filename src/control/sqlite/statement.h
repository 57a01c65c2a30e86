// A prepared SQLite statement with RAII finalization and Status errors.
// Not thread-safe: used under the SqliteStore mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::control {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    prepare_rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& BindBlob(int i, std::string_view v) {
    // SQLITE_TRANSIENT: SQLite copies, so temporaries are fine.
    sqlite3_bind_blob(stmt_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindInt(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // true = a row is available, false = done.
  Result<bool> Step() {
    if (prepare_rc_ != SQLITE_OK) return Error();
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Status st = Error();
    Reset();
    return st;
  }

  // Runs a statement that returns no rows and resets it.
  Status RunToEnd() {
    while (true) {
      ASSIGN_OR_RETURN(bool row, Step());
      if (!row) break;
    }
    Reset();
    return OkStatus();
  }

  int64_t ColumnInt(int i) { return sqlite3_column_int64(stmt_, i); }
  std::string ColumnBlob(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    int n = sqlite3_column_bytes(stmt_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }

  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  Status Error() const { return Internal(std::string("store: ") + sqlite3_errmsg(db_)); }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int prepare_rc_ = SQLITE_OK;
};

}  // namespace aether::control
