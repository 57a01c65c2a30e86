// Orchestration domains end to end (issue #13): a cluster controller
// (aether-control --role cluster) and domain orchestrators (aether-control
// with [domain] role = "domain") with their engines, the real binaries on
// 127.0.0.1. A domain registers with the domain join token, heartbeats its
// capabilities, goes down when it dies and up when it comes back; every
// bad caller is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "cluster.h"
#include "common/testing/http_fetch.h"
#include "etcd_replica.h"
#include "workflows.h"

namespace aether::testing {
namespace {

HttpResponse Raw(const std::string& base, std::string_view method, const std::string& path,
                 std::string_view body, const std::string& token, const std::string& domain = "") {
  HttpHeaders h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  if (!domain.empty()) h.emplace_back("X-Aether-Domain", domain);
  auto r = HttpFetch(method, base + path, body, h, seconds(10));
  if (!r.ok()) return HttpResponse{0, "", r.status().message(), {}};
  return std::move(r).value();
}

std::string ErrorCode(const HttpResponse& r) {
  json::object o = Obj(r);
  return o.contains("code") ? Str(o["code"]) : "";
}

// A controller with short domain timings (a loaded CI machine still beats
// well within the timeout).
std::string ControllerConfig() {
  return "[domain]\nrole = \"cluster\"\ntimeout = \"3s\"\nheartbeat_interval = \"200ms\"\n";
}

// A domain orchestrator under `controller`.
std::string DomainConfig(const Control& controller, const std::string& id,
                         const std::string& labels = "") {
  return "[domain]\nrole = \"domain\"\nid = \"" + id + "\"\ncontroller = [\"" + controller.url() +
         "\"]\njoin_token = \"" + controller.domain_join() + "\"\nlabels = { " + labels + " }\n";
}

json::object Domain(Control& controller, const std::string& id) {
  HttpResponse r = controller.Call("GET", "/api/domains/" + id);
  return r.status == 200 ? Obj(r) : json::object();
}

// The engines up in all the domains, as the controller has them.
int64_t NodesUp(Control& controller) {
  json::object list = Obj(controller.Call("GET", "/api/domains"));
  if (!list.contains("domains")) return 0;
  int64_t nodes = 0;
  for (const json::value& d : list["domains"].as_array()) {
    nodes += d.at("capabilities").at("nodes_up").as_int64();
  }
  return nodes;
}

std::string DomainState(Control& controller, const std::string& id) {
  json::object d = Domain(controller, id);
  return d.contains("state") ? Str(d["state"]) : "";
}

TEST(DomainsIntegration, ADomainRegistersBeatsAndIsWatched) {
  Control controller(ControllerConfig());
  ASSERT_FALSE(controller.domain_join().empty());
  Control site_a(DomainConfig(controller, "site-a", "region = \"eu\""));
  Engine engine(site_a, "edge-a1", "zone = \"eu-1\"");

  // The domain joined and reports its engine, with its labels.
  ASSERT_TRUE(WaitFor([&] {
    json::object d = Domain(controller, "site-a");
    if (!d.contains("capabilities")) return false;
    json::object& caps = d["capabilities"].as_object();
    return caps["nodes_up"] == 1 && caps["nodes"].as_array().size() == 1;
  })) << json::serialize(Domain(controller, "site-a"));
  json::object d = Domain(controller, "site-a");
  EXPECT_EQ(Str(d["state"]), "up");
  EXPECT_EQ(Str(d["url"]), site_a.url());
  EXPECT_EQ(Str(d["labels"].as_object()["region"]), "eu");
  json::object& caps = d["capabilities"].as_object();
  json::object node = caps["nodes"].as_array()[0].as_object();
  EXPECT_EQ(Str(node["node_id"]), "edge-a1");
  EXPECT_EQ(Str(node["labels"].as_object()["zone"]), "eu-1");
  EXPECT_GT(caps["workers"].as_int64(), 0);
  EXPECT_EQ(Str(caps["health"]), "ok");
  bool ingress = false;
  for (const json::value& c : caps["resource_classes"].as_array()) ingress |= c == "http-ingress";
  EXPECT_TRUE(ingress);
  json::object list = Obj(controller.Call("GET", "/api/domains"));
  ASSERT_TRUE(list.contains("domains"));
  EXPECT_EQ(list["domains"].as_array().size(), 1u);
  // Only the credential's digest is stored: the secret is in the domain's
  // data directory, 0600.
  std::string credential = ReadFile(site_a.data_dir() + "/domain.credential");
  EXPECT_NE(credential.find("site-a"), std::string::npos);
  EXPECT_EQ(std::filesystem::status(site_a.data_dir() + "/domain.credential").permissions() &
                std::filesystem::perms::group_all,
            std::filesystem::perms::none);

  // The CLI shows the same.
  CliRun ls = ControlCli(controller, {"domains", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << Show(ls);
  EXPECT_NE(ls.out.find("site-a"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("region=eu"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("1/1"), std::string::npos) << ls.out;  // NODES
  CliRun show = ControlCli(controller, {"domains", "show", "site-a"});
  EXPECT_EQ(show.exit_code, 0) << Show(show);
  EXPECT_NE(show.out.find("edge-a1"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("zone=eu-1"), std::string::npos) << show.out;
  EXPECT_EQ(ControlCli(controller, {"domains", "show", "../x"}).exit_code, 2);
  CliRun missing = ControlCli(controller, {"domains", "show", "nope"});
  EXPECT_EQ(missing.exit_code, 1) << Show(missing);
  EXPECT_NE(missing.err.find("no domain nope"), std::string::npos) << missing.err;

  // kill -9: down within the timeout; back: up again, with the same
  // credential (no second domain_joined).
  site_a.Kill9();
  ASSERT_TRUE(WaitFor([&] { return DomainState(controller, "site-a") == "down"; }, seconds(10)));
  // The state changes before its event is appended: wait for the event too.
  EXPECT_TRUE(WaitFor([&] { return !controller.Events("domain_down", "control").empty(); }));
  site_a.Start();
  ASSERT_TRUE(WaitFor([&] { return DomainState(controller, "site-a") == "up"; }, seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return !controller.Events("domain_up", "control").empty(); }));
  EXPECT_EQ(controller.Events("domain_joined", "control").size(), 1u);

  // Cordon and drain are stored with the domain.
  HttpResponse cordon = controller.Call("POST", "/api/domains/site-a/drain");
  ASSERT_EQ(cordon.status, 200) << cordon.body;
  EXPECT_EQ(Str(Obj(cordon)["scheduling"]), "draining");
  EXPECT_EQ(controller.Call("POST", "/api/domains/site-a/sideways").status, 404);
  EXPECT_EQ(controller.Call("POST", "/api/domains/nope/cordon").status, 404);

  // Removed: the credential is refused, the domain cannot beat or join
  // again with it.
  ASSERT_EQ(controller.Call("DELETE", "/api/domains/site-a").status, 200);
  EXPECT_EQ(controller.Call("GET", "/api/domains/site-a").status, 404);
  EXPECT_EQ(controller.Events("domain_removed", "api").size(), 1u);
  EXPECT_EQ(controller.Call("DELETE", "/api/domains/site-a").status, 404);
}

// Deploys and workflows go to the controller; each domain mirrors the
// functions and runs its part; a domain that dies has its components
// re-mapped to another, where requests are answered again.
TEST(DomainsIntegration, WorkflowsRunInADomainAndMoveWhenItDies) {
  Control controller(ControllerConfig());
  Control site_a(DomainConfig(controller, "site-a"));
  Engine engine_a(site_a, "edge-a1", "zone = \"a\"");
  Control site_b(DomainConfig(controller, "site-b"));
  Engine engine_b(site_b, "edge-b1", "zone = \"b\"");
  ASSERT_TRUE(WaitFor([&] { return NodesUp(controller) == 2; }))
      << controller.Call("GET", "/api/domains").body;

  // Deploys go to the controller, which hands them to every domain; a
  // domain refuses its own.
  HttpResponse local = site_b.Deploy("echo-wf", "wf_echo");
  EXPECT_EQ(local.status, 409) << local.body;
  EXPECT_EQ(ErrorCode(local), "wrong_role");
  ASSERT_EQ(controller.Deploy("echo-wf", "wf_echo").status, 201);
  std::string sha = Str(Obj(controller.Call("GET", "/api/functions/echo-wf"))["sha256"]);
  for (Control* c : {&site_a, &site_b}) {
    ASSERT_TRUE(WaitFor([&] {
      return Str(Obj(c->Call("GET", "/api/functions/echo-wf"))["sha256"]) == sha;
    })) << c->Call("GET", "/api/functions").body;
  }

  // A module over 1 MiB (a 2 MiB custom section: valid, and ignored) is
  // mirrored too: the agent took answers up to 1 MiB only.
  std::string big("\0asm\1\0\0\0", 8);
  std::string payload = "\1x" + std::string(2 << 20, 'x');  // name "x", then bytes
  big += '\0';
  for (size_t n = payload.size();; n >>= 7) {  // LEB128 section size
    big += static_cast<char>((n & 0x7f) | (n >> 7 ? 0x80 : 0));
    if ((n >> 7) == 0) break;
  }
  big += payload;
  HttpResponse deployed =
      controller.Call("PUT", "/api/functions/big", big, {{"Content-Type", "application/wasm"}});
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  std::string big_sha = Str(Obj(deployed)["sha256"]);
  ASSERT_TRUE(WaitFor([&] {
    return Str(Obj(site_b.Call("GET", "/api/functions/big"))["sha256"]) == big_sha;
  })) << site_b.Call("GET", "/api/functions").body;

  // A workflow free to go anywhere: mapped to one domain (site-a: the
  // domains are alike, the smaller id wins), placed on its engine there.
  Workflows wf{controller};
  std::string id = wf.Apply(R"({"name": "moving", "functions": [{"name": "echo",
      "function": "echo-wf"}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "configurations": {"path": "e", "mode": "call"},
                     "output_mapping": {"new_request": "echo"}}]})");
  ASSERT_EQ(id, "moving");
  ASSERT_TRUE(wf.WaitState(id, "running", seconds(20))) << json::serialize(wf.Show(id));
  EXPECT_EQ(wf.Domains(id)[id + "/in/0"], "site-a");
  EXPECT_EQ(wf.Domains(id)[id + "/echo/0"], "site-a");
  Workflows in_a{site_a};
  ASSERT_TRUE(in_a.WaitState(id, "running")) << json::serialize(in_a.Show(id));
  EXPECT_EQ(in_a.Placement(id)[id + "/echo/0"], "edge-a1");
  // The controller shows the domain and, as the domain reports it, the node.
  EXPECT_TRUE(WaitFor([&] { return wf.Placement(id)[id + "/echo/0"] == "edge-a1"; }))
      << json::serialize(wf.Show(id));
  CliRun show = ControlCli(controller, {"workflow", "show", id});
  EXPECT_NE(show.out.find("DOMAIN"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("edge-a1"), std::string::npos) << show.out;
  HttpResponse r = Post(in_a.IngressUrl(id), "ping");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "ping");
  // Through the controller: it forwards to site-a's control plane, which
  // forwards to its engine.
  EXPECT_EQ(wf.IngressUrl(id), site_a.url() + "/wf/moving/e");
  r = Post(controller.url() + "/wf/moving/e", "via the controller");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "via the controller");
  EXPECT_EQ(Post(controller.url() + "/wf/moving/nope", "x").status, 404);
  EXPECT_EQ(Post(controller.url() + "/wf/nothing/e", "x").status, 404);
  // The domain does not take workflow changes of its own.
  EXPECT_EQ(site_a.Call("DELETE", "/api/workflows/" + id).status, 409);
  EXPECT_EQ(site_a.Call("POST", "/api/workflows", R"({"functions": []})").status, 409);

