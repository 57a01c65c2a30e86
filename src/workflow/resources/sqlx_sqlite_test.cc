// The sqlx resource on real SQLite files in temp dirs: EDGELESS's sequence
// with its exact reply texts, casts in order, and the sandbox: each attack
// a guest could send fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "workflow/resource.h"
#include "workflow/resources/sql_backend.h"
#include "workflow/resources/sqlx.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr std::chrono::milliseconds kSqliteTimeout = 5s;

class SqlxSqliteTest : public ::testing::Test {
 protected:
  // A sqlx resource of workflow "wf-test" on sqlite://<name>.
  std::unique_ptr<Resource> Make(const std::string& url = "sqlite://sqlite.db",
                                 ResourceLimits limits = {}) {
    fake_.data_dir = dir_.path();
    ResourceContext ctx = fake_.Make({{"url", url}});
    ctx.limits = std::move(limits);
    Result<std::unique_ptr<Resource>> r = CreateResource("sqlx", std::move(ctx));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  std::string Call(Resource& r, std::string_view sql) {
    Result<std::string> reply = r.Call("fn", sql, kSqliteTimeout);
    EXPECT_TRUE(reply.ok()) << sql << ": " << reply.status().message();
    return reply.ok() ? *reply : reply.status().message();
  }
  std::string DbFile(const std::string& name = "sqlite.db") const {
    return dir_.path() + "/workflows/wf-test/sqlx/" + name;
  }

  TempDir dir_;
  FakeContext fake_;
};

// A guest's sort or DISTINCT over more than SQLite's page cache would
// spill to a temporary file outside the workflow's directory, where no
// size cap holds: temporary data stays in memory. SQLite unlinks its temp
// files as it opens them, so the test watches their creation (inotify) in
// the temp directory it points SQLite at.
TEST_F(SqlxSqliteTest, TemporaryDataNeverGoesToAFile) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  TempDir temp;
  int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(::inotify_add_watch(watch, temp.path().c_str(), IN_CREATE), 0);
  char* saved = sqlite3_temp_directory;
  sqlite3_temp_directory = sqlite3_mprintf("%s", temp.path().c_str());
  std::string distinct = Call(*r,
                              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                              "LIMIT 200000) SELECT count(DISTINCT hex(randomblob(64))) AS n "
                              "FROM c");
  sqlite3_free(sqlite3_temp_directory);
  sqlite3_temp_directory = saved;
  EXPECT_EQ(distinct, R"({"n":200000})");
  alignas(inotify_event) char events[4096];
  ssize_t n = ::read(watch, events, sizeof events);
  ::close(watch);
  EXPECT_LE(n, 0) << "SQLite created a temporary file";
}

// A statement whose temporary data would pass the engine's SQLite memory
// cap fails with ResourceExhausted, and the database keeps working. (The
// cap is 256 MiB; the test lowers SQLite's process-wide limit to reach it
// quickly, then puts it back.)
TEST_F(SqlxSqliteTest, MemoryPastTheCapIsResourceExhausted) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(Call(*r, "SELECT 1 AS one"), R"({"one":1})");  // opened: the cap is set
  int64_t cap = sqlite3_hard_heap_limit64(-1);
  ASSERT_GT(cap, 0);
  sqlite3_hard_heap_limit64(int64_t{16} << 20);
  Result<std::string> big =
      r->Call("fn",
              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
              "LIMIT 200000) SELECT count(DISTINCT hex(randomblob(64))) AS n "
              "FROM c",
              kSqliteTimeout);
  sqlite3_hard_heap_limit64(cap);
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted) << big.status().message();
  EXPECT_THAT(big.status().message(), HasSubstr("more memory"));
  EXPECT_EQ(Call(*r, "SELECT 2 AS two"), R"({"two":2})");
}

// EDGELESS's sqlx_test function: INSERT in init, SELECT then UPDATE on each
// event, DELETE at stop; the workflow id is $1.
TEST_F(SqlxSqliteTest, EdgelessSequenceWithItsExactReplies) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(
      Call(
          *r,
          R"(INSERT INTO WorkflowState (id, metadata) Values($1, '{"foo":42.0,"bar":"initial"}'))"),
      "rows_affected: 1, last_insert_rowid: 1.");
  EXPECT_EQ(Call(*r, "SELECT id, metadata FROM WorkflowState WHERE id=$1"),
            R"({"id":"wf-test","metadata":{"foo":42.0,"bar":"initial"}})");
  EXPECT_EQ(
      Call(*r,
           R"(UPDATE WorkflowState SET metadata='{"foo":16.5,"bar":"subsequent"}'  WHERE id = $1)"),
      "rows_affected: 1, last_insert_rowid: 0.");
  EXPECT_EQ(Call(*r, "SELECT id, metadata FROM WorkflowState WHERE id=$1"),
            R"({"id":"wf-test","metadata":{"foo":16.5,"bar":"subsequent"}})");
  EXPECT_EQ(Call(*r, "DELETE FROM WorkflowState WHERE id=$1"),
            "rows_affected: 1, last_insert_rowid: 0.");
  EXPECT_EQ(Call(*r, "SELECT id, metadata FROM WorkflowState WHERE id=$1"),
            "no rows returned by a query that expected to return at least one row");
  r->Stop();
  EXPECT_TRUE(std::filesystem::is_regular_file(DbFile()));
}

