// Orchestration domains end to end (issue #13): a cluster controller
// (aether-control --role cluster) and domain orchestrators (aether-control
// with [domain] role = "domain") with their engines, the real binaries on
// 127.0.0.1. A domain registers with the domain join token, heartbeats its
// capabilities, goes down when it dies and up when it comes back; every
// bad caller is refused.
#include <gtest/gtest.h>

#include "cluster.h"
#include "common/testing/http_fetch.h"

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
  EXPECT_GE(controller.Events("domain_down", "control").size(), 1u);
  site_a.Start();
  ASSERT_TRUE(WaitFor([&] { return DomainState(controller, "site-a") == "up"; }, seconds(10)));
  EXPECT_GE(controller.Events("domain_up", "control").size(), 1u);
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
