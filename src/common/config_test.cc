#include "common/config.h"

#include <fmt/format.h>
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
  EXPECT_EQ(d->server.io_threads, 0u);

  Result<Config> c = ParseConfig(
      "[server]\nheader_timeout = \"2s\"\nbody_timeout = \"30s\"\nmin_body_rate = \"1KB\"\n"
      "max_connections = 50\nmax_connections_per_client = 0\nio_threads = 4\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.header_timeout, 2s);
  EXPECT_EQ(c->server.body_timeout, 30s);
  EXPECT_EQ(c->server.min_body_rate, 1024u);
  EXPECT_EQ(c->server.max_connections, 50u);
  EXPECT_EQ(c->server.max_connections_per_client, 0u);
  EXPECT_EQ(c->server.io_threads, 4u);
  EXPECT_EQ(ParseConfig("[server]\nio_threads = 2000\n", "t.toml").status().message(),
            "t.toml: [server] io_threads must be between 0 and 1024");
  EXPECT_FALSE(ParseConfig("[server]\nio_threads = -1\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("[server]\nio_threads = \"many\"\n", "t.toml").ok());

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

// docs/configuration.md: "a bare number is seconds". And a duration the
// servers would count as 0 whole milliseconds is refused, naming its key
// ("100us" once stopped the engine with "workflow host: timeout must be > 0").
TEST(ConfigTest, DurationsTakeBareSecondsAndRefuseWhatWouldRoundToZero) {
  Result<Config> c = ParseConfig(
      "[runtime]\nexec_timeout = 5\ninline_budget = \"100us\"\n[registry]\nnode_timeout = 2.5\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime.exec_timeout, 5s);
  EXPECT_EQ(c->runtime.inline_budget, 100us) << "inline_budget counts in microseconds";
  EXPECT_EQ(c->registry.node_timeout, 2500ms);

  auto error = [](const std::string& text) {
    return ParseConfig(text, "t.toml").status().message();
  };
  EXPECT_EQ(error("[runtime]\nexec_timeout = \"100us\"\n"),
            "t.toml: [runtime] exec_timeout must be at least 1ms, not 100us");
  EXPECT_EQ(error("[runtime]\nexec_timeout = 0.0001\n"),
            "t.toml: [runtime] exec_timeout must be at least 1ms, not 100us");
  EXPECT_EQ(error("[runtime]\nexec_timeout = -1\n"),
            "t.toml: [runtime] exec_timeout must be between 0 and 9200000000 seconds");
  EXPECT_EQ(error("[runtime]\nexec_timeout = nan\n"),
            "t.toml: [runtime] exec_timeout must be between 0 and 9200000000 seconds");
  EXPECT_EQ(error("[runtime]\nexec_timeout = 0\n"),
            "t.toml: [runtime] exec_timeout must be positive");
  EXPECT_EQ(error("[registry]\nnode_timeout = [1]\n"),
            "t.toml: [registry] node_timeout must be a duration like \"3s\", \"250ms\" or a number "
            "of seconds");
}

TEST(ConfigTest, TokenFileKeysParseAndExcludeTheirInlineKey) {
  Result<Config> c = ParseConfig(
      "[auth]\ntoken_file = \"/etc/aether/admin.token\"\njoin_token_file = \"j\"\n"
      "domain_join_token_file = \"d\"\n",
      "c.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.token_file, "/etc/aether/admin.token");
  EXPECT_EQ(c->auth.join_token_file, "j");
  EXPECT_EQ(c->auth.domain_join_token_file, "d");
  EXPECT_TRUE(c->auth.token.empty()) << "ParseConfig reads no file; LoadConfig does";
  for (std::string key : {"token", "join_token", "domain_join_token"}) {
    Result<Config> both = ParseConfig(
        fmt::format("[auth]\n{0} = \"{1}\"\n{0}_file = \"f\"\n", key, std::string(20, 'x')),
        "c.toml");
    ASSERT_FALSE(both.ok()) << key;
    EXPECT_EQ(both.status().message(),
              fmt::format("c.toml: [auth] set {0} or {0}_file, not both", key));
  }
}

TEST(ConfigTest, TemplatesListTheLimitsAndParse) {
  for (std::string_view role : {"engine", "control"}) {
    Result<std::string> t = ConfigTemplate(role);
    ASSERT_TRUE(t.ok());
    for (std::string_view key : {"header_timeout = \"10s\"", "body_timeout = \"10s\"",
                                 "min_body_rate = ", "max_connections = 10000",
                                 "max_connections_per_client = 256", "io_threads = 0"}) {
      EXPECT_NE(t->find(key), std::string::npos) << role << ": " << key;
    }
    Result<Config> parsed = ParseConfig(*t, "template");
    ASSERT_TRUE(parsed.ok()) << role << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->server.min_body_rate, 16u << 10) << role;
  }
}

TEST(ConfigTest, CacheDiskLimitHasADefaultZeroIsUnboundedBadOnesNameTheKey) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->runtime.cache_disk_limit, 1ull << 30);
  Result<Config> c = ParseConfig("[runtime]\ncache_disk_limit = \"200MB\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime.cache_disk_limit, 200ull << 20);
  for (const char* zero : {"0", "\"0\"", "\"0MB\""}) {
    Result<Config> z = ParseConfig(std::string("[runtime]\ncache_disk_limit = ") + zero, "t.toml");
    ASSERT_TRUE(z.ok()) << zero << ": " << z.status().ToString();
    EXPECT_EQ(z->runtime.cache_disk_limit, 0u) << zero;
  }
  Result<Config> bad = ParseConfig("[runtime]\ncache_disk_limit = \"lots\"\n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[runtime] cache_disk_limit"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(ParseConfig("[runtime]\ncache_disk_limit = -1\n", "t.toml").ok());
  // The other sizes still refuse zero.
  EXPECT_FALSE(ParseConfig("[runtime]\nmax_input = 0\n", "t.toml").ok());
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("cache_disk_limit = \"1GB\""), std::string::npos);
}

TEST(ConfigTest, KeepVersionsHasADefaultZeroKeepsAllBadOnesAreRefused) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->database.keep_versions, 20);
  EXPECT_EQ(ParseConfig("[database]\nkeep_versions = 0\n", "t.toml")->database.keep_versions, 0);
  EXPECT_EQ(ParseConfig("[database]\nkeep_versions = 5\n", "t.toml")->database.keep_versions, 5);
  EXPECT_EQ(ParseConfig("[database]\nkeep_versions = -1\n", "t.toml").status().message(),
            "t.toml: [database] keep_versions must be between 0 and 1000000");
  EXPECT_FALSE(ParseConfig("[database]\nkeep_versions = \"all\"\n", "t.toml").ok());
  Result<std::string> t = ConfigTemplate("control");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("keep_versions = 20"), std::string::npos);
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

