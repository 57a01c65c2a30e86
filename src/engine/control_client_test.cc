#include "engine/control_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_http_client.h"

namespace aether::engine {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

using aether::testing::Eventually;

// A scripted control plane behind a FakeHttpClient.
class FakeControl {
 public:
  struct Call {
    std::string method, url, body, auth, node;
  };

  FakeControl() {
    http.SetHandler([this](const HttpClientRequest& r) { return Handle(r); });
  }

  Result<HttpResponse> Handle(const HttpClientRequest& req) {
    Call c{req.method, req.url, std::string(req.body), "", ""};
    for (const auto& [k, v] : req.headers) {
      if (k == "Authorization") c.auth = v;
      if (k == "X-Aether-Node") c.node = v;
    }
    std::string host = c.url.substr(7, c.url.find("/", 8) - 7);
    std::string path = c.url.substr(c.url.find("/", 8));
    {
      std::lock_guard lock(mu_);
      calls_.push_back(c);
      if (away_ || down_.contains(host)) {
        return Unavailable("cannot connect to " + host + ": Connection refused");
      }
    }
    constexpr char kReply[] =
        R"({"node_id":"n1","heartbeat_interval_ms":50,"node_timeout_ms":1000)";
    if (path == "/register") {
      std::lock_guard lock(mu_);
      if (c.auth == "Bearer " + kJoinToken) {
        if (known_) {
          return Reply(
              403,
              R"({"error":"node n1 is already registered ... aether nodes rm n1","code":"node_exists"})");
        }
        known_ = true;
        secret_ = std::string(64, static_cast<char>('a' + issued_++));
        return Reply(200, std::string(kReply) + R"(,"credential":")" + secret_ + "\"}");
      }
      if (!known_ || forgetful_)
        return Reply(404, R"({"error":"node n1 is not registered","code":"unknown_node"})");
      if (revoked_ || c.auth != "Bearer " + secret_) return Refused();
      return Reply(200, std::string(kReply) + "}");
    }
    if (path == "/node/heartbeat") {
      std::lock_guard lock(mu_);
      if (!known_ || forgetful_) {
        return Reply(404, R"({"error":"unknown node","code":"unknown_node"})");
      }
      if (revoked_ || c.auth != "Bearer " + secret_) return Refused();
      return Reply(200, R"({"status":"ok","revision":1})");
    }
    if (path.starts_with("/node/manifest")) {
      {
        std::lock_guard lock(mu_);
        if (c.auth != "Bearer " + secret_) return Refused();
      }
      // The revision never moves: a long-poll parks for its whole wait,
      // as at a real control plane, unless it is cancelled.
      if (size_t w = path.find("wait="); w != std::string::npos) {
        http.Park(req, std::chrono::seconds(std::stoi(path.substr(w + 5))));
      }
      return Reply(200, R"({"functions":[],"revision":7})");
    }
    if (path.starts_with("/node/artifacts/")) {
      std::lock_guard lock(mu_);
      if (c.auth != "Bearer " + secret_) return Refused();
      std::string sha = path.substr(16);
      if (!artifacts_[host].contains(sha)) {
        return Reply(404, R"({"error":"no artifact )" + sha + R"(","code":"not_found"})");
      }
      return Reply(200, "bytes of " + sha);
    }
    if (path.starts_with("/node/prefetch")) {
      std::string hints;
      {
        std::lock_guard lock(mu_);
        if (c.auth != "Bearer " + secret_) return Refused();
        hints = hints_;
      }
      if (!hints.empty()) {
        if (size_t w = path.find("wait="); w != std::string::npos) {
          http.Park(req, std::chrono::seconds(std::stoi(path.substr(w + 5))));
        }
        return Reply(200, hints);
      }
    }
    // As the real router says it.
    return Reply(404, R"({"error":"no route for )" + path + R"(","code":"not_found"})");
  }
  // What GET /node/prefetch answers; empty: a control plane without it.
  void SetHints(std::string body) {
    std::lock_guard lock(mu_);
    hints_ = std::move(body);
  }
  // Replicas over one store: `host` ("a:1") refuses connections while down.
  void SetDown(const std::string& host, bool down) {
    std::lock_guard lock(mu_);
    if (down) {
      down_.insert(host);
    } else {
      down_.erase(host);
    }
  }
  // Artifacts are per replica.
  void AddArtifact(const std::string& host, const std::string& sha) {
    std::lock_guard lock(mu_);
    artifacts_[host].insert(sha);
  }

