// aether-control replicas on one real etcd cluster, for the tests of
// several replicas (tests/integration/replicas_test.cc, tests/chaos/):
// each has its own data directory and shares the etcd prefix and tokens.
// Started on 127.0.0.1 with an ephemeral port, stopped by PID.
#pragma once

#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster.h"
#include "common/http_client.h"
#include "common/testing/http_fetch.h"
#include "etcd_cluster.h"
#include "process.h"

// A namespace of their own: a test file that uses them says
// `using namespace replicas;` and keeps its other helpers' names free.
namespace aether::testing::replicas {

inline const std::string kAdmin = "replicas-admin-token-0123456789";
inline const std::string kJoin = "replicas-join-token-0123456789ab";
// Used when the replicas are cluster controllers ([domain] role = "cluster").
inline const std::string kDomainJoin = "replicas-domain-join-token-01234";

inline json::object Body(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

inline std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// One replica: its own data directory, the shared etcd and tokens.
class Replica {
 public:
  // `cluster` and `store` are lines of the [cluster] and [store] sections;
  // `extra` more sections at the end.
  Replica(const EtcdCluster& etcd, const std::string& id, const std::string& lease_ttl,
          const std::string& cluster = "", const std::string& store = "",
          const std::string& extra = "")
      : id_(id) {
    std::string endpoints;
    for (const std::string& e : etcd.endpoints()) {
      endpoints += (endpoints.empty() ? "\"" : ", \"") + e + "\"";
    }
    config_ = dir_ / "control.toml";
    WriteFile(config_, "[database]\npath = \"" + dir_ / "data/aether.db" + "\"\n" +
                           "[store]\nbackend = \"etcd\"\nendpoints = [" + endpoints +
                           "]\nprefix = \"/ha/\"\n" + store + "\n" + "[cluster]\nlease_ttl = \"" +
                           lease_ttl + "\"\nreplica_id = \"" + id + "\"\n" + cluster + "\n" +
                           "[registry]\nnode_timeout = \"3s\"\nheartbeat_interval = \"200ms\"\n" +
                           "[auth]\ntoken = \"" + kAdmin + "\"\njoin_token = \"" + kJoin +
                           "\"\ndomain_join_token = \"" + kDomainJoin + "\"\n" + extra);
    auto p =
        ServerProcess::Start(kControl, {"--config", config_, "--port", "0"}, dir_ / "control.log");
    if (!p.ok()) {
      ADD_FAILURE() << p.status().message();
      return;
    }
    process_ = std::move(p).value();
  }

  bool ok() const { return process_ != nullptr; }
  const std::string& id() const { return id_; }
  // Where this replica keeps the artifact named `sha256`.
  std::string ArtifactPath(const std::string& sha256) const {
    return dir_ / ("data/artifacts/" + sha256 + ".wasm");
  }
  ServerProcess& process() { return *process_; }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }

  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    const std::string& token = kAdmin, HttpHeaders headers = {}) {
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    auto r = HttpFetch(method, process_->url() + path, body, headers, seconds(10));
    return r.ok() ? std::move(r).value() : HttpResponse{0, "", r.status().message(), {}};
  }
  // "leader", "follower", or "" when /health does not answer.
  std::string Role() { return Str(Body(Call("GET", "/health", {}, "").body), "role"); }

 private:
  TempDir dir_;
  std::string id_;
  std::string config_;
  std::unique_ptr<ServerProcess> process_;
};

inline std::unique_ptr<EtcdCluster> Etcd3() {
  auto c = EtcdCluster::Start(3);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

// Waits until exactly one of `replicas` reports "leader" and the others
// "follower"; returns its index, or -1.
inline int OneLeader(std::vector<Replica*> replicas, milliseconds timeout = seconds(30)) {
  int leader = -1;
  WaitFor(
      [&] {
        int leaders = 0, followers = 0;
        for (size_t i = 0; i < replicas.size(); ++i) {
          std::string role = replicas[i]->Role();
          if (role == "leader") {
            ++leaders;
            leader = static_cast<int>(i);
          }
          followers += role == "follower";
        }
        return leaders == 1 && leaders + followers == static_cast<int>(replicas.size());
      },
      timeout);
  return leader;
}

// replica-a started first and waited for, so that it leads; then
// replica-b, which follows. ok() checks both.
struct LeaderThenFollower {
  LeaderThenFollower(const EtcdCluster& etcd, const std::string& lease_ttl)
      : a(etcd, "replica-a", lease_ttl),
        a_led(a.ok() && WaitFor([this] { return a.Role() == "leader"; }, seconds(30))),
        b(etcd, "replica-b", lease_ttl) {}
  bool ok() { return a_led && b.ok() && OneLeader({&a, &b}) == 0; }

  Replica a;
  bool a_led;
  Replica b;
};

// How many of `replicas` keep the artifact `sha256` in their own directory.
inline size_t Holders(const std::vector<Replica*>& replicas, const std::string& sha256) {
  size_t n = 0;
  for (Replica* r : replicas) n += std::filesystem::exists(r->ArtifactPath(sha256));
  return n;
}

inline size_t ListedReplicas(Replica& at) {
  json::object o = Body(at.Call("GET", "/api/cluster").body);
  const json::value* list = o.if_contains("replicas");
  return list != nullptr && list->is_array() ? list->as_array().size() : 0;
}

inline HttpResponse DeployAt(Replica& at, const std::string& name, const std::string& wasm) {
  return at.Call("PUT", "/api/functions/" + name, wasm, kAdmin,
                 {{"Content-Type", "application/wasm"}});
}

// An aether-engine (node `node_id`) that knows every replica in `urls`
// and fails over between them.
class FailoverEngine {
 public:
  FailoverEngine(const std::vector<std::string>& urls, const std::string& join_token,
                 const std::string& node_id = "edge-1") {
    std::string list;
    for (const std::string& u : urls) {
      list += list.empty() ? "\"" : ", \"";
      list += u;
      list += '"';
    }
    WriteFile(dir_ / "engine.toml",
              "[runtime]\ndata_dir = \"" + dir_ / "data" +
                  "\"\noptimize = false\nexec_timeout = \"2s\"\n[control]\nurls = [" + list +
                  "]\nnode_id = \"" + node_id + "\"\n[auth]\njoin_token = \"" + join_token +
                  "\"\n[registry]\nheartbeat_interval = \"200ms\"\n");
    auto p = ServerProcess::Start(kEngine, {"--config", dir_ / "engine.toml", "--port", "0"},
                                  dir_ / "engine.log");
    EXPECT_TRUE(p.ok()) << p.status().message();
    if (p.ok()) process_ = std::move(p).value();
  }
  bool ok() const { return process_ != nullptr; }
  const std::string& url() const { return process_->url(); }
  // Its [runtime] data_dir (workflows' files are under workflows/<id>/).
  std::string data_dir() const { return dir_ / "data"; }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }
  std::string Log() const { return ReadFile(dir_ / "engine.log"); }
  // The HTTP status of running `function` (0: no answer).
  int Execute(const std::string& function) {
    auto r = http_->Fetch("POST", process_->url() + "/execute",
                          "{\"function\":\"" + function + "\",\"input\":\"x\"}");
    return r.ok() ? r->status : 0;
  }
  bool Serves(const std::string& function, milliseconds limit = seconds(20)) {
    return WaitFor([&] { return Execute(function) == 200; }, limit);
  }

 private:
  TempDir dir_;
  std::unique_ptr<ServerProcess> process_;
  std::unique_ptr<HttpClient> http_ = NewHttpClient();
};

}  // namespace aether::testing::replicas
