// Several aether-control replicas on one etcd cluster (docs/operations.md,
// "Several replicas"): one leader elected with a lease does the singleton
// work; a leader killed, paused past its lease or stopped hands it over;
// a paused one that wakes up does not act. Real etcd members and real
// aether-control processes on 127.0.0.1, stopped by PID.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <thread>

#include "cluster.h"
#include "common/base64.h"
#include "common/json_util.h"
#include "common/sha256.h"
#include "common/testing/http_fetch.h"
#include "etcd_cluster.h"
#include "etcd_replica.h"
#include "process.h"

namespace aether::testing {
namespace {

using namespace replicas;  // NOLINT(google-build-using-namespace): the shared fixtures

// A node admitted at `at`: its credential.
std::string Register(Replica& at, const std::string& node_id) {
  HttpResponse r = at.Call("POST", "/register",
                           R"({"node_id":")" + node_id + R"(","url":"http://127.0.0.1:1"})", kJoin);
  EXPECT_EQ(r.status, 200) << r.body;
  return Str(Body(r.body), "credential");
}

int Beat(Replica& at, const std::string& node_id, const std::string& credential) {
  return at
      .Call("POST", "/node/heartbeat", R"({"node_id":")" + node_id + "\"}", credential,
            {{"X-Aether-Node", node_id}})
      .status;
}

std::string NodeState(Replica& at, const std::string& node_id) {
  json::object o = Body(at.Call("GET", "/api/nodes").body);
  const json::value* nodes = o.if_contains("nodes");
  if (nodes == nullptr || !nodes->is_array()) return "";
  for (const json::value& n : nodes->as_array()) {
    if (n.is_object() && Str(n.as_object(), "node_id") == node_id) {
      return Str(n.as_object(), "state");
    }
  }
  return "";
}

size_t NodeDownEvents(Replica& at, const std::string& node_id) {
  json::object o = Body(at.Call("GET", "/api/events?type=node_down&limit=1000").body);
  const json::value* events = o.if_contains("events");
  size_t n = 0;
  if (events == nullptr || !events->is_array()) return 0;
  for (const json::value& e : events->as_array()) {
    const json::value* data = e.is_object() ? e.as_object().if_contains("data") : nullptr;
    n += data != nullptr && data->is_object() && Str(data->as_object(), "node_id") == node_id;
  }
  return n;
}

TEST(Replicas, OneLeaderAndAKilledLeaderIsReplacedWhoStillSweepsNodes) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  Replica a(*etcd, "replica-a", "3s"), b(*etcd, "replica-b", "3s");
  ASSERT_TRUE(a.ok() && b.ok());
  int first = OneLeader({&a, &b});
  ASSERT_GE(first, 0) << "no single leader";
  Replica& leader = first == 0 ? a : b;
  Replica& follower = first == 0 ? b : a;
  // The metric says the same as /health.
  EXPECT_NE(leader.Call("GET", "/metrics", {}, "").body.find("\naether_control_leader 1"),
            std::string::npos);
  EXPECT_NE(follower.Call("GET", "/metrics", {}, "").body.find("\naether_control_leader 0"),
            std::string::npos);
  json::object health = Body(follower.Call("GET", "/health", {}, "").body);
  EXPECT_EQ(Str(health, "replica_id"), follower.id());
  ASSERT_TRUE(health["store"].is_object());
  EXPECT_EQ(Str(health["store"].as_object(), "backend"), "etcd");
  // Followers serve the API: a deploy-free write and a read.
  std::string cred = Register(follower, "n1");
  ASSERT_FALSE(cred.empty());
  EXPECT_EQ(Beat(follower, "n1", cred), 200);