TEST(ConfigTest, InlineBudgetHasADefaultZeroTurnsItOffAndItIsBounded) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->runtime.inline_budget, std::chrono::milliseconds(1));
  Result<Config> off = ParseConfig("[runtime]\ninline_budget = \"0s\"\n", "t.toml");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_EQ(off->runtime.inline_budget.count(), 0);
  Result<Config> c = ParseConfig("[runtime]\ninline_budget = \"250us\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->runtime.inline_budget, std::chrono::microseconds(250));
  auto error = [](const char* toml) { return ParseConfig(toml, "t.toml").status().message(); };
  EXPECT_EQ(error("[runtime]\ninline_budget = \"1s\"\n"),
            "t.toml: [runtime] inline_budget is at most 100ms (an IO thread serves every other "
            "request on its connections meanwhile)");
  EXPECT_EQ(error("[runtime]\ninline_budget = 5\n").find("t.toml: [runtime] inline_budget"), 0u);
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("inline_budget = \"1ms\""), std::string::npos);
}

TEST(ConfigTest, EgressDefaultIsPublicOrNone) {
  EXPECT_EQ(ParseConfig("", "t.toml")->workflow.egress_default, "public");
  Result<Config> none = ParseConfig("[workflow]\negress_default = \"none\"\n", "t.toml");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->workflow.egress_default, "none");
  EXPECT_EQ(ParseConfig("[workflow]\negress_default = \"all\"\n", "t.toml").status().message(),
            "t.toml: [workflow] egress_default must be public or none, not \"all\"");
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("egress_default = \"public\""), std::string::npos);
}

