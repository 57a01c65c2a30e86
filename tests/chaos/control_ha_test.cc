// The control plane on a real 3-member etcd cluster with 3 replicas, under
// the faults an HA control plane is for (issue #12): the leader replica
// killed in the middle of a stream of deploys, the etcd leader member
// killed, etcd quorum lost and regained. The invariants are checked at the
// end: every acknowledged deploy is there with its module on the survivors,
// writes come back without restarting anything, engines never stop
// serving. Every process on 127.0.0.1, stopped by PID.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cluster.h"
#include "common/sha256.h"
#include "etcd_cluster.h"
#include "etcd_replica.h"
#include "process.h"

namespace aether::testing {
namespace {

using namespace replicas;  // NOLINT(google-build-using-namespace): the shared fixtures

// `aether deploy NAME hello.wasm` with AETHER_CONTROL listing `urls` in
// that order: the CLI fails over between them as a user's would.
CliRun CliDeploy(const std::string& urls, const std::string& name) {
  CliOptions o;
  o.env = {{"AETHER_CONTROL", urls}, {"AETHER_TOKEN", kAdmin}};
  return RunCli({"deploy", name, std::string(AETHER_GUEST_DIR) + "/hello.wasm"}, o);
}

std::string Urls(const std::vector<Replica*>& replicas) {
  std::string out;
  for (Replica* r : replicas) out += (out.empty() ? "" : ",") + r->process().url();
  return out;
}

// Every acknowledged deploy is a function on each of `survivors`, and each
// of them serves its module.
void ExpectDeploysKept(const std::vector<std::string>& acknowledged,
                       const std::vector<Replica*>& survivors) {
  const std::string sha = Sha256Hex(GuestBytes("hello"));
  for (Replica* r : survivors) {
    for (const std::string& name : acknowledged) {
      EXPECT_EQ(r->Call("GET", "/api/functions/" + name).status, 200) << name << " on " << r->id();
    }
    EXPECT_EQ(r->Call("GET", "/node/artifacts/" + sha).status, 200) << r->id();
  }
}

// Index of the member etcd says leads, or -1.
int EtcdLeader(const EtcdCluster& etcd) {
  for (size_t i = 0; i < etcd.size(); ++i) {
    auto r = HttpFetch("POST", etcd.endpoint(i) + "/v3/maintenance/status", "{}", {}, seconds(5));
    if (!r.ok() || r->status != 200) continue;
    json::object o = Body(r->body);
    const json::value* header = o.if_contains("header");
    if (header == nullptr || !header->is_object()) continue;
    if (Str(header->as_object(), "member_id") == Str(o, "leader")) return static_cast<int>(i);
  }
  return -1;
}

TEST(ControlHa, DeploysFromAFailingOverClientSurviveTheLeaderReplicasDeath) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  Replica a(*etcd, "replica-a", "2s"), b(*etcd, "replica-b", "2s"), c(*etcd, "replica-c", "2s");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::vector<Replica*> all{&a, &b, &c};
  int first = OneLeader(all);
  ASSERT_GE(first, 0);
  ASSERT_TRUE(WaitFor([&] { return ListedReplicas(a) == 3; }, seconds(20)));
  Replica& leader = *all[static_cast<size_t>(first)];
  std::vector<Replica*> survivors;
  for (Replica* r : all) {
    if (r != &leader) survivors.push_back(r);
  }
  // The client talks to the leader first, then the others; so does an
  // engine that knows all three.
  const std::string urls = leader.process().url() + "," + Urls(survivors);
  FailoverEngine engine(
      {leader.process().url(), survivors[0]->process().url(), survivors[1]->process().url()},
      kJoin);
  ASSERT_TRUE(engine.ok());