  leader.Kill9();
  auto killed = Clock::now();
  ASSERT_TRUE(WaitFor([&] { return follower.Role() == "leader"; }, seconds(6)))
      << "no takeover within 2 x lease_ttl";
  EXPECT_LE(Clock::now() - killed, seconds(6));
  // n1 stops beating: the new leader marks it down (node_timeout 3s).
  EXPECT_TRUE(WaitFor([&] { return NodeState(follower, "n1") == "down"; }, seconds(20)));
  EXPECT_TRUE(WaitFor([&] { return NodeDownEvents(follower, "n1") == 1; }, seconds(10)));
}

// n1 beats at `at` every 200 ms until `until`.
void BeatUntil(Replica& at, const std::string& cred, Clock::time_point until) {
  while (Clock::now() < until) {
    EXPECT_EQ(Beat(at, "n1", cred), 200);
    std::this_thread::sleep_for(milliseconds(200));
  }
}

// a leads and b follows; n1 registers and beats at a. Then a is frozen
// (SIGSTOP), `meanwhile` runs, b takes over and hears n1 (as from an engine
// that moved to it) until a's memory of n1 is past node_timeout (3s):
// awake and still believing it leads, a would mark n1 down at its next
// sweep. Leaves a frozen; `cred` is n1's credential.
void FreezeTheLeader(Replica& a, Replica& b, std::string& cred,
                     const std::function<void()>& meanwhile) {
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(OneLeader({&a, &b}), 0);
  cred = Register(a, "n1");
  ASSERT_FALSE(cred.empty());
  ASSERT_EQ(Beat(a, "n1", cred), 200);
  ASSERT_EQ(::kill(a.process().pid(), SIGSTOP), 0);
  auto stopped = Clock::now();
  meanwhile();
  ASSERT_TRUE(WaitFor([&] { return b.Role() == "leader"; }, seconds(20)));
  // b knows n1 once its first sweep of the term has loaded the stored nodes.
  ASSERT_TRUE(WaitFor([&] { return Beat(b, "n1", cred) == 200; }, seconds(10)));
  BeatUntil(b, cred, stopped + seconds(5));
}

TEST(Replicas, ALeaderPausedPastItsLeaseDoesNotActWhenItWakes) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  // a is started first so that it leads.
  Replica a(*etcd, "replica-a", "2s");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(WaitFor([&] { return a.Role() == "leader"; }, seconds(30)));
  Replica b(*etcd, "replica-b", "2s");
  std::string cred;
  // Its lease lapses while it is frozen.
  ASSERT_NO_FATAL_FAILURE(FreezeTheLeader(a, b, cred, [] {}));
  ASSERT_EQ(::kill(a.process().pid(), SIGCONT), 0);
  // Several of a's sweeps (every 750ms) while n1 keeps beating at b.
  BeatUntil(b, cred, Clock::now() + seconds(4));
  EXPECT_TRUE(WaitFor([&] { return a.Role() == "follower"; }, seconds(10)));
  EXPECT_EQ(b.Role(), "leader");
  EXPECT_EQ(NodeDownEvents(b, "n1"), 0u) << "the paused leader acted after it woke up";
  EXPECT_EQ(NodeState(b, "n1"), "up");
}

// The fence alone: a's lease is long (its own clock says it still leads
// when it wakes), but its key was taken while it was frozen — as when etcd
// let the lease go. Its first write as leader must fail the compare.
TEST(Replicas, ALeaderWhoseKeyWasTakenWhileFrozenIsFencedOut) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  Replica a(*etcd, "replica-a", "60s");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(WaitFor([&] { return a.Role() == "leader"; }, seconds(30)));
  Replica b(*etcd, "replica-b", "2s");
  std::string cred;
  ASSERT_NO_FATAL_FAILURE(FreezeTheLeader(a, b, cred, [&] {
    auto gone = HttpFetch("POST", etcd->endpoint(0) + "/v3/kv/deleterange",
                          R"({"key":")" + Base64Encode("/ha/meta/leader") + "\"}", {}, seconds(10));
    ASSERT_TRUE(gone.ok() && gone->status == 200);
  }));
  ASSERT_EQ(::kill(a.process().pid(), SIGCONT), 0);
  // a's next sweep tries to mark n1 down as leader: the fence refuses it,
  // and a becomes a follower.
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_EQ(Beat(b, "n1", cred), 200);
        return a.Role() == "follower";
      },
      seconds(20)));
  EXPECT_NE(a.process().Log().find("lost the lead"), std::string::npos) << a.process().Log();
  EXPECT_EQ(b.Role(), "leader");
  EXPECT_EQ(NodeDownEvents(b, "n1"), 0u) << "the old leader's write went through";
}

