#include "workflow/poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <functional>

#include "common/json_util.h"
#include "common/testing/eventually.h"
#include "common/testing/fake_http_client.h"
#include "workflow/dataplane_testing.h"

namespace aether::workflow {
namespace {

using aether::testing::Eventually;
using std::chrono::milliseconds;
using testing::FakeHost;

const std::string kSha(64, 'b');

const std::string kSecret(64, 'c');

std::string Answer(int revision, const std::string& component) {
  return R"({"revision": )" + std::to_string(revision) + R"(, "instances": [
    {"id": "wf/)" +
         component + R"(/0", "workflow": "wf", "component": ")" + component +
         R"(", "kind": "function", "function": "f", "sha256": ")" + kSha + R"("}],
    "peers": [{"node_id": "n0", "token_sha256": ")" +
         kSha + R"(", "instances": ["wf/)" + component + R"(/0"]}]})";
}

// A control plane behind a FakeHttpClient: records requests, answers from
// a script.
struct FakeControl {
  FakeControl() {
    http.SetHandler([this](const HttpClientRequest& r) { return Handle(r); });
  }

  std::mutex mu;
  std::vector<std::string> paths;
  std::vector<std::string> status_bodies;
  std::vector<std::string> events;
  std::vector<std::string> auth;
  std::vector<std::string> nodes;  // X-Aether-Node
  int revision = 1;
  bool down = false;
  bool bad_json = false;
  bool refuse = false;  // 403 to everything (the node was removed)
  bool hold = false;    // long-polls park for their whole wait
  size_t polls = 0;     // GET /node/workflows requests, answered or not
  FakeHttpClient http;

  // Returns once the poller has sent `n` more polls. Its poll loop sends
  // one at a time, so the second of them proves the answer to the first
  // (under whatever the test set before calling) has been handled.
  bool AwaitPolls(size_t n) {
    size_t target;
    {
      std::lock_guard lock(mu);
      target = polls + n;
    }
    return Eventually([&] {
      std::lock_guard lock(mu);
      return polls >= target;
    });
  }

  Result<HttpResponse> Handle(const HttpClientRequest& req) {
    const std::string& method = req.method;
    const std::string& url = req.url;
    std::string_view body = req.body;
    std::unique_lock lock(mu);
    for (const auto& [k, v] : req.headers) {
      if (k == "Authorization") auth.push_back(v);
      if (k == "X-Aether-Node") nodes.push_back(v);
    }
    std::string u(url);
    std::string path = u.substr(u.find('/', 8));
    if (path.starts_with("/node/workflows?")) ++polls;
    if (down) return Unavailable("connection refused");
    paths.push_back(std::string(method) + " " + path);
    HttpResponse r;
    if (refuse) {
      r.status = 403;
      r.body = R"({"error":"node n was removed by an operator","code":"permission_denied"})";
    } else if (path.starts_with("/node/workflows?")) {
      // A long poll that parks briefly (or, with `hold`, for its whole
      // wait), as the real one would; a stop request cancels it.
      if (path.find("since=") != std::string::npos) {
        milliseconds wait =
            hold
                ? milliseconds(std::chrono::seconds(std::stoi(path.substr(path.find("wait=") + 5))))
                : milliseconds(20);
        lock.unlock();
        http.Park(req, wait);
        lock.lock();
      }
      r.body = bad_json ? "{\"revision\": 3, \"instances\": [{\"id\": \"../x\"}]}"
                        : Answer(revision, "c" + std::to_string(revision));
    } else if (path == "/node/workflows/status") {
      status_bodies.emplace_back(body);
      r.body = "{}";
    } else if (path == "/callback") {
      events.emplace_back(body);
      r.status = 201;
      r.body = "{}";
    } else {
      r.status = 404;
    }
    return r;
  }
};

PollerOptions Options(FakeControl& control, NodeIdentity* identity = nullptr) {
  static NodeIdentity joined("node 1", "", kSecret);
  PollerOptions o;
  static EndpointList urls({"http://control.test:9090"});
  o.endpoints = &urls;
  o.identity = identity != nullptr ? identity : &joined;
  o.backoff_initial = milliseconds(10);
  o.backoff_max = milliseconds(20);
  o.status_interval = milliseconds(50);
  o.http = &control.http;
  return o;
}

