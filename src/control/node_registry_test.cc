#include "control/node_registry.h"

#include <gtest/gtest.h>

namespace aether::control {
namespace {

using std::chrono::seconds;

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewMemoryStore();
    events_ = EventLog::Open(*store_).value();
    registry_ = Open();
  }
  std::unique_ptr<NodeRegistry> Open() {
    NodeRegistryOptions o;
    o.node_timeout = seconds(10);
    o.now = [this] { return now_; };
    return NodeRegistry::Open(*store_, *events_, o).value();
  }
  std::vector<std::string> EventTypes() {
    std::vector<std::string> out;
    auto page = events_->List(0, "", 1000);  // named: a temporary would dangle in the for
    for (auto& e : page->events) out.push_back(e.type);
    return out;
  }
  Status Beat(const std::string& id, std::map<std::string, std::string> ready, int64_t inflight = 0) {
    return registry_->Beat({id, {inflight, 0}, std::move(ready), 0});
  }

  std::chrono::steady_clock::time_point now_{};
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<NodeRegistry> registry_;
};

TEST_F(NodeRegistryTest, DownAfterTimeoutUpOnBeat) {
  ASSERT_TRUE(registry_->Register({"n1", "http://a", {{"zone", "x"}}, {}}).ok());
  EXPECT_EQ(registry_->Count().up, 1);
  now_ += seconds(9);
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().up, 1);
  now_ += seconds(1);
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().down, 1);
  ASSERT_TRUE(Beat("n1", {}).ok());
  EXPECT_EQ(registry_->Count().up, 1);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{"node_registered", "node_down", "node_up"}));
}

TEST_F(NodeRegistryTest, UnknownNodeBeatIsNotFound) {
  EXPECT_EQ(Beat("ghost", {}).code(), Code::kNotFound);
}

TEST_F(NodeRegistryTest, PickChoosesReadyLeastLoadedAndCountsInflight) {
  ASSERT_TRUE(registry_->Register({"a", "http://a", {}, {}}).ok());
  ASSERT_TRUE(registry_->Register({"b", "http://b", {}, {}}).ok());
  ASSERT_TRUE(registry_->Register({"c", "http://c", {}, {}}).ok());
  ASSERT_TRUE(Beat("a", {{"f", "s1"}}, 5).ok());
  ASSERT_TRUE(Beat("b", {{"f", "s1"}}, 0).ok());
  ASSERT_TRUE(Beat("c", {{"f", "old"}}, 0).ok());  // an older version: never chosen
  auto p1 = registry_->Pick("f", "s1");
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->node_id, "b");
  // b's outstanding gateway requests count: it stays the choice while it
  // has fewer than a's reported 5.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(registry_->Pick("f", "s1")->node_id, "b");
  ASSERT_TRUE(Beat("a", {{"f", "s1"}}, 0).ok());  // a is idle now: b has 5
  EXPECT_EQ(registry_->Pick("f", "s1")->node_id, "a");
  for (int i = 0; i < 5; ++i) registry_->Release("b");
  registry_->Release("b");  // extra releases never go below zero
  ASSERT_TRUE(Beat("a", {{"f", "s1"}}, 3).ok());
  EXPECT_EQ(registry_->Pick("f", "s1")->node_id, "b");
  // Exclusion (the retry) and nothing ready.
  EXPECT_EQ(registry_->Pick("f", "s1", {"b"})->node_id, "a");
  EXPECT_FALSE(registry_->Pick("f", "s1", {"a", "b"}));
  EXPECT_FALSE(registry_->Pick("g", "s1"));
  // Down nodes are never chosen.
  now_ += seconds(11);
  registry_->Sweep();
  EXPECT_FALSE(registry_->Pick("f", "s1"));
}

TEST_F(NodeRegistryTest, RegistrationsSurviveReopenWithGrace) {
  ASSERT_TRUE(registry_->Register({"n1", "http://a", {{"k", "v"}}, {}}).ok());
  ASSERT_TRUE(registry_->Register({"n2", "http://b", {}, {}}).ok());
  now_ += seconds(5);
  ASSERT_TRUE(Beat("n1", {}).ok());
  now_ += seconds(6);
  registry_->Sweep();  // n2 down, n1 up
  registry_ = Open();
  auto nodes = registry_->List();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_TRUE(nodes[0].up);
  EXPECT_EQ(nodes[0].reg.labels.at("k"), "v");
  EXPECT_FALSE(nodes[1].up);
  // n1 gets a full timeout from the restart before it is marked down.
  now_ += seconds(9);
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().up, 1);
  now_ += seconds(1);
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().up, 0);
}

}  // namespace
}  // namespace aether::control
