// Clients that fail over between control-plane replicas (docs/operations.md,
// "Clients and failover"), end to end: real aether-control replicas sharing
// a real etcd (tests/support/etcd_cluster.h), a real aether-engine with
// `[control] urls`, and the aether CLI with a list in AETHER_CONTROL. Every
// process is started and stopped (or killed -9) by its PID.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster.h"
#include "common/testing/http_fetch.h"
#include "etcd_cluster.h"
#include "etcd_replica.h"
#include "process.h"

namespace aether::testing {
namespace {

using replicas::FailoverEngine;

// Shared by the replicas: a node's credential and an admin token must be
// good at every one of them.
const std::string kAdmin = "failover-admin-token-0123456789";
const std::string kJoin = "failover-join-token-0123456789";
// Nothing listens on port 1: connections to it are refused at once.
const std::string kDead = "http://127.0.0.1:1";

// One aether-control replica; `store` is its [store] section (empty: its
// own SQLite file). Artifacts stay in its own data dir.
class Replica {
 public:
  explicit Replica(const std::string& store = "") {
    WriteFile(dir_ / "control.toml",
              "[database]\npath = \"" + dir_ / "data/aether.db" + "\"\n" +
                  "[registry]\nnode_timeout = \"2s\"\nheartbeat_interval = \"200ms\"\n" +
                  "[auth]\ntoken = \"" + kAdmin + "\"\njoin_token = \"" + kJoin + "\"\n" + store);
    auto p = ServerProcess::Start(kControl, {"--config", dir_ / "control.toml", "--port", "0"},
                                  dir_ / "control.log");
    EXPECT_TRUE(p.ok()) << p.status().message();
    if (p.ok()) process_ = std::move(p).value();
  }
  bool ok() const { return process_ != nullptr; }
  const std::string& url() const { return process_->url(); }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_->Stop();  // reaps it
  }
  // POST /api/invoke/{name} (the gateway) with `input`.
  HttpResponse Invoke(const std::string& name, const std::string& input) {
    auto r = HttpFetch("POST", url() + "/api/invoke/" + name, R"({"input":")" + input + "\"}",
                       {{"Authorization", "Bearer " + kAdmin}});
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }
  HttpResponse Deploy(const std::string& name, const std::string& guest) {
    auto r =
        HttpFetch("PUT", url() + "/api/functions/" + name, GuestBytes(guest),
                  {{"Authorization", "Bearer " + kAdmin}, {"Content-Type", "application/wasm"}});
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }

 private:
  TempDir dir_;
  std::unique_ptr<ServerProcess> process_;
};

