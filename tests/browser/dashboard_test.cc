// The operator dashboard (docs/dashboard.md) in a real headless Chromium,
// against the real aether-control and two aether-engines on 127.0.0.1:
// sign-in (a wrong token, then the right one), deploy by file upload,
// readiness, an invocation, a workflow applied from a file with a counter
// that moves, a hostile event shown as text, an engine killed and its node
// shown down. Screenshots go to <build>/test-artifacts/browser/.
//
// Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing
// (scripts/install-deps.sh installs both; CI has them).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "cluster.h"
#include "webdriver.h"
#include "workflows.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;

const std::string kArtifacts = AETHER_BROWSER_ARTIFACTS;
const std::string kPipeline = std::string(AETHER_SOURCE_DIR) + "/examples/pipeline";
const std::string kPipelineWasm = std::string(AETHER_FUNCTIONS_DIR) + "/../examples/pipeline";

// examples/pipeline/workflow.json as `aether workflow apply` sends it: each
// "code" replaced by the function it was deployed as.
std::string PipelineSpec() {
  json::object spec = json::parse(ReadFile(kPipeline + "/workflow.json")).as_object();
  for (json::value& f : spec["functions"].as_array()) {
    json::object& o = f.as_object();
    o.erase("code");
    o["function"] = "pipeline-" + Str(o["name"]);
  }
  return json::serialize(spec);
}

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = MissingBrowser();
    if (!missing.empty()) {
      GTEST_SKIP() << "browser test skipped: not installed: " << missing
                   << "(apt-get install chromium chromium-driver; scripts/install-deps.sh)";
    }
    fs::create_directories(kArtifacts);
  }

  // Polls the text of the first element matching `css` until `ok` holds;
  // on a timeout, fails with the last text seen and a screenshot.
  bool WaitText(WebDriver& d, const std::string& css,
                const std::function<bool(const std::string&)>& ok, const std::string& step,
                milliseconds limit = seconds(15)) {
    std::string last = "(no element)";
    bool done = WaitFor(
        [&] {
          Result<std::string> t = d.TextCss(css);
          if (t.ok()) last = *t;
          return t.ok() && ok(*t);
        },
        limit);
    if (!done) {
      (void)d.Screenshot(kArtifacts + "/failed-" + step + ".png");
      ADD_FAILURE() << step << ": " << css << " shows \"" << last << "\"";
    }
    return done;
  }
  static std::function<bool(const std::string&)> Has(std::string part) {
    return [part = std::move(part)](const std::string& t) {
      return t.find(part) != std::string::npos;
    };
  }
  static size_t Count(WebDriver& d, const std::string& css) {
    Result<std::vector<std::string>> found = d.FindAll(css);
    return found.ok() ? found->size() : 0;
  }
  static void Shot(WebDriver& d, const std::string& name) {
    Status st = d.Screenshot(kArtifacts + "/" + name + ".png");
    EXPECT_TRUE(st.ok()) << st.message();
  }
};