TEST_F(SqlxSqliteTest, TheFileOutlivesTheResource) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  Call(*r, R"(INSERT INTO WorkflowState VALUES ($1, '{"n":1}'))");
  r->Stop();
  r = Make();
  EXPECT_EQ(Call(*r, "SELECT metadata FROM WorkflowState WHERE id = ?"), R"({"metadata":{"n":1}})");
}

TEST_F(SqlxSqliteTest, CastsRunInOrderAndACallSeesThem) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->Cast("fn", R"(INSERT INTO WorkflowState VALUES ($1, '{"n":0}'))").ok());
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(r->Cast("fn", "UPDATE WorkflowState SET metadata = json_object('n', " +
                                  std::to_string(i) + ") WHERE id = $1")
                    .ok());
  }
  EXPECT_EQ(Call(*r, "SELECT metadata FROM WorkflowState WHERE id = $1"),
            R"({"metadata":{"n":20}})");
  EXPECT_TRUE(fake_.failures().empty());
  // A cast the database refuses has nowhere to answer: it is reported.
  ASSERT_TRUE(r->Cast("fn", "INSERT INTO NoSuchTable VALUES (1)").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_THAT(fake_.failures()[0], HasSubstr("no such table: NoSuchTable"));
}

TEST_F(SqlxSqliteTest, RowsRenderEveryType) {
  auto r = Make("sqlite::memory:");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Call(*r, "SELECT 1 AS i, 2.5 AS r, NULL AS n, 'x' AS t, $1 AS wf"),
            R"({"i":1,"r":2.5,"n":null,"t":"x","wf":"wf-test"})");
  EXPECT_EQ(Call(*r, "WITH x(a) AS (SELECT 7) SELECT a FROM x"), R"({"a":7})");
}

TEST_F(SqlxSqliteTest, StatementErrorsAreRepliesLikeEdgeless) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Call(*r, "SELECT * FROM NoSuchTable"),
            "error returned from database: (code: 1) no such table: NoSuchTable");
  Call(*r, "INSERT INTO WorkflowState VALUES ($1, '{}')");
  EXPECT_THAT(Call(*r, "INSERT INTO WorkflowState VALUES ($1, '{}')"),
              HasSubstr("UNIQUE constraint failed: WorkflowState.id"));
  EXPECT_THAT(r->Call("fn", "SELEC", kSqliteTimeout).status().message(),
              HasSubstr("starts with SELECT"));
}