// Returns once the status thread has handled everything asked of it
// before the call. It handles requests in turn and sends an event before
// its status decision in the same turn, so the second of two events
// posted now proves the turn of the first is over. `events_seen`: events
// sent or dropped so far, `before` of them posted before the call.
void AwaitStatusTurns(Poller& poller, size_t before, const std::function<size_t()>& events_seen) {
  for (size_t want = before + 1; want <= before + 2; ++want) {
    poller.PostEvent(R"({"event":"marker","data":{}})");
    ASSERT_TRUE(Eventually([&] { return events_seen() >= want; }));
  }
}

TEST(PollerTest, AppliesEveryAnswerAndFollowsTheRevision) {
  FakeControl control;
  FakeHost host;
  Poller poller(Options(control));
  poller.Start(host);
  ASSERT_GE(host.WaitApplied(3, milliseconds(3000)), 3u);
  EXPECT_EQ(host.applied()[0][0].id, "wf/c1/0");
  EXPECT_EQ(poller.revision(), 1);
  {
    std::lock_guard lock(control.mu);
    control.revision = 2;
  }
  ASSERT_TRUE(Eventually([&] { return poller.revision() == 2; }));
  poller.Stop();
  EXPECT_EQ(host.applied().back()[0].id, "wf/c2/0");
  std::lock_guard lock(control.mu);
  EXPECT_EQ(control.paths[0], "GET /node/workflows?node_id=node%201");
  EXPECT_EQ(control.paths[1], "GET /node/workflows?node_id=node%201&since=1&wait=30");
  EXPECT_EQ(control.auth[0], "Bearer " + kSecret);
  EXPECT_EQ(control.nodes[0], "node 1");
}

TEST(PollerTest, HandsThePeersOverBeforeTheInstances) {
  FakeControl control;
  FakeHost host;
  PollerOptions o = Options(control);
  std::mutex mu;
  std::vector<std::vector<PeerGrant>> seen;
  size_t applied_when_first_seen = 99;
  o.peers = [&](std::vector<PeerGrant> peers) {
    std::lock_guard lock(mu);
    if (seen.empty()) applied_when_first_seen = host.applied().size();
    seen.push_back(std::move(peers));
  };
  Poller poller(std::move(o));
  poller.Start(host);
  ASSERT_GE(host.WaitApplied(1, milliseconds(3000)), 1u);
  poller.Stop();
  std::lock_guard lock(mu);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(applied_when_first_seen, 0u);
  ASSERT_EQ(seen[0].size(), 1u);
  EXPECT_EQ(seen[0][0].node_id, "n0");
  EXPECT_EQ(seen[0][0].token_sha256, kSha);
  EXPECT_EQ(seen[0][0].instances, (std::set<std::string, std::less<>>{"wf/c1/0"}));
}

TEST(PollerTest, ARefusedCredentialStopsTheInstancesUntilAccepted) {
  FakeControl control;
  FakeHost host;
  PollerOptions o = Options(control);
  std::atomic<size_t> last_peers{99};
  o.peers = [&](std::vector<PeerGrant> peers) { last_peers = peers.size(); };
  Poller poller(std::move(o));
  poller.Start(host);
  ASSERT_GE(host.WaitApplied(1, milliseconds(3000)), 1u);
  {
    std::lock_guard lock(control.mu);
    control.refuse = true;
  }
  ASSERT_TRUE(Eventually([&] { return host.applied().back().empty(); }));
  EXPECT_EQ(last_peers, 0u);
  size_t stopped_at = host.applied().size();
  ASSERT_TRUE(control.AwaitPolls(3));  // refused again and again
  EXPECT_EQ(host.applied().size(), stopped_at) << "stopped once, not on every refusal";
  {
    std::lock_guard lock(control.mu);
    control.refuse = false;
  }
  ASSERT_TRUE(Eventually([&] { return !host.applied().back().empty(); }));
  EXPECT_EQ(last_peers, 1u);
}