TEST(Replicas, ACleanStopHandsTheLeadOverAtOnce) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  // A lease of a minute: a takeover within the wait below is the resign's.
  LeaderThenFollower pair(*etcd, "60s");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair.a.process().Stop(), 0);
  EXPECT_TRUE(WaitFor([&] { return pair.b.Role() == "leader"; }, seconds(20)));
}

// Module bytes are kept by the replicas, not etcd: a deploy is acknowledged
// once a second replica holds them, every replica serves them to engines
// (fetching from a peer what it lacks, checked against the digest), and
// they outlive the replica that took the deploy.
TEST(Replicas, ADeployIsOnTwoReplicasWhenAcknowledgedAndOutlivesTheOneThatTookIt) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  Replica a(*etcd, "replica-a", "3s"), b(*etcd, "replica-b", "3s"), c(*etcd, "replica-c", "3s");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_GE(OneLeader({&a, &b, &c}), 0);
  ASSERT_TRUE(WaitFor([&] { return ListedReplicas(a) == 3; }, seconds(20)));

  const std::string wasm = GuestBytes("hello");
  const std::string sha = Sha256Hex(wasm);
  HttpResponse deployed = DeployAt(a, "hello", wasm);
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  EXPECT_GE(Holders({&a, &b, &c}, sha), 2u) << "acknowledged before a second replica had it";
  for (Replica* r : {&a, &b, &c}) {
    HttpResponse got = r->Call("GET", "/node/artifacts/" + sha);
    EXPECT_EQ(got.status, 200) << r->id();
    EXPECT_TRUE(got.body == wasm) << r->id();
  }
  EXPECT_TRUE(WaitFor([&] { return Holders({&a, &b, &c}, sha) == 3; }, seconds(15)));

  // aether cluster status's source: every replica, who leads, what each holds.
  json::object cluster = Body(b.Call("GET", "/api/cluster").body);
  EXPECT_EQ(Str(cluster, "backend"), "etcd");
  EXPECT_FALSE(Str(cluster, "leader").empty()) << ToJson(cluster);
  ASSERT_TRUE(cluster["replicas"].is_array());
  for (const json::value& line : cluster["replicas"].as_array()) {
    const json::object& r = line.as_object();
    EXPECT_TRUE(r.at("reachable").as_bool()) << ToJson(r);
    EXPECT_EQ(r.at("lag").as_int64() >= 0, true) << ToJson(r);
    EXPECT_GE(r.at("artifacts").as_object().at("held").as_int64(), 1) << ToJson(r);
  }

  CliOptions o;
  o.env = {{"AETHER_CONTROL", b.process().url()}, {"AETHER_TOKEN", kAdmin}};
  CliRun status = RunCli({"cluster", "status"}, o);
  EXPECT_EQ(status.exit_code, 0) << Show(status);
  for (const char* want : {"REPLICA", "replica-a", "replica-b *", "replica-c", "leader"}) {
    EXPECT_NE(status.out.find(want), std::string::npos) << want << "\n" << Show(status);
  }

  a.Kill9();
  for (Replica* r : {&b, &c}) {
    HttpResponse got = r->Call("GET", "/node/artifacts/" + sha);
    EXPECT_EQ(got.status, 200) << r->id();
    EXPECT_TRUE(got.body == wasm) << r->id();
  }
  // a is still listed (its lease has not lapsed) but refuses connections:
  // not running, so a deploy right now needs only the live copies.
  const std::string echo = GuestBytes("echo");
  HttpResponse second = DeployAt(b, "echo", echo);
  EXPECT_EQ(second.status, 201) << second.body;
  EXPECT_TRUE(std::filesystem::exists(c.ArtifactPath(Sha256Hex(echo))));

  // A tampered copy is not passed on: d, new, fetches from b first (ids in
  // order), finds bytes that do not match the digest and takes c's.
  WriteFile(b.ArtifactPath(sha), std::string(wasm.size(), 'x'));
  Replica d(*etcd, "replica-d", "3s");
  ASSERT_TRUE(d.ok());
  HttpResponse got = d.Call("GET", "/node/artifacts/" + sha);
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == wasm) << "a copy that does not match its digest was served";
  EXPECT_NE(d.process().Log().find("do not match the digest"), std::string::npos)
      << d.process().Log();

  // The peers' routes: the admin token, a digest that is a digest, bytes
  // that are what the digest names.
  const std::string other(64, 'a');
  EXPECT_EQ(c.Call("PUT", "/internal/artifacts/" + other, wasm).status, 400);
  EXPECT_EQ(c.Call("PUT", "/internal/artifacts/" + sha, wasm, "").status, 401);
  EXPECT_EQ(c.Call("GET", "/internal/artifacts/" + sha, {}, kJoin).status, 403);
  EXPECT_EQ(c.Call("GET", "/internal/artifacts/../data/aether.db").status, 400);
  EXPECT_EQ(c.Call("GET", "/internal/artifacts/" + other).status, 404);
  EXPECT_EQ(c.Call("GET", "/node/artifacts/" + other).status, 404);  // on no replica
  EXPECT_FALSE(std::filesystem::exists(c.ArtifactPath(other)));
}