TEST_F(SqlxSqliteTest, BadStatementsAreErrs) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  Result<std::string> two = r->Call("fn", "SELECT 1; SELECT 2", kSqliteTimeout);
  EXPECT_EQ(two.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(two.status().message(), HasSubstr("one statement per event"));
  Result<std::string> params = r->Call("fn", "SELECT $1, $2", kSqliteTimeout);
  EXPECT_EQ(params.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(params.status().message(), HasSubstr("2 parameters; it may have one ($1)"));
  EXPECT_EQ(r->Call("fn", "CREATE TABLE t (a)", kSqliteTimeout).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(r->Cast("fn", "DROP TABLE WorkflowState").code(), Code::kInvalidArgument);
  // "SELECT 1;" is one statement.
  EXPECT_EQ(Call(*r, "SELECT 1 AS one; -- done"), R"({"one":1})");
}

TEST_F(SqlxSqliteTest, ABadNameOrWorkflowIdIsRefusedAtCreation) {
  fake_.data_dir = dir_.path();
  for (const char* url :
       {"sqlite://../escape.db", "sqlite://a/b.db", "sqlite://..", "sqlite:///etc/passwd"}) {
    Result<std::unique_ptr<Resource>> r = CreateResource("sqlx", fake_.Make({{"url", url}}));
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("sqlx configurations: url: "));
  }
  ResourceContext ctx = fake_.Make({{"url", "sqlite://x.db"}});
  ctx.workflow = "../../etc";
  EXPECT_EQ(CreateResource("sqlx", std::move(ctx)).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/escape.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/workflows/escape.db"));
}

// Each attack of a guest's statement fails, and the database still works.
TEST_F(SqlxSqliteTest, AttacksFail) {
  auto r = Make();
  ASSERT_NE(r, nullptr);
  auto code = [&](std::string_view sql) {
    return r->Call("fn", sql, kSqliteTimeout).status().code();
  };
  std::string outside = dir_.path() + "/outside.db";
  // Other files: by the first keyword, and by the sandbox behind it.
  EXPECT_EQ(code("ATTACH '/etc/passwd' AS p"), Code::kInvalidArgument);
  EXPECT_EQ(code("ATTACH '" + outside + "' AS o"), Code::kInvalidArgument);
  EXPECT_EQ(code("VACUUM INTO '" + outside + "'"), Code::kInvalidArgument);
  EXPECT_EQ(code("SELECT 1; ATTACH '" + outside + "' AS o"), Code::kInvalidArgument);
  EXPECT_EQ(code("SELECT 1; VACUUM INTO '" + outside + "'"), Code::kInvalidArgument);
  // Settings and the schema's own storage.
  EXPECT_EQ(code("PRAGMA writable_schema = ON"), Code::kInvalidArgument);
  EXPECT_THAT(Call(*r, "UPDATE sqlite_master SET sql = 'x'"),
              HasSubstr("table sqlite_master may not be modified"));
  // Native code.
  Result<std::string> ext =
      r->Call("fn", "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')", kSqliteTimeout);
  EXPECT_EQ(ext.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(ext.status().message(), HasSubstr("the function load_extension() is not allowed"));
  // Memory: values over 1 MiB.
  Result<std::string> blob = r->Call("fn", "SELECT randomblob(2000000000)", kSqliteTimeout);
  EXPECT_EQ(blob.status().code(), Code::kResourceExhausted) << blob.status().message();
  EXPECT_EQ(code("SELECT length(zeroblob(1048577))"), Code::kResourceExhausted);
  // Time: a statement that would run forever is stopped at its budget, and
  // the resource answers the next one.
  auto start = std::chrono::steady_clock::now();
  Result<std::string> forever = r->Call(
      "fn",
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
      300ms);
  EXPECT_EQ(forever.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(Call(*r, "SELECT 2 AS two"), R"({"two":2})");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_FALSE(std::filesystem::exists(outside));
}

// The sandbox without the first-keyword rule in front of it: the backend
// alone refuses what a statement of an allowed kind could smuggle in.
TEST_F(SqlxSqliteTest, TheBackendAloneDeniesAttachPragmaAndVacuum) {
  std::string outside = dir_.path() + "/outside.db";
  auto b = NewSqliteBackend({.path = dir_.path() + "/b.db", .max_bytes = 1 << 20});
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto run = [&](std::string_view sql) { return b->Run(sql, SqlKind::kExec, "wf", deadline); };
  Result<SqlOutcome> attach = run("ATTACH '" + outside + "' AS o");
  EXPECT_EQ(attach.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(attach.status().message(), HasSubstr("ATTACH is not allowed"));
  Result<SqlOutcome> pragma = run("PRAGMA writable_schema = ON");
  EXPECT_EQ(pragma.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(pragma.status().message(), HasSubstr("PRAGMA writable_schema"));
  EXPECT_EQ(run("PRAGMA max_page_count = 1000000000").status().code(), Code::kPermissionDenied);
  Result<SqlOutcome> vacuum = run("VACUUM INTO '" + outside + "'");
  EXPECT_FALSE(vacuum.ok() && !vacuum->failed) << vacuum->reply;
  EXPECT_FALSE(std::filesystem::exists(outside));
}

TEST_F(SqlxSqliteTest, TheDatabaseSizeIsCapped) {
  ResourceLimits limits;
  limits.sqlx_max_database_bytes = 256 << 10;
  auto r = Make("sqlite://small.db", limits);
  ASSERT_NE(r, nullptr);
  Result<std::string> full =
      r->Call("fn",
              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
              "INSERT INTO WorkflowState SELECT 'k' || x, hex(randomblob(1000)) FROM c",
              kSqliteTimeout);
  EXPECT_EQ(full.status().code(), Code::kResourceExhausted) << full.status().message();
  EXPECT_THAT(full.status().message(), HasSubstr("sqlx_max_database_bytes"));
  EXPECT_LE(std::filesystem::file_size(DbFile("small.db")), 256u << 10);
  EXPECT_EQ(Call(*r, "INSERT INTO WorkflowState VALUES ($1, '{}')"),
            "rows_affected: 1, last_insert_rowid: 1.");
}

TEST_F(SqlxSqliteTest, CastsHaveTheStatementTimeoutAsBudget) {
  ResourceLimits limits;
  limits.sqlx_statement_timeout = 200ms;
  auto r = Make("sqlite::memory:", limits);
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(
      r->Cast(
           "fn",
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
          .ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_THAT(fake_.failures()[0], HasSubstr("time budget"));
}

TEST_F(SqlxSqliteTest, AFullQueueIsResourceExhausted) {
  ResourceLimits limits;
  limits.sqlx_queue_length = 1;
  limits.sqlx_statement_timeout = 300ms;
  auto r = Make("sqlite::memory:", limits);
  ASSERT_NE(r, nullptr);
  const char* slow =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  Status last;
  for (int i = 0; i < 5 && last.ok(); ++i) last = r->Cast("fn", slow);
  EXPECT_EQ(last.code(), Code::kResourceExhausted);
  // CastWait holds the sender until there is room instead.
  EXPECT_TRUE(r->CastWait("fn", "SELECT 1", std::chrono::steady_clock::now() + 5s).ok());
}

}  // namespace
}  // namespace aether::workflow::resources