  std::vector<Call> Calls(std::string_view prefix) {
    std::lock_guard lock(mu_);
    std::vector<Call> out;
    for (const Call& c : calls_) {
      if (c.url.find(prefix) != std::string::npos) out.push_back(c);
    }
    return out;
  }
  // The store was replaced: the node is unknown.
  void Forget() {
    std::lock_guard lock(mu_);
    known_ = false;
  }
  // Another engine holds the id (the join token cannot take it over).
  void TakeOver() {
    std::lock_guard lock(mu_);
    known_ = true;
    secret_ = std::string(64, 'z');
  }
  // A replica that wrongly says the node is unknown while the store has
  // it (a join is refused: node_exists).
  void SetForgetful(bool on) {
    std::lock_guard lock(mu_);
    forgetful_ = on;
  }
  // An operator removed the node.
  void Revoke() {
    std::lock_guard lock(mu_);
    revoked_ = true;
  }
  std::string secret() {
    std::lock_guard lock(mu_);
    return secret_;
  }
  static inline const std::string kJoinToken = "sekrit";
  FakeHttpClient http;
  void SetAway(bool away) {
    std::lock_guard lock(mu_);
    away_ = away;
  }

 private:
  static Result<HttpResponse> Reply(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static Result<HttpResponse> Refused() {
    return Reply(403,
                 R"({"error":"node n1 was removed by an operator","code":"permission_denied"})");
  }
  std::mutex mu_;
  std::vector<Call> calls_;
  bool known_ = false;
  bool away_ = false;
  std::set<std::string> down_;
  std::map<std::string, std::set<std::string>> artifacts_;
  bool revoked_ = false;
  bool forgetful_ = false;
  std::string secret_;
  std::string hints_;
  int issued_ = 0;
};

ControlClientOptions Options(FakeControl& fake, NodeIdentity& identity,
                             EndpointList* urls = nullptr) {
  static EndpointList one({"http://control:9090"});
  ControlClientOptions o;
  o.endpoints = urls != nullptr ? urls : &one;
  o.join_token = FakeControl::kJoinToken;
  o.identity = &identity;
  o.labels = {{"zone", "eu"}};
  o.capacity_json = R"({"workers":2})";
  o.heartbeat_interval = milliseconds(1000);  // the register reply's 50 ms wins
  o.backoff_initial = milliseconds(10);
  o.backoff_max = milliseconds(40);
  o.http = &fake.http;
  return o;
}

TEST(ControlClientTest, RegistersBeatsFollowsAndReRegisters) {
  FakeControl fake;
  std::mutex mu;
  std::vector<int64_t> revisions;
  ControlClientHooks hooks;
  hooks.status = [] {
    protocol::Heartbeat r;
    r.load.inflight = 1;
    r.ready = {{"hello", std::string(64, 'a')}};
    return r;
  };
  hooks.manifest = [&](const protocol::Manifest& m, std::string_view) {
    std::lock_guard lock(mu);
    revisions.push_back(m.revision);
  };
  NodeIdentity identity("n1");
  ControlClient client(Options(fake, identity), std::move(hooks));
  client.Start("http://127.0.0.1:9091");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() >= 3; }));
  EXPECT_TRUE(client.registered());

  // Joined with the join token once; everything after carries the issued
  // credential.
  auto reg = fake.Calls("/register");
  ASSERT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg[0].url, "http://control:9090/register");
  EXPECT_EQ(reg[0].auth, "Bearer sekrit");
  EXPECT_EQ(reg[0].node, "n1");
  const std::string first = fake.secret();
  EXPECT_EQ(identity.secret(), first);
  for (const auto& beat : fake.Calls("/node/heartbeat")) EXPECT_EQ(beat.auth, "Bearer " + first);
  for (const auto& poll : fake.Calls("/node/manifest")) EXPECT_EQ(poll.auth, "Bearer " + first);
  json::object body = json::parse(reg[0].body).as_object();
  EXPECT_EQ(body["node_id"], "n1");
  EXPECT_EQ(body["url"], "http://127.0.0.1:9091");
  EXPECT_EQ(body["labels"].as_object()["zone"], "eu");
  EXPECT_EQ(body["capacity"].as_object()["workers"], 2);
  json::object beat = json::parse(fake.Calls("/node/heartbeat")[0].body).as_object();
  EXPECT_EQ(beat["ready"].as_object()["hello"].as_string(), std::string(64, 'a'));
  EXPECT_EQ(beat["load"].as_object()["inflight"], 1);

  // The first manifest request has no `since`, the next ones long-poll.
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/manifest").size() >= 2; }));
  auto polls = fake.Calls("/node/manifest");
  EXPECT_EQ(polls[0].url, "http://control:9090/node/manifest");
  EXPECT_EQ(polls[1].url, "http://control:9090/node/manifest?since=7&wait=30");
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(revisions.front(), 7);
  }

  // The control plane forgot the node (its store was replaced): its
  // credential is unknown there (404), so it joins again as a new node.
  fake.Forget();
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/register").size() == 3; }));
  reg = fake.Calls("/register");
  EXPECT_EQ(reg[1].auth, "Bearer " + first);
  EXPECT_EQ(reg[2].auth, "Bearer sekrit");
  // The third /register is recorded before its credential is issued, so
  // wait for the new credential itself, not for the two to agree.
  ASSERT_TRUE(Eventually([&] { return identity.secret() != first; }));
  EXPECT_EQ(identity.secret(), fake.secret());
  // Registered again (the flag follows the third /register): otherwise the
  // next step could see "not registered" from before it, not from away.
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));

  // Away, then back: registers again once it answers, with its credential.
  fake.SetAway(true);
  ASSERT_TRUE(Eventually([&] { return !client.registered(); }));
  fake.SetAway(false);
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  reg = fake.Calls("/register");
  EXPECT_GE(reg.size(), 4u);
  EXPECT_EQ(reg.back().auth, "Bearer " + fake.secret());

  // The manifest poll is parked (for 30 s); Stop cancels it.
  ASSERT_TRUE(fake.http.WaitParked(1, milliseconds(5000)));
  auto t0 = std::chrono::steady_clock::now();
  client.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));
}