// The JetStream janitor's hook: every answer, with the time its request
// was sent; a refusal (which stops the instances) is no view of the
// workflows and is not passed on.
TEST(PollerTest, TheObserverSeesEveryAnswerAndNoRefusal) {
  FakeControl control;
  FakeHost host;
  PollerOptions o = Options(control);
  std::mutex mu;
  std::vector<int64_t> revisions;
  bool asked_before = true;
  o.observe = [&](const protocol::Assignments& a, std::chrono::steady_clock::time_point asked_at) {
    std::lock_guard lock(mu);
    revisions.push_back(a.revision);
    asked_before = asked_before && asked_at <= std::chrono::steady_clock::now();
  };
  Poller poller(std::move(o));
  poller.Start(host);
  ASSERT_GE(host.WaitApplied(2, milliseconds(3000)), 2u);
  {
    std::lock_guard lock(control.mu);
    control.refuse = true;
  }
  ASSERT_TRUE(Eventually([&] { return host.applied().back().empty(); }));
  size_t seen = 0;
  {
    std::lock_guard lock(mu);
    seen = revisions.size();
  }
  ASSERT_TRUE(control.AwaitPolls(3));
  poller.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(revisions.size(), seen);
  ASSERT_GE(seen, 2u);
  EXPECT_EQ(revisions[0], 1);
  EXPECT_TRUE(asked_before);
}

TEST(PollerTest, NothingIsSentBeforeTheNodeHasJoined) {
  FakeControl control;
  FakeHost host;
  NodeIdentity identity("n1");  // no credential yet
  Counter dropped;
  PollerOptions o = Options(control, &identity);
  o.events_dropped = &dropped;
  Poller poller(std::move(o));
  poller.Start(host);
  InstanceStatus s;
  s.id = "wf/c1/0";
  s.state = "running";
  host.SetStatuses({s});
  poller.StatusChanged();
  poller.PostEvent(R"({"event":"x","data":{}})");
  // Unsendable before joining: the events are dropped, the status is not sent.
  AwaitStatusTurns(poller, 1, [&] { return static_cast<size_t>(dropped.Value()); });
  EXPECT_EQ(dropped.Value(), 3);
  {
    std::lock_guard lock(control.mu);
    EXPECT_TRUE(control.paths.empty());
  }
  ASSERT_TRUE(identity.Set(kSecret).ok());
  ASSERT_GE(host.WaitApplied(1, milliseconds(3000)), 1u);
  ASSERT_TRUE(Eventually([&] { return poller.status_posts() >= 1; }));
  std::lock_guard lock(control.mu);
  for (const std::string& a : control.auth) EXPECT_EQ(a, "Bearer " + kSecret);
}

TEST(PollerTest, KeepsTheLastAssignmentWhileTheControlPlaneIsAwayOrBroken) {
  FakeControl control;
  FakeHost host;
  Poller poller(Options(control));
  poller.Start(host);
  ASSERT_GE(host.WaitApplied(1, milliseconds(3000)), 1u);
  {
    std::lock_guard lock(control.mu);
    control.bad_json = true;
  }
  ASSERT_TRUE(control.AwaitPolls(2));  // a bad answer has been handled
  size_t applied = host.applied().size();
  ASSERT_TRUE(control.AwaitPolls(2));
  EXPECT_EQ(host.applied().size(), applied) << "an invalid answer is not applied";
  EXPECT_EQ(poller.revision(), 1);
  {
    std::lock_guard lock(control.mu);
    control.bad_json = false;
    control.down = true;
  }
  ASSERT_TRUE(control.AwaitPolls(2));  // a failed poll has been handled
  {
    std::lock_guard lock(control.mu);
    control.down = false;
    control.revision = 5;
  }
  ASSERT_TRUE(Eventually([&] { return poller.revision() == 5; }));
  std::lock_guard lock(control.mu);
  // After a failure the poll starts over with a full answer (no since=).
  bool full_again = false;
  for (size_t i = 1; i < control.paths.size(); ++i) {
    if (control.paths[i] == "GET /node/workflows?node_id=node%201") full_again = true;
  }
  EXPECT_TRUE(full_again);
}

