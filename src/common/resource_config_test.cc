#include "common/resource_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace aether {
namespace {

using ::testing::HasSubstr;

// The message of a failed parse, or "" when it succeeded.
template <typename T>
std::string Error(const Result<T>& r) {
  return r.ok() ? "" : r.status().message();
}
std::string Error(const Status& s) { return s.ok() ? "" : s.message(); }

TEST(ResourceConfigTest, KnownClassesAreSorted) {
  const auto& c = KnownResourceClasses();
  EXPECT_EQ(c, (std::vector<std::string>{"file-log", "file-pusher", "http-egress", "http-ingress",
                                         "http-poster", "kv", "redis", "sqlx", "timer"}));
}

TEST(ResourceConfigTest, HttpPoster) {
  auto c = ParseHttpPosterConfig({{"url", "http://localhost:10000/"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->url, "http://localhost:10000/");
  EXPECT_FALSE(c->decode_base64);
  EXPECT_TRUE(c->node_policy);
  EXPECT_TRUE(c->allow.empty());
  EXPECT_EQ(c->timeout.count(), 5000);

  c = ParseHttpPosterConfig({{"url", "https://api.example.com/in?k=1"},
                             {"decode_base64", "true"},
                             {"allow", "api.example.com, 127.0.0.1:8080"},
                             {"timeout_ms", "100"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->decode_base64);
  EXPECT_FALSE(c->node_policy);
  EXPECT_EQ(c->allow, (std::vector<std::string>{"api.example.com", "127.0.0.1:8080"}));
  EXPECT_EQ(c->timeout.count(), 100);

  EXPECT_EQ(Error(ParseHttpPosterConfig({})),
            "url: required: the http:// or https:// URL the payloads are posted to");
  EXPECT_EQ(Error(ParseHttpPosterConfig({{"url", "ftp://x/"}})),
            "url: must start with http:// or https://, got \"ftp://x/\"");
  EXPECT_EQ(Error(ParseHttpPosterConfig({{"url", "http://u:p@x/"}})),
            "url: credentials in the URL (user:password@) are not supported");
  EXPECT_EQ(Error(ParseHttpPosterConfig({{"url", "http:///x"}})), "url: has no host");
  EXPECT_FALSE(ParseHttpPosterConfig({{"url", "http://x/ y"}}).ok());
  EXPECT_EQ(Error(ParseHttpPosterConfig({{"url", "http://x/"}, {"decode_base64", "yes"}})),
            "decode_base64: must be false or true, got \"yes\"");
  EXPECT_FALSE(ParseHttpPosterConfig({{"url", "http://x/"}, {"allow", ""}}).ok());
  EXPECT_FALSE(ParseHttpPosterConfig({{"url", "http://x/"}, {"allow", "http://x/"}}).ok());
  EXPECT_FALSE(ParseHttpPosterConfig({{"url", "http://x/"}, {"timeout_ms", "0"}}).ok());
  EXPECT_FALSE(ParseHttpPosterConfig({{"url", "http://x/"}, {"timeout_ms", "60001"}}).ok());
  EXPECT_NE(Error(ParseHttpPosterConfig({{"url", "http://x/"}, {"format", "raw"}}))
                .find("unknown key (known keys: allow, decode_base64, timeout_ms, url)"),
            std::string::npos);
  EXPECT_TRUE(ValidateResourceConfig("http-poster", {{"url", "http://x/"}}, "p").ok());
}

TEST(ResourceConfigTest, FilePusher) {
  auto c = ParseFilePusherConfig({});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->period.count(), 1000);
  EXPECT_FALSE(c->encode_base64);
  c = ParseFilePusherConfig({{"period-ms", "1"}, {"encode-base64", "true"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->period.count(), 1);
  EXPECT_TRUE(c->encode_base64);
  EXPECT_EQ(Error(ParseFilePusherConfig({{"period-ms", "0"}})),
            "period-ms: must be between 1 and 86400000, got 0");
  EXPECT_FALSE(ParseFilePusherConfig({{"period-ms", "86400001"}}).ok());
  EXPECT_FALSE(ParseFilePusherConfig({{"encode-base64", "1"}}).ok());
  // The directory is the engine's: a workflow cannot name one.
  EXPECT_NE(Error(ParseFilePusherConfig({{"directory", "/etc"}})).find("unknown key"),
            std::string::npos);
  EXPECT_TRUE(ValidateResourceConfig("file-pusher", {}, "p").ok());
}

TEST(ResourceConfigTest, HttpIngressDefaults) {
  auto c = ParseHttpIngressConfig({}, "ingress");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->path, "ingress");
  EXPECT_TRUE(c->call);
  EXPECT_EQ(c->methods, (std::vector<std::string>{"POST", "PUT"}));
  EXPECT_EQ(c->timeout.count(), 5000);
  EXPECT_EQ(c->content_type, "application/octet-stream");
}

TEST(ResourceConfigTest, HttpIngressValues) {
  auto c = ParseHttpIngressConfig({{"path", "api/v1/orders"},
                                   {"mode", "cast"},
                                   {"methods", " get, post ,Delete,GET"},
                                   {"timeout_ms", "60000"},
                                   {"content_type", "application/json"},
                                   {"host", "demo.edgeless.com"}},
                                  "x");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->path, "api/v1/orders");
  EXPECT_FALSE(c->call);
  EXPECT_EQ(c->methods, (std::vector<std::string>{"GET", "POST", "DELETE"}));
  EXPECT_EQ(c->timeout.count(), 60000);
  EXPECT_EQ(c->content_type, "application/json");
  EXPECT_TRUE(ParseHttpIngressConfig({{"timeout_ms", "1"}, {"methods", "PATCH"}}, "x").ok());
}

TEST(ResourceConfigTest, DefaultPathFromABadComponentNameIsAnError) {
  EXPECT_THAT(Error(ParseHttpIngressConfig({}, "Bad/Name")), HasSubstr("path: "));
}

struct BadCase {
  ResourceConfigMap config;
  std::string message;  // the error starts with this
};

TEST(ResourceConfigTest, HttpIngressRejects) {
  const std::vector<BadCase> cases = {
      {{{"path", ""}}, "path: must not be empty"},
      {{{"format", "json"}}, "format: must be raw or edgeless"},
      {{{"encode_base64", "yes"}}, "encode_base64: must be false or true"},
      {{{"path", "/orders"}}, "path: must not start or end with '/'"},
      {{{"path", "orders/"}}, "path: must not start or end with '/'"},
      {{{"path", "a//b"}}, "path: empty segment"},
      {{{"path", "a/../b"}}, "path: segments use only"},
      {{{"path", ".."}}, "path: segments use only"},
      {{{"path", "Orders"}}, "path: segments use only"},
      {{{"path", "a b"}}, "path: segments use only"},
      {{{"path", "a?b"}}, "path: segments use only"},
      {{{"path", std::string(257, 'a')}}, "path: at most 256"},
      {{{"mode", "sync"}}, "mode: must be call or cast"},
      {{{"mode", "CALL"}}, "mode: must be call or cast"},
      {{{"methods", "GET,HEAD"}}, "methods: unsupported method \"HEAD\""},
      {{{"methods", "OPTIONS"}}, "methods: unsupported method"},
      {{{"methods", ""}}, "methods: empty entry"},
      {{{"methods", "GET,,POST"}}, "methods: empty entry"},
      {{{"timeout_ms", "0"}}, "timeout_ms: must be between 1 and 60000, got 0"},
      {{{"timeout_ms", "60001"}}, "timeout_ms: must be between 1 and 60000"},
      {{{"timeout_ms", "1.5"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", "-1"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", "+5"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", "1e3"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", "0x10"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", ""}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", " 5"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", "99999999999999999999999"}}, "timeout_ms: must be a whole decimal number"},
      {{{"timeout_ms", "18446744073709551616"}}, "timeout_ms: must be between"},
      {{{"content_type", "json"}}, "content_type: must be a media type"},
      {{{"content_type", ""}}, "content_type: must be a media type"},
      {{{"content_type", "text/plain\n"}}, "content_type: must be a media type"},
      {{{"host", "bad host"}}, "host: invalid host"},
      {{{"port", "80"}},
       "port: unknown key (known keys: async, content_type, encode_base64, format, host, method, "
       "methods, "
       "mode, path, timeout_ms, token_sha256, wf_id)"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(ParseHttpIngressConfig(c.config, "ingress"));
    EXPECT_EQ(err.rfind(c.message, 0), 0u) << "got: " << err << "\nwant: " << c.message;
  }
}

TEST(ResourceConfigTest, HttpEgress) {
  auto c = ParseHttpEgressConfig({{"allow", "API.example.com, 10.0.0.1:8080,api.example.com"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->allow, (std::vector<std::string>{"api.example.com", "10.0.0.1:8080"}));
  EXPECT_EQ(c->timeout.count(), 5000);
  EXPECT_EQ(c->max_response, 1u << 20);
  c = ParseHttpEgressConfig(
      {{"allow", "localhost:1"}, {"timeout_ms", "60000"}, {"max_response_bytes", "16777216"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->max_response, 16u << 20);
  EXPECT_TRUE(ParseHttpEgressConfig({{"allow", "h:65535"}, {"max_response_bytes", "1"}}).ok());
  // Addresses and CIDR ranges, normalized.
  c = ParseHttpEgressConfig({{"allow",
                              "127.0.0.1:8080, [::1], [::FFFF:127.0.0.1]:8080, "
                              "[0:0::1]:9000, 10.0.0.0/8, 192.168.0.0/16:81, "
                              "[FD00::/8]:9000, [::ffff:7f00:1]"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->allow,
            (std::vector<std::string>{"127.0.0.1:8080", "[::1]", "[::1]:9000", "10.0.0.0/8",
                                      "192.168.0.0/16:81", "[fd00::/8]:9000", "127.0.0.1"}));

  const std::vector<BadCase> cases = {
      {{{"allow", " "}}, "allow: is empty"},
      {{{"format", "json"}}, "format: must be raw or edgeless"},
      {{{"allow", "a,,b"}}, "allow: empty entry"},
      {{{"allow", "http://x"}}, "allow: \"http://x\": give host or host:port, not a URL"},
      {{{"allow", "x/y"}}, "allow: invalid CIDR range \"x/y\""},
      {{{"allow", "2130706433"}},
       "allow: \"2130706433\" is an unusual spelling of the IPv4 address 127.0.0.1; write "
       "127.0.0.1"},
      {{{"allow", "0x7f.1:80"}},
       "allow: \"0x7f.1\" is an unusual spelling of the IPv4 address 127.0.0.1"},
      {{{"allow", "127.1"}}, "allow: \"127.1\" is an unusual spelling"},
      {{{"allow", "1.2.3.256"}}, "allow: invalid IPv4 address \"1.2.3.256\""},
      {{{"allow", "::1"}}, "allow: \"::1\": write an IPv6 address in brackets"},
      {{{"allow", "fd00::/8"}}, "allow: \"fd00::/8\": write an IPv6 address in brackets"},
      {{{"allow", "[::1"}}, "allow: invalid IPv6 entry"},
      {{{"allow", "[::1]8080"}}, "allow: invalid IPv6 entry"},
      {{{"allow", "[1.2.3.4]"}}, "allow: invalid IPv6 address \"1.2.3.4\""},
      {{{"allow", "[example.com]"}}, "allow: invalid IPv6 address"},
      {{{"allow", "[::1]:0"}}, "allow: invalid port \"0\""},
      {{{"allow", "10.0.0.1/8"}}, "allow: invalid CIDR range \"10.0.0.1/8\""},
      {{{"allow", "10.0.0.0/33"}}, "allow: invalid CIDR range"},
      {{{"allow", "[10.0.0.0/8]"}}, "allow: invalid CIDR range"},
      {{{"allow", "10.0.0.0/8:x"}}, "allow: invalid port"},
      {{{"allow", "-x.com"}}, "allow: invalid host"},
      {{{"allow", "a..b"}}, "allow: invalid host"},
      {{{"allow", "x:0"}}, "allow: invalid port \"0\""},
      {{{"allow", "x:65536"}}, "allow: invalid port"},
      {{{"allow", "x:"}}, "allow: invalid port"},
      {{{"allow", "x:http"}}, "allow: invalid port"},
      {{{"allow", "x"}, {"timeout_ms", "0"}}, "timeout_ms: must be between 1 and 60000"},
      {{{"allow", "x"}, {"timeout_ms", "60001"}}, "timeout_ms: must be between 1 and 60000"},
      {{{"allow", "x"}, {"max_response_bytes", "0"}},
       "max_response_bytes: must be between 1 and 16777216"},
      {{{"allow", "x"}, {"max_response_bytes", "16777217"}}, "max_response_bytes: must be between"},
      {{{"allow", "x"}, {"hosts", "y"}},
       "hosts: unknown key (known keys: allow, format, max_response_bytes, timeout_ms)"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(ParseHttpEgressConfig(c.config));
    EXPECT_EQ(err.rfind(c.message, 0), 0u) << "got: " << err << "\nwant: " << c.message;
  }
}

TEST(ResourceConfigTest, FileLog) {
  auto c = ParseFileLogConfig({}, "log");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->filename, "log.log");
  EXPECT_EQ(c->max_bytes, 64ull << 20);
  EXPECT_FALSE(c->add_timestamp);
  c = ParseFileLogConfig(
      {{"filename", "My_file-1.txt"}, {"max_bytes", "1024"}, {"add-timestamp", "true"}}, "log");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->filename, "My_file-1.txt");
  EXPECT_EQ(c->max_bytes, 1024u);
  EXPECT_TRUE(c->add_timestamp);
  EXPECT_TRUE(
      ParseFileLogConfig({{"filename", std::string(128, 'a')}, {"max_bytes", "1099511627776"}}, "l")
          .ok());

  const std::vector<BadCase> cases = {
      {{{"filename", ""}}, "filename: use 1 to 128"},
      {{{"filename", std::string(129, 'a')}}, "filename: use 1 to 128"},
      {{{"filename", ".hidden"}}, "filename: use 1 to 128"},
      {{{"filename", ".."}}, "filename: use 1 to 128"},
      {{{"filename", "../etc/passwd"}}, "filename: use 1 to 128"},
      {{{"filename", "a/b"}}, "filename: use 1 to 128"},
      {{{"filename", "a b"}}, "filename: use 1 to 128"},
      {{{"filename", std::string("a\0b", 3)}}, "filename: use 1 to 128"},
      {{{"max_bytes", "1023"}}, "max_bytes: must be between 1024 and 1099511627776"},
      {{{"max_bytes", "1099511627777"}}, "max_bytes: must be between"},
      {{{"max_bytes", "64MB"}}, "max_bytes: must be a whole decimal number"},
      {{{"add-timestamp", "yes"}}, "add-timestamp: must be false or true"},
      {{{"path", "x"}},
       "path: unknown key (known keys: add-source-id, add-timestamp, filename, max_bytes)"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(ParseFileLogConfig(c.config, "log"));
    EXPECT_EQ(err.rfind(c.message, 0), 0u) << "got: " << err << "\nwant: " << c.message;
  }
  // The default name comes from the component: a component name is always a
  // valid file name, but the check applies to it as well.
  EXPECT_THAT(Error(ParseFileLogConfig({}, ".x")), HasSubstr("filename: "));
}

TEST(ResourceConfigTest, Kv) {
  auto c = ParseKvConfig({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_keys, 10000u);
  EXPECT_EQ(c->max_value_bytes, 65536u);
  c = ParseKvConfig({{"max_keys", "1000000"}, {"max_value_bytes", "1048576"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_keys, 1000000u);
  EXPECT_EQ(c->max_value_bytes, 1048576u);
  EXPECT_TRUE(ParseKvConfig({{"max_keys", "1"}, {"max_value_bytes", "1"}}).ok());
  EXPECT_FALSE(c->durable);
  c = ParseKvConfig({{"storage", "durable"}});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->durable);
  c = ParseKvConfig({{"storage", "memory"}});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->durable);
  const std::vector<BadCase> cases = {
      {{{"storage", "disk"}}, "storage: must be memory or durable, got \"disk\""},
      {{{"max_keys", "0"}}, "max_keys: must be between 1 and 1000000, got 0"},
      {{{"max_keys", "1000001"}}, "max_keys: must be between 1 and 1000000"},
      {{{"max_value_bytes", "0"}}, "max_value_bytes: must be between 1 and 1048576"},
      {{{"max_value_bytes", "1048577"}}, "max_value_bytes: must be between 1 and 1048576"},
      {{{"max_value_bytes", "1KB"}}, "max_value_bytes: must be a whole decimal number"},
      {{{"size", "1"}}, "size: unknown key (known keys: max_keys, max_value_bytes, storage)"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(ParseKvConfig(c.config));
    EXPECT_EQ(err.rfind(c.message, 0), 0u) << "got: " << err << "\nwant: " << c.message;
  }
}

TEST(ResourceConfigTest, Redis) {
  auto c = ParseRedisConfig({{"key", "k"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 6379);
  EXPECT_EQ(c->key, "k");
  EXPECT_FALSE(c->rpush);
  c = ParseRedisConfig({{"url", "redis://Cache.local:7000"}, {"key", "events"}, {"mode", "rpush"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "cache.local");
  EXPECT_EQ(c->port, 7000);
  EXPECT_TRUE(c->rpush);
  // EDGELESS's examples write the URL with a trailing '/'.
  c = ParseRedisConfig({{"url", "redis://127.0.0.1:6379/"}, {"key", "example-redis"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->port, 6379);
  c = ParseRedisConfig({{"url", "redis://db"}, {"key", std::string(512, 'k')}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "db");
  EXPECT_EQ(c->port, 6379);
  EXPECT_FALSE(c->call_get);
  // EDGELESS's meaning of a call (GET) makes the key optional.
  c = ParseRedisConfig({{"call", "get"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->call_get);
  EXPECT_EQ(c->key, "");
  c = ParseRedisConfig({{"call", "write"}, {"key", "k"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->call_get);

  const std::vector<BadCase> cases = {
      {{}, "key: required"},
      {{{"call", "write"}}, "key: required"},
      {{{"key", "k"}, {"call", "del"}}, "call: must be write or get"},
      {{{"call", "get"}, {"key", std::string(513, 'k')}}, "key: at most 512 bytes"},
      {{{"key", ""}}, "key: required"},
      {{{"key", std::string(513, 'k')}}, "key: at most 512 bytes"},
      {{{"key", "k"}, {"url", "http://x"}}, "url: must be redis://host[:port]"},
      {{{"key", "k"}, {"url", "rediss://x"}}, "url: TLS (rediss://) is not supported yet"},
      {{{"key", "k"}, {"url", "redis://user:pw@x:6379"}},
       "url: authentication (user:password@) is not supported yet"},
      {{{"key", "k"}, {"url", "redis://x:6379/2"}},
       "url: selecting a database (/N) or options is not supported yet"},
      {{{"key", "k"}, {"url", "redis://"}}, "url: invalid host"},
      {{{"key", "k"}, {"url", "redis://x:0"}}, "url: invalid port"},
      {{{"key", "k"}, {"url", "redis://x:65536"}}, "url: invalid port"},
      {{{"key", "k"}, {"mode", "lpush"}}, "mode: must be set or rpush"},
      {{{"key", "k"}, {"db", "0"}},
       "db: unknown key (known keys: add-workflow-id, call, key, mode, url)"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(ParseRedisConfig(c.config));
    EXPECT_EQ(err.rfind(c.message, 0), 0u) << "got: " << err << "\nwant: " << c.message;
  }
}

TEST(ResourceConfigTest, Timer) {
  auto c = ParseTimerConfig({{"period_ms", "10"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->period.count(), 10);
  EXPECT_EQ(c->payload, "");
  c = ParseTimerConfig({{"period_ms", "86400000"}, {"payload", "tick"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->period.count(), 86400000);
  EXPECT_EQ(c->payload, "tick");
  EXPECT_TRUE(
      ParseTimerConfig({{"period_ms", "1000"}, {"payload", std::string(1 << 20, 'p')}}).ok());
  const std::vector<BadCase> cases = {
      {{}, "period_ms: required"},
      {{{"period_ms", "9"}}, "period_ms: must be between 10 and 86400000, got 9"},
      {{{"period_ms", "86400001"}}, "period_ms: must be between 10 and 86400000"},
      {{{"period_ms", "1s"}}, "period_ms: must be a whole decimal number, got \"1s\""},
      {{{"period_ms", "100"}, {"payload", std::string((1 << 20) + 1, 'p')}},
       "payload: at most 1 MiB"},
      {{{"period_ms", "100"}, {"period", "1"}},
       "period: unknown key (known keys: payload, period_ms)"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(ParseTimerConfig(c.config));
    EXPECT_EQ(err.rfind(c.message, 0), 0u) << "got: " << err << "\nwant: " << c.message;
  }
}

TEST(ResourceConfigTest, PortalAndPortalIngress) {
  const std::string token(64, 'e');
  auto c = ParsePortalConfig({{"url", "http://b:9090/wf/w/_portal/g"}, {"token", token}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->url, "http://b:9090/wf/w/_portal/g");
  EXPECT_EQ(c->token, token);
  EXPECT_EQ(c->queue_length, 4096u);
  EXPECT_EQ(c->batch_events, 256u);
  EXPECT_EQ(c->timeout.count(), 60000);
  const std::vector<BadCase> cases = {
      {{{"token", token}}, "url: required"},
      {{{"url", "http://b/x"}, {"token", token}}, "url: required: http(s)://"},
      {{{"url", "file:///wf/x"}, {"token", token}}, "url: required"},
      {{{"url", "http://b/wf/w/p q"}, {"token", token}}, "url: required"},
      {{{"url", "http://b/wf/w/p"}}, "token: required: 64 lower-case hex digits"},
      {{{"url", "http://b/wf/w/p"}, {"token", std::string(64, 'E')}}, "token: required"},
      {{{"url", "http://b/wf/w/p"}, {"token", token}, {"batch_events", "0"}},
       "batch_events: must be between 1 and 4096"},
      {{{"url", "http://b/wf/w/p"}, {"token", token}, {"queue", "1"}}, "queue: unknown key"},
  };
  for (const BadCase& b : cases) {
    std::string err = Error(ParsePortalConfig(b.config));
    EXPECT_EQ(err.rfind(b.message, 0), 0u) << "got: " << err << "\nwant: " << b.message;
  }
  auto in = ParseHttpIngressConfig({{"mode", "portal"}, {"token_sha256", token}}, "in");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_TRUE(in->portal);
  EXPECT_FALSE(in->call);
  EXPECT_EQ(in->token_sha256, token);
  EXPECT_EQ(Error(ParseHttpIngressConfig({{"mode", "portal"}}, "in")),
            "token_sha256: required in portal mode: 64 lower-case hex digits");
  EXPECT_EQ(Error(ParseHttpIngressConfig({{"mode", "cast"}, {"token_sha256", token}}, "in")),
            "token_sha256: only an ingress in portal mode takes a token");
  EXPECT_TRUE(IsPortalOnly("portal", {}));
  EXPECT_TRUE(IsPortalOnly("http-ingress", {{"mode", "portal"}}));
  EXPECT_TRUE(IsPortalOnly("http-ingress", {{"path", "_portal/x"}}));
  EXPECT_FALSE(IsPortalOnly("http-ingress", {{"path", "_portalx"}}));
  EXPECT_FALSE(IsPortalOnly("http-egress", {{"mode", "portal"}}));
}

TEST(ResourceConfigTest, EdgelessKeys) {
  // http-ingress: "async" is the mode, "method" the methods ("" = any).
  auto in = ParseHttpIngressConfig({{"async", "true"}, {"method", "get,POST"}}, "in");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_FALSE(in->call);
  EXPECT_EQ(in->methods, (std::vector<std::string>{"GET", "POST"}));
  in = ParseHttpIngressConfig(
      {{"async", "false"}, {"method", ""}, {"wf_id", "true"}, {"encode_base64", "false"}}, "in");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_TRUE(in->call);
  EXPECT_EQ(in->methods.size(), 5u);
  EXPECT_EQ(Error(ParseHttpIngressConfig({{"async", "true"}, {"mode", "call"}}, "in")),
            "async: says \"true\" but mode says \"call\"; keep one of them");
  EXPECT_TRUE(ParseHttpIngressConfig({{"async", "true"}, {"mode", "cast"}}, "in").ok());
  EXPECT_EQ(Error(ParseHttpIngressConfig({{"method", "POST"}, {"methods", "POST"}}, "in")),
            "method: give \"methods\" or \"method\", not both");
  EXPECT_EQ(Error(ParseHttpIngressConfig({{"method", "BREW"}}, "in")),
            "method: unsupported method \"BREW\" (use GET, POST, PUT, PATCH, DELETE)");
  EXPECT_EQ(Error(ParseHttpIngressConfig({{"wf_id", "1"}}, "in")),
            "wf_id: must be false or true, got \"1\"");
  // file-log "add-source-id", redis "add-workflow-id".
  auto log = ParseFileLogConfig({{"add-source-id", "true"}}, "log");
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->add_source_id);
  auto redis = ParseRedisConfig({{"key", "k"}, {"add-workflow-id", "true"}});
  ASSERT_TRUE(redis.ok());
  EXPECT_TRUE(redis->add_workflow_id);
  EXPECT_EQ(ConfigKeys("file-log"),
            (std::vector<std::string>{"add-source-id", "add-timestamp", "filename", "max_bytes"}));
  EXPECT_TRUE(ConfigKeys("nope").empty());
}

TEST(ResourceConfigTest, ValidateDispatches) {
  EXPECT_TRUE(ValidateResourceConfig("timer", {{"period_ms", "100"}}, "t").ok());
  EXPECT_TRUE(ValidateResourceConfig("kv", {}, "t").ok());
  EXPECT_TRUE(ValidateResourceConfig("file-log", {}, "t").ok());
  EXPECT_TRUE(ValidateResourceConfig("http-ingress", {}, "t").ok());
  EXPECT_EQ(Error(ValidateResourceConfig("timer", {}, "t")).rfind("period_ms: required", 0), 0u);
  // Without "allow" the engine's [workflow] egress_default decides.
  Result<HttpEgressConfig> node = ParseHttpEgressConfig({});
  ASSERT_TRUE(node.ok()) << node.status().message();
  EXPECT_TRUE(node->node_policy);
  EXPECT_TRUE(node->allow.empty());
  EXPECT_FALSE(node->edgeless);
  EXPECT_TRUE(ParseHttpEgressConfig({{"format", "edgeless"}})->edgeless);
  EXPECT_FALSE(ParseHttpEgressConfig({{"allow", "example.com"}})->node_policy);
  EXPECT_EQ(Error(ValidateResourceConfig("redis", {}, "t")).rfind("key: required", 0), 0u);
  Status st = ValidateResourceConfig("dda", {}, "t");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "unknown resource class \"dda\" (known: file-log, file-pusher, http-egress, "
            "http-ingress, http-poster, kv, redis, sqlx, timer)");
}

TEST(ResourceConfigTest, UnknownKeyIsShortenedAndListsKnownKeys) {
  std::string err = Error(ParseKvConfig({{std::string(200, 'z'), "1"}}));
  EXPECT_LT(err.size(), 200u);
  EXPECT_THAT(err, HasSubstr("unknown key (known keys: max_keys, max_value_bytes, storage)"));
}

TEST(ResourceConfigTest, ValuesInMessagesArePrintableAndShort) {
  std::string err =
      Error(ParseTimerConfig({{"period_ms", std::string("\x01\xff") + std::string(500, '9')}}));
  EXPECT_LT(err.size(), 120u);
  for (char c : err) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << err;
}

}  // namespace
}  // namespace aether
