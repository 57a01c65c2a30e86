#include "protocol/node.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace aether::protocol {
namespace {

namespace json = boost::json;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

TEST(RegistrationTest, RoundTrip) {
  NodeRegistration reg{"edge-1", "http://127.0.0.1:9092", {{"region", "eu"}}, R"({"workers":4})"};
  auto back = RegistrationFromJson(Obj(EncodeRegistration(reg)));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, reg);
}

TEST(RegistrationTest, DefaultsAndNormalization) {
  auto reg = RegistrationFromJson(Obj(R"({"node_id": "n1", "url": "http://h:1//"})"));
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  EXPECT_EQ(reg->url, "http://h:1");
  EXPECT_TRUE(reg->labels.empty());
  EXPECT_EQ(reg->capacity, "{}");
  // A capacity that is not an object is sent, and read back, as {}.
  EXPECT_EQ(Obj(EncodeRegistration({"n1", "http://h:1", {}, "[1]"})).at("capacity"),
            json::object());
  EXPECT_EQ(CapacityObject("not json"), json::object());
  EXPECT_EQ(CapacityObject(R"({"queue":8})").at("queue"), 8);
}

TEST(RegistrationTest, RejectsNamingTheField) {
  struct Case {
    std::string json, want;
  };
  std::string many_labels;
  for (size_t i = 0; i <= kMaxLabels; ++i) {
    many_labels += (i ? "," : "") + ("\"k" + std::to_string(i) + "\": \"v\"");
  }
  for (const Case& c : std::vector<Case>{
           {R"({"url": "http://h"})", "node_id"},
           {R"({"node_id": "../x", "url": "http://h"})", "invalid node_id"},
           {R"({"node_id": "n"})", "url"},
           {R"({"node_id": "n", "url": "ftp://h"})", "http"},
           {R"({"node_id": "n", "url": "http://h", "labels": []})", "labels"},
           {R"({"node_id": "n", "url": "http://h", "labels": {"k": 1}})", "labels"},
           {R"({"node_id": "n", "url": "http://h", "labels": {)" + many_labels + "}}", "too many"},
           {R"({"node_id": "n", "url": "http://h", "capacity": 3})", "capacity"},
           {R"({"node_id": "n", "url": "http://h", "capacity": {"x": ")" +
                std::string(kMaxCapacityBytes, 'x') + "\"}}",
            "larger than 4 KiB"},
       }) {
    auto r = RegistrationFromJson(Obj(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

TEST(RegisterReplyTest, RoundTripAndCredentialOnlyWhenIssued) {
  RegisterReply reply{"n1", 5000, 15000, "secret"};
  auto back = ParseRegisterReply(EncodeRegisterReply(reply));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, reply);
  reply.credential.clear();
  EXPECT_EQ(EncodeRegisterReply(reply),
            R"({"node_id":"n1","heartbeat_interval_ms":5000,"node_timeout_ms":15000})");
}

TEST(RegisterReplyTest, BadAnswers) {
  for (std::string_view bad :
       {"", "[]", "{", R"({"credential": 5})", R"({"heartbeat_interval_ms": "5s"})"}) {
    auto r = ParseRegisterReply(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(HeartbeatTest, RoundTrip) {
  Heartbeat beat{"n1", {2, 3}, {{"hello", std::string(64, 'a')}}, 7};
  EXPECT_EQ(EncodeHeartbeat(beat),
            R"({"node_id":"n1","load":{"inflight":2,"queue":3},"ready":{"hello":")" +
                std::string(64, 'a') + R"("},"cached":7})");
  auto back = HeartbeatFromJson(Obj(EncodeHeartbeat(beat)), "other");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, beat);
}

TEST(HeartbeatTest, DefaultsAndBadInput) {
  auto beat = HeartbeatFromJson(Obj(R"({"load": {"inflight": -4}})"), "caller");
  ASSERT_TRUE(beat.ok()) << beat.status().message();
  EXPECT_EQ(beat->node_id, "caller");
  EXPECT_EQ(beat->load, NodeLoad{});
  for (std::string_view bad : {R"({"load": {"queue": "x"}})", R"({"cached": true})",
                               R"({"ready": {"f": 1}})", R"({"node_id": 5})"}) {
    auto r = HeartbeatFromJson(Obj(bad), "caller");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace aether::protocol