TEST(ControlClientTest, ARefusedCredentialIsNeverReplacedByTheJoinToken) {
  FakeControl fake;
  NodeIdentity identity("n1");
  ControlClient client(Options(fake, identity), {});
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() >= 1; }));
  fake.Revoke();
  size_t beats = fake.Calls("/node/heartbeat").size();
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() > beats + 2; }));
  // It keeps knocking with its own credential (an operator may fix things),
  // and never joins again with the join token.
  EXPECT_EQ(fake.Calls("/register").size(), 1u);
  EXPECT_FALSE(identity.secret().empty());
}

TEST(ControlClientTest, TheJoinTokenCannotTakeAnIdThatIsRegistered) {
  FakeControl fake;
  fake.TakeOver();
  NodeIdentity identity("n1");  // lost its data dir
  ControlClient client(Options(fake, identity), {});
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/register").size() >= 3; }));
  EXPECT_TRUE(identity.secret().empty());
  EXPECT_FALSE(client.registered());
  EXPECT_TRUE(fake.Calls("/node/heartbeat").empty());
  EXPECT_TRUE(fake.Calls("/node/manifest").empty()) << "nothing to ask with before joining";
  // The operator removes the old node (the fake forgets it): it joins.
  fake.Forget();
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  EXPECT_EQ(identity.secret(), fake.secret());
}

// A replica that says "unknown node" while the node is registered (it
// could not read the store) must not cost the node its credential: the
// join it tries is refused (node_exists), and the old credential works
// again once the replica does.
TEST(ControlClientTest, AWrongUnknownNodeDoesNotCostTheCredential) {
  FakeControl fake;
  NodeIdentity identity("n1");
  ControlClient client(Options(fake, identity), {});
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  const std::string first = identity.secret();
  ASSERT_FALSE(first.empty());
  fake.SetForgetful(true);
  size_t joins = 0;
  ASSERT_TRUE(Eventually([&] {
    joins = 0;
    for (const auto& c : fake.Calls("/register"))
      joins += c.auth == "Bearer " + std::string(FakeControl::kJoinToken);
    return joins >= 2;  // the first join, and one after it was refused
  }));
  EXPECT_EQ(identity.secret(), first);
  fake.SetForgetful(false);
  ASSERT_TRUE(Eventually([&] {
    return client.registered() && fake.Calls("/register").back().auth == "Bearer " + first;
  }));
  EXPECT_EQ(identity.secret(), first);
}