TEST(ConfigTest, ServerlessClassesParseAndBadOnesNameTheEntry) {
  EXPECT_TRUE(ParseConfig("", "t.toml")->workflow.serverless.empty());
  Result<Config> c = ParseConfig(
      "[[workflow.serverless]]\nclass_type = \"double\"\nversion = \"0.1\"\n"
      "function_url = \"http://127.0.0.1:5000\"\n"
      "[[workflow.serverless]]\nclass_type = \"resize-img_2\"\n"
      "function_url = \"https://faas.example/function/resize?x=1\"\ntimeout = \"2s\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->workflow.serverless.size(), 2u);
  const ServerlessClassConfig& d = c->workflow.serverless[0];
  EXPECT_EQ(d.class_type, "double");
  EXPECT_EQ(d.version, "0.1");
  EXPECT_EQ(d.function_url, "http://127.0.0.1:5000");
  EXPECT_EQ(d.timeout, std::chrono::seconds(30));
  EXPECT_EQ(c->workflow.serverless[1].timeout, std::chrono::seconds(2));
  EXPECT_EQ(ServerlessClassLabel("double"), "resource-class.double");

  auto error = [](const std::string& entry) {
    return ParseConfig("[[workflow.serverless]]\n" + entry, "t.toml").status().message();
  };
  const std::string ok_url = "function_url = \"http://h/\"\n";
  EXPECT_EQ(error("class_type = \"Double\"\n" + ok_url),
            "t.toml: [workflow.serverless[0]] class_type \"Double\" must be 1-63 of a-z, 0-9, "
            "'-', '_', starting with a letter");
  EXPECT_TRUE(error("class_type = \"../x\"\n" + ok_url)
                  .starts_with("t.toml: [workflow.serverless[0]] class_type \"../x\" must be"));
  EXPECT_EQ(error(ok_url),
            "t.toml: [workflow.serverless[0]] class_type \"\" must be 1-63 of "
            "a-z, 0-9, '-', '_', starting with a letter");
  EXPECT_EQ(error("class_type = \"file-log\"\n" + ok_url),
            "t.toml: [workflow.serverless[0]] class_type \"file-log\" is a built-in resource "
            "class");
  EXPECT_EQ(error("class_type = \"d\"\n" + ok_url +
                  "[[workflow.serverless]]\nclass_type = "
                  "\"d\"\n" +
                  ok_url),
            "t.toml: [workflow.serverless[1]] class_type \"d\" is given twice");
  for (const char* url : {"ftp://h/", "http://", "http://h /x", "h:80"}) {
    EXPECT_EQ(error("class_type = \"d\"\nfunction_url = \"" + std::string(url) + "\"\n"),
              "t.toml: [workflow.serverless[0]] function_url must be http://host[:port]/path or "
              "https://...")
        << url;
  }
  EXPECT_EQ(error("class_type = \"d\"\nfunction_url = \"http://u:p@h/\"\n"),
            "t.toml: [workflow.serverless[0]] function_url: credentials in the URL are not "
            "supported");
  EXPECT_EQ(error("class_type = \"d\"\n" + ok_url + "url = \"x\"\n"),
            "t.toml: unknown key [workflow.serverless[0]] url");
  EXPECT_EQ(ParseConfig("[workflow]\nserverless = 3\n", "t.toml").status().message(),
            "t.toml: [workflow] serverless must be an array of tables ([[workflow.serverless]])");
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("# [[workflow.serverless]]"), std::string::npos);
}

TEST(ConfigTest, PlacementPolicyIsOneOfThree) {
  EXPECT_EQ(ParseConfig("", "t.toml")->workflow.placement, "least-loaded");
  Result<Config> rr = ParseConfig("[workflow]\nplacement = \"round-robin\"\n", "t.toml");
  ASSERT_TRUE(rr.ok()) << rr.status().message();
  EXPECT_EQ(rr->workflow.placement, "round-robin");
  EXPECT_EQ(ParseConfig("[workflow]\nplacement = \"spread\"\n", "t.toml").status().message(),
            "t.toml: [workflow] placement must be least-loaded, round-robin or weighted-random, "
            "not \"spread\"");
  Result<std::string> t = ConfigTemplate("control");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("placement = \"least-loaded\""), std::string::npos);
  EXPECT_TRUE(ParseConfig(*t, "t.toml").ok());
}