TEST_F(DashboardTest, AnOperatorSignsInDeploysInvokesAppliesAndSeesANodeGoDown) {
  Control control;
  Engine e1(control, "edge-1");
  Engine e2(control, "edge-2");
  ASSERT_TRUE(WaitFor(
      [&] { return control.NodeState("edge-1") == "up" && control.NodeState("edge-2") == "up"; }));
  auto started = WebDriver::Start();
  ASSERT_TRUE(started.ok()) << started.status().message();
  WebDriver& d = **started;

  // Sign-in: a wrong token is refused with a message, never a blank page.
  ASSERT_TRUE(d.Navigate(control.url() + "/ui").ok());
  ASSERT_TRUE(WaitText(d, "#login", Has("Admin token"), "login-page"));
  ASSERT_TRUE(d.TypeCss("#login-token", "not-the-token-0123456789").ok());
  ASSERT_TRUE(d.ClickCss("#login-btn").ok());
  ASSERT_TRUE(WaitText(d, "#login-error", Has("Wrong token"), "wrong-token"));
  Shot(d, "01-login-wrong-token");
  Result<std::string> field = d.Find("#login-token");
  ASSERT_TRUE(field.ok());
  ASSERT_TRUE(d.Clear(*field).ok());
  ASSERT_TRUE(d.SendKeys(*field, control.admin()).ok());
  ASSERT_TRUE(d.ClickCss("#login-btn").ok());
  ASSERT_TRUE(WaitText(d, "#ov-nodes .card-value", Has("2 / 0"), "overview"));
  Result<json::value> where = d.Execute("return location.href;");
  ASSERT_TRUE(where.ok());
  EXPECT_EQ(json::serialize(*where).find(control.admin()), std::string::npos);
  Shot(d, "02-overview");

  // Functions: deploy echo.wasm by choosing the file; both nodes get it ready.
  ASSERT_TRUE(d.ClickCss("#nav-functions").ok());
  ASSERT_TRUE(WaitText(d, "#fn-list", Has("No function"), "functions-empty"));
  ASSERT_TRUE(d.TypeCss("#deploy-file", std::string(AETHER_GUEST_DIR) + "/echo.wasm").ok());
  ASSERT_TRUE(d.ClickCss("#deploy-btn").ok());
  ASSERT_TRUE(WaitText(d, "#deploy-result", Has("Deployed echo@1"), "deploy"));
  ASSERT_TRUE(WaitText(
      d, "#fn-nodes",
      [](const std::string& t) {
        size_t n = 0;
        for (size_t at = t.find("ready"); at != std::string::npos; at = t.find("ready", at + 1)) {
          if (at < 4 || t.compare(at - 4, 4, "not-") != 0) ++n;
        }
        return n == 2;
      },
      "ready"));
  ASSERT_TRUE(d.TypeCss("#invoke-input", "\"hello from the dashboard\"").ok());
  ASSERT_TRUE(d.ClickCss("#invoke-btn").ok());
  ASSERT_TRUE(WaitText(d, "#invoke-output", Has("hello from the dashboard"), "invoke"));
  ASSERT_TRUE(WaitText(d, "#invoke-meta", Has("ms execution"), "invoke-meta"));
  EXPECT_TRUE(WaitText(d, "#invoke-meta", Has("KB memory"), "invoke-memory"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(d.ClickCss("#invoke-btn").ok());
  Shot(d, "03-functions");

  // Workflows: the example pipeline applied from a file; its parse
  // instance's event counter moves as orders arrive at the ingress.
  for (const char* name : {"parse", "filter"}) {
    ASSERT_EQ(control
                  .Call("PUT", std::string("/api/functions/pipeline-") + name,
                        ReadFile(kPipelineWasm + "/" + name + ".wasm"),
                        {{"Content-Type", "application/wasm"}})
                  .status,
              201);
  }
  TempDir specs;
  WriteFile(specs / "pipeline.json", PipelineSpec());
  ASSERT_TRUE(d.ClickCss("#nav-workflows").ok());
  ASSERT_TRUE(WaitText(d, "#wf-list", Has("No workflow"), "workflows-empty"));
  ASSERT_TRUE(d.TypeCss("#wf-file", specs / "pipeline.json").ok());
  ASSERT_TRUE(d.ClickCss("#wf-apply").ok());
  ASSERT_TRUE(WaitText(d, "#wf-result", Has("Applied pipeline"), "apply"));
  ASSERT_TRUE(WaitText(d, "#wf-detail h3", Has("running"), "workflow-running", seconds(20)));
  const std::string counter = "tr[data-instance=\"pipeline/parse/0\"] .inst-events";
  ASSERT_TRUE(WaitText(d, counter, Has("0"), "counter-zero"));
  for (int i = 0; i < 12; ++i) {
    HttpResponse r = Post(control.url() + "/wf/pipeline/orders",
                          R"({"amount": )" + std::to_string(90 + i * 5) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_TRUE(WaitText(
      d, counter, [](const std::string& t) { return !t.empty() && std::stoll(t) >= 12; },
      "counter-moved"));
  EXPECT_EQ(Count(d, "#wf-graph g.comp"), 4u);
  Shot(d, "04-workflows");

  // Events: a hostile string is text, not markup.
  HttpResponse posted = control.Call(
      "POST", "/callback",
      R"({"event": "ui_probe", "data": {"message": "<img src=x onerror=\"window.__pwned=1\">"}})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  ASSERT_TRUE(d.ClickCss("#nav-events").ok());
  ASSERT_TRUE(WaitText(d, "#events-table", Has("<img src=x onerror="), "hostile-event"));
  Result<json::value> safe =
      d.Execute("return [typeof window.__pwned, document.querySelectorAll('#page img').length];");
  ASSERT_TRUE(safe.ok()) << safe.status().message();
  EXPECT_EQ(json::serialize(*safe), R"(["undefined",0])");
  EXPECT_TRUE(WaitText(d, "#events-table", Has("workflow_applied"), "events-live"));
  // Recorded while the page is open: the page's held poll brings it.
  ASSERT_EQ(control.Call("POST", "/callback", R"({"event": "ui_followed"})").status, 201);
  EXPECT_TRUE(WaitText(d, "#events-table", Has("ui_followed"), "events-followed"));
  Shot(d, "05-events");

  // An engine killed with -9: its node goes down on the nodes page.
  ASSERT_TRUE(d.ClickCss("#nav-nodes").ok());
  ASSERT_TRUE(WaitText(d, "tr[data-node=\"edge-2\"] .node-state", Has("up"), "node-up"));
  e2.Kill9();
  ASSERT_TRUE(WaitText(d, "tr[data-node=\"edge-2\"] .node-state", Has("down"), "node-down"));
  EXPECT_TRUE(WaitText(d, "tr[data-node=\"edge-1\"] .node-state", Has("up"), "other-up"));
  // Cordon exists in the API, so the page offers it.
  ASSERT_TRUE(d.ClickCss("tr[data-node=\"edge-1\"] button[data-action=\"cordon\"]").ok());
  EXPECT_TRUE(WaitText(d, "tr[data-node=\"edge-1\"]", Has("cordoned"), "cordon"));
  Shot(d, "06-nodes-down");

  // The overview counts it, and plots the invocations (one 5 s sample).
  ASSERT_TRUE(d.ClickCss("#nav-overview").ok());
  EXPECT_TRUE(WaitText(d, "#ov-nodes .card-value", Has("1 / 1"), "overview-down"));
  EXPECT_TRUE(WaitFor([&] { return Count(d, "svg.plot polyline") > 0; }, seconds(12)))
      << "no plot line";
  Shot(d, "07-overview-plots");

  // No script error and nothing the CSP refused, on any page.
  Result<std::vector<std::string>> console = d.ConsoleMessages();
  ASSERT_TRUE(console.ok()) << console.status().message();
  for (const std::string& m : *console) {
    EXPECT_EQ(m.find("Content Security Policy"), std::string::npos) << m;
    EXPECT_EQ(m.find("Uncaught"), std::string::npos) << m;
  }

  // Sign-out forgets the token.
  ASSERT_TRUE(d.ClickCss("#logout").ok());
  ASSERT_TRUE(WaitText(d, "#login-error", Has("Signed out"), "logout"));
  Result<json::value> kept = d.Execute("return sessionStorage.length;");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(json::serialize(*kept), "0");
}

}  // namespace
}  // namespace aether::testing
