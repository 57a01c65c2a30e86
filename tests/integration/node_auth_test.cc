// Node identity end to end (issue #9 item 5): the real aether-control and
// aether-engine binaries on 127.0.0.1. The join token only admits new
// nodes; every later call of a node, and every dataplane request between
// engines, carries that node's own credential; an operator can revoke a
// node with `aether nodes rm`.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "cluster.h"
#include "common/node_credential.h"
#include "common/sha256.h"
#include "common/testing/http_error.h"
#include "common/testing/http_fetch.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;

// One request with any token, as a hostile client (or the engine) would
// send it; `node` is the X-Aether-Node header ("" = none).
HttpResponse Raw(const std::string& base, std::string_view method, const std::string& path,
                 std::string_view body, const std::string& token, const std::string& node = "") {
  HttpHeaders h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  if (!node.empty()) h.emplace_back("X-Aether-Node", node);
  auto r = HttpFetch(method, base + path, body, h, seconds(10));
  if (!r.ok()) return HttpResponse{0, "", r.status().message(), {}};
  return std::move(r).value();
}

std::string NodeUrl(Control& control, const std::string& node) {
  json::object list = Obj(control.Call("GET", "/api/nodes"));
  if (!list.contains("nodes")) return "";
  for (const json::value& n : list["nodes"].as_array()) {
    if (Str(n.at("node_id")) == node) return Str(n.at("url"));
  }
  return "";
}

// The credential an engine saved in its data dir.
std::string SavedSecret(const Engine& e) {
  std::string text = ReadFile(e.data_dir_root() + "/data/node.credential");
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("secret")) return "";
  return Str(v.as_object().at("secret"));
}