  // Migrate: to site-b, by the operator; site-a drops its part.
  HttpResponse bad = controller.Call("POST", "/api/workflows/moving/migrate", R"({"node": "x"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  HttpResponse moved =
      controller.Call("POST", "/api/workflows/moving/migrate", R"({"domain": "site-b"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(Obj(moved)["moved"], 2);
  Workflows in_b{site_b};
  ASSERT_TRUE(in_b.WaitState(id, "running", seconds(20))) << json::serialize(in_b.Show(id));
  ASSERT_TRUE(WaitFor([&] { return site_a.Call("GET", "/api/workflows/" + id).status == 404; }));
  r = Post(in_b.IngressUrl(id), "pong");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "pong");
  EXPECT_GE(controller.Events("component_moved", "api").size(), 2u);

  // A workflow no domain can host waits with a reason: a label nobody has.
  std::string nowhere = wf.Apply(R"({"name": "nowhere", "functions": [{"name": "echo",
      "function": "echo-wf", "annotations": {"label_match_all": ["zone=mars"]}}]})");
  EXPECT_EQ(wf.State(nowhere), "pending");
  EXPECT_NE(Str(wf.Show(nowhere)["reason"]).find("zone=mars"), std::string::npos)
      << json::serialize(wf.Show(nowhere));
  // Invalid domain annotations are refused with their JSON path.
  HttpResponse invalid = controller.Call("POST", "/api/workflows",
                                         R"({"functions": [{"name": "f", "function": "echo-wf",
      "annotations": {"domain_match_any": ["../x"]}}], "annotations": {"domains": "all"}})");
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_NE(invalid.body.find("functions[0].annotations.domain_match_any[0]"), std::string::npos)
      << invalid.body;
  // A domain that fits joins: the waiting workflow is mapped there and runs.
  Control site_c(DomainConfig(controller, "site-c"));
  Engine engine_c(site_c, "edge-c1", "zone = \"mars\"");
  ASSERT_TRUE(wf.WaitState(nowhere, "running", seconds(20))) << json::serialize(wf.Show(nowhere));
  EXPECT_EQ(wf.Domains(nowhere)[nowhere + "/echo/0"], "site-c");

  // site-b dies (its control plane and engine, kill -9): its components are
  // re-mapped to a live domain (site-a or site-c: alike but for their ids
  // and load), where the workflow answers again.
  engine_b.Kill9();
  site_b.Kill9();
  auto died = Clock::now();
  std::string to;
  ASSERT_TRUE(WaitFor(
      [&] {
        to = wf.Domains(id)[id + "/echo/0"];
        return to == "site-a" || to == "site-c";
      },
      seconds(15)))
      << json::serialize(wf.Show(id));
  EXPECT_LE(Clock::now() - died, seconds(2 * 3 + 1));  // 2 x the domain timeout
  EXPECT_EQ(wf.Domains(id)[id + "/in/0"], to);
  Workflows there{to == "site-a" ? site_a : site_c};
  ASSERT_TRUE(there.WaitState(id, "running", seconds(20))) << json::serialize(there.Show(id));
  ASSERT_TRUE(WaitFor([&] { return Post(there.IngressUrl(id), "again").status == 200; }));
  // The controller's entry follows the move.
  ASSERT_TRUE(
      WaitFor([&] { return Post(controller.url() + "/wf/moving/e", "again").status == 200; }));
  EXPECT_GE(controller.Events("domain_down", "control").size(), 1u);
  EXPECT_GE(controller.Events("component_moved", "control").size(), 2u);
}

