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

  // The engine checks the URL's shape when it starts (protocol/ids.h).
  EXPECT_EQ(d->server.public_url, "");
  Result<Config> pub = ParseConfig("[server]\npublic_url = \"http://edge-1:9091\"\n", "t.toml");
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->server.public_url, "http://edge-1:9091");
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

TEST(ConfigTest, LimitKeysHaveDefaultsAndParse) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->runtime.memory_limit, kDefaultMemoryLimit);
  EXPECT_EQ(d->runtime.exec_timeout, kDefaultExecTimeout);
  EXPECT_EQ(d->runtime.max_module_size, 64u << 20);
  EXPECT_EQ(d->runtime.max_env_vars, 256u);
  EXPECT_EQ(d->runtime.max_env_size, 64u << 10);
  EXPECT_EQ(d->database.max_events, 10000);
  // 256 since forwards are asynchronous (16 threads before): a forward in
  // flight costs a connection, and 16 starved an engine of concurrency.
  EXPECT_EQ(d->gateway.workers, 256u);
  EXPECT_EQ(d->gateway.queue_length, 1024u);
  EXPECT_EQ(d->gateway.max_connections_per_node, 64u);

  Result<Config> c = ParseConfig(
      "[runtime]\nmax_module_size = \"128MB\"\nmax_env_vars = 10\nmax_env_size = \"1KB\"\n"
      "[database]\nmax_events = 500\n[gateway]\nworkers = 4\nqueue_length = 20\n"
      "max_connections_per_node = 8\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime.max_module_size, 128u << 20);
  EXPECT_EQ(c->runtime.max_env_vars, 10u);
  EXPECT_EQ(c->runtime.max_env_size, 1024u);
  EXPECT_EQ(c->database.max_events, 500);
  EXPECT_EQ(c->gateway.workers, 4u);
  EXPECT_EQ(c->gateway.queue_length, 20u);
  EXPECT_EQ(c->gateway.max_connections_per_node, 8u);

  auto error = [](const char* toml) { return ParseConfig(toml, "t.toml").status().message(); };
  EXPECT_EQ(error("[runtime]\nmax_module_size = \"2GB\"\n"),
            "t.toml: [runtime] max_module_size must be at most 1GB (what the compiler process "
            "accepts)");
  EXPECT_EQ(error("[runtime]\nmax_module_size = \"0B\"\n"),
            "t.toml: [runtime] max_module_size must be positive");
  EXPECT_EQ(error("[runtime]\nmax_env_vars = -1\n"),
            "t.toml: [runtime] max_env_vars must be between 0 and 100000");
  EXPECT_EQ(error("[runtime]\nmax_env_size = \"lots\"\n").find("t.toml: [runtime] max_env_size: "),
            0u);
  EXPECT_EQ(error("[database]\nmax_events = 0\n"),
            "t.toml: [database] max_events must be between 1 and 100000000");
  EXPECT_EQ(error("[gateway]\nworkers = 0\n"),
            "t.toml: [gateway] workers must be between 1 and 1024");
  EXPECT_EQ(error("[gateway]\nqueue_length = \"many\"\n"),
            "t.toml: [gateway] queue_length must be an integer");
  EXPECT_EQ(error("[gateway]\nthreads = 3\n"), "t.toml: unknown key [gateway] threads");
  EXPECT_EQ(error("[gateway]\nmax_connections_per_node = 0\n"),
            "t.toml: [gateway] max_connections_per_node must be between 1 and 10000");
}

TEST(ConfigTest, ControlTemplateListsTheLimitKeys) {
  Result<std::string> t = ConfigTemplate("control");
  ASSERT_TRUE(t.ok());
  for (std::string_view key :
       {"max_module_size = \"64MB\"", "max_env_vars = 256", "max_env_size = \"64KB\"",
        "max_events = 10000", "[gateway]", "workers = 256", "queue_length = 1024",
        "max_connections_per_node = 64"}) {
    EXPECT_NE(t->find(key), std::string::npos) << key;
  }
}

TEST(ConfigTest, WorkflowLimitsHaveDefaultsAndParse) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->workflow.mailbox_length, 1024u);
  EXPECT_EQ(d->workflow.dataplane_queue_length, 8192u);
  EXPECT_EQ(d->workflow.redis_connect_timeout, 1s);
  EXPECT_EQ(d->workflow.redis_command_timeout, 2s);
  EXPECT_EQ(d->workflow.redis_queue_length, 4096u);
  EXPECT_EQ(d->workflow.http_egress_queue_length, 256u);

  Result<Config> c = ParseConfig(
      "[workflow]\nmailbox_length = 2\ndataplane_queue_length = 100\n"
      "redis_connect_timeout = \"250ms\"\nredis_command_timeout = \"5s\"\n"
      "redis_queue_length = 10\nhttp_egress_queue_length = 3\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->workflow.mailbox_length, 2u);
  EXPECT_EQ(c->workflow.dataplane_queue_length, 100u);
  EXPECT_EQ(c->workflow.redis_connect_timeout, 250ms);
  EXPECT_EQ(c->workflow.redis_command_timeout, 5s);
  EXPECT_EQ(c->workflow.redis_queue_length, 10u);
  EXPECT_EQ(c->workflow.http_egress_queue_length, 3u);

  auto error = [](const char* toml) { return ParseConfig(toml, "t.toml").status().message(); };
  EXPECT_EQ(error("[workflow]\nmailbox_length = 0\n"),
            "t.toml: [workflow] mailbox_length must be between 1 and 1000000");
  EXPECT_EQ(error("[workflow]\ndataplane_queue_length = 20000000\n"),
            "t.toml: [workflow] dataplane_queue_length must be between 1 and 10000000");
  EXPECT_EQ(error("[workflow]\nredis_connect_timeout = 5\n"),
            "t.toml: [workflow] redis_connect_timeout must be a duration string like \"3s\" or "
            "\"250ms\"");
  EXPECT_EQ(error("[workflow]\nredis_command_timeout = \"0s\"\n"),
            "t.toml: [workflow] redis_command_timeout must be positive");
  EXPECT_EQ(error("[workflow]\nredis_command_timeout = \"500us\"\n"),
            "t.toml: [workflow] redis_command_timeout must be at least 1ms");
  EXPECT_EQ(error("[workflow]\nredis_queue_length = -1\n"),
            "t.toml: [workflow] redis_queue_length must be between 1 and 1000000");
  EXPECT_EQ(error("[workflow]\nhttp_egress_queue_length = \"many\"\n"),
            "t.toml: [workflow] http_egress_queue_length must be an integer");
  EXPECT_EQ(error("[workflow]\nmailbox = 3\n"), "t.toml: unknown key [workflow] mailbox");
}

TEST(ConfigTest, EngineTemplateListsTheWorkflowLimits) {
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  for (std::string_view key :
       {"[workflow]", "mailbox_length = 1024", "dataplane_queue_length = 8192",
        "redis_connect_timeout = \"1s\"", "redis_command_timeout = \"2s\"",
        "redis_queue_length = 4096", "http_egress_queue_length = 256"}) {
    EXPECT_NE(t->find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace aether