// A dataplane frame: u32 LE lengths of target, source and payload, each
// followed by its bytes.
std::string Frame(std::string_view target, std::string_view source, std::string_view payload) {
  std::string out;
  for (std::string_view part : {target, source, payload}) {
    uint32_t n = static_cast<uint32_t>(part.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += part;
  }
  return out;
}

HttpResponse Dataplane(const std::string& engine_url, const std::string& path,
                       const std::string& body, const std::string& token, const std::string& node) {
  return Raw(engine_url, "POST", path, body, token, node);
}

TEST(NodeAuthTest, JoinTokenCannotTakeOverARegisteredNode) {
  Control control;
  Engine e1(control, "edge-1");
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "up"; })) << e1.Logs();
  const std::string url = NodeUrl(control, "edge-1");
  const std::string base = control.url();

  // Re-registering edge-1 with the join token and the attacker's URL.
  HttpResponse r =
      Raw(base, "POST", "/register", R"({"node_id":"edge-1","url":"http://127.0.0.1:1"})",
          control.join(), "edge-1");
  EXPECT_TRUE(IsError(r, 403, "node_exists")) << r.body;
  EXPECT_NE(r.body.find("aether nodes rm edge-1"), std::string::npos) << r.body;
  EXPECT_EQ(NodeUrl(control, "edge-1"), url);

  // Every other node call with the join token alone (docs/api.md: a token
  // the route does not take is 403 permission_denied).
  auto refused = [](const HttpResponse& x) { return IsError(x, 403, "permission_denied"); };
  r = Raw(base, "POST", "/node/heartbeat", R"({"node_id":"edge-1"})", control.join(), "edge-1");
  EXPECT_TRUE(refused(r));
  r = Raw(base, "GET", "/node/manifest", {}, control.join(), "edge-1");
  EXPECT_TRUE(refused(r));
  r = Raw(base, "GET", "/node/workflows?node_id=edge-1", {}, control.join(), "edge-1");
  EXPECT_TRUE(refused(r));
  r = Raw(base, "POST", "/node/workflows/status", R"({"node_id":"edge-1","instances":[]})",
          control.join(), "edge-1");
  EXPECT_TRUE(refused(r));
  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  r = Raw(base, "GET", "/node/artifacts/" + Sha256Hex(GuestBytes("hello")), {}, control.join(),
          "edge-1");
  EXPECT_TRUE(refused(r));
  r = Raw(base, "POST", "/callback", R"({"event":"probe"})", control.join(), "edge-1");
  EXPECT_TRUE(refused(r));

  // A new node id is still admitted with the join token and gets its own
  // credential, which works for it and for nothing else.
  r = Raw(base, "POST", "/register", R"({"node_id":"edge-9","url":"http://127.0.0.1:1"})",
          control.join(), "edge-9");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string secret = Str(Obj(r)["credential"]);
  ASSERT_EQ(secret.size(), 64u) << r.body;
  EXPECT_EQ(
      Raw(base, "POST", "/node/heartbeat", R"({"node_id":"edge-9"})", secret, "edge-9").status,
      200);
  EXPECT_TRUE(
      IsError(Raw(base, "POST", "/node/heartbeat", R"({"node_id":"edge-1"})", secret, "edge-1"),
              403, "permission_denied"));
  EXPECT_TRUE(
      IsError(Raw(base, "POST", "/node/heartbeat", R"({"node_id":"edge-1"})", secret, "edge-9"),
              403, "permission_denied"));
  EXPECT_TRUE(IsError(Raw(base, "GET", "/node/workflows?node_id=edge-1", {}, secret, "edge-9"), 403,
                      "permission_denied"));
  EXPECT_EQ(Raw(base, "GET", "/node/manifest", {}, secret, "edge-9").status, 200);
  // Its credential re-registers it (a new url); the join token does not.
  EXPECT_EQ(Raw(base, "POST", "/register", R"({"node_id":"edge-9","url":"http://127.0.0.1:2"})",
                secret, "edge-9")
                .status,
            200);
  EXPECT_EQ(NodeUrl(control, "edge-9"), "http://127.0.0.1:2");
  EXPECT_TRUE(
      IsError(Raw(base, "POST", "/register", R"({"node_id":"edge-9","url":"http://127.0.0.1:3"})",
                  control.join(), "edge-9"),
              403, "node_exists"));

  // The engine itself is unaffected: still up at its own url, and it never
  // logs its credential.
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(control.NodeState("edge-1"), "up");
  EXPECT_EQ(NodeUrl(control, "edge-1"), url);
  std::string saved = SavedSecret(e1);
  ASSERT_EQ(saved.size(), 64u);
  EXPECT_EQ(e1.Logs().find(saved), std::string::npos);
  EXPECT_EQ(fs::status(e1.data_dir_root() + "/data/node.credential").permissions() &
                (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
}

TEST(NodeAuthTest, EventsAreAttributedToTheAuthenticatedNode) {
  Control control;
  const std::string base = control.url();
  HttpResponse reg = Raw(base, "POST", "/register",
                         R"({"node_id":"edge-9","url":"http://127.0.0.1:1"})", control.join());
  ASSERT_EQ(reg.status, 200) << reg.body;
  std::string secret = Str(Obj(reg)["credential"]);

  // The join token cannot post events, whatever node the header claims.
  HttpResponse r =
      Raw(base, "POST", "/callback", R"({"event":"probe","data":1})", control.join(), "edge-1");
  EXPECT_TRUE(r.status == 401 || r.status == 403) << r.status << " " << r.body;
  // A node's events carry its id, not the one its body or another header names.
  r = Raw(base, "POST", "/callback", R"({"event":"probe","data":{"node_id":"edge-1"}})", secret,
          "edge-9");
  EXPECT_EQ(r.status, 201) << r.body;
  // Another id with its credential: refused (404 here: edge-1 is not registered yet).
  r = Raw(base, "POST", "/callback", R"({"event":"probe","data":2})", secret, "edge-1");
  EXPECT_TRUE(r.status == 403 || r.status == 404) << r.status << " " << r.body;
  EXPECT_EQ(control.Events("probe", "edge-9").size(), 1u);
  EXPECT_TRUE(control.Events("probe", "edge-1").empty());
  EXPECT_TRUE(control.Events("probe", "api").empty());

  // A real engine's events are its own.
  Engine e1(control, "edge-1");
  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  EXPECT_TRUE(WaitFor([&] { return !control.Events("function_ready", "edge-1").empty(); }))
      << e1.Logs();
}

TEST(NodeAuthTest, RevokedNodeIsRefusedAndItsWorkflowInstancesMove) {
  Control control;
  Engine e1(control, "edge-1", "zone = \"a\"");
  Engine e2(control, "edge-2", "zone = \"a\"");
  ASSERT_EQ(control.Deploy("echo-wf", "wf_echo").status, 201);
  HttpResponse applied = control.Call("POST", "/api/workflows", R"({"name": "rv",
      "functions": [{"name": "echo", "function": "echo-wf",
                     "annotations": {"label_match_all": ["zone=a"]}}]})");
  ASSERT_EQ(applied.status, 201) << applied.body;
  auto placed_on = [&] {
    json::object w = Obj(control.Call("GET", "/api/workflows/rv"));
    if (!w.contains("instances") || Str(w["state"]) != "running") return std::string();
    return Str(w["instances"].as_array()[0].at("node_id"));
  };
  ASSERT_TRUE(WaitFor([&] { return !placed_on().empty(); }))
      << control.Call("GET", "/api/workflows/rv").body;
  std::string victim = placed_on();
  Engine& gone = victim == "edge-1" ? e1 : e2;
  std::string survivor = victim == "edge-1" ? "edge-2" : "edge-1";
  std::string secret = SavedSecret(gone);
  ASSERT_EQ(secret.size(), 64u);

  CliRun rm =
      RunCli({"nodes", "rm", victim, "--control", control.url(), "--token", control.admin()});
  ASSERT_EQ(rm.exit_code, 0) << Show(rm);
  EXPECT_NE(rm.out.find(victim), std::string::npos) << Show(rm);

  // Its credential stops working at once.
  HttpResponse beat = Raw(control.url(), "POST", "/node/heartbeat",
                          R"({"node_id":")" + victim + "\"}", secret, victim);
  EXPECT_TRUE(IsError(beat, 403, "permission_denied")) << beat.body;
  EXPECT_NE(beat.body.find("removed"), std::string::npos) << beat.body;
  EXPECT_TRUE(IsError(Raw(control.url(), "GET", "/node/manifest", {}, secret, victim), 403,
                      "permission_denied"));

  // Its instance moves to the other node, and the removal is in the log.
  ASSERT_TRUE(WaitFor([&] { return placed_on() == survivor; }))
      << control.Call("GET", "/api/workflows/rv").body;
  EXPECT_EQ(control.Events("node_removed", "api").size(), 1u);
  EXPECT_FALSE(control.Events("instance_moved", "control").empty());
  // It stays out (the engine does not fall back to the join token), and
  // says why in its log.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_EQ(control.NodeState(victim), "");
  EXPECT_TRUE(WaitFor([&] { return gone.Logs().find("aether nodes rm") != std::string::npos; }))
      << gone.Logs();
  EXPECT_TRUE(IsError(control.Call("DELETE", "/api/nodes/" + victim), 404, "not_found"));
  EXPECT_TRUE(IsError(control.Call("DELETE", "/api/nodes/nope"), 404, "not_found"));
}