TEST(PollerTest, PostsStatusWhenItChangesAndAtOnceWhenAsked) {
  FakeControl control;
  FakeHost host;
  PollerOptions o = Options(control);
  o.status_interval = milliseconds(10000);  // only StatusChanged() or the first post
  Poller poller(std::move(o));
  InstanceStatus s;
  s.id = "wf/c1/0";
  s.state = "starting";
  host.SetStatuses({s});
  poller.Start(host);
  poller.StatusChanged();
  ASSERT_TRUE(Eventually([&] { return poller.status_posts() == 1; }));
  s.state = "running";
  s.events = 12;
  s.telemetry["latency_ms"] = 0.25;
  s.telemetry["bad"] = std::numeric_limits<double>::infinity();
  host.SetStatuses({s});
  poller.StatusChanged();
  ASSERT_TRUE(Eventually([&] { return poller.status_posts() == 2; }));
  poller.StatusChanged();  // nothing changed: no post
  AwaitStatusTurns(poller, 0, [&] {
    std::lock_guard lock(control.mu);
    return control.events.size();
  });
  EXPECT_EQ(poller.status_posts(), 2);
  poller.Stop();
  std::lock_guard lock(control.mu);
  ASSERT_EQ(control.status_bodies.size(), 2u);
  auto body = ParseJsonObject(control.status_bodies[1]);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("node_id").as_string(), "node 1");
  const auto& inst = body->at("instances").as_array()[0].as_object();
  EXPECT_EQ(inst.at("id").as_string(), "wf/c1/0");
  EXPECT_EQ(inst.at("state").as_string(), "running");
  EXPECT_EQ(inst.at("events").as_int64(), 12);
  EXPECT_EQ(inst.at("telemetry").as_object().at("latency_ms").as_double(), 0.25);
  EXPECT_EQ(inst.at("telemetry").as_object().at("bad").as_double(), 0.0);
}

TEST(PollerTest, StatusPostsEverySecondWhileChanging) {
  FakeControl control;
  FakeHost host;
  Poller poller(Options(control));  // status_interval 50 ms
  poller.Start(host);
  InstanceStatus s;
  s.id = "wf/c1/0";
  s.state = "running";
  for (int i = 1; i <= 3; ++i) {
    s.events = i;
    host.SetStatuses({s});
    ASSERT_TRUE(Eventually([&] { return poller.status_posts() >= i; }));
  }
}

TEST(PollerTest, PostsEventsAndDropsBeyondTheQueue) {
  FakeControl control;
  FakeHost host;
  Counter dropped;
  PollerOptions o = Options(control);
  o.event_queue = 2;
  o.events_dropped = &dropped;
  Poller poller(std::move(o));
  // Before Start: queued (2) and dropped (1).
  poller.PostEvent(R"({"event":"instance_trap","data":{"instance":"wf/a/0"}})");
  poller.PostEvent(R"({"event":"instance_failed","data":{}})");
  poller.PostEvent(R"({"event":"x","data":{}})");
  EXPECT_EQ(dropped.Value(), 1);
  poller.Start(host);
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(control.mu);
    return control.events.size() == 2;
  }));
  std::lock_guard lock(control.mu);
  EXPECT_NE(control.events[0].find("instance_trap"), std::string::npos);
}

// The poll parks for its whole 30 s wait; Stop cancels it rather than
// waiting it out.
TEST(PollerTest, StopCancelsAParkedPoll) {
  FakeControl control;
  control.hold = true;
  FakeHost host;
  Poller poller(Options(control));
  poller.Start(host);
  ASSERT_GE(host.WaitApplied(1, milliseconds(3000)), 1u);
  ASSERT_TRUE(control.http.WaitParked(1, milliseconds(5000)));
  auto start = std::chrono::steady_clock::now();
  poller.Stop();
  // Generous: the point is "not the 30 s wait".
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(host.applied().size(), 1u) << "a cancelled poll applies nothing";
}

TEST(PollerTest, StopIsPrompt) {
  FakeControl control;
  control.down = true;
  FakeHost host;
  Poller poller(Options(control));
  poller.Start(host);
  ASSERT_TRUE(control.AwaitPolls(2));  // failing and backing off
  auto start = std::chrono::steady_clock::now();
  poller.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500));
  poller.Stop();  // idempotent
}

}  // namespace
}  // namespace aether::workflow
