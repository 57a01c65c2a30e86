#include "workflow/resources/sqlx_statement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace aether::workflow::resources {
namespace {

using ::testing::HasSubstr;

TEST(SqlxStatementTest, TheFirstKeywordDecides) {
  for (const char* sql : {"SELECT 1", "select id, metadata FROM WorkflowState WHERE id=$1",
                          "  \n\tWITH x AS (SELECT 1) SELECT * FROM x", "-- note\nSELECT 1",
                          "/* a */ /* b */ select 1", "SELECT(1)"}) {
    Result<SqlKind> k = ClassifySql(sql);
    ASSERT_TRUE(k.ok()) << sql << ": " << k.status().message();
    EXPECT_EQ(*k, SqlKind::kQuery) << sql;
  }
  for (const char* sql : {"INSERT INTO t VALUES (1)", "update t SET a=1", "Delete FROM t",
                          "REPLACE INTO t VALUES (1)", "/*x*/insert into t values(1)"}) {
    Result<SqlKind> k = ClassifySql(sql);
    ASSERT_TRUE(k.ok()) << sql << ": " << k.status().message();
    EXPECT_EQ(*k, SqlKind::kExec) << sql;
  }
}

TEST(SqlxStatementTest, EverythingElseIsRefusedNamingWhatIsAllowed) {
  for (const char* sql :
       {"VACUUM INTO '/tmp/x.db'", "ATTACH '/etc/passwd' AS p", "PRAGMA writable_schema=1",
        "CREATE TABLE t (a)", "DROP TABLE WorkflowState", "BEGIN", "", "   -- only a comment",
        "/* unterminated SELECT 1", "SELECTX 1", "EXPLAIN SELECT 1", ";SELECT 1"}) {
    Result<SqlKind> k = ClassifySql(sql);
    ASSERT_FALSE(k.ok()) << sql;
    EXPECT_EQ(k.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(k.status().message(),
                HasSubstr("starts with SELECT, WITH, INSERT, UPDATE, DELETE or REPLACE"));
  }
  EXPECT_THAT(ClassifySql("VACUUM INTO 'x'").status().message(), HasSubstr("got VACUUM"));
  EXPECT_THAT(ClassifySql(std::string("SELECT 1\0", 9)).status().message(), HasSubstr("NUL"));
  EXPECT_THAT(ClassifySql("SELECT '" + std::string(kMaxSqlBytes, 'a') + "'").status().message(),
              HasSubstr("at most 1 MiB"));
}

TEST(SqlxStatementTest, WhatMayFollowTheStatement) {
  EXPECT_TRUE(OnlySpaceAndComments(""));
  EXPECT_TRUE(OnlySpaceAndComments(" ; -- done\n /* x */ ;"));
  EXPECT_FALSE(OnlySpaceAndComments("; DROP TABLE t"));
  EXPECT_FALSE(OnlySpaceAndComments("SELECT 2"));
}

TEST(SqlxStatementTest, RowsAreJsonObjectsInColumnOrder) {
  using T = SqlValue::Type;
  std::vector<SqlColumn> row = {
      {"id", {T::kText, "wf-1", 0}},
      {"metadata", {T::kText, R"({"foo":16.5,"bar":"initial"})", 0}},
      {"n", {T::kInteger, "-42", 0}},
      {"r", {T::kReal, "", 0.1}},
      {"z", {T::kNull, "", 0}},
      {"j", {T::kJson, "true", 0}},
  };
  EXPECT_EQ(RowToJson(row),
            R"({"id":"wf-1","metadata":{"foo":16.5,"bar":"initial"},"n":-42,"r":0.1,"z":null,)"
            R"("j":true})");
}

TEST(SqlxStatementTest, TextStaysTextUnlessItIsMetadataHoldingJson) {
  using T = SqlValue::Type;
  EXPECT_EQ(RowToJson({{"other", {T::kText, R"({"a":1})", 0}}}), R"({"other":"{\"a\":1}"})");
  EXPECT_EQ(RowToJson({{"metadata", {T::kText, "not json", 0}}}), R"({"metadata":"not json"})");
  EXPECT_EQ(RowToJson({{"s", {T::kText, std::string("a\"\n\xff", 4), 0}}}),
            "{\"s\":\"a\\\"\\n\xEF\xBF\xBD\"}");
  EXPECT_EQ(RowToJson({{"inf", {T::kReal, "", std::numeric_limits<double>::infinity()}}}),
            R"({"inf":null})");
  EXPECT_EQ(RowToJson({}), "{}");
}

TEST(SqlxStatementTest, EdgelessReplyTexts) {
  EXPECT_EQ(ExecReply(1, 0), "rows_affected: 1, last_insert_rowid: 0.");
  EXPECT_EQ(ExecReply(3, 7), "rows_affected: 3, last_insert_rowid: 7.");
  EXPECT_EQ(DatabaseErrorReply("no such table: x"),
            "error returned from database: no such table: x");
}

}  // namespace
}  // namespace aether::workflow::resources
