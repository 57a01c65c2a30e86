// A durable kv (storage = "durable") keeps its data when the engine that
// runs it is killed (-9) and the control plane moves the instance to
// another engine. The real aether-control, three aether-engines and a
// nats-server with JetStream, all on 127.0.0.1:
//
//   client -> http-ingress (call) -> kv (durable)
//             edge-a                  edge-b, then edge-c
//
// The kv may run on edge-b or edge-c; edge-c joins only after edge-b was
// killed, so the instance starts on edge-b and moves to edge-c.
#include <gtest/gtest.h>

#include <memory>

#include "cluster.h"
#include "nats_server.h"
#include "workflows.h"

namespace aether::testing {
namespace {

const std::string kSpec = R"({"name": "counter",
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "kv", "mode": "call"},
     "output_mapping": {"new_request": "store"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "store", "class_type": "kv", "configurations": {"storage": "durable"},
     "annotations": {"node_id_match_any": ["edge-b", "edge-c"]}}]})";

TEST(KvMoveTest, TheDataFollowsTheInstanceToAnotherEngine) {
  TempDir nats_dir;
  std::unique_ptr<NatsServer> nats = StartTestNats(nats_dir.path());
  ASSERT_NE(nats, nullptr);
  std::string nats_config = nats->EngineConfig();
  Control control;
  auto a = std::make_unique<Engine>(control, "edge-a", "zone = \"a\"", nats_config);
  auto b = std::make_unique<Engine>(control, "edge-b", "zone = \"b\"", nats_config);
  std::unique_ptr<Engine> c;
  auto logs = [&] { return a->Logs() + b->Logs() + (c ? c->Logs() : "") + nats->Log(); };
  Workflows wf{control};
  ASSERT_EQ(wf.Apply(kSpec), "counter");
  ASSERT_TRUE(wf.WaitState("counter", "running")) << json::serialize(wf.Show("counter")) << logs();
  std::string url = wf.IngressUrl("counter");
  ASSERT_EQ(wf.Placement("counter")["counter/store/0"], "edge-b");

  HttpResponse r = Post(url, "SET greeting hello from edge-b");
  ASSERT_EQ(r.status, 200) << r.body << logs();
  EXPECT_EQ(r.body, "OK");
  for (int i = 1; i <= 5; ++i) {
    r = Post(url, "INCR visits");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, std::to_string(i));
  }

  b->Kill9();
  c = std::make_unique<Engine>(control, "edge-c", "zone = \"c\"", nats_config);
  ASSERT_TRUE(
      WaitFor([&] { return wf.Placement("counter")["counter/store/0"] == "edge-c"; }, seconds(30)))
      << json::serialize(wf.Show("counter")) << logs();
  // The instance on edge-c reads what the one on edge-b wrote.
  ASSERT_TRUE(WaitFor([&] { return Post(url, "GET greeting").status == 200; }, seconds(30)))
      << json::serialize(wf.Show("counter")) << logs();
  EXPECT_EQ(Post(url, "GET greeting").body, "hello from edge-b");
  r = Post(url, "INCR visits");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "6");
  EXPECT_EQ(Post(url, "KEYS").body, "greeting\nvisits");
}

}  // namespace
}  // namespace aether::testing
