#include "common/config.h"

#include <gtest/gtest.h>

namespace aether {
namespace {

using namespace std::chrono_literals;

TEST(ConfigTest, ServerLimitsHaveDefaultsAndParse) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->server.header_timeout, 10s);
  EXPECT_EQ(d->server.body_timeout, 10s);
  EXPECT_EQ(d->server.min_body_rate, 16u << 10);
  EXPECT_EQ(d->server.max_connections, 10000u);
  EXPECT_EQ(d->server.max_connections_per_client, 256u);

  Result<Config> c = ParseConfig(
      "[server]\nheader_timeout = \"2s\"\nbody_timeout = \"30s\"\nmin_body_rate = \"1KB\"\n"
      "max_connections = 50\nmax_connections_per_client = 0\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.header_timeout, 2s);
  EXPECT_EQ(c->server.body_timeout, 30s);
  EXPECT_EQ(c->server.min_body_rate, 1024u);
  EXPECT_EQ(c->server.max_connections, 50u);
  EXPECT_EQ(c->server.max_connections_per_client, 0u);

  Result<Config> zero = ParseConfig("[server]\nmax_connections = 0\n", "t.toml");
  EXPECT_EQ(zero.status().message(),
            "t.toml: [server] max_connections must be between 1 and 1000000");
  EXPECT_FALSE(ParseConfig("[server]\nheader_timeout = \"0s\"\n", "t.toml").ok());
}

TEST(ConfigTest, ShortTokensAreRefusedNamingTheKey) {
  Result<Config> admin = ParseConfig("[auth]\ntoken = \"short\"\n", "c.toml");
  ASSERT_FALSE(admin.ok());
  EXPECT_EQ(admin.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(admin.status().message(),
            "c.toml: [auth] token is 5 characters; it must be at least 16 "
            "(generate one with: openssl rand -hex 32)");
  Result<Config> join = ParseConfig("[auth]\njoin_token = \"fifteen-chars!!\"\n", "c.toml");
  ASSERT_FALSE(join.ok());
  EXPECT_NE(join.status().message().find("[auth] join_token is 15 characters"), std::string::npos)
      << join.status().message();
  EXPECT_EQ(join.status().message().find('\n'), std::string::npos) << "one line";

  Result<Config> ok = ParseConfig(
      "[auth]\ntoken = \"sixteen-chars-ok\"\njoin_token = \"" + std::string(64, 'a') + "\"\n",
      "c.toml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->auth.token, "sixteen-chars-ok");
  EXPECT_TRUE(ParseConfig("[auth]\n", "c.toml").ok()) << "unset: generated or not joining";
}

TEST(ConfigTest, TemplatesListTheLimitsAndParse) {
  for (std::string_view role : {"engine", "control"}) {
    Result<std::string> t = ConfigTemplate(role);
    ASSERT_TRUE(t.ok());
    for (std::string_view key :
         {"header_timeout = \"10s\"", "body_timeout = \"10s\"",
          "min_body_rate = ", "max_connections = 10000", "max_connections_per_client = 256"}) {
      EXPECT_NE(t->find(key), std::string::npos) << role << ": " << key;
    }
    Result<Config> parsed = ParseConfig(*t, "template");
    ASSERT_TRUE(parsed.ok()) << role << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->server.min_body_rate, 16u << 10) << role;
  }
}

}  // namespace
}  // namespace aether