TEST(ConfigTest, StoreSection) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->store.backend, "sqlite");
  EXPECT_EQ(d->store.prefix, "/aether/");
  Result<Config> c = ParseConfig(
      "[store]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\", "
      "\"http://127.0.0.1:22379\"]\nprefix = \"/prod/\"\nusername = \"aether\"\n"
      "request_timeout = \"2s\"\nca_file = \"/ca.pem\"\ncert_file = \"/c.pem\"\n"
      "key_file = \"/c.key\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->store.ca_file, "/ca.pem");
  EXPECT_EQ(c->store.cert_file, "/c.pem");
  EXPECT_EQ(c->store.key_file, "/c.key");
  EXPECT_EQ(c->store.backend, "etcd");
  EXPECT_EQ(c->store.endpoints.size(), 2u);
  EXPECT_EQ(c->store.prefix, "/prod/");
  EXPECT_EQ(c->store.username, "aether");
  EXPECT_EQ(c->store.request_timeout, std::chrono::seconds(2));

  auto error = [](const char* toml) { return ParseConfig(toml, "t.toml").status().message(); };
  EXPECT_EQ(error("[store]\nbackend = \"mysql\"\n"),
            "t.toml: [store] backend must be \"sqlite\" or \"etcd\"");
  EXPECT_EQ(error("[store]\nbackend = \"etcd\"\n"),
            "t.toml: [store] endpoints: backend \"etcd\" needs at least one "
            "(http://host:2379)");
  EXPECT_EQ(error("[store]\nprefix = \"\"\n"), "t.toml: [store] prefix must not be empty");
  EXPECT_EQ(error("[store]\nhosts = 1\n"), "t.toml: unknown key [store] hosts");
  EXPECT_EQ(error("[store]\ncert_file = \"/c.pem\"\n"),
            "t.toml: [store] cert_file and key_file go together");
  // The password is never echoed back.
  std::string m = error("[store]\npassword = 7\n");
  EXPECT_EQ(m.find('7'), std::string::npos) << m;
}

TEST(ConfigTest, DomainSection) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->domain.role, "both");
  EXPECT_EQ(d->domain.timeout, std::chrono::seconds(15));
  Result<Config> c = ParseConfig(
      "[domain]\nrole = \"domain\"\nid = \"site-a\"\ncontroller = [\"http://c1:9090/\", "
      "\"https://c2:9090\"]\njoin_token = \"0123456789abcdef\"\nurl = \"http://10.0.0.1:9090\"\n"
      "labels = { region = \"eu\" }\n[auth]\ndomain_join_token = \"fedcba9876543210\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->domain.role, "domain");
  EXPECT_EQ(c->domain.id, "site-a");
  EXPECT_EQ(c->domain.controller, (std::vector<std::string>{"http://c1:9090", "https://c2:9090"}));
  EXPECT_EQ(c->domain.labels.at("region"), "eu");
  EXPECT_EQ(c->auth.domain_join_token, "fedcba9876543210");

  auto error = [](const std::string& toml) {
    return ParseConfig(toml, "t.toml").status().message();
  };
  EXPECT_EQ(error("[domain]\nrole = \"leader\"\n"),
            "t.toml: [domain] role \"leader\" is not one of both, cluster, domain");
  EXPECT_NE(error("[domain]\ntimeout = \"1s\"\nheartbeat_interval = \"600ms\"\n")
                .find("at least twice heartbeat_interval"),
            std::string::npos);
  EXPECT_NE(error("[domain]\ncontroller = [\"ftp://x\"]\n").find("[domain] controller: "),
            std::string::npos);
  EXPECT_NE(error("[domain]\nurl = \"x:1\"\n").find("[domain] url: "), std::string::npos);
  EXPECT_NE(
      error("[domain]\ncontroller = [\"http://c:1\", \"http://c:1/\"]\n").find("listed twice"),
      std::string::npos);
  EXPECT_NE(error("[domain]\njoin_token = \"short\"\n").find("[domain] join_token"),
            std::string::npos);
  EXPECT_NE(error("[auth]\ndomain_join_token = \"short\"\n").find("[auth] domain_join_token"),
            std::string::npos);
  EXPECT_EQ(error("[domain]\nrole = \"cluster\"\nmembers = 3\n"),
            "t.toml: unknown key [domain] members");
}