// The value of one sample of an engine's /metrics ("name{labels}"); -1
// when it is not there.
double Metric(const std::string& url, const std::string& sample) {
  auto r = HttpFetch("GET", url + "/metrics", "", {}, seconds(5));
  if (!r.ok()) return -1;
  size_t at = r->body.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(r->body.c_str() + at + sample.size() + 2, nullptr);
}

HttpResponse PortalPost(const std::string& url, const HttpHeaders& headers) {
  auto r = HttpFetch("POST", url, "x", headers, seconds(10));
  if (!r.ok()) return HttpResponse{0, "", r.status().message(), {}};
  return std::move(r).value();
}

// A workflow whose components run in different domains: portals carry its
// casts and calls from one domain to the other and back, only with the
// controller's token; moving a component while events flow loses at most
// what was in flight (counted); a dead domain's component is re-mapped and
// the link follows it.
TEST(DomainsIntegration, WorkflowsSpanDomainsOverPortals) {
  Control controller(ControllerConfig());
  Control site_a(DomainConfig(controller, "site-a"));
  Engine engine_a(site_a, "edge-a1", "zone = \"a\"");
  Engine engine_a2(site_a, "edge-a2", "zone = \"a\"");
  Control site_b(DomainConfig(controller, "site-b"));
  Engine engine_b(site_b, "edge-b1", "zone = \"b\"");
  Engine engine_b2(site_b, "edge-b2", "zone = \"b\"");
  Control site_c(DomainConfig(controller, "site-c"));
  Engine engine_c(site_c, "edge-c1", "zone = \"c\"");
  ASSERT_TRUE(WaitFor([&] { return NodesUp(controller) == 5; }))
      << controller.Call("GET", "/api/domains").body;
  const std::vector<Engine*> in_site_a{&engine_a, &engine_a2};
  ASSERT_EQ(controller.Deploy("fwd", "wf_forward").status, 201);
  ASSERT_EQ(controller.Deploy("echo-wf", "wf_echo").status, 201);

  // f and the ingresses and the log in site-a; g in site-b or site-c. A
  // call: in -> f -> g (replies). Casts: k -> f -> g -> log, out and back.
  Workflows wf{controller};
  std::string id = wf.Apply(R"({"name": "span", "functions": [
      {"name": "f", "function": "fwd", "output_mapping": {"out": "g"},
       "annotations": {"domain_match_any": ["site-a"]}},
      {"name": "g", "function": "echo-wf", "output_mapping": {"out": "log"},
       "annotations": {"domain_match_any": ["site-b", "site-c"]}}],
      "resources": [
      {"name": "in", "class_type": "http-ingress", "configurations": {"path": "c"},
       "output_mapping": {"new_request": "f"}, "annotations": {"domain_match_any": ["site-a"]}},
      {"name": "k", "class_type": "http-ingress", "configurations": {"path": "k", "mode": "cast"},
       "output_mapping": {"new_request": "f"}, "annotations": {"domain_match_any": ["site-a"]}},
      {"name": "log", "class_type": "file-log",
       "annotations": {"domain_match_any": ["site-a"]}}]})");
  ASSERT_EQ(id, "span");
  ASSERT_TRUE(wf.WaitState(id, "running", seconds(30))) << json::serialize(wf.Show(id));
  const std::string first = wf.Domains(id)["span/g/0"];
  ASSERT_TRUE(first == "site-b" || first == "site-c") << json::serialize(wf.Show(id));
  EXPECT_EQ(wf.Domains(id)["span/f/0"], "site-a");
  Control& there = first == "site-b" ? site_b : site_c;
  Control& other = first == "site-b" ? site_c : site_b;
  const std::vector<Engine*> there_engines = first == "site-b"
                                                 ? std::vector<Engine*>{&engine_b, &engine_b2}
                                                 : std::vector<Engine*>{&engine_c};
  const std::vector<Engine*> other_engines = first == "site-b"
                                                 ? std::vector<Engine*>{&engine_c}
                                                 : std::vector<Engine*>{&engine_b, &engine_b2};
  const std::string other_id = first == "site-b" ? "site-c" : "site-b";
  // The sum of a sample over some engines.
  auto metric = [](const std::vector<Engine*>& engines, const std::string& sample) {
    double sum = 0;
    for (Engine* e : engines) sum += std::max(0.0, Metric(e->process().url(), sample));
    return sum;
  };
  // Each domain runs its part with its portals.
  Workflows in_a{site_a};
  Workflows in_there{there};
  ASSERT_TRUE(in_a.WaitState(id, "running", seconds(20))) << json::serialize(in_a.Show(id));
  ASSERT_TRUE(in_there.WaitState(id, "running", seconds(20))) << json::serialize(in_there.Show(id));
  for (const char* portal : {"span/portal-g/0", "span/portal-in-log/0"}) {
    EXPECT_FALSE(in_a.Placement(id)[portal].empty()) << portal;
  }
  for (const char* portal : {"span/portal-in-g/0", "span/portal-log/0"}) {
    EXPECT_FALSE(in_there.Placement(id)[portal].empty()) << portal;
  }

  // A call crosses to g and its reply comes back; also through the
  // controller's entry.
  const std::string call_url = site_a.url() + "/wf/span/c";
  ASSERT_TRUE(WaitFor([&] { return Post(call_url, "hello").body == "hello"; }, seconds(20)))
      << Post(call_url, "hello").body;
  HttpResponse via = Post(controller.url() + "/wf/span/c", "via the controller");
  EXPECT_EQ(via.status, 200) << via.body;
  EXPECT_EQ(via.body, "via the controller");

  // Casts go out to g and come back to the log in site-a, every one.
  const std::string cast_url = site_a.url() + "/wf/span/k";
  std::set<std::string> accepted;
  for (int i = 0; i < 200; ++i) {
    std::string e = "e-" + std::to_string(i);
    if (Post(cast_url, e).status == 202) accepted.insert(e);
  }
  EXPECT_EQ(accepted.size(), 200u);
  ASSERT_TRUE(WaitFor([&] { return LogLines(in_site_a, id, "log.log").size() >= accepted.size(); },
                      seconds(20)))
      << LogLines(in_site_a, id, "log.log").size();
  std::vector<std::string> lines = LogLines(in_site_a, id, "log.log");
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()), accepted);
  EXPECT_EQ(lines.size(), accepted.size());  // once each
  // Counted: site-a sent the casts over its portal, the other domain sent
  // them back over its own.
  EXPECT_GE(metric(in_site_a, R"(aether_portal_events_total{result="sent"})"), 200);
  EXPECT_GE(metric(there_engines, R"(aether_portal_events_total{result="sent"})"), 200);
  EXPECT_GE(metric(in_site_a, R"(aether_portal_calls_total{result="ok"})"), 2);

  // The portal ingress takes only portal requests with the controller's
  // token; a plain ingress takes no portal requests.
  const std::string portal_url = there.url() + "/wf/span/_portal/g";
  HttpHeaders call{{"X-Aether-Portal", "call"}, {"X-Aether-Timeout-Ms", "1000"}};
  HttpHeaders forged = call;
  forged.emplace_back("X-Aether-Portal-Token", std::string(64, '0'));
  HttpResponse r = PortalPost(portal_url, forged);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "permission_denied") << r.body;
  r = PortalPost(portal_url, call);
  EXPECT_EQ(r.status, 403) << r.body;
  r = PortalPost(portal_url, {});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "portal_only") << r.body;
  r = PortalPost(call_url, forged);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "not_a_portal") << r.body;
  // Users cannot declare a portal of their own.
  HttpResponse own = controller.Call("POST", "/api/workflows",
                                     R"({"functions": [
      {"name": "f", "function": "fwd", "output_mapping": {"out": "p"}}],
      "resources": [{"name": "p", "class_type": "portal", "configurations": {
        "url": "http://127.0.0.1:1/wf/x/y", "token": ")" +
                                         std::string(64, 'a') + R"("}}]})");
  EXPECT_EQ(own.status, 400) << own.body;

  // Migrate g to the other domain while casts flow: the link follows it;
  // what was in flight in the old domain may be lost, and is counted.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::set<std::string> flowing;
  std::thread sender([&] {
    for (int i = 0; !stop.load(); ++i) {
      std::string e = "m-" + std::to_string(i);
      if (Post(cast_url, e).status == 202) {
        std::lock_guard lock(mu);
        flowing.insert(e);
      }
    }
  });
  std::this_thread::sleep_for(milliseconds(500));
  HttpResponse moved = controller.Call("POST", "/api/workflows/span/migrate",
                                       R"({"component": "g", "domain": ")" + other_id + R"("})");
  EXPECT_EQ(moved.status, 200) << moved.body;
  Workflows in_other{other};
  EXPECT_TRUE(WaitFor([&] { return wf.Domains(id)["span/g/0"] == other_id; }));
  EXPECT_TRUE(in_other.WaitState(id, "running", seconds(20))) << json::serialize(in_other.Show(id));
  // Flowing through the new domain for a while.
  size_t before = 0;
  {
    std::lock_guard lock(mu);
    before = flowing.size();
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return flowing.size() >= before + 200;
      },
      seconds(20)));
  stop = true;
  sender.join();
  // Settled: no line arrives for a second.
  size_t seen = 0;
  for (int quiet = 0; quiet < 10;) {
    std::this_thread::sleep_for(milliseconds(100));
    size_t now = LogLines(in_site_a, id, "log.log").size();
    quiet = now == seen ? quiet + 1 : 0;
    seen = now;
  }
  lines = LogLines(in_site_a, id, "log.log");
  std::set<std::string> delivered;
  for (const std::string& l : lines) {
    if (l.starts_with("m-")) delivered.insert(l);
  }
  size_t lost = 0;
  for (const std::string& e : flowing) lost += !delivered.contains(e);
  for (const std::string& e : delivered) EXPECT_TRUE(flowing.contains(e)) << e;
  std::printf("migrate under load: %zu casts accepted, %zu delivered, %zu lost in flight\n",
              flowing.size(), delivered.size(), lost);
  // Lost are only those in the old domain's queues when it stopped g: far
  // fewer than went through.
  EXPECT_LT(lost, flowing.size() / 4);
  // The last hundred went the new way, all of them.
  int last = -1;
  for (const std::string& e : flowing) last = std::max(last, std::stoi(e.substr(2)));
  for (int i = std::max(0, last - 99); i <= last; ++i) {
    std::string e = "m-" + std::to_string(i);
    if (flowing.contains(e)) {
      EXPECT_TRUE(delivered.contains(e)) << e;
    }
  }

  // The domain holding g dies (kill -9, its control plane and engine): g
  // is re-mapped to the one left, site-a's portal follows, calls answer
  // again.
  double link_errors = metric(in_site_a, "aether_portal_link_errors_total");
  for (Engine* e : other_engines) e->Kill9();
  other.Kill9();
  auto died = Clock::now();
  // Until g is re-mapped, a call over the dead link fails, and is counted.
  HttpResponse dead = Post(call_url, "into the void");
  EXPECT_TRUE(dead.body.starts_with("error:")) << dead.status << " " << dead.body;
  ASSERT_TRUE(WaitFor([&] { return wf.Domains(id)["span/g/0"] == first; }, seconds(15)))
      << json::serialize(wf.Show(id));
  EXPECT_LE(Clock::now() - died, seconds(2 * 3 + 1));  // 2 x the domain timeout
  ASSERT_TRUE(WaitFor([&] { return Post(call_url, "back").body == "back"; }, seconds(20)))
      << Post(call_url, "back").body;
  auto resumed = Clock::now() - died;
  std::printf("calls answered again %.1f s after the domain died\n",
              std::chrono::duration<double>(resumed).count());
  EXPECT_LE(resumed, seconds(2 * 3 + 1));  // delivery resumes within 2 x the domain timeout
  // The call tried while the link was dead was counted as a link error.
  EXPECT_GT(metric(in_site_a, "aether_portal_link_errors_total"), link_errors);
}

