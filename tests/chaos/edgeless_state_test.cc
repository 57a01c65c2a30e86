// An EDGELESS-shaped workflow whose function speaks EDGELESS's guest ABI
// (tests/guests/wf_edgeless.c), on the real aether-control, three
// aether-engines and a nats-server with JetStream, all on 127.0.0.1:
//
//   in  (cast) -> probe   (edge-b, then edge-c)      -> log (edge-a)
//   in2 (cast) -> answer  (edge-a) -> next: probe
//
// The state probe syncs follows it when edge-b is killed (-9) and the
// control plane moves it to edge-c (a JetStream KV bucket); probe's raw
// casts answer `answer` on the other engine (the route back the control
// plane adds, and the dataplane grant for it).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "cluster.h"
#include "nats_server.h"
#include "workflows.h"

namespace aether::testing {
namespace {

// EDGELESS-shaped: functions with class_specification, string annotations.
const std::string kSpec = R"({"name": "stateful",
  "functions": [
    {"name": "probe",
     "class_specification": {"id": "edge-probe", "function_type": "RUST_WASM", "version": "0.1"},
     "output_mapping": {"log": "log"},
     "annotations": {"init-payload": "boot", "node_id_match_any": "edge-b,edge-c"}},
    {"name": "answer",
     "class_specification": {"id": "edge-probe", "function_type": "RUST_WASM", "version": "0.1"},
     "output_mapping": {"log": "log", "next": "probe"},
     "annotations": {"node_id_match_any": "edge-a"}}],
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "async": "true"},
     "output_mapping": {"new_request": "probe"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "in2", "class_type": "http-ingress",
     "configurations": {"path": "in2", "async": "true"},
     "output_mapping": {"new_request": "answer"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "out.log"},
     "annotations": {"node_id_match_any": ["edge-a"]}}]})";

TEST(EdgelessStateTest, StateFollowsAMoveAndRawCastsCrossEngines) {
  TempDir nats_dir;
  std::unique_ptr<NatsServer> nats = StartTestNats(nats_dir.path());
  ASSERT_NE(nats, nullptr);
  std::string nats_config = nats->EngineConfig();
  Control control;
  auto a = std::make_unique<Engine>(control, "edge-a", "zone = \"a\"", nats_config);
  auto b = std::make_unique<Engine>(control, "edge-b", "zone = \"b\"", nats_config);
  std::unique_ptr<Engine> c;
  auto logs = [&] { return a->Logs() + b->Logs() + (c ? c->Logs() : "") + nats->Log(); };
  ASSERT_EQ(control.Deploy("edge-probe", "wf_edgeless").status, 201);
  Workflows wf{control};
  ASSERT_EQ(wf.Apply(kSpec), "stateful");
  ASSERT_TRUE(wf.WaitState("stateful", "running"))
      << json::serialize(wf.Show("stateful")) << logs();
  ASSERT_EQ(wf.Placement("stateful")["stateful/probe/0"], "edge-b");
  auto lines = [&] { return LogLines({a.get()}, "stateful", "out.log"); };
  auto logged = [&](const std::string& line) {
    return WaitFor([&] {
      std::vector<std::string> l = lines();
      return std::find(l.begin(), l.end(), line) != l.end();
    });
  };
  ASSERT_TRUE(logged("init:boot|state:-")) << logs();

  std::string in = a->process().url() + "/wf/stateful/in";
  std::string in2 = a->process().url() + "/wf/stateful/in2";
  // The http-ingress of an EDGELESS-shaped spec answers a cast as EDGELESS's.
  HttpResponse r = Post(in, "sync:first state");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "OK");
  ASSERT_EQ(Post(in, "cast:log:synced").status, 200);
  ASSERT_TRUE(logged("synced")) << logs();

  // answer (edge-a) -> probe (edge-b), which answers its sender raw.
  ASSERT_EQ(Post(in2, "cast:next:raw:pong").status, 200);
  EXPECT_TRUE(logged("got:pong")) << logs();
  ASSERT_EQ(Post(in2, "cast:next:callraw:echo:deep").status, 200);
  EXPECT_TRUE(logged("call:1:deep")) << logs();

  b->Kill9();
  c = std::make_unique<Engine>(control, "edge-c", "zone = \"c\"", nats_config);
  ASSERT_TRUE(WaitFor([&] { return wf.Placement("stateful")["stateful/probe/0"] == "edge-c"; },
                      seconds(30)))
      << json::serialize(wf.Show("stateful")) << logs();
  // The instance on edge-c starts with the state synced on edge-b.
  EXPECT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> l = lines();
        return std::find(l.begin(), l.end(), "init:boot|state:first state") != l.end();
      },
      seconds(30)))
      << logs();
  // And answers its sender from there.
  ASSERT_TRUE(WaitFor([&] { return Post(in2, "cast:next:raw:again").status == 200; }));
  EXPECT_TRUE(logged("got:again")) << logs();
}

}  // namespace
}  // namespace aether::testing