TEST(ConfigTest, ClusterSection) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cluster.lease_ttl, std::chrono::seconds(5));
  EXPECT_EQ(d->cluster.replica_id, "");
  Result<Config> c =
      ParseConfig("[cluster]\nlease_ttl = \"10s\"\nreplica_id = \"ctl-1.eu_west\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->cluster.lease_ttl, std::chrono::seconds(10));
  EXPECT_EQ(c->cluster.replica_id, "ctl-1.eu_west");

  auto error = [](const std::string& toml) {
    return ParseConfig(toml, "t.toml").status().message();
  };
  const std::string ttl =
      "t.toml: [cluster] lease_ttl must be whole seconds from 2s to 5m (etcd grants no lease "
      "under 2s)";
  EXPECT_EQ(error("[cluster]\nlease_ttl = \"0s\"\n"),
            "t.toml: [cluster] lease_ttl must be positive");
  EXPECT_EQ(error("[cluster]\nlease_ttl = \"1s\"\n"), ttl);
  EXPECT_EQ(error("[cluster]\nlease_ttl = \"6m\"\n"), ttl);
  EXPECT_EQ(error("[cluster]\nlease_ttl = \"2500ms\"\n"), ttl);
  for (const std::string& bad :
       {std::string("bad id"), std::string("-x"), std::string("a/b"), std::string(64, 'a')}) {
    EXPECT_NE(error("[cluster]\nreplica_id = \"" + bad + "\"\n").find("[cluster] replica_id"),
              std::string::npos)
        << bad;
  }
  EXPECT_EQ(error("[cluster]\nreplicas = 3\n"), "t.toml: unknown key [cluster] replicas");
  // Where the other replicas send the admin token: a plain http(s) URL.
  Result<Config> adv = ParseConfig(
      "[cluster]\nadvertise_url = \"http://10.0.0.5:9090/\"\nca_file = \"ca.pem\"\n", "t.toml");
  ASSERT_TRUE(adv.ok()) << adv.status().message();
  EXPECT_EQ(adv->cluster.advertise_url, "http://10.0.0.5:9090");
  EXPECT_EQ(adv->cluster.ca_file, "ca.pem");
  for (const char* bad : {"ftp://x:1", "http://user:pw@x:1", "x:1", "http://x:1?q=1"}) {
    EXPECT_NE(error(std::string("[cluster]\nadvertise_url = \"") + bad + "\"\n")
                  .find("t.toml: [cluster] advertise_url: "),
              std::string::npos)
        << bad;
  }
  EXPECT_TRUE(IsReplicaId("edge-ctl-1-3f9a0c12"));
  EXPECT_FALSE(IsReplicaId(""));
}

TEST(ConfigTest, ControlTemplateListsTheLimitKeys) {
  Result<std::string> t = ConfigTemplate("control");
  ASSERT_TRUE(t.ok());
  for (std::string_view key :
       {"max_module_size = \"64MB\"", "max_env_vars = 256", "max_env_size = \"64KB\"",
        "max_events = 10000", "[gateway]", "workers = 256", "queue_length = 1024",
        "max_connections_per_node = 64", "[store]", "backend = \"sqlite\"", "AETHER_ETCD_PASSWORD",
        "[cluster]", "lease_ttl = \"5s\""}) {
    EXPECT_NE(t->find(key), std::string::npos) << key;
  }
}