// The controller's state lives in its Store: two controller replicas on
// etcd; the domain beats through either; the leader killed -9, the other
// keeps the domain up, its workflow mapped and running, and takes deploys
// that reach the domain.
TEST(DomainsIntegration, ControllerReplicasOnEtcdOutliveTheLeader) {
  auto etcd = replicas::Etcd3();
  ASSERT_NE(etcd, nullptr);
  const std::string domain_section =
      "[domain]\nrole = \"cluster\"\ntimeout = \"3s\"\nheartbeat_interval = \"200ms\"\n";
  replicas::Replica a(*etcd, "ctl-a", "3s", "", "", domain_section);
  replicas::Replica b(*etcd, "ctl-b", "3s", "", "", domain_section);
  ASSERT_TRUE(a.ok() && b.ok());
  int first = replicas::OneLeader({&a, &b});
  ASSERT_GE(first, 0);
  replicas::Replica& leader = first == 0 ? a : b;
  replicas::Replica& follower = first == 0 ? b : a;
  Control site("[domain]\nrole = \"domain\"\nid = \"site-a\"\ncontroller = [\"" +
               leader.process().url() + "\", \"" + follower.process().url() +
               "\"]\njoin_token = \"" + replicas::kDomainJoin + "\"\n");
  Engine engine(site, "edge-a1");
  auto domain_up_at = [](replicas::Replica& r) {
    json::object d = replicas::Body(r.Call("GET", "/api/domains/site-a").body);
    const json::value* caps = d.if_contains("capabilities");
    return replicas::Str(d, "state") == "up" && caps != nullptr && caps->is_object() &&
           caps->as_object().at("nodes_up") == 1;
  };
  ASSERT_TRUE(WaitFor([&] { return domain_up_at(leader) && domain_up_at(follower); }, seconds(15)));
  ASSERT_EQ(follower
                .Call("PUT", "/api/functions/echo-wf", GuestBytes("wf_echo"), replicas::kAdmin,
                      {{"Content-Type", "application/wasm"}})
                .status,
            201);
  HttpResponse applied = follower.Call("POST", "/api/workflows", R"({"name": "ha",
      "functions": [{"name": "echo", "function": "echo-wf"}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "configurations": {"path": "e", "mode": "call"},
                     "output_mapping": {"new_request": "echo"}}]})");
  ASSERT_EQ(applied.status, 201) << applied.body;
  auto running = [&](replicas::Replica& r) {
    return replicas::Str(replicas::Body(r.Call("GET", "/api/workflows/ha").body), "state") ==
           "running";
  };
  ASSERT_TRUE(WaitFor([&] { return running(leader); }, seconds(20)))
      << leader.Call("GET", "/api/workflows/ha").body;

  leader.Kill9();
  ASSERT_TRUE(WaitFor([&] { return follower.Role() == "leader"; }, seconds(10)));
  // Past the domain timeout: still up (its beats reach the new leader),
  // the workflow still mapped there and answering.
  std::this_thread::sleep_for(seconds(4));
  EXPECT_TRUE(domain_up_at(follower)) << follower.Call("GET", "/api/domains/site-a").body;
  EXPECT_TRUE(WaitFor([&] { return running(follower); }, seconds(10)))
      << follower.Call("GET", "/api/workflows/ha").body;
  HttpResponse r = Post(follower.process().url() + "/wf/ha/e", "still here");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "still here");
  // A deploy at the new leader reaches the domain.
  ASSERT_EQ(follower
                .Call("PUT", "/api/functions/late", GuestBytes("wf_echo"), replicas::kAdmin,
                      {{"Content-Type", "application/wasm"}})
                .status,
            201);
  EXPECT_TRUE(
      WaitFor([&] { return site.Call("GET", "/api/functions/late").status == 200; }, seconds(15)));
}

