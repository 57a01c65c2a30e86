// What the sqlx resource makes of a guest's statement before and after a
// database runs it, the same for SQLite and PostgreSQL: the kind of the
// statement (by its first keyword), the JSON of a result row, and
// EDGELESS's reply texts. Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::workflow::resources {

enum class SqlKind {
  kQuery,  // SELECT, WITH: the first row is the reply
  kExec,   // INSERT, UPDATE, DELETE, REPLACE: "rows_affected: N, last_insert_rowid: M."
};

// The statement's first keyword (after whitespace, "-- ..." and "/* ... */"
// comments), case-insensitive. InvalidArgument naming the allowed keywords
// for anything else (CREATE, DROP, PRAGMA, ATTACH, VACUUM, BEGIN, ...,
// or an empty statement): guests read and write rows, the schema and the
// database's settings are not theirs. Statements are at most 1 MiB
// (kMaxSqlBytes) and hold no NUL byte.
inline constexpr size_t kMaxSqlBytes = 1u << 20;
Result<SqlKind> ClassifySql(std::string_view sql);

// Whether `sql` holds nothing but whitespace, comments and ';': what may
// follow the one statement of an event.
bool OnlySpaceAndComments(std::string_view sql);

// One value of a result row, as the database gave it.
struct SqlValue {
  enum class Type {
    kNull,
    kInteger,  // `text` holds the decimal digits
    kReal,     // `real`
    kText,     // `text`, any bytes
    kJson,     // `text` holds JSON the database vouches for (jsonb, numeric, bool)
  };
  Type type = Type::kNull;
  std::string text;
  double real = 0;
};
struct SqlColumn {
  std::string name;
  SqlValue value;
};

// The row as one JSON object, column name -> value in column order:
// integers and reals as numbers (a non-finite real as null), NULL as null,
// text as a string (invalid UTF-8 replaced), kJson as is. A column named
// "metadata" holding text that is valid JSON is that JSON, not a string:
// `SELECT id, metadata FROM WorkflowState` gives EDGELESS's reply
// {"id": ..., "metadata": {...}}.
std::string RowToJson(const std::vector<SqlColumn>& row);

// EDGELESS's reply to an INSERT/UPDATE/DELETE (its exact text).
std::string ExecReply(uint64_t rows_affected, int64_t last_insert_rowid);

// EDGELESS's reply (sqlx's error texts) when a query finds no row, and
// when the database refuses a statement.
inline constexpr std::string_view kNoRowsReply =
    "no rows returned by a query that expected to return at least one row";
std::string DatabaseErrorReply(std::string_view message);

// The first `max` bytes of a statement, printable, for messages and logs.
std::string SqlExcerpt(std::string_view sql, size_t max = 60);

}  // namespace aether::workflow::resources
