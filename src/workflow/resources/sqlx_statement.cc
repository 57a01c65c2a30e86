#include "workflow/resources/sqlx_statement.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/json_util.h"

namespace aether::workflow::resources {
namespace {

// Skips whitespace and SQL comments; `sql` is left at the first token.
void SkipSpaceAndComments(std::string_view& sql) {
  for (;;) {
    size_t before = sql.size();
    while (!sql.empty() && std::isspace(static_cast<unsigned char>(sql.front()))) {
      sql.remove_prefix(1);
    }
    if (sql.starts_with("--")) {
      size_t nl = sql.find('\n');
      sql.remove_prefix(nl == std::string_view::npos ? sql.size() : nl + 1);
    } else if (sql.starts_with("/*")) {
      // An unterminated comment runs to the end, as in SQLite.
      size_t end = sql.find("*/", 2);
      sql.remove_prefix(end == std::string_view::npos ? sql.size() : end + 2);
    }
    if (sql.size() == before) return;
  }
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

bool OnlySpaceAndComments(std::string_view sql) {
  for (;;) {
    SkipSpaceAndComments(sql);
    if (sql.empty()) return true;
    if (sql.front() != ';') return false;
    sql.remove_prefix(1);
  }
}

Result<SqlKind> ClassifySql(std::string_view sql) {
  if (sql.size() > kMaxSqlBytes) {
    return InvalidArgument("sqlx: the statement is " + std::to_string(sql.size()) +
                           " bytes; at most 1 MiB");
  }
  if (sql.find('\0') != std::string_view::npos) {
    return InvalidArgument("sqlx: the statement holds a NUL byte");
  }
  std::string_view rest = sql;
  SkipSpaceAndComments(rest);
  size_t n = 0;
  while (n < rest.size() && IsWordChar(rest[n])) ++n;
  std::string word(rest.substr(0, n));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (word == "SELECT" || word == "WITH") return SqlKind::kQuery;
  if (word == "INSERT" || word == "UPDATE" || word == "DELETE" || word == "REPLACE") {
    return SqlKind::kExec;
  }
  return InvalidArgument(
      "sqlx: a statement starts with SELECT, WITH, INSERT, UPDATE, DELETE or REPLACE, got " +
      (word.empty() ? SqlExcerpt(rest, 20) : word) +
      " (one statement per event; the workflow id is its parameter $1)");
}

std::string RowToJson(const std::vector<SqlColumn>& row) {
  std::string out = "{";
  for (const SqlColumn& c : row) {
    if (out.size() > 1) out += ',';
    AppendJsonEscaped(out, c.name);
    out += ':';
    const SqlValue& v = c.value;
    switch (v.type) {
      case SqlValue::Type::kNull:
        out += "null";
        break;
      case SqlValue::Type::kInteger:
      case SqlValue::Type::kJson:
        out += v.text;
        break;
      case SqlValue::Type::kReal: {
        if (!std::isfinite(v.real)) {
          out += "null";
          break;
        }
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.17g", v.real);
        // The shortest of %.15g..%.17g that reads back the same value:
        // 0.1 stays "0.1", not "0.10000000000000001".
        for (int digits = 15; digits < 17; ++digits) {
          char shorter[32];
          std::snprintf(shorter, sizeof(shorter), "%.*g", digits, v.real);
          if (std::strtod(shorter, nullptr) == v.real) {
            std::snprintf(buf, sizeof(buf), "%s", shorter);
            break;
          }
        }
        out += buf;
        break;
      }
      case SqlValue::Type::kText:
        // EDGELESS's WorkflowState.metadata is JSON kept as text.
        if (c.name == "metadata" && ParseJson(v.text).ok()) {
          out += v.text;
        } else {
          AppendJsonEscaped(out, v.text);
        }
        break;
    }
  }
  return out + "}";
}

std::string ExecReply(uint64_t rows_affected, int64_t last_insert_rowid) {
  return "rows_affected: " + std::to_string(rows_affected) +
         ", last_insert_rowid: " + std::to_string(last_insert_rowid) + ".";
}

std::string DatabaseErrorReply(std::string_view message) {
  return "error returned from database: " + std::string(message);
}

std::string SqlExcerpt(std::string_view sql, size_t max) {
  std::string out = "\"";
  for (char c : sql.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? ' ' : c;
  }
  if (sql.size() > max) out += "...";
  return out + "\"";
}

}  // namespace aether::workflow::resources
