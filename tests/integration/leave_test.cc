// An engine stopped gracefully (SIGTERM) tells the control plane it leaves:
// the node is down at once instead of "up" until node_timeout (60 s here),
// which routed requests to a stopped engine for that long. Killed (-9), it
// cannot say so, and stays up until the timeout, as before.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <string>

#include "cluster.h"

namespace aether::testing {
namespace {

class LeaveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "control.toml", "[database]\npath = \"" + dir_ / "data/aether.db" +
                                         "\"\n[registry]\nnode_timeout = \"60s\"\n"
                                         "heartbeat_interval = \"200ms\"\n");
    auto p = ServerProcess::Start(kControl, {"--config", dir_ / "control.toml", "--port", "0"},
                                  dir_ / "control.log");
    ASSERT_TRUE(p.ok()) << p.status().message();
    control_ = std::move(p).value();
    admin_ = Trim(ReadFile(dir_ / "data/admin.token"));
  }

  std::unique_ptr<ServerProcess> StartEngine(const std::string& name) {
    WriteFile(dir_ / (name + ".toml"), "[runtime]\ndata_dir = \"" + dir_ / (name + "-data") +
                                           "\"\noptimize = false\n[control]\nurl = \"" +
                                           control_->url() + "\"\nnode_id = \"" + name +
                                           "\"\n[auth]\njoin_token = \"" +
                                           Trim(ReadFile(dir_ / "data/join.token")) +
                                           "\"\n[registry]\nheartbeat_interval = \"200ms\"\n");
    auto p = ServerProcess::Start(kEngine, {"--config", dir_ / (name + ".toml"), "--port", "0"},
                                  dir_ / (name + ".log"));
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // The node's state and, for the last node_down event about it, its reason.
  std::string NodeState(const std::string& node) {
    auto r = Get("/api/nodes");
    for (const auto& n : r.at("nodes").as_array()) {
      if (n.at("node_id").as_string() == node) return std::string(n.at("state").as_string());
    }
    return "";
  }
  std::string DownReason(const std::string& node) {
    std::string reason = "(no node_down event)";
    boost::json::value events = Get("/api/events?type=node_down&limit=100");
    for (const auto& e : events.at("events").as_array()) {
      const auto& data = e.at("data").as_object();
      if (data.at("node_id").as_string() != node) continue;
      reason = data.contains("reason") ? std::string(data.at("reason").as_string()) : "";
    }
    return reason;
  }
  boost::json::value Get(const std::string& path) {
    auto r = Http("GET", control_->url() + path, {}, {{"Authorization", "Bearer " + admin_}});
    EXPECT_TRUE(r.ok() && r->status == 200) << path;
    return r.ok() ? boost::json::parse(r->body) : boost::json::value(boost::json::object{});
  }
  Result<HttpResponse> Http(std::string_view method, const std::string& url, std::string_view body,
                            HttpHeaders headers) {
    return http_->Fetch(method, url, body, std::move(headers), std::chrono::seconds(10));
  }

  TempDir dir_;
  std::unique_ptr<HttpClient> http_ = NewHttpClient();
  std::unique_ptr<ServerProcess> control_;
  std::string admin_;
};

TEST_F(LeaveTest, AGracefullyStoppedEngineIsDownAtOnce) {
  auto engine = StartEngine("edge-1");
  ASSERT_TRUE(engine);
  ASSERT_TRUE(WaitFor([&] { return NodeState("edge-1") == "up"; }));
  auto start = Clock::now();
  EXPECT_EQ(engine->Stop(), 0) << engine->Log();
  EXPECT_EQ(NodeState("edge-1"), "down") << "right after its stop, well before node_timeout";
  EXPECT_LT(Clock::now() - start, seconds(10));
  EXPECT_EQ(DownReason("edge-1"), "left");
  EXPECT_NE(engine->Log().find("node edge-1 left the control plane"), std::string::npos);

  // Started again, it is up again.
  engine = StartEngine("edge-1");
  ASSERT_TRUE(engine);
  EXPECT_TRUE(WaitFor([&] { return NodeState("edge-1") == "up"; }));
}

TEST_F(LeaveTest, AKilledEngineCannotLeaveAndStaysUpUntilTheTimeout) {
  auto engine = StartEngine("edge-2");
  ASSERT_TRUE(engine);
  ASSERT_TRUE(WaitFor([&] { return NodeState("edge-2") == "up"; }));
  ::kill(engine->pid(), SIGKILL);
  engine->Stop();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(NodeState("edge-2"), "up");
}

TEST_F(LeaveTest, OnlyANodeCanLeaveAndOnlyAsItself) {
  // The admin token and the join token are not a node's credential.
  for (const std::string& token : {admin_, Trim(ReadFile(dir_ / "data/join.token"))}) {
    auto r = Http("POST", control_->url() + "/node/leave", "{}",
                  {{"Authorization", "Bearer " + token}, {"X-Aether-Node", "edge-3"}});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->status == 401 || r->status == 403) << r->status << " " << r->body;
  }
}

}  // namespace
}  // namespace aether::testing