TEST(NodeAuthTest, LostDataDirRejoinsAfterNodesRmAndStoreResetRejoinsAlone) {
  Control control;
  auto e1 = std::make_unique<Engine>(control, "edge-1");
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "up"; })) << e1->Logs();

  // The engine's data dir is lost: it cannot take its old id back with the
  // join token, and says what to do.
  e1->Kill9();
  fs::remove(e1->data_dir_root() + "/data/node.credential");
  e1->Start();
  ASSERT_TRUE(WaitFor([&] {
    return e1->Logs().find("aether nodes rm edge-1") != std::string::npos;
  })) << e1->Logs();
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "down"; }, seconds(5)));
  // After the operator removes the old node, it joins as a new one.
  ASSERT_EQ(control.Call("DELETE", "/api/nodes/edge-1").status, 200);
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "up"; })) << e1->Logs();

  // The control plane's store is replaced: the engine's credential is
  // unknown there, and it registers again with the join token.
  std::string before = SavedSecret(*e1);
  control.Kill9();
  for (const char* f : {"aether.db", "aether.db-wal", "aether.db-shm"}) {
    fs::remove(control.data_dir() + "/" + f);
  }
  control.Start();
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "up"; })) << e1->Logs();
  ASSERT_TRUE(WaitFor([&] { return SavedSecret(*e1) != before; }));
}

