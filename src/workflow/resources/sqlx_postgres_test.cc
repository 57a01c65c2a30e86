// The sqlx resource on a real PostgreSQL server (tests/support/
// postgres_server.h, on 127.0.0.1): EDGELESS's sequence, the operator's
// [[workflow.sql]] as the only way in, the role's privileges as the bound,
// and a server that goes away and comes back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "postgres_server.h"
#include "workflow/resource.h"
#include "workflow/resources/sqlx.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using ::testing::HasSubstr;

constexpr std::chrono::milliseconds kPostgresTimeout = 10s;

class SqlxPostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (aether::testing::PostgresBinDir().empty()) return;
    auto s = aether::testing::PostgresServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (aether::testing::PostgresBinDir().empty()) {
      GTEST_SKIP() << "PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin; make deps): "
                      "the sqlx PostgreSQL tests need a real server";
    }
    ASSERT_NE(server_, nullptr);
  }

  // The engine's [[workflow.sql]] with the test server as "main".
  static ResourceLimits Limits() {
    ResourceLimits limits;
    limits.sql_databases.push_back({.name = "main",
                                    .url = server_->Url(),
                                    .password = std::string(aether::testing::kPostgresPassword),
                                    .workflows = {}});
    return limits;
  }
  Result<std::unique_ptr<Resource>> Create(ResourceConfigMap config, ResourceLimits limits,
                                           std::string workflow = "wf-test") {
    ResourceContext ctx = fake_.Make(std::move(config));
    ctx.workflow = std::move(workflow);
    ctx.limits = std::move(limits);
    return CreateResource("sqlx", std::move(ctx));
  }
  std::unique_ptr<Resource> Make(ResourceLimits limits = Limits(),
                                 std::string workflow = "wf-test") {
    auto r = Create({{"database", "main"}}, std::move(limits), std::move(workflow));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  static std::string Call(Resource& r, std::string_view sql) {
    Result<std::string> reply = r.Call("fn", sql, kPostgresTimeout);
    EXPECT_TRUE(reply.ok()) << sql << ": " << reply.status().message();
    return reply.ok() ? *reply : reply.status().message();
  }

  static std::unique_ptr<aether::testing::PostgresServer> server_;
  FakeContext fake_;
};

std::unique_ptr<aether::testing::PostgresServer> SqlxPostgresTest::server_;

TEST_F(SqlxPostgresTest, EdgelessSequenceWithItsExactReplies) {
  auto r = Make(Limits(), "wf-sequence");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(
      Call(
          *r,
          R"(INSERT INTO WorkflowState (id, metadata) Values($1, '{"foo":42.0,"bar":"initial"}'))"),
      "rows_affected: 1, last_insert_rowid: 0.");
  // jsonb gives its own spelling back.
  EXPECT_EQ(Call(*r, "SELECT id, metadata FROM WorkflowState WHERE id=$1"),
            R"({"id":"wf-sequence","metadata":{"bar": "initial", "foo": 42.0}})");
  EXPECT_EQ(
      Call(*r,
           R"(UPDATE WorkflowState SET metadata='{"foo":16.5,"bar":"subsequent"}'  WHERE id = $1)"),
      "rows_affected: 1, last_insert_rowid: 0.");
  EXPECT_EQ(Call(*r, "SELECT id, metadata FROM WorkflowState WHERE id=$1"),
            R"({"id":"wf-sequence","metadata":{"bar": "subsequent", "foo": 16.5}})");
  EXPECT_EQ(Call(*r, "DELETE FROM WorkflowState WHERE id=$1"),
            "rows_affected: 1, last_insert_rowid: 0.");
  EXPECT_EQ(Call(*r, "SELECT id, metadata FROM WorkflowState WHERE id=$1"),
            "no rows returned by a query that expected to return at least one row");
}

TEST_F(SqlxPostgresTest, RowsRenderEveryType) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Call(*r,
                 "SELECT 1 AS i, 2.5::float8 AS r, NULL AS n, 'x' AS t, true AS b, "
                 "1.50::numeric AS d, 'NaN'::numeric AS nan, $1::text AS wf"),
            R"({"i":1,"r":2.5,"n":null,"t":"x","b":true,"d":1.50,"nan":"NaN","wf":"wf-test"})");
}

TEST_F(SqlxPostgresTest, TheSpecMayNameTheConfiguredUrl) {
  auto r = Create({{"url", server_->Url()}}, Limits());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Call(**r, "SELECT 7 AS seven"), R"({"seven":7})");
}

TEST_F(SqlxPostgresTest, StatementErrorsAreRepliesBadStatementsErrs) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Call(*r, "SELECT * FROM no_such_table"),
            "error returned from database: relation \"no_such_table\" does not exist");
  Result<std::string> two = r->Call("fn", "SELECT 1; SELECT 2", kPostgresTimeout);
  EXPECT_EQ(two.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(two.status().message(), HasSubstr("one statement per event"));
  Result<std::string> params = r->Call("fn", "SELECT $1::text, $2::text", kPostgresTimeout);
  EXPECT_EQ(params.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r->Call("fn", "DROP TABLE WorkflowState", kPostgresTimeout).status().code(),
            Code::kInvalidArgument);
  // The connection is still good.
  EXPECT_EQ(Call(*r, "SELECT 1 AS one"), R"({"one":1})");
}