  std::vector<std::string> acknowledged;
  size_t failed = 0;
  Clock::time_point killed{};
  Clock::time_point first_after_kill{};
  // Watches the survivors from the kill on: when one of them leads.
  std::atomic<bool> watching{true};
  std::atomic<int64_t> took_over_ms{-1};
  std::thread watcher;
  for (int i = 0; i < 24; ++i) {
    if (i == 8) {
      leader.Kill9();
      killed = Clock::now();
      watcher = std::thread([&] {
        while (watching && took_over_ms < 0) {
          for (Replica* r : survivors) {
            if (r->Role() == "leader") {
              took_over_ms =
                  std::chrono::duration_cast<milliseconds>(Clock::now() - killed).count();
            }
          }
          std::this_thread::sleep_for(milliseconds(50));
        }
      });
    }
    std::string name = "fn-" + std::to_string(i);
    CliRun r = CliDeploy(urls, name);
    if (r.exit_code == 0) {
      acknowledged.push_back(name);
      if (i >= 8 && first_after_kill == Clock::time_point{}) first_after_kill = Clock::now();
    } else {
      // A refusal is a clear one-line error, never a hang or a crash.
      ++failed;
      EXPECT_EQ(r.exit_code, 1) << Show(r);
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << Show(r);
    }
  }
  RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
  EXPECT_GE(acknowledged.size(), 16u) << failed << " deploys failed";
  ASSERT_NE(first_after_kill, Clock::time_point{}) << "no deploy went through after the kill";
  // The client moved on at once: the survivors took deploys while the
  // dead leader's lease was still running.
  EXPECT_LE(first_after_kill - killed, seconds(4));

  // A new leader within 2 x lease_ttl (2 s) of the kill.
  WaitFor([&] { return took_over_ms >= 0; }, seconds(10));
  watching = false;
  watcher.join();
  RecordProperty("took_over_ms", static_cast<int>(took_over_ms.load()));
  EXPECT_GE(took_over_ms, 0) << "no new leader";
  EXPECT_LE(took_over_ms, 4000) << "no new leader within 2 x lease_ttl";
  EXPECT_GE(OneLeader(survivors), 0);
  ExpectDeploysKept(acknowledged, survivors);
  // The engine moved on from the dead replica and got the deploys made
  // after it died.
  EXPECT_TRUE(engine.Serves(acknowledged.back())) << engine.Log();
  // The list of replicas drops the dead one once its lease lapsed.
  EXPECT_TRUE(WaitFor([&] { return ListedReplicas(*survivors[0]) == 2; }, seconds(10)));
}

// instance id -> node id of workflow `id`, as `at` shows it.
std::map<std::string, std::string> Placement(Replica& at, const std::string& id) {
  std::map<std::string, std::string> out;
  json::object w = Body(at.Call("GET", "/api/workflows/" + id).body);
  const json::value* instances = w.if_contains("instances");
  if (instances == nullptr || !instances->is_array()) return out;
  for (const json::value& i : instances->as_array()) {
    if (i.is_object()) out[Str(i.as_object(), "id")] = Str(i.as_object(), "node_id");
  }
  return out;
}

// The leader replica and the engine running a workflow's instance die
// together: the new leader marks the node down and places the instance on
// the other engine.
TEST(ControlHa, TheNewLeaderHealsAWorkflowWhoseNodeDiedWithTheOldOne) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  LeaderThenFollower pair(*etcd, "2s");
  ASSERT_TRUE(pair.ok());
  Replica& a = pair.a;
  Replica& b = pair.b;
  std::vector<std::string> urls{a.process().url(), b.process().url()};
  FailoverEngine one(urls, kJoin, "edge-1"), two(urls, kJoin, "edge-2");
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_EQ(DeployAt(a, "echo-wf", GuestBytes("wf_echo")).status, 201);
  HttpResponse applied = a.Call("POST", "/api/workflows", R"({"name": "heal",
      "functions": [{"name": "echo", "function": "echo-wf",
                     "annotations": {"node_id_match_any": ["edge-1", "edge-2"]}}]})");
  ASSERT_EQ(applied.status, 201) << applied.body;
  std::string on;
  ASSERT_TRUE(WaitFor(
      [&] {
        on = Placement(a, "heal")["heal/echo/0"];
        return !on.empty();
      },
      seconds(20)))
      << a.Call("GET", "/api/workflows/heal").body;
  FailoverEngine& victim = on == "edge-1" ? one : two;
  const std::string other = on == "edge-1" ? "edge-2" : "edge-1";

  a.Kill9();
  victim.Kill9();
  // node_timeout 3 s after its last beat, a lease of 2 s for b to lead.
  EXPECT_TRUE(WaitFor([&] { return Placement(b, "heal")["heal/echo/0"] == other; }, seconds(30)))
      << b.Call("GET", "/api/workflows/heal").body;
  EXPECT_EQ(b.Role(), "leader");
}