TEST(ConfigTest, WorkflowLimitsHaveDefaultsAndParse) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->workflow.mailbox_length, 1024u);
  EXPECT_EQ(d->workflow.dataplane_queue_length, 8192u);
  EXPECT_EQ(d->workflow.dataplane_dedup_batches, 1024u);
  EXPECT_EQ(d->workflow.dataplane_dedup_window, 60s);
  EXPECT_EQ(d->workflow.redis_connect_timeout, 1s);
  EXPECT_EQ(d->workflow.redis_command_timeout, 2s);
  EXPECT_EQ(d->workflow.redis_queue_length, 4096u);
  EXPECT_EQ(d->workflow.http_egress_queue_length, 256u);
  EXPECT_EQ(d->workflow.kv_queue_length, 4096u);

  Result<Config> c = ParseConfig(
      "[workflow]\nmailbox_length = 2\ndataplane_queue_length = 100\n"
      "dataplane_dedup_batches = 64\ndataplane_dedup_window = \"2m\"\n"
      "redis_connect_timeout = \"250ms\"\nredis_command_timeout = \"5s\"\n"
      "redis_queue_length = 10\nhttp_egress_queue_length = 3\nkv_queue_length = 5\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->workflow.mailbox_length, 2u);
  EXPECT_EQ(c->workflow.dataplane_queue_length, 100u);
  EXPECT_EQ(c->workflow.dataplane_dedup_batches, 64u);
  EXPECT_EQ(c->workflow.dataplane_dedup_window, 2min);
  EXPECT_EQ(c->workflow.redis_connect_timeout, 250ms);
  EXPECT_EQ(c->workflow.redis_command_timeout, 5s);
  EXPECT_EQ(c->workflow.redis_queue_length, 10u);
  EXPECT_EQ(c->workflow.http_egress_queue_length, 3u);
  EXPECT_EQ(c->workflow.kv_queue_length, 5u);

  auto error = [](const char* toml) { return ParseConfig(toml, "t.toml").status().message(); };
  EXPECT_EQ(error("[workflow]\nmailbox_length = 0\n"),
            "t.toml: [workflow] mailbox_length must be between 1 and 1000000");
  EXPECT_EQ(error("[workflow]\ndataplane_queue_length = 20000000\n"),
            "t.toml: [workflow] dataplane_queue_length must be between 1 and 10000000");
  EXPECT_EQ(error("[workflow]\ndataplane_dedup_batches = 0\n"),
            "t.toml: [workflow] dataplane_dedup_batches must be between 1 and 1000000");
  EXPECT_EQ(error("[workflow]\ndataplane_dedup_window = \"500ms\"\n"),
            "t.toml: [workflow] dataplane_dedup_window must be between 1s and 1h (it must "
            "outlast a batch's retries, 10s by default)");
  EXPECT_EQ(error("[workflow]\ndataplane_dedup_window = \"2h\"\n"),
            "t.toml: [workflow] dataplane_dedup_window must be between 1s and 1h (it must "
            "outlast a batch's retries, 10s by default)");
  EXPECT_EQ(error("[workflow]\nredis_connect_timeout = true\n"),
            "t.toml: [workflow] redis_connect_timeout must be a duration like \"3s\", \"250ms\" "
            "or a number of seconds");
  EXPECT_EQ(error("[workflow]\nredis_command_timeout = \"0s\"\n"),
            "t.toml: [workflow] redis_command_timeout must be positive");
  EXPECT_EQ(error("[workflow]\nredis_command_timeout = \"500us\"\n"),
            "t.toml: [workflow] redis_command_timeout must be at least 1ms, not 500us");
  EXPECT_EQ(error("[workflow]\nredis_queue_length = -1\n"),
            "t.toml: [workflow] redis_queue_length must be between 1 and 1000000");
  EXPECT_EQ(error("[workflow]\nhttp_egress_queue_length = \"many\"\n"),
            "t.toml: [workflow] http_egress_queue_length must be an integer");
  EXPECT_EQ(error("[workflow]\nkv_queue_length = 0\n"),
            "t.toml: [workflow] kv_queue_length must be between 1 and 1000000");
  EXPECT_EQ(error("[workflow]\nmailbox = 3\n"), "t.toml: unknown key [workflow] mailbox");
}