TEST(ControlClientTest, BeatSoonSendsAHeartbeatAtOnce) {
  FakeControl fake;
  NodeIdentity identity("n1");
  aether::testing::FakeClock clock;  // time stands still: only BeatSoon sends another beat
  ControlClientOptions o = Options(fake, identity);
  o.clock = &clock;
  ControlClient client(std::move(o), {});
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() >= 1; }));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // the beat thread waits out its interval
  size_t before = fake.Calls("/node/heartbeat").size();
  EXPECT_EQ(before, 1u);
  client.BeatSoon();  // never blocks
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() > before; }));
  EXPECT_EQ(fake.Calls("/node/heartbeat")[0].node, "n1");
  // The next one comes after the interval the register reply set (50 ms).
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(fake.Calls("/node/heartbeat").size(), before + 1);
  clock.Advance(milliseconds(50));
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() == before + 2; }));
}

TEST(ControlClientTest, HandsOnTheModulesBeingDeployedThenParks) {
  FakeControl fake;
  const std::string sha(64, 'c');
  fake.SetHints(R"({"revision":4,"modules":[{"sha256":")" + sha + R"(","size":10}]})");
  NodeIdentity identity("n1");
  std::mutex mu;
  std::vector<protocol::ModuleHint> got;
  ControlClientHooks hooks;
  hooks.prefetch = [&](const std::vector<protocol::ModuleHint>& modules) {
    std::lock_guard lock(mu);
    got.insert(got.end(), modules.begin(), modules.end());
  };
  ControlClient client(Options(fake, identity), std::move(hooks));
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/prefetch").size() >= 2; }));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].sha256, sha);
  }
  std::vector<FakeControl::Call> calls = fake.Calls("/node/prefetch");
  EXPECT_EQ(calls[0].url, "http://control:9090/node/prefetch");
  EXPECT_EQ(calls[1].url, "http://control:9090/node/prefetch?since=4&wait=30");
  EXPECT_EQ(calls[1].auth, "Bearer " + fake.secret());
  client.Stop();  // cancels the parked poll
}

TEST(ControlClientTest, AControlPlaneWithoutHintsIsAskedAgainAfterAMinute) {
  FakeControl fake;  // no /node/prefetch route
  NodeIdentity identity("n1");
  aether::testing::FakeClock clock;
  ControlClientOptions o = Options(fake, identity);
  o.clock = &clock;
  ControlClientHooks hooks;
  std::atomic<int> calls{0};
  hooks.prefetch = [&](const std::vector<protocol::ModuleHint>&) { ++calls; };
  ControlClient client(std::move(o), std::move(hooks));
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/prefetch").size() == 1; }));
  ASSERT_TRUE(clock.AwaitWaiters(2));  // the beat thread, and the prefetch thread's minute
  clock.Advance(milliseconds(59000));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(fake.Calls("/node/prefetch").size(), 1u);
  ASSERT_TRUE(clock.AwaitWaiters(2));
  clock.Advance(milliseconds(1000));
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/prefetch").size() == 2; }));
  EXPECT_EQ(calls.load(), 0);
  // The manifest is still followed.
  EXPECT_FALSE(fake.Calls("/node/manifest").empty());
}