TEST(DomainsIntegration, BadCallersAreRefused) {
  Control controller(ControllerConfig());
  const std::string base = controller.url();
  const std::string reg = R"({"domain_id": "site-x", "url": "http://127.0.0.1:1"})";
  // No token, a wrong one, the node join token: refused before the body.
  EXPECT_EQ(Raw(base, "POST", "/domain/register", reg, "").status, 401);
  EXPECT_EQ(Raw(base, "POST", "/domain/register", reg, "not-the-token-at-all").status, 403);
  EXPECT_EQ(Raw(base, "POST", "/domain/register", reg, controller.join()).status, 403);
  // Bad bodies, each with a message naming the field.
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"url": "http://h"})"),
        std::string(R"({"domain_id": "../etc", "url": "http://h"})"),
        std::string(R"({"domain_id": "a", "url": "file:///etc/passwd"})")}) {
    HttpResponse r = Raw(base, "POST", "/domain/register", body, controller.domain_join());
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  HttpResponse joined = Raw(base, "POST", "/domain/register", reg, controller.domain_join());
  ASSERT_EQ(joined.status, 200) << joined.body;
  std::string secret = Str(Obj(joined)["credential"]);
  ASSERT_EQ(secret.size(), 64u);
  // The join token does not take over a registered domain.
  HttpResponse again = Raw(base, "POST", "/domain/register", reg, controller.domain_join());
  EXPECT_EQ(again.status, 403);
  EXPECT_EQ(ErrorCode(again), "domain_exists");
  // Heartbeats need the domain's own credential, and speak for it only.
  EXPECT_EQ(Raw(base, "POST", "/domain/heartbeat", "{}", controller.domain_join()).status, 403);
  EXPECT_EQ(Raw(base, "POST", "/domain/heartbeat", "{}", secret, "site-y").status, 404);
  EXPECT_EQ(Raw(base, "POST", "/domain/heartbeat", "{}", "wrong", "site-x").status, 403);
  EXPECT_EQ(
      Raw(base, "POST", "/domain/heartbeat", R"({"domain_id": "site-y"})", secret, "site-x").status,
      403);
  EXPECT_EQ(
      Raw(base, "POST", "/domain/heartbeat", R"({"capabilities": {"nodes": 7}})", secret, "site-x")
          .status,
      400);
  HttpResponse beat =
      Raw(base, "POST", "/domain/heartbeat",
          R"({"capabilities": {"nodes_up": 2, "runtimes": ["wasm"]}})", secret, "site-x");
  EXPECT_EQ(beat.status, 200) << beat.body;
  EXPECT_EQ(
      Obj(controller.Call("GET", "/api/domains/site-x"))["capabilities"].as_object()["nodes_up"],
      2);
  // Admin routes need the admin token, not a domain's.
  EXPECT_EQ(Raw(base, "GET", "/api/domains", "", secret, "site-x").status, 403);
  // A cluster controller takes no nodes.
  HttpResponse node = Raw(base, "POST", "/register",
                          R"({"node_id": "n1", "url": "http://127.0.0.1:1"})", controller.join());
  EXPECT_EQ(node.status, 409);
  EXPECT_EQ(ErrorCode(node), "wrong_role");
}

TEST(DomainsIntegration, OtherRolesAnswerWrongRole) {
  Control single;  // role both
  HttpResponse r = single.Call("GET", "/api/domains");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCode(r), "wrong_role");
  CliRun ls = ControlCli(single, {"domains", "ls"});
  EXPECT_EQ(ls.exit_code, 1);
  EXPECT_NE(ls.err.find("role"), std::string::npos) << ls.err;
  HttpResponse reg = Raw(single.url(), "POST", "/domain/register",
                         R"({"domain_id": "a", "url": "http://127.0.0.1:1"})", single.join());
  EXPECT_EQ(reg.status, 409);
}

}  // namespace
}  // namespace aether::testing
