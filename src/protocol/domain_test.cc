#include "protocol/domain.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "protocol/node.h"

namespace aether::protocol {
namespace {

namespace json = boost::json;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

DomainCapabilities SomeCapabilities() {
  DomainCapabilities caps;
  caps.nodes_up = 2;
  caps.nodes_total = 3;
  caps.nodes = {{"edge-1", {{"zone", "eu"}}}, {"edge-2", {}}};
  caps.runtimes = {"wasm"};
  caps.resource_classes = {"file-log", "http-ingress"};
  caps.workers = 8;
  caps.free_workers = 5;
  caps.instances = 4;
  caps.health = "degraded";
  return caps;
}

TEST(DomainProtocolTest, RegistrationRoundTrip) {
  DomainRegistration reg{"site-a", "http://127.0.0.1:9090", {{"region", "eu"}}};
  auto back = DomainRegistrationFromJson(Obj(EncodeDomainRegistration(reg)));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, reg);
  auto trimmed = DomainRegistrationFromJson(Obj(R"({"domain_id": "a", "url": "http://h:1/"})"));
  ASSERT_TRUE(trimmed.ok());
  EXPECT_EQ(trimmed->url, "http://h:1");
}

TEST(DomainProtocolTest, ReplyRoundTrip) {
  DomainRegisterReply reply{"site-a", 2000, 10000, "secret"};
  auto back = ParseDomainRegisterReply(EncodeDomainRegisterReply(reply));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, reply);
  reply.credential.clear();
  EXPECT_FALSE(Obj(EncodeDomainRegisterReply(reply)).contains("credential"));
  EXPECT_FALSE(ParseDomainRegisterReply("[]").ok());
}

TEST(DomainProtocolTest, HeartbeatRoundTrip) {
  DomainHeartbeat beat{"site-a", SomeCapabilities()};
  auto back = DomainHeartbeatFromJson(Obj(EncodeDomainHeartbeat(beat)), "");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, beat);
  // The credential names the domain when the body does not; no capabilities = none.
  auto bare = DomainHeartbeatFromJson(Obj("{}"), "site-b");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->domain_id, "site-b");
  EXPECT_EQ(bare->capabilities, DomainCapabilities{});
  // Negative counts are read as 0.
  auto neg = DomainHeartbeatFromJson(Obj(R"({"capabilities": {"free_workers": -3}})"), "s");
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->capabilities.free_workers, 0);
}

TEST(DomainProtocolTest, RejectsNamingTheField) {
  struct Case {
    std::string json, want;
  };
  std::string many_nodes = "[";
  for (size_t i = 0; i <= kMaxDomainNodes; ++i) {
    many_nodes += (i ? "," : "") + (R"({"node_id": "n)" + std::to_string(i) + "\"}");
  }
  many_nodes += "]";
  for (const Case& c : std::vector<Case>{
           {R"({"url": "http://h"})", "domain_id"},
           {R"({"domain_id": "../x", "url": "http://h"})", "invalid domain_id"},
           {R"({"domain_id": "a"})", "url"},
           {R"({"domain_id": "a", "url": "ftp://h"})", "http"},
           {R"({"domain_id": "a", "url": "http://h", "labels": {"k": 1}})", "labels"},
       }) {
    auto r = DomainRegistrationFromJson(Obj(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
  for (const Case& c : std::vector<Case>{
           {R"({"capabilities": 3})", "capabilities"},
           {R"({"capabilities": {"health": "great"}})", "health"},
           {R"({"capabilities": {"nodes": {}}})", "capabilities.nodes"},
           {R"({"capabilities": {"nodes": [1]}})", "capabilities.nodes"},
           {R"({"capabilities": {"nodes": [{"node_id": "/etc"}]}})", "invalid node_id"},
           {R"({"capabilities": {"nodes": [{"node_id": "n", "labels": []}]}})", "labels"},
           {R"({"capabilities": {"nodes": )" + many_nodes + "}}", "more than"},
           {R"({"capabilities": {"runtimes": "wasm"}})", "capabilities.runtimes"},
           {R"({"capabilities": {"resource_classes": [""]}})", "capabilities.resource_classes"},
           {R"({"capabilities": {"workers": "8"}})", "workers"},
       }) {
    auto r = DomainHeartbeatFromJson(Obj(c.json), "s");
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace aether::protocol
