#include "protocol/instance_status.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

namespace aether::protocol {
namespace {

namespace json = boost::json;

Result<StatusReport> Parse(const std::string& text, std::string_view node = "caller") {
  return StatusReportFromJson(json::parse(text).as_object(), node);
}

TEST(StatusReportTest, RoundTrip) {
  StatusReport report{"n1",
                      {InstanceStatus{"w/f/0", "running", 12, 1, 2, 3, "oops", {{"ms", 0.5}}, ""},
                       InstanceStatus{"w/in/0", "starting", 0, 0, 0, 0, "", {}, "edge-1"}}};
  auto back = Parse(EncodeStatusReport(report));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->node_id, "n1");
  EXPECT_EQ(back->instances, report.instances);
}

TEST(StatusReportTest, ADomainNamesTheNodeAndOnlyAValidOne) {
  auto bad = Parse(R"({"instances": [{"id": "w/f/0", "state": "running", "node_id": "../x"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("instances[0].node_id"), std::string::npos);
  // An engine's report has none, and its encoding leaves the field out.
  StatusReport plain{"n1", {InstanceStatus{"w/f/0", "running", 0, 0, 0, 0, "", {}, ""}}};
  EXPECT_EQ(EncodeStatusReport(plain).find("\"node_id\":\"\""), std::string::npos);
}

TEST(StatusReportTest, NonFiniteTelemetryIsSentAsZero) {
  StatusReport report{
      "n1", {InstanceStatus{"w/f/0", "running", 0, 0, 0, 0, "\xff", {{"x", std::nan("")}}, ""}}};
  auto back = Parse(EncodeStatusReport(report));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->instances[0].telemetry.at("x"), 0.0);
  EXPECT_EQ(back->instances[0].last_error, "\xef\xbf\xbd");
}

TEST(StatusReportTest, BoundsAndDefaults) {
  auto r = Parse(R"({"instances": [{"id": "w/f/0", "state": "failed", "events": -3,
                                    "last_error": ")" +
                 std::string(5000, 'e') + R"("}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->node_id, "caller");
  EXPECT_EQ(r->instances[0].events, 0);
  EXPECT_EQ(r->instances[0].last_error.size(), kMaxLastError);
}

TEST(StatusReportTest, RejectsNamingTheInstance) {
  struct Case {
    std::string json, want;
  };
  for (const Case& c : std::vector<Case>{
           {R"({})", "instances"},
           {R"({"instances": [3]})", "instances[0] must be an object"},
           {R"({"instances": [{"state": "running"}]})", "instances[0]: field \"id\""},
           {R"({"instances": [{"id": "a", "state": "gone"}]})", "instances[0].state"},
           {R"({"instances": [{"id": "a", "state": "running", "telemetry": {"x": "1"}}]})",
            "instances[0].telemetry"},
       }) {
    auto r = Parse(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
  json::array many(kMaxReportedInstances + 1, json::object{{"id", "a"}, {"state", "running"}});
  EXPECT_EQ(StatusReportFromJson(json::object{{"instances", many}}, "n").status().message(),
            "at most 10000 instances per report");
}

}  // namespace
}  // namespace aether::protocol