TEST(NodeAuthTest, DataplaneNeedsTheSendersOwnCredential) {
  Control control;
  Engine e1(control, "edge-1");
  Engine e2(control, "edge-2");
  ASSERT_EQ(control.Deploy("fwd", "wf_forward").status, 201);
  // fwd (edge-1) -> log (edge-2); `other` on edge-2 has no incoming edge.
  HttpResponse applied = control.Call("POST", "/api/workflows", R"({"name": "dp",
      "functions": [{"name": "fwd", "function": "fwd", "output_mapping": {"out": "log"},
                     "annotations": {"node_id_match_any": ["edge-1"]}}],
      "resources": [
        {"name": "in", "class_type": "http-ingress", "configurations": {"path": "p", "mode": "cast"},
         "output_mapping": {"new_request": "fwd"}, "annotations": {"node_id_match_any": ["edge-1"]}},
        {"name": "log", "class_type": "file-log", "configurations": {"filename": "log.txt"},
         "annotations": {"node_id_match_any": ["edge-2"]}},
        {"name": "other", "class_type": "file-log", "configurations": {"filename": "other.txt"},
         "annotations": {"node_id_match_any": ["edge-2"]}}]})");
  ASSERT_EQ(applied.status, 201) << applied.body;
  ASSERT_TRUE(WaitFor(
      [&] { return Str(Obj(control.Call("GET", "/api/workflows/dp"))["state"]) == "running"; },
      seconds(15)))
      << control.Call("GET", "/api/workflows/dp").body;
  const std::string e2url = e2.process().url();
  const std::string log = e2.data_dir_root() + "/data/workflows/dp/log.txt";
  const std::string other = e2.data_dir_root() + "/data/workflows/dp/other.txt";

  // Legitimate traffic crosses: ingress on edge-1 -> fwd -> log on edge-2.
  std::string ingress = e1.process().url() + "/wf/dp/p";
  ASSERT_TRUE(WaitFor([&] { return Raw(ingress, "POST", "", "one", "").status == 202; }));
  ASSERT_TRUE(WaitFor([&] { return FileLines(log).size() == 1; })) << e1.Logs() << e2.Logs();

  std::string frame = Frame("dp/log/0", "fwd", "forged");
  auto refused = [](const HttpResponse& x) { return x.status == 401 || x.status == 403; };
  const std::string events = "/dataplane/v1/events", call = "/dataplane/v1/call";
  // The join token, with or without a node id.
  HttpResponse r = Dataplane(e2url, events, frame, control.join(), "");
  EXPECT_TRUE(refused(r));
  r = Dataplane(e2url, events, frame, control.join(), "edge-1");
  EXPECT_TRUE(refused(r));
  r = Dataplane(e2url, call, frame, control.join(), "edge-1");
  EXPECT_TRUE(refused(r));
  EXPECT_EQ(FileLines(log).size(), 1u);
  std::string s1 = SavedSecret(e1), s2 = SavedSecret(e2);
  ASSERT_EQ(s1.size(), 64u);
  // A node's raw secret (peers never see it), another node's token, a
  // token for the wrong receiver, a token truncated or padded.
  std::string good = PairToken(DataplaneKey(s1), "edge-2");
  for (auto [token, node] : std::vector<std::pair<std::string, std::string>>{
           {s1, "edge-1"},
           {PairToken(DataplaneKey(s2), "edge-2"), "edge-1"},
           {good, "edge-2"},
           {good, "edge-3"},
           {PairToken(DataplaneKey(s1), "edge-1"), "edge-1"},
           {good.substr(0, 63), "edge-1"},
           {good + "0", "edge-1"},
           {"", "edge-1"}}) {
    r = Dataplane(e2url, events, frame, token, node);
    EXPECT_TRUE(refused(r)) << node << " " << r.status << " " << r.body;
  }
  EXPECT_EQ(FileLines(log).size(), 1u);

  // edge-1's own token for edge-2 is accepted, for the instances edge-1
  // sends to only.
  r = Dataplane(e2url, events, frame, good, "edge-1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Obj(r)["accepted"].to_number<int64_t>(), 1) << r.body;
  r = Dataplane(e2url, events, Frame("dp/other/0", "fwd", "sneaky"), good, "edge-1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Obj(r)["accepted"].to_number<int64_t>(), 0) << r.body;
  ASSERT_TRUE(WaitFor([&] { return FileLines(log).size() == 2; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(FileLines(other).empty());
}

}  // namespace
}  // namespace aether::testing