TEST(ConfigTest, EngineTemplateListsTheWorkflowLimits) {
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  for (std::string_view key :
       {"[workflow]", "mailbox_length = 1024", "dataplane_queue_length = 8192",
        "dataplane_dedup_batches = 1024", "dataplane_dedup_window = \"60s\"",
        "redis_connect_timeout = \"1s\"", "redis_command_timeout = \"2s\"",
        "redis_queue_length = 4096", "http_egress_queue_length = 256", "kv_queue_length = 4096"}) {
    EXPECT_NE(t->find(key), std::string::npos) << key;
  }
}

TEST(ConfigTest, NatsHasDefaultsAndParses) {
  Result<Config> d = ParseConfig("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const NatsConfig& n = d->nats;
  EXPECT_TRUE(n.urls.empty()) << "no event log unless configured";
  EXPECT_EQ(n.prefix, kDefaultNatsPrefix);
  EXPECT_EQ(n.replicas, kDefaultNatsReplicas);
  EXPECT_EQ(n.max_age, kDefaultNatsMaxAge);
  EXPECT_EQ(n.max_bytes, kDefaultNatsMaxBytes);
  EXPECT_EQ(n.dedup_window, kDefaultNatsDedupWindow);
  EXPECT_EQ(n.ack_wait, kDefaultNatsAckWait);
  EXPECT_EQ(n.max_deliver, kDefaultNatsMaxDeliver);
  EXPECT_EQ(n.max_ack_pending, kDefaultNatsMaxAckPending);
  EXPECT_EQ(n.max_pending_appends, kDefaultNatsMaxPendingAppends);
  EXPECT_EQ(n.connect_timeout, kDefaultNatsConnectTimeout);

  // Every key reaching its field: engine/nats_options_test.cc (through
  // this parser).
  Result<Config> c = ParseConfig(
      "[nats]\nurls = [\"nats://n1:4222\", \"tls://n2:4222\"]\nreplicas = 3\n"
      "max_age = \"2h\"\nack_wait = \"10s\"\nmax_bytes = \"64MB\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->nats.urls, (std::vector<std::string>{"nats://n1:4222", "tls://n2:4222"}));
  EXPECT_EQ(c->nats.replicas, 3);
  EXPECT_EQ(c->nats.max_age, 2h);
  EXPECT_EQ(c->nats.ack_wait, 10s);
  EXPECT_EQ(c->nats.max_bytes, 64u << 20);

  Result<Config> one =
      ParseConfig("[nats]\nurls = \"nats://127.0.0.1:4222\"\ntoken = \"t\"\n", "t.toml");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->nats.urls, std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST(ConfigTest, BadNatsValuesNameTheKeyAndNoSecret) {
  auto error = [](const std::string& toml) {
    Result<Config> c = ParseConfig("[nats]\n" + toml, "t.toml");
    return c.ok() ? std::string("(accepted)") : c.status().message();
  };
  EXPECT_EQ(error("urls = \"127.0.0.1:4222\"\n"),
            "t.toml: [nats] urls: each must be nats://HOST:PORT or tls://HOST:PORT");
  EXPECT_EQ(error("urls = [\"nats://a:1,nats://b:2\"]\n"),
            "t.toml: [nats] urls: each must be nats://HOST:PORT or tls://HOST:PORT");
  EXPECT_EQ(error("urls = [4222]\n"), "t.toml: [nats] urls must be a list of strings");
  std::string with_secret = error("urls = [\"nats://u:hunter2-secret@h:4222\"]\n");
  EXPECT_NE(with_secret.find("not in the URL"), std::string::npos) << with_secret;
  EXPECT_EQ(with_secret.find("hunter2"), std::string::npos) << with_secret;
  std::string lone = error("password = \"hunter2-secret\"\n");
  EXPECT_EQ(lone, "t.toml: [nats] password is set without user");
  EXPECT_EQ(error("sweep_interval = \"500ms\"\n"),
            "t.toml: [nats] sweep_interval must be at least 1s");
  EXPECT_EQ(error("user = \"u\"\ntoken = \"hunter2-secret\"\n"),
            "t.toml: [nats] set user/password or token, not both");
  EXPECT_EQ(error("cert_file = \"c.crt\"\n"),
            "t.toml: [nats] cert_file and key_file must be set together");
  EXPECT_EQ(error("prefix = \"a.b\"\n"),
            "t.toml: [nats] prefix must be 1 to 32 of A-Z a-z 0-9 _ -");
  EXPECT_EQ(error("replicas = 7\n"), "t.toml: [nats] replicas must be between 1 and 5");
  EXPECT_EQ(error("max_age = \"0s\"\n"), "t.toml: [nats] max_age must be positive");
  EXPECT_EQ(error("max_age = \"1m\"\n"), "t.toml: [nats] dedup_window must be at most max_age");
  EXPECT_EQ(error("ack_wait = \"10ms\"\n"), "t.toml: [nats] ack_wait must be at least 100ms");
  EXPECT_EQ(error("max_deliver = 0\n"), "t.toml: [nats] max_deliver must be between 1 and 1000000");
  EXPECT_EQ(error("max_ack_pending = -1\n"),
            "t.toml: [nats] max_ack_pending must be between 1 and 1000000");
  EXPECT_EQ(error("max_pending_appends = 0\n"),
            "t.toml: [nats] max_pending_appends must be between 1 and 1000000");
  EXPECT_EQ(error("max_bytes = \"lots\"\n").rfind("t.toml: [nats] max_bytes: ", 0), 0u);
  EXPECT_EQ(error("url = \"nats://a:4222\"\n"), "t.toml: unknown key [nats] url");
}

TEST(ConfigTest, EngineTemplateHasTheNatsKeys) {
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  for (std::string_view key :
       {"[nats]", "# urls = ", "prefix = \"aether\"", "replicas = 1", "max_age = \"86400s\"",
        "max_bytes = \"1GB\"", "dedup_window = \"120s\"", "ack_wait = \"30s\"", "max_deliver = 10",
        "max_ack_pending = 1024", "max_pending_appends = 4096", "connect_timeout = \"2s\"",
        "AETHER_NATS_PASSWORD"}) {
    EXPECT_NE(t->find(key), std::string::npos) << key << "\n" << *t;
  }
  Result<Config> parsed = ParseConfig(*t, "template");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->nats.ack_wait, kDefaultNatsAckWait);
}

TEST(ConfigTest, ControlUrlIsAListOfOneAndUrlsListsReplicas) {
  Result<Config> none = ParseConfig("", "t.toml");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->control.urls.empty());
  Result<Config> one = ParseConfig("[control]\nurl = \"http://c:9090/\"\n", "t.toml");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->control.urls, std::vector<std::string>{"http://c:9090"});
  Result<Config> many = ParseConfig(
      "[control]\nurls = [\"http://a:9090\", \"https://b:9443\", \"http://c:9090/\"]\n", "t.toml");
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  EXPECT_EQ(many->control.urls,
            (std::vector<std::string>{"http://a:9090", "https://b:9443", "http://c:9090"}));
}