TEST(ControlHa, WritesComeBackSoonAfterTheEtcdLeaderMemberIsKilled) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  Replica a(*etcd, "replica-a", "3s"), b(*etcd, "replica-b", "3s");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_GE(OneLeader({&a, &b}), 0);
  const std::string urls = Urls({&a, &b});
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 3; ++i) {
    std::string name = "before-" + std::to_string(i);
    CliRun r = CliDeploy(urls, name);
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    acknowledged.push_back(name);
  }
  int member = EtcdLeader(*etcd);
  ASSERT_GE(member, 0) << "etcd names no leader";
  etcd->Kill(static_cast<size_t>(member));
  Clock::time_point killed = Clock::now();
  // Deploys again within seconds (etcd elects a new leader in ~1 s; the
  // replicas' clients move off the dead member at once).
  bool back = false;
  for (int i = 0; !back && Clock::now() - killed < seconds(15); ++i) {
    std::string name = "after-" + std::to_string(i);
    CliRun r = CliDeploy(urls, name);
    if (r.exit_code == 0) {
      acknowledged.push_back(name);
      back = true;
    }
  }
  EXPECT_TRUE(back) << "no deploy within 15 s of the etcd leader's death";
  EXPECT_LE(Clock::now() - killed, seconds(15));
  ExpectDeploysKept(acknowledged, {&a, &b});
}

TEST(ControlHa, WithoutQuorumWritesFailFastEnginesServeAndQuorumBackResumes) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  // A short store timeout: how fast a write without quorum is refused.
  Replica a(*etcd, "replica-a", "3s", "", "request_timeout = \"2s\"");
  Replica b(*etcd, "replica-b", "3s", "", "request_timeout = \"2s\"");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_GE(OneLeader({&a, &b}), 0);
  ASSERT_EQ(DeployAt(a, "hello", GuestBytes("hello")).status, 201);
  FailoverEngine engine({a.process().url(), b.process().url()}, kJoin);
  ASSERT_TRUE(engine.ok());
  ASSERT_TRUE(engine.Serves("hello")) << engine.Log();
  const int pid_a = a.process().pid(), pid_b = b.process().pid();

  etcd->Kill(1);
  etcd->Kill(2);
  Clock::time_point lost = Clock::now();
  // Writes: a clear 503 within a few request timeouts, never a hang.
  for (Replica* r : {&a, &b}) {
    Clock::time_point sent = Clock::now();
    HttpResponse d = DeployAt(*r, "during", GuestBytes("hello"));
    EXPECT_EQ(d.status, 503) << r->id() << ": " << d.body;
    EXPECT_NE(d.body.find("\"error\""), std::string::npos) << d.body;
    EXPECT_LE(Clock::now() - sent, seconds(8)) << r->id();
    EXPECT_EQ(r->Call("GET", "/health", {}, "").status, 503) << r->id();
  }
  // Engines serve from what they have: no /execute fails.
  int errors = 0;
  for (int i = 0; i < 100; ++i) errors += engine.Execute("hello") != 200;
  EXPECT_EQ(errors, 0);
  EXPECT_GE(Clock::now() - lost, seconds(1));

  ASSERT_TRUE(etcd->Restart(1).ok());
  ASSERT_TRUE(etcd->Restart(2).ok());
  // The same processes take writes again: no restart.
  EXPECT_TRUE(
      WaitFor([&] { return DeployAt(b, "after", GuestBytes("echo")).status == 201; }, seconds(30)));
  EXPECT_TRUE(engine.Serves("after")) << engine.Log();
  EXPECT_EQ(a.process().pid(), pid_a);
  EXPECT_EQ(b.process().pid(), pid_b);
  EXPECT_GE(OneLeader({&a, &b}), 0);
  EXPECT_EQ(engine.Execute("hello"), 200);
}

}  // namespace
}  // namespace aether::testing
