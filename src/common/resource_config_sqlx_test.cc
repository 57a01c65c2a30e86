// sqlx's configurations (common/resource_config.h): the SQLite file name
// stays inside the workflow's directory, PostgreSQL URLs carry no password.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/resource_config.h"

namespace aether {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Error(const Result<SqlxConfig>& r) { return r.ok() ? "" : r.status().message(); }

TEST(SqlxConfigTest, SqliteNames) {
  for (const char* url : {"sqlite://sqlite.db", "sqlite:sqlite.db"}) {
    Result<SqlxConfig> c = ParseSqlxConfig({{"url", url}});
    ASSERT_TRUE(c.ok()) << url << ": " << c.status().message();
    EXPECT_EQ(c->backend, SqlxConfig::Backend::kSqlite);
    EXPECT_EQ(c->sqlite_name, "sqlite.db");
    EXPECT_FALSE(c->memory);
  }
  Result<SqlxConfig> memory = ParseSqlxConfig({{"url", "sqlite::memory:"}});
  ASSERT_TRUE(memory.ok());
  EXPECT_TRUE(memory->memory);
}

TEST(SqlxConfigTest, SqliteNamesThatWouldLeaveTheDirectoryAreRefused) {
  for (const std::string& name : std::vector<std::string>{
           "../x.db", "..", "a/b.db", "/etc/passwd", ".hidden", "", std::string("a\0b", 3),
           std::string(129, 'a'), "a b", "x.db?mode=rwc"}) {
    std::string err = Error(ParseSqlxConfig({{"url", "sqlite://" + name}}));
    EXPECT_THAT(err, HasSubstr("url: ")) << name;
    EXPECT_EQ(err.find('\0'), std::string::npos);
  }
  EXPECT_THAT(Error(ParseSqlxConfig({{"url", "sqlite://../../etc/passwd"}})),
              HasSubstr("kept in the workflow's own directory"));
}

TEST(SqlxConfigTest, PostgresByUrlOrName) {
  Result<SqlxConfig> c = ParseSqlxConfig({{"url", "postgresql://app@127.0.0.1:5432/db"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->backend, SqlxConfig::Backend::kPostgres);
  EXPECT_EQ(c->postgres_url, "postgresql://app@127.0.0.1:5432/db");
  c = ParseSqlxConfig({{"database", "orders"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->backend, SqlxConfig::Backend::kPostgres);
  EXPECT_EQ(c->database, "orders");
  EXPECT_THAT(Error(ParseSqlxConfig({{"database", "Orders!"}})), HasSubstr("database: must be"));
}

TEST(SqlxConfigTest, PasswordsAreRefusedWithoutBeingRepeated) {
  for (const char* url : {"postgresql://app:s3cret@127.0.0.1/db", "postgres://app:s3cret@h/db",
                          "postgresql://app@h/db?sslmode=require&password=s3cret",
                          "postgresql://h/db?password=s3cret"}) {
    std::string err = Error(ParseSqlxConfig({{"url", url}}));
    EXPECT_THAT(err, HasSubstr("holds a password")) << url;
    EXPECT_THAT(err, Not(HasSubstr("s3cret")));
    EXPECT_THAT(CheckPostgresUrl(url).message(), HasSubstr("password_file"));
  }
  EXPECT_TRUE(CheckPostgresUrl("postgresql://app@h:5432/db?sslmode=require").ok());
  EXPECT_THAT(CheckPostgresUrl("mysql://h/db").message(), HasSubstr("postgresql://"));
}

TEST(SqlxConfigTest, KeysAndOtherSchemes) {
  EXPECT_THAT(Error(ParseSqlxConfig({})), HasSubstr("url: required"));
  EXPECT_THAT(Error(ParseSqlxConfig({{"url", "sqlite://a"}, {"database", "b"}})),
              HasSubstr("not both"));
  EXPECT_THAT(Error(ParseSqlxConfig({{"url", "mysql://h/db"}})),
              HasSubstr("must be sqlite://NAME, sqlite::memory: or postgresql://"));
  EXPECT_THAT(Error(ParseSqlxConfig({{"url", "sqlite://a"}, {"pool", "3"}})),
              HasSubstr("unknown key (known keys: database, url)"));
  EXPECT_TRUE(ValidateResourceConfig("sqlx", {{"url", "sqlite://sqlite.db"}}, "t").ok());
}

}  // namespace
}  // namespace aether