TEST(ConfigTest, BadControlUrlsGetOneLineNamingTheKey) {
  for (const char* text : {
           "[control]\nurl = \"http://a:1\"\nurls = [\"http://b:1\"]\n",
           "[control]\nurls = [\"http://a:1\", \"http://a:1/\"]\n",
           "[control]\nurls = [\"http://a:1\", \"ftp://b:1\"]\n",
           "[control]\nurl = \"http://u:p@a:1\"\n",
           "[control]\nurls = [\"http://a:1/?q=1\"]\n",
           "[control]\nurls = [1]\n",
       }) {
    Result<Config> c = ParseConfig(text, "t.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find("t.toml: [control]"), std::string::npos)
        << c.status().message();
    EXPECT_EQ(c.status().message().find('\n'), std::string::npos);
    EXPECT_EQ(c.status().message().find(":p@"), std::string::npos);  // no password echoed
  }
  std::string many = "[control]\nurls = [";
  for (int i = 0; i < 17; ++i) many += "\"http://h" + std::to_string(i) + ":1\",";
  many += "]\n";
  EXPECT_NE(ParseConfig(many, "t.toml").status().message().find("at most 16"), std::string::npos);
}

TEST(ConfigTest, EngineTemplateShowsTheControlUrls) {
  Result<std::string> t = ConfigTemplate("engine");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("[control]"), std::string::npos);
  EXPECT_NE(t->find("# urls = [\"http://control-1:9090\""), std::string::npos);
}

}  // namespace
}  // namespace aether