std::string EtcdStore(const EtcdCluster& etcd) {
  return "[store]\nbackend = \"etcd\"\nendpoints = [\"" + etcd.endpoint(0) +
         "\"]\nprefix = \"/failover/\"\n";
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(FailoverIntegration, AnEngineWithADeadUrlFirstJoinsThroughTheNextAndGetsDeploys) {
  Replica control;
  ASSERT_TRUE(control.ok());
  FailoverEngine engine({kDead, control.url()}, kJoin);
  ASSERT_TRUE(engine.ok());
  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  EXPECT_TRUE(engine.Serves("hello")) << engine.Log();
  ASSERT_EQ(control.Deploy("echo", "echo").status, 201);
  EXPECT_TRUE(engine.Serves("echo")) << engine.Log();
}

// Two replicas over one etcd; the engine talks to A. Then A is killed -9:
// the engine moves to B and receives new deploys; with B gone too it keeps
// serving what it has.
//
// "only-b" is deployed through B while the engine talks to A: B copied the
// module to A before acknowledging (control/artifact_replicator.h), so A
// serves it.
//
// Node state: B reads from the store a node that joined through A after B
// started (control/node_registry.h), so the engine's one credential works
// on both. The engine itself keeps nothing per URL (one credential file,
// one saved manifest).
TEST(FailoverIntegration, AnEngineMovesToTheReplicaThatSurvivesAndKeepsServing) {
  auto etcd = EtcdCluster::Start(1);
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  Replica a(EtcdStore(**etcd)), b(EtcdStore(**etcd));
  ASSERT_TRUE(a.ok() && b.ok());
  FailoverEngine engine({a.url(), b.url()}, kJoin);
  ASSERT_TRUE(engine.ok());

  ASSERT_EQ(a.Deploy("hello", "hello").status, 201);
  ASSERT_TRUE(engine.Serves("hello")) << engine.Log();
  ASSERT_EQ(b.Deploy("only-b", "echo").status, 201);
  EXPECT_TRUE(engine.Serves("only-b")) << engine.Log();
  EXPECT_EQ(engine.Execute("hello"), 200);

  a.Kill9();
  // A is listed until its lease lapses, but refuses connections: B's
  // deploy does not wait for it.
  ASSERT_EQ(b.Deploy("after", "sha").status, 201);
  EXPECT_TRUE(engine.Serves("after")) << engine.Log();
  EXPECT_TRUE(engine.Serves("only-b")) << engine.Log();
  EXPECT_EQ(engine.Execute("hello"), 200);
  // Joined once, through A: B took the node's credential from the store.
  EXPECT_EQ(Count(engine.Log(), "as a new node; its credential"), 1u) << engine.Log();

  // No replica at all: /execute goes on from the local copies.
  b.Kill9();
  for (const char* f : {"hello", "only-b", "after"}) EXPECT_EQ(engine.Execute(f), 200) << f;
  // ...also after the loops went round the list a few times.
  EXPECT_TRUE(WaitFor([&] { return Count(engine.Log(), "unreachable") >= 1; })) << engine.Log();
  EXPECT_EQ(engine.Execute("after"), 200);
}

// The engine beats to replica A only, and deploys go through A; B's gateway
// still finds the function (its cached manifest follows the store) and the
// node where it is ready (the ready map travels through the store), also
// after a redeploy.
TEST(FailoverIntegration, EveryReplicasGatewayServesFunctionsReadyOnNodesThatBeatElsewhere) {
  auto etcd = EtcdCluster::Start(1);
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  Replica a(EtcdStore(**etcd)), b(EtcdStore(**etcd));
  ASSERT_TRUE(a.ok() && b.ok());
  FailoverEngine engine({a.url()}, kJoin);
  ASSERT_TRUE(engine.ok());
  ASSERT_EQ(a.Deploy("hello", "hello").status, 201);
  ASSERT_TRUE(engine.Serves("hello")) << engine.Log();
  HttpResponse r;
  ASSERT_TRUE(WaitFor([&] {
    r = b.Invoke("hello", "b");
    return r.status == 200;
  })) << r.status
      << " " << r.body;
  EXPECT_NE(r.body.find("Hello, World!"), std::string::npos) << r.body;
  ASSERT_EQ(a.Deploy("hello", "echo").status, 201);
  ASSERT_TRUE(WaitFor([&] {
    r = b.Invoke("hello", "echoed");
    return r.status == 200 && r.body.find("echoed") != std::string::npos;
  })) << r.status
      << " " << r.body;
}

TEST(FailoverIntegration, TheCliTriesEachUrlAndNamesThemWhenNoneAnswers) {
  Replica control;
  ASSERT_TRUE(control.ok());
  auto cli = [&](const std::vector<std::string>& args, const std::string& urls) {
    CliOptions o;
    o.env = {{"AETHER_CONTROL", urls}, {"AETHER_TOKEN", kAdmin}};
    return RunCli(args, o);
  };
  // dead,live: reads and deploys go through to the live one.
  CliRun ls = cli({"functions", "ls"}, kDead + "," + control.url());
  EXPECT_EQ(ls.exit_code, 0) << Show(ls);
  CliRun deploy = cli({"deploy", "hello", std::string(AETHER_GUEST_DIR) + "/hello.wasm"},
                      kDead + "," + control.url());
  EXPECT_EQ(deploy.exit_code, 0) << Show(deploy);
  CliRun flag = RunCli(
      {"functions", "show", "hello", "--control", kDead + "," + control.url(), "--token", kAdmin});
  EXPECT_EQ(flag.exit_code, 0) << Show(flag);

  // All dead: one line naming both, exit 1.
  CliRun down = cli({"functions", "ls"}, kDead + ",http://127.0.0.1:2");
  EXPECT_EQ(down.exit_code, 1) << Show(down);
  EXPECT_EQ(Count(down.err, "\n"), 1u) << Show(down);
  EXPECT_NE(down.err.find("any of http://127.0.0.1:1, http://127.0.0.1:2"), std::string::npos)
      << Show(down);

  // Bad lists: one line, exit 2, nothing sent.
  const std::string dead_twice =
      kDead + "," + kDead;  // NOLINT(performance-inefficient-string-concatenation): once, in a test
  for (const std::string& bad :
       {kDead + ",", dead_twice, kDead + ",ftp://x:1", std::string("http://u:secret@a:1")}) {
    CliRun r = cli({"functions", "ls"}, bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << Show(r);
    EXPECT_EQ(Count(r.err, "\n"), 1u) << Show(r);
    EXPECT_NE(r.err.find("$AETHER_CONTROL"), std::string::npos) << Show(r);
    EXPECT_EQ(r.err.find("secret"), std::string::npos) << Show(r);
  }
}

TEST(FailoverIntegration, AnEngineRefusesABadUrlListWithOneLine) {
  TempDir dir;
  WriteFile(dir / "engine.toml", "[runtime]\ndata_dir = \"" + dir / "data" +
                                     "\"\n[control]\nurls = [\"http://a:1\", \"http://a:1/\"]\n");
  ExitResult r = RunToExit(kEngine, {"--config", dir / "engine.toml", "--port", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("[control] urls: \"http://a:1\" is listed twice"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace aether::testing
