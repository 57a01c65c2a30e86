// The engine's sqlx keys: [workflow] sqlx_* and the [[workflow.sql]]
// databases, whose URLs never hold a password.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config.h"

namespace aether {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Error(std::string_view toml) {
  Result<Config> c = ParseConfig(toml, "t.toml");
  return c.ok() ? "" : c.status().message();
}

TEST(ConfigSqlTest, Defaults) {
  Result<Config> c = ParseConfig("", "t.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->workflow.sqlx_statement_timeout, 5s);
  EXPECT_EQ(c->workflow.sqlx_connect_timeout, 2s);
  EXPECT_EQ(c->workflow.sqlx_max_database_bytes, 64ull << 20);
  EXPECT_EQ(c->workflow.sqlx_queue_length, 1024u);
  EXPECT_TRUE(c->workflow.sql.empty());
}

TEST(ConfigSqlTest, Databases) {
  Result<Config> c = ParseConfig(R"([workflow]
sqlx_statement_timeout = "2s"
[[workflow.sql]]
name = "orders"
url = "postgresql://app@db-1:5432/orders"
password_file = "/etc/aether/orders.password"
workflows = ["wf-1", "wf-2"]
[[workflow.sql]]
name = "shared"
url = "postgres://app@db-2/shared?sslmode=require"
)",
                                 "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->workflow.sqlx_statement_timeout, 2s);
  ASSERT_EQ(c->workflow.sql.size(), 2u);
  EXPECT_EQ(c->workflow.sql[0].name, "orders");
  EXPECT_EQ(c->workflow.sql[0].password_file, "/etc/aether/orders.password");
  EXPECT_EQ(c->workflow.sql[0].workflows, (std::vector<std::string>{"wf-1", "wf-2"}));
  EXPECT_TRUE(c->workflow.sql[1].workflows.empty());
}

TEST(ConfigSqlTest, APasswordInTheUrlIsRefusedWithoutShowingIt) {
  std::string err =
      Error("[[workflow.sql]]\nname = \"orders\"\nurl = \"postgresql://app:s3cret@db/orders\"\n");
  EXPECT_EQ(err,
            "t.toml: [[workflow.sql]] #1 (orders) url: holds a password; write "
            "postgresql://user@host:port/db and put the password in the [[workflow.sql]] "
            "password_file");
  EXPECT_THAT(err, Not(HasSubstr("s3cret")));
}

TEST(ConfigSqlTest, BadTables) {
  EXPECT_THAT(Error("[[workflow.sql]]\nurl = \"postgresql://app@db/x\"\n"),
              HasSubstr("[[workflow.sql]] #1 name: must be 1 to 64"));
  EXPECT_THAT(Error("[[workflow.sql]]\nname = \"a\"\nurl = \"mysql://db/x\"\n"),
              HasSubstr("(a) url: must start with postgresql://"));
  EXPECT_THAT(Error("[[workflow.sql]]\nname = \"a\"\nurl = \"postgresql://db/x\"\n"
                    "[[workflow.sql]]\nname = \"a\"\nurl = \"postgresql://db/y\"\n"),
              HasSubstr("#2 name \"a\" is used twice"));
  EXPECT_THAT(
      Error("[[workflow.sql]]\nname = \"a\"\nurl = \"postgresql://db/x\"\npassword = \"p\"\n"),
      HasSubstr("unknown key [workflow.sql] password"));
  EXPECT_THAT(Error("[workflow]\nsql = \"postgresql://db/x\"\n"),
              HasSubstr("[workflow] sql must be [[workflow.sql]] tables"));
  EXPECT_THAT(Error("[workflow]\nsqlx_max_database_bytes = \"1KB\"\n"),
              HasSubstr("sqlx_max_database_bytes must be between 64KB and 1TB"));
  EXPECT_THAT(Error("[workflow]\nsqlx_statement_timeout = \"0s\"\n"), HasSubstr("positive"));
  EXPECT_THAT(Error("[workflow]\nsqlx_queue_length = 0\n"),
              HasSubstr("sqlx_queue_length must be between 1 and 1000000"));
}

TEST(ConfigSqlTest, TheTemplateShowsTheKeys) {
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  for (const char* key :
       {"sqlx_statement_timeout", "sqlx_connect_timeout", "sqlx_max_database_bytes",
        "sqlx_queue_length", "[[workflow.sql]]", "password_file", "workflows"}) {
    EXPECT_THAT(*t, HasSubstr(key));
  }
  EXPECT_TRUE(ParseConfig(*t, "template.toml").ok());
}

}  // namespace
}  // namespace aether
