// What a workflow keeps on NATS lives as long as the workflow (issue #11):
// the real aether-control, one aether-engine and a nats-server with
// JetStream, on 127.0.0.1. Deleting a workflow deletes its event stream
// and its durable kv buckets (asked of the server); a workflow created
// again under the same name gets none of the old one's events and an
// empty kv.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <memory>

#include "cluster.h"
#include "nats_server.h"
#include "workflows.h"

namespace aether::testing {
namespace {

// The stream names on the server (a kv bucket's is "KV_<bucket>"), through
// a connection of the test's own.
std::vector<std::string> StreamNames(const NatsServer& nats) {
  std::vector<std::string> out;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsStreamNamesList* list = nullptr;
  if (natsConnection_ConnectTo(&nc, nats.url().c_str()) == NATS_OK &&
      natsConnection_JetStream(&js, nc, nullptr) == NATS_OK &&
      js_StreamNames(&list, js, nullptr, nullptr) == NATS_OK) {
    for (int i = 0; i < list->Count; ++i) out.emplace_back(list->List[i]);
  }
  jsStreamNamesList_Destroy(list);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x + " ";
  return s;
}

// The names of `workflow`'s streams and buckets among `names`.
std::vector<std::string> Of(const std::vector<std::string>& names, const std::string& workflow) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    bool stream = n.rfind("aether_wf_" + workflow, 0) == 0;
    bool bucket =
        n.rfind("KV_aether_kv_" + std::to_string(workflow.size()) + "_" + workflow + "_", 0) == 0;
    if (stream || bucket) out.push_back(n);
  }
  return out;
}

std::string IngressUrlOf(Workflows& wf, const std::string& id, const std::string& component) {
  json::object w = wf.Show(id);
  if (!w.contains("ingress")) return "";
  for (const json::value& i : w["ingress"].as_array()) {
    if (Str(i.at("component")) == component) return Str(i.at("url"));
  }
  return "";
}

class WorkflowLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(NatsServerBinary().empty()) << "nats-server is not installed (make deps)";
    NatsServerOptions options;
    options.store_dir = nats_dir_.path();
    auto started = NatsServer::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status().message();
    nats_ = std::move(started).value();
    engine_ = std::make_unique<Engine>(control_, "edge-a", "zone = \"a\"",
                                       "[nats]\nurls = [\"" + nats_->url() + "\"]\n");
  }
  std::string Logs() const { return engine_->Logs() + nats_->Log(); }
  // DELETE /api/workflows/<id>, then the server has nothing of it left.
  void DeleteAndExpectNothingLeft(const std::string& id) {
    HttpResponse del = control_.Call("DELETE", "/api/workflows/" + id);
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_TRUE(WaitFor([&] { return Of(StreamNames(*nats_), id).empty(); }, seconds(20)))
        << Joined(StreamNames(*nats_)) << Logs();
  }
  bool Running(const std::string& id, const std::string& instance) {
    json::object i = wf_.Instance(id, instance);
    return i.contains("state") && Str(i.at("state")) == "running";
  }

  TempDir nats_dir_;
  std::unique_ptr<NatsServer> nats_;
  Control control_;
  std::unique_ptr<Engine> engine_;
  Workflows wf_{control_};
};

// A durable kv behind a call-mode ingress.
const std::string kKvSpec = R"({"name": "kvwf",
  "resources": [
    {"name": "q", "class_type": "http-ingress", "configurations": {"path": "q", "mode": "call"},
     "output_mapping": {"new_request": "store"}},
    {"name": "store", "class_type": "kv", "configurations": {"storage": "durable"}}]})";

TEST_F(WorkflowLifetimeTest, DeletingAWorkflowDeletesItsKvBucketAndANewOneStartsEmpty) {
  ASSERT_EQ(wf_.Apply(kKvSpec), "kvwf");
  ASSERT_TRUE(wf_.WaitState("kvwf", "running")) << json::serialize(wf_.Show("kvwf")) << Logs();
  std::string url = wf_.IngressUrl("kvwf");
  HttpResponse r = Post(url, "SET greeting hello");
  ASSERT_EQ(r.status, 200) << r.body << Logs();
  std::vector<std::string> before = Of(StreamNames(*nats_), "kvwf");
  ASSERT_EQ(before.size(), 1u) << Joined(StreamNames(*nats_));

  DeleteAndExpectNothingLeft("kvwf");

  ASSERT_EQ(wf_.Apply(kKvSpec), "kvwf");
  ASSERT_TRUE(wf_.WaitState("kvwf", "running")) << json::serialize(wf_.Show("kvwf")) << Logs();
  url = wf_.IngressUrl("kvwf");
  ASSERT_TRUE(WaitFor([&] { return Post(url, "KEYS").status == 200; }, seconds(20))) << Logs();
  EXPECT_EQ(Post(url, "KEYS").body, "");
  EXPECT_NE(Post(url, "GET greeting").status, 200);
  std::vector<std::string> after = Of(StreamNames(*nats_), "kvwf");
  ASSERT_EQ(after.size(), 1u) << Joined(StreamNames(*nats_));
  EXPECT_NE(after, before);  // another incarnation, another bucket
}

// At least once: events cast into the log wait there while their component
// has no instance (placed on a node that does not exist).
const std::string kWaitingSpec = R"({"name": "again", "delivery": "at-least-once",
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "mode": "cast"},
     "output_mapping": {"new_request": "store"}},
    {"name": "store", "class_type": "kv", "annotations": {"node_id_match_any": ["nowhere"]}}]})";
// The same name again, now with the kv placed and readable.
const std::string kServedSpec = R"({"name": "again", "delivery": "at-least-once",
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "mode": "cast"},
     "output_mapping": {"new_request": "store"}},
    {"name": "q", "class_type": "http-ingress", "configurations": {"path": "q", "mode": "call"},
     "output_mapping": {"new_request": "store"}},
    {"name": "store", "class_type": "kv"}]})";

TEST_F(WorkflowLifetimeTest, AWorkflowCreatedAgainGetsNoneOfTheOldEvents) {
  ASSERT_EQ(wf_.Apply(kWaitingSpec), "again");
  ASSERT_TRUE(WaitFor([&] { return Running("again", "again/in/0"); }, seconds(15)))
      << json::serialize(wf_.Show("again")) << Logs();
  std::string in = IngressUrlOf(wf_, "again", "in");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = Post(in, "SET old" + std::to_string(i) + " 1");
    ASSERT_EQ(r.status, 202) << r.body << Logs();
  }
  ASSERT_EQ(Of(StreamNames(*nats_), "again").size(), 1u) << Joined(StreamNames(*nats_));

  DeleteAndExpectNothingLeft("again");

  ASSERT_EQ(wf_.Apply(kServedSpec), "again");
  ASSERT_TRUE(wf_.WaitState("again", "running")) << json::serialize(wf_.Show("again")) << Logs();
  in = IngressUrlOf(wf_, "again", "in");
  std::string q = IngressUrlOf(wf_, "again", "q");
  HttpResponse r = Post(in, "SET fresh 1");
  ASSERT_EQ(r.status, 202) << r.body << Logs();
  // The new event arrives; none of the old workflow's do.
  EXPECT_TRUE(WaitFor([&] { return Post(q, "KEYS").body == "fresh"; }, seconds(20)))
      << Post(q, "KEYS").body << Logs();
  EXPECT_EQ(Post(q, "KEYS").body, "fresh");
}

}  // namespace
}  // namespace aether::testing