// A deploy whose module no other live replica took is not made: b is
// listed, but what it advertises answers with errors (etcd's gateway).
TEST(Replicas, ADeployNoOtherReplicaTookIsRefused) {
  auto etcd = Etcd3();
  ASSERT_NE(etcd, nullptr);
  Replica a(*etcd, "replica-a", "3s");
  Replica b(*etcd, "replica-b", "3s", "advertise_url = \"" + etcd->endpoint(0) + "\"");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(WaitFor([&] { return ListedReplicas(a) == 2; }, seconds(20)));
  HttpResponse refused = DeployAt(a, "hello", GuestBytes("hello"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("could not be copied to another replica"), std::string::npos)
      << refused.body;
  EXPECT_EQ(a.Call("GET", "/api/functions/hello").status, 404) << "the rows were written";
  // The other way round works: a is where it says it is.
  EXPECT_EQ(DeployAt(b, "hello", GuestBytes("hello")).status, 201);
}

TEST(Replicas, BadClusterConfigIsAOneLineError) {
  struct Case {
    std::string cluster, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"lease_ttl = \"0s\"", "[cluster] lease_ttl must be positive"},
           {"lease_ttl = \"1h\"", "[cluster] lease_ttl must be whole seconds from 2s to 5m"},
           {"lease_ttl = \"2500ms\"", "[cluster] lease_ttl must be whole seconds"},
           {"replica_id = \"bad id\"", "[cluster] replica_id \"bad id\" must be"},
           {"replicas = 3", "unknown key [cluster] replicas"},
           {"advertise_url = \"ftp://x:1\"", "[cluster] advertise_url: "},
       }) {
    TempDir dir;
    WriteFile(dir / "c.toml", "[database]\npath = \"" + dir / "data/aether.db" + "\"\n[cluster]\n" +
                                  c.cluster + "\n");
    ExitResult r = RunToExit(kControl, {"--config", dir / "c.toml", "--port", "0"});
    EXPECT_NE(r.exit_code, 0) << c.cluster;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.cluster << ": " << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

}  // namespace
}  // namespace aether::testing