TEST_F(SqlxPostgresTest, TheStatementTimeoutStopsALongStatement) {
  ResourceLimits limits = Limits();
  limits.sqlx_statement_timeout = 300ms;
  auto r = Make(limits);
  ASSERT_NE(r, nullptr);
  Result<std::string> slow = r->Call("fn", "SELECT pg_sleep(10)", kPostgresTimeout);
  EXPECT_EQ(slow.status().code(), Code::kDeadlineExceeded) << slow.status().message();
  EXPECT_THAT(slow.status().message(), HasSubstr("sqlx_statement_timeout"));
  EXPECT_EQ(Call(*r, "SELECT 1 AS one"), R"({"one":1})");
}

// A caller that stops waiting has its statement cancelled on the server:
// the statement does not run on to statement_timeout, holding the
// resource's thread (the next statement would wait behind it) and the
// server's locks.
TEST_F(SqlxPostgresTest, AStatementIsCancelledWhenItsCallerStopsWaiting) {
  ResourceLimits limits = Limits();
  limits.sqlx_statement_timeout = 60s;
  auto r = Make(limits);
  ASSERT_NE(r, nullptr);
  Result<std::string> slow = r->Call("fn", "SELECT pg_sleep(30)", 300ms);
  EXPECT_EQ(slow.status().code(), Code::kDeadlineExceeded) << slow.status().message();
  // Within its own 10 s: the sleep (30 s) no longer holds the resource.
  EXPECT_EQ(Call(*r, "SELECT 1 AS one"), R"({"one":1})");
  EXPECT_EQ(Call(*r,
                 "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE "
                 "'SELECT pg_sleep(30)%' AND state = 'active'"),
            R"({"n":0})");
}

// What a guest can do is what the configured role may do.
TEST_F(SqlxPostgresTest, TheRolesPrivilegesBoundTheGuest) {
  ASSERT_TRUE(server_
                  ->Psql("CREATE TABLE IF NOT EXISTS WorkflowState (id VARCHAR(255) PRIMARY "
                         "KEY, metadata JSONB NOT NULL)")
                  .ok());
  ASSERT_TRUE(server_
                  ->Psql("DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN PASSWORD "
                         "'reader-pw'; GRANT SELECT ON WorkflowState TO reader")
                  .ok());
  ResourceLimits limits;
  limits.sql_databases.push_back(
      {.name = "ro", .url = server_->Url("reader"), .password = "reader-pw", .workflows = {}});
  auto r = Create({{"database", "ro"}}, limits);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Call(**r, "SELECT count(*) AS n FROM WorkflowState WHERE id = 'none'"), R"({"n":0})");
  Result<std::string> write = (*r)->Call("fn", "DELETE FROM WorkflowState", kPostgresTimeout);
  EXPECT_EQ(write.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(write.status().message(), HasSubstr("permission denied for table workflowstate"));
}

TEST_F(SqlxPostgresTest, OnlyConfiguredDatabasesForAllowedWorkflows) {
  Result<std::unique_ptr<Resource>> unknown = Create({{"database", "orders"}}, Limits());
  EXPECT_EQ(unknown.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("no [[workflow.sql]] database named \"orders\" (configured: main)"));

  Result<std::unique_ptr<Resource>> other =
      Create({{"url", "postgresql://app@10.0.0.1:5432/db"}}, Limits());
  EXPECT_EQ(other.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("add [[workflow.sql]]"));

  Result<std::unique_ptr<Resource>> password =
      Create({{"url", "postgresql://aether:pw@127.0.0.1/postgres"}}, Limits());
  EXPECT_EQ(password.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(password.status().message(), HasSubstr("holds a password"));

  ResourceLimits allowlist = Limits();
  allowlist.sql_databases[0].workflows = {"wf-allowed"};
  Result<std::unique_ptr<Resource>> refused = Create({{"database", "main"}}, allowlist, "wf-other");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("workflow wf-other may not use the database"));
  auto allowed = Create({{"database", "main"}}, allowlist, "wf-allowed");
  ASSERT_TRUE(allowed.ok()) << allowed.status().message();
  EXPECT_EQ(Call(**allowed, "SELECT $1::text AS wf"), R"({"wf":"wf-allowed"})");
}

TEST_F(SqlxPostgresTest, AWrongPasswordIsUnavailableNamingTheDatabase) {
  ResourceLimits limits = Limits();
  limits.sql_databases[0].password = "wrong";
  auto r = Make(limits);
  ASSERT_NE(r, nullptr);  // created without connecting
  Result<std::string> reply = r->Call("fn", "SELECT 1", kPostgresTimeout);
  EXPECT_EQ(reply.status().code(), Code::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("cannot connect to the database main"));
  EXPECT_THAT(reply.status().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(reply.status().message(), ::testing::Not(HasSubstr("wrong")));
}

TEST_F(SqlxPostgresTest, ServerDownIsUnavailableThenItRecovers) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Call(*r, "SELECT 1 AS one"), R"({"one":1})");
  server_->Kill();
  Result<std::string> down = r->Call("fn", "SELECT 1 AS one", kPostgresTimeout);
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().message();
  ASSERT_TRUE(server_->Restart().ok());
  // The next attempt comes after the backoff (at most 5 s).
  Result<std::string> up = Unavailable("not tried");
  for (auto until = std::chrono::steady_clock::now() + 20s;
       !up.ok() && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms)) {
    up = r->Call("fn", "SELECT 1 AS one", kPostgresTimeout);
  }
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_EQ(*up, R"({"one":1})");
}

}  // namespace
}  // namespace aether::workflow::resources
