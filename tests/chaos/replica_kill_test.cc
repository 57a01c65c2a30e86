// A workflow under steady load while the control plane's leader replica is
// killed (-9): the dataplane does not go through the control plane, so
// nothing may notice. Two aether-control replicas on one etcd member, two
// aether-engines that know both, all on 127.0.0.1:
//
//   client -> http-ingress (cast) -> fb (forward) -> file-log
//             edge-a                  edge-b          edge-a
//
// Invariants asserted at the end:
//   * every event the ingress answered 202 for reached the file-log, none
//     twice, none the ingress did not accept;
//   * the ingress refused nothing and answered nothing else;
//   * /execute of a ready function on edge-a never failed;
//   * no instance moved (the new leader found both nodes up) and the
//     workflow stayed running.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster.h"
#include "etcd_cluster.h"
#include "etcd_replica.h"
#include "load.h"

namespace aether::testing {
namespace {

using namespace replicas;  // NOLINT(google-build-using-namespace): the shared fixtures

const std::string kRelaySpec = R"({"name": "relay",
  "functions": [
    {"name": "fb", "function": "forward", "output_mapping": {"out": "log"},
     "annotations": {"node_id_match_any": ["edge-b"]}}],
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "mode": "cast"},
     "output_mapping": {"new_request": "fb"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "events.log"},
     "annotations": {"node_id_match_any": ["edge-a"]}}]})";

json::object Workflow(Replica& at) { return Body(at.Call("GET", "/api/workflows/relay").body); }

// instance id -> node id
std::map<std::string, std::string> Where(Replica& at) {
  std::map<std::string, std::string> out;
  json::object w = Workflow(at);
  const json::value* instances = w.if_contains("instances");
  if (instances == nullptr || !instances->is_array()) return out;
  for (const json::value& i : instances->as_array()) {
    if (i.is_object()) out[Str(i.as_object(), "id")] = Str(i.as_object(), "node_id");
  }
  return out;
}

std::string IngressOf(Replica& at) {
  json::object w = Workflow(at);
  const json::value* ingress = w.if_contains("ingress");
  if (ingress == nullptr || !ingress->is_array() || ingress->as_array().empty()) return "";
  const json::value& first = ingress->as_array()[0];
  return first.is_object() ? Str(first.as_object(), "url") : "";
}

TEST(ReplicaKill, AWorkflowUnderLoadDoesNotNoticeTheLeaderReplicasDeath) {
  auto started = EtcdCluster::Start(1);
  ASSERT_TRUE(started.ok()) << started.status().message();
  std::unique_ptr<EtcdCluster> etcd = std::move(started).value();
  LeaderThenFollower pair(*etcd, "2s");
  ASSERT_TRUE(pair.ok());
  Replica& a = pair.a;
  Replica& b = pair.b;
  ASSERT_TRUE(WaitFor([&] { return ListedReplicas(a) == 2; }, seconds(20)));
  std::vector<std::string> urls{a.process().url(), b.process().url()};
  FailoverEngine edge_a(urls, kJoin, "edge-a"), edge_b(urls, kJoin, "edge-b");
  ASSERT_TRUE(edge_a.ok() && edge_b.ok());
  ASSERT_EQ(DeployAt(a, "forward", GuestBytes("wf_forward")).status, 201);
  ASSERT_EQ(DeployAt(a, "hello", GuestBytes("hello")).status, 201);
  ASSERT_EQ(a.Call("POST", "/api/workflows", kRelaySpec).status, 201);
  ASSERT_TRUE(WaitFor([&] { return Str(Workflow(a), "state") == "running"; }, seconds(20)))
      << json::serialize(Workflow(a)) << edge_a.Log() << edge_b.Log();
  ASSERT_TRUE(edge_a.Serves("hello")) << edge_a.Log();
  const std::map<std::string, std::string> placed = Where(a);
  const std::string log_path = edge_a.data_dir() + "/workflows/relay/events.log";

  IngressLoad load(IngressOf(a));
  ExecuteLoad execute({edge_a.url()}, "hello");
  ASSERT_TRUE(WaitFor([&] { return LoggedEvents(log_path).size() >= 200; }))
      << edge_a.Log() << edge_b.Log();
  a.Kill9();
  int64_t killed_at = load.last();
  ASSERT_TRUE(WaitFor([&] { return b.Role() == "leader"; }, seconds(10)));
  // Load goes on through the new leader's first sweeps and reconciles.
  ASSERT_TRUE(WaitFor([&] { return load.last() > killed_at + 2000; }, seconds(20)));
  load.Stop();
  execute.Stop();

  std::set<int64_t> accepted = load.Accepted();
  ASSERT_FALSE(accepted.empty());
  EXPECT_EQ(load.refused(), 0) << load.FirstRefusal();
  EXPECT_TRUE(load.Other().empty()) << load.Other().size() << " events had another answer";
  auto missing = [&] {
    std::vector<int64_t> logged = LoggedEvents(log_path);
    std::set<int64_t> seen(logged.begin(), logged.end());
    size_t n = 0;
    for (int64_t e : accepted) n += seen.contains(e) ? 0 : 1;
    return n;
  };
  EXPECT_TRUE(WaitFor([&] { return missing() == 0; }, seconds(10)))
      << missing() << " of " << accepted.size() << " accepted events never reached the log";
  std::vector<int64_t> logged = LoggedEvents(log_path);
  std::set<int64_t> unique(logged.begin(), logged.end());
  EXPECT_EQ(logged.size(), unique.size()) << logged.size() - unique.size() << " logged twice";
  for (int64_t n : unique) EXPECT_TRUE(accepted.contains(n)) << "ev-" << n << " was never accepted";
  std::vector<std::string> failures = execute.Failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " /execute calls failed, first: "
                                << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(Where(b), placed) << "an instance moved";
  EXPECT_EQ(Str(Workflow(b), "state"), "running");
  RecordProperty("accepted", static_cast<int>(accepted.size()));
}

}  // namespace
}  // namespace aether::testing
