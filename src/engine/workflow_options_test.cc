#include "engine/workflow_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/limits.h"

namespace aether::engine {
namespace {

using namespace std::chrono_literals;

// Every key the mapping reads, each set away from its default, through the
// TOML parser: a key that stops reaching its field fails here.
TEST(WorkflowOptionsTest, EveryKeyReachesItsField) {
  Result<Config> c = ParseConfig(R"([runtime]
data_dir = "/var/lib/aether-test"
memory_limit = "32MB"
exec_timeout = "1500ms"
workers = 3
[workflow]
mailbox_length = 17
send_wait = "300ms"
dataplane_queue_length = 99
dataplane_dedup_batches = 12
dataplane_dedup_window = "90s"
redis_connect_timeout = "250ms"
redis_command_timeout = "4s"
redis_queue_length = 33
http_egress_queue_length = 7
kv_queue_length = 8
egress_default = "none"
sqlx_statement_timeout = "750ms"
sqlx_connect_timeout = "3s"
sqlx_max_database_bytes = "1MB"
sqlx_queue_length = 9
[[workflow.sql]]
name = "orders"
url = "postgresql://app@127.0.0.1:5432/orders"
workflows = ["wf-a", "wf-b"]
)",
                                 "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  WorkflowOptions o = WorkflowOptionsFromConfig(*c);

  EXPECT_EQ(o.host.data_dir, "/var/lib/aether-test");
  EXPECT_EQ(o.host.memory_limit, 32ull << 20);
  EXPECT_EQ(o.host.timeout, 1500ms);
  EXPECT_EQ(o.host.threads, 3u);
  EXPECT_EQ(o.host.mailbox_length, 17u);
  EXPECT_EQ(o.host.send_wait, 300ms);
  EXPECT_EQ(o.host.resource_limits.redis_connect_timeout, 250ms);
  EXPECT_EQ(o.host.resource_limits.redis_command_timeout, 4s);
  EXPECT_EQ(o.host.resource_limits.redis_queue_length, 33u);
  EXPECT_EQ(o.host.resource_limits.http_egress_queue_length, 7u);
  EXPECT_EQ(o.host.resource_limits.kv_queue_length, 8u);
  EXPECT_FALSE(o.host.resource_limits.egress_public_by_default);
  EXPECT_EQ(o.host.resource_limits.sqlx_statement_timeout, 750ms);
  EXPECT_EQ(o.host.resource_limits.sqlx_connect_timeout, 3s);
  EXPECT_EQ(o.host.resource_limits.sqlx_max_database_bytes, 1ull << 20);
  EXPECT_EQ(o.host.resource_limits.sqlx_queue_length, 9u);
  ASSERT_EQ(o.host.resource_limits.sql_databases.size(), 1u);
  const workflow::SqlDatabase& db = o.host.resource_limits.sql_databases[0];
  EXPECT_EQ(db.name, "orders");
  EXPECT_EQ(db.url, "postgresql://app@127.0.0.1:5432/orders");
  EXPECT_EQ(db.workflows, (std::vector<std::string>{"wf-a", "wf-b"}));
  EXPECT_EQ(db.password, "");  // ReadSqlPasswords's job
  EXPECT_EQ(o.dataplane.queue_length, 99u);
  EXPECT_EQ(o.dataplane.dedup_batches, 12u);
  EXPECT_EQ(o.dataplane.dedup_window, 90s);

  // The wiring is the caller's.
  EXPECT_EQ(o.host.engine, nullptr);
  EXPECT_EQ(o.host.remote, nullptr);
  EXPECT_EQ(o.host.metrics, nullptr);
  EXPECT_EQ(o.dataplane.identity, nullptr);
}

// An empty file gives the shared defaults of common/limits.h.
TEST(WorkflowOptionsTest, AnEmptyConfigGivesTheDefaults) {
  Result<Config> c = ParseConfig("", "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  WorkflowOptions o = WorkflowOptionsFromConfig(*c);
  EXPECT_EQ(o.host.memory_limit, kDefaultMemoryLimit);
  EXPECT_EQ(o.host.timeout, kDefaultExecTimeout);
  EXPECT_EQ(o.host.threads, 0u);
  EXPECT_EQ(o.host.mailbox_length, kDefaultMailboxLength);
  EXPECT_EQ(o.host.send_wait, kDefaultSendWait);
  EXPECT_EQ(o.host.resource_limits.redis_connect_timeout, kDefaultRedisConnectTimeout);
  EXPECT_EQ(o.host.resource_limits.redis_command_timeout, kDefaultRedisCommandTimeout);
  EXPECT_EQ(o.host.resource_limits.redis_queue_length, kDefaultRedisQueueLength);
  EXPECT_EQ(o.host.resource_limits.http_egress_queue_length, kDefaultHttpEgressQueueLength);
  EXPECT_EQ(o.host.resource_limits.kv_queue_length, kDefaultKvQueueLength);
  EXPECT_TRUE(o.host.resource_limits.egress_public_by_default);
  EXPECT_EQ(o.host.resource_limits.sqlx_statement_timeout, kDefaultSqlxStatementTimeout);
  EXPECT_EQ(o.host.resource_limits.sqlx_connect_timeout, kDefaultSqlxConnectTimeout);
  EXPECT_EQ(o.host.resource_limits.sqlx_max_database_bytes, kDefaultSqlxMaxDatabaseBytes);
  EXPECT_EQ(o.host.resource_limits.sqlx_queue_length, kDefaultSqlxQueueLength);
  EXPECT_TRUE(o.host.resource_limits.sql_databases.empty());
  EXPECT_EQ(o.dataplane.queue_length, kDefaultDataplaneQueueLength);
  EXPECT_EQ(o.dataplane.dedup_batches, kDefaultDataplaneDedupBatches);
  EXPECT_EQ(o.dataplane.dedup_window, kDefaultDataplaneDedupWindow);
}

// The password comes from its file's first line, once; a file that cannot
// be read is named, its content never shown.
TEST(WorkflowOptionsTest, SqlPasswordsAreReadFromTheirFiles) {
  std::string dir = ::testing::TempDir();
  // Per process: parallel runs of this test share TempDir().
  std::string file = dir + "/sqlx-password-test-" + std::to_string(::getpid());
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << "s3cret\r\nsecond line\n";
  }
  std::string toml =
      "[[workflow.sql]]\nname = \"a\"\nurl = \"postgresql://app@h/db\"\n"
      "password_file = \"" +
      file +
      "\"\n[[workflow.sql]]\nname = \"b\"\n"
      "url = \"postgresql://app@h/other\"\n";
  Result<Config> c = ParseConfig(toml, "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  WorkflowOptions o = WorkflowOptionsFromConfig(*c);
  ASSERT_TRUE(ReadSqlPasswords(*c, &o).ok());
  EXPECT_EQ(o.host.resource_limits.sql_databases[0].password, "s3cret");
  EXPECT_EQ(o.host.resource_limits.sql_databases[1].password, "");

  c->workflow.sql[0].password_file = dir + "/no-such-password-file";
  Status st = ReadSqlPasswords(*c, &o);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("no-such-password-file"), std::string::npos) << st.message();
  std::remove(file.c_str());
}

}  // namespace
}  // namespace aether::engine