TEST(ControlClientTest, RegisterRetriesBackOffDoublingToTheMax) {
  FakeControl fake;
  fake.SetAway(true);
  NodeIdentity identity("n1");
  // Only the beat thread waits on the clock: the manifest thread waits for
  // the node to join.
  aether::testing::FakeClock clock;
  ControlClientOptions o = Options(fake, identity);  // backoff 10 ms doubling to 40 ms
  o.clock = &clock;
  ControlClient client(std::move(o), {});
  client.Start("http://e:1");
  auto attempts = [&] { return fake.Calls("/register").size(); };
  ASSERT_TRUE(Eventually([&] { return attempts() == 1; }));
  size_t n = 1;
  for (milliseconds backoff :
       {milliseconds(10), milliseconds(20), milliseconds(40), milliseconds(40)}) {
    ASSERT_TRUE(clock.AwaitWaiters(1));
    clock.Advance(backoff - milliseconds(1));
    EXPECT_EQ(attempts(), n) << "an attempt before the " << backoff.count() << " ms backoff";
    clock.Advance(milliseconds(1));
    ASSERT_TRUE(Eventually([&] { return attempts() == n + 1; })) << backoff.count() << " ms";
    ++n;
  }
  EXPECT_FALSE(client.registered());
  // Back: the next attempt registers.
  fake.SetAway(false);
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(milliseconds(40));
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  EXPECT_EQ(identity.secret(), fake.secret());
}

// Replicas share the store, so the credential a node got through one is
// good at every other: when its replica dies the node goes on through the
// next without joining again, and all of its loops move together.
TEST(ControlClientTest, FailsOverToAnotherReplicaWithTheSameCredential) {
  FakeControl fake;
  EndpointList urls({"http://a:1", "http://b:2", "http://c:3"},
                    {.pause = milliseconds(0), .log_switches = false});
  NodeIdentity identity("n1");
  ControlClient client(Options(fake, identity, &urls), {});
  fake.SetDown("a:1", true);  // dead from the start: joins through b
  client.Start("http://e:1");
  ASSERT_TRUE(Eventually([&] { return fake.Calls("/node/heartbeat").size() >= 2; }));
  auto reg = fake.Calls("/register");
  ASSERT_EQ(reg.size(), 2u);  // a refused the connection, b admitted the node
  EXPECT_EQ(reg[1].url, "http://b:2/register");
  EXPECT_EQ(urls.current(), "http://b:2");
  const std::string secret = fake.secret();

  // b dies too: heartbeats and the manifest poll go on at c, with the
  // credential b issued (no second join).
  fake.SetDown("b:2", true);
  fake.http.Wake();  // ends the poll parked at b
  ASSERT_TRUE(Eventually([&] {
    return !fake.Calls("http://c:3/node/heartbeat").empty() &&
           !fake.Calls("http://c:3/node/manifest").empty() && client.registered();
  }));
  for (const auto& r : fake.Calls("http://c:3/")) EXPECT_EQ(r.auth, "Bearer " + secret);
  EXPECT_EQ(identity.secret(), secret);

  // An artifact that only the dead replica b holds: a clear NotFound that
  // names it, and the caller retries later (ManagedFunctions does, at the
  // next manifest); one that only a holds, once a is back, comes from a
  // while the list stays at c.
  fake.AddArtifact("b:2", std::string(64, 'b'));
  Result<std::vector<uint8_t>> lost = client.FetchArtifact(std::string(64, 'b'));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), Code::kNotFound);
  EXPECT_NE(lost.status().message().find("no artifact"), std::string::npos);
  fake.SetDown("a:1", false);
  fake.AddArtifact("a:1", std::string(64, 'a'));
  Result<std::vector<uint8_t>> got = client.FetchArtifact(std::string(64, 'a'));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(std::string(got->begin(), got->end()), "bytes of " + std::string(64, 'a'));
  EXPECT_EQ(urls.current(), "http://c:3");

  // Every replica down: the loops keep cycling through the list.
  fake.SetAway(true);
  fake.http.Wake();
  size_t before = fake.Calls("http://a:1/").size();
  ASSERT_TRUE(Eventually(
      [&] { return !client.registered() && fake.Calls("http://a:1/").size() > before + 2; }));
  fake.SetAway(false);
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  EXPECT_EQ(fake.Calls("/register").back().auth, "Bearer " + secret);
}

TEST(ControlClientTest, DefaultNodeIdIsTheHostName) {
  EXPECT_EQ(DefaultNodeId("edge-7"), "edge-7");
  EXPECT_FALSE(DefaultNodeId("").empty());
}

}  // namespace
}  // namespace aether::engine
