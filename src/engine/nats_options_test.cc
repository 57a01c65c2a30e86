#include "engine/nats_options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/limits.h"

namespace aether::engine {
namespace {

using namespace std::chrono_literals;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it != vars.end() ? it->second.c_str() : nullptr;
  };
}

// Every key, each set away from its default, through the TOML parser: a
// key that stops reaching its field fails here.
TEST(NatsOptionsTest, EveryKeyReachesItsField) {
  Result<Config> c = ParseConfig(R"([nats]
urls = ["nats://n1:4222", "tls://n2:4222"]
user = "aether"
password = "file-password"
ca_file = "/etc/ca.pem"
cert_file = "/etc/c.crt"
key_file = "/etc/c.key"
prefix = "edge"
replicas = 3
max_age = "2h"
max_bytes = "64MB"
dedup_window = "30s"
ack_wait = "1500ms"
max_deliver = 5
max_ack_pending = 100
max_pending_appends = 64
connect_timeout = "750ms"
sweep_interval = "90s"
)",
                                 "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(NatsConfigured(*c));
  auto o = JetStreamOptionsFromConfig(*c, Env({{kNatsPasswordEnv, "env-password"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->urls, (std::vector<std::string>{"nats://n1:4222", "tls://n2:4222"}));
  EXPECT_EQ(o->user, "aether");
  EXPECT_EQ(o->password, "file-password") << "the file wins over the environment";
  EXPECT_EQ(o->token, "");
  EXPECT_EQ(o->ca_file, "/etc/ca.pem");
  EXPECT_EQ(o->cert_file, "/etc/c.crt");
  EXPECT_EQ(o->key_file, "/etc/c.key");
  EXPECT_EQ(o->prefix, "edge");
  EXPECT_EQ(o->replicas, 3);
  EXPECT_EQ(o->max_age, 2h);
  EXPECT_EQ(o->max_bytes, 64u << 20);
  EXPECT_EQ(o->dedup_window, 30s);
  EXPECT_EQ(o->ack_wait, 1500ms);
  EXPECT_EQ(o->max_deliver, 5);
  EXPECT_EQ(o->max_ack_pending, 100);
  EXPECT_EQ(o->max_pending_appends, 64);
  EXPECT_EQ(o->connect_timeout, 750ms);
  EXPECT_EQ(o->sweep_interval, 90s);
}

TEST(NatsOptionsTest, DefaultsAndSecretsFromTheEnvironment) {
  Result<Config> c = ParseConfig("[nats]\nurls = \"nats://127.0.0.1:4222\"\n", "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto o = JetStreamOptionsFromConfig(*c, Env({{kNatsTokenEnv, "env-token"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->token, "env-token");
  EXPECT_EQ(o->prefix, kDefaultNatsPrefix);
  EXPECT_EQ(o->replicas, kDefaultNatsReplicas);
  EXPECT_EQ(o->max_age, kDefaultNatsMaxAge);
  EXPECT_EQ(o->max_bytes, kDefaultNatsMaxBytes);
  EXPECT_EQ(o->dedup_window, kDefaultNatsDedupWindow);
  EXPECT_EQ(o->ack_wait, kDefaultNatsAckWait);
  EXPECT_EQ(o->max_deliver, kDefaultNatsMaxDeliver);
  EXPECT_EQ(o->max_ack_pending, kDefaultNatsMaxAckPending);
  EXPECT_EQ(o->max_pending_appends, kDefaultNatsMaxPendingAppends);
  EXPECT_EQ(o->connect_timeout, kDefaultNatsConnectTimeout);
  EXPECT_EQ(o->sweep_interval, kDefaultNatsSweepInterval);

  // A password from the environment still needs a user; the message names
  // the key, not the secret.
  auto lone = JetStreamOptionsFromConfig(*c, Env({{kNatsPasswordEnv, "env-secret-pw"}}));
  ASSERT_FALSE(lone.ok());
  EXPECT_EQ(lone.status().code(), Code::kInvalidArgument);
  EXPECT_NE(lone.status().message().find("user"), std::string::npos);
  EXPECT_EQ(lone.status().message().find("env-secret-pw"), std::string::npos);
}

TEST(NatsOptionsTest, NoUrlsMeansNoLog) {
  Result<Config> c = ParseConfig("", "engine.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(NatsConfigured(*c));
  EXPECT_EQ(JetStreamOptionsFromConfig(*c, Env({})).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace aether::engine
