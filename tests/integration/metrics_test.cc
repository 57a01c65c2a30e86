// GET /metrics of the real servers. Against the documentation: every
// family the docs list appears with its type, no family the docs do not
// list appears, and the series computed at scrape time (collected
// families) are all there with their labels. Against the format: the
// output parses as exposition format 0.0.4 (exposition.h: HELP and TYPE
// once per family, no duplicate series, label values escaped). And the
// values after some requests through a control plane and an engine.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cluster.h"
#include "common/sha256.h"
#include "common/testing/http_fetch.h"
#include "exposition.h"
#include "local_engine.h"
#include "process.h"

namespace aether::testing {
namespace {

// name -> type, as documented.
using Families = std::map<std::string, std::string>;

// The families both servers' HTTP layer exports (docs/api.md, control plane
// table: "the engine has it too").
const Families kHttpFamilies = {
    {"aether_http_connections", "gauge"},
    {"aether_http_connections_rejected_total", "counter"},
    {"aether_http_request_timeouts_total", "counter"},
};

// docs/api.md, engine "GET /metrics".
const Families kEngineFamilies = {
    {"aether_requests_total", "counter"},
    {"aether_execution_seconds", "histogram"},
    {"aether_compile_seconds", "histogram"},
    {"aether_module_cache_hits_total", "counter"},
    {"aether_module_cache_misses_total", "counter"},
    {"aether_live_instances", "gauge"},
    {"aether_traps_total", "counter"},
    {"aether_queue_depth", "gauge"},
    {"aether_rejected_total", "counter"},
    {"aether_events_dropped_total", "counter"},
    {"aether_inline_executions_total", "counter"},
    {"aether_prefetches_total", "counter"},
};

// docs/workflow-protocol.md, "Metrics (engine /metrics)".
const Families kEngineWorkflowFamilies = {
    {"aether_workflow_instances", "gauge"},
    {"aether_workflow_events_total", "counter"},
    {"aether_workflow_failures_total", "counter"},
    {"aether_workflow_restarts_total", "counter"},
    {"aether_dataplane_dropped_total", "counter"},
    {"aether_portal_events_total", "counter"},
    {"aether_portal_batches_total", "counter"},
    {"aether_portal_calls_total", "counter"},
    {"aether_portal_link_errors_total", "counter"},
    {"aether_workflow_refused_total", "counter"},
    {"aether_workflow_backpressure_waits_total", "counter"},
    {"aether_workflow_duplicates_total", "counter"},
    {"aether_workflow_given_up_total", "counter"},
    {"aether_workflow_telemetry", "gauge"},
    {"aether_dataplane_remote_events_total", "counter"},
    {"aether_dataplane_send_dropped_total", "counter"},
    {"aether_dataplane_received_events_total", "counter"},
    {"aether_dataplane_received_dropped_total", "counter"},
    {"aether_dataplane_deferred_events_total", "counter"},
    {"aether_dataplane_duplicate_batches_total", "counter"},
    {"aether_dataplane_calls_total", "counter"},
    {"aether_dataplane_queued_events", "gauge"},
    {"aether_dataplane_peers_down", "gauge"},
};

// docs/api.md, control plane "Health and metrics".
const Families kControlFamilies = {
    {"aether_control_requests_total", "counter"},
    {"aether_control_deploys_total", "counter"},
    {"aether_control_invokes_total", "counter"},
    {"aether_control_invoke_duration_seconds", "histogram"},
    {"aether_control_nodes", "gauge"},
    {"aether_control_functions", "gauge"},
    {"aether_control_store_revision", "gauge"},
    {"aether_control_leader", "gauge"},
    {"aether_control_manifest_waiters", "gauge"},
    {"aether_control_prefetch_waiters", "gauge"},
    {"aether_control_workflows", "gauge"},
    {"aether_control_workflow_instances", "gauge"},
};

Families Merge(std::vector<const Families*> parts) {
  Families all;
  for (const Families* p : parts) all.insert(p->begin(), p->end());
  return all;
}

// The families of a scrape, which must be valid exposition text.
Families Exported(const std::string& text) {
  Exposition e = ParseExposition(text);
  for (const std::string& error : e.errors) ADD_FAILURE() << error << "\n" << text;
  return e.types;
}

void ExpectDocumented(const Families& families, const std::string& doc) {
  std::string text = ReadFile(std::string(AETHER_SOURCE_DIR) + "/docs/" + doc);
  ASSERT_FALSE(text.empty()) << doc;
  for (const auto& [name, type] : families) {
    EXPECT_NE(text.find("`" + name), std::string::npos) << name << " is not in docs/" << doc;
  }
}

void ExpectSeries(const std::string& text, const std::vector<std::string>& series) {
  for (const std::string& s : series) {
    EXPECT_NE(text.find("\n" + s + " "), std::string::npos) << s << "\n" << text;
  }
}

TEST(MetricsIntegration, EngineExportsEveryDocumentedFamilyAndNoOther) {
  ExpectDocumented(kEngineFamilies, "api.md");
  ExpectDocumented(kHttpFamilies, "api.md");
  ExpectDocumented(kEngineWorkflowFamilies, "workflow-protocol.md");

  LocalEngine e({"hello"});
  ASSERT_TRUE(e.ok());
  HttpResponse m = e.Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(m.content_type.starts_with("text/plain; version=0.0.4")) << m.content_type;
  EXPECT_EQ(Exported(m.body), Merge({&kEngineFamilies, &kHttpFamilies, &kEngineWorkflowFamilies}));
  // The series computed at scrape time, with every label value.
  ExpectSeries(m.body, {
                           "aether_queue_depth",
                           "aether_inline_executions_total{result=\"answered\"}",
                           "aether_inline_executions_total{result=\"handed_off\"}",
                           "aether_prefetches_total{result=\"compiled\"}",
                           "aether_prefetches_total{result=\"dropped\"}",
                           "aether_prefetches_total{result=\"failed\"}",
                           "aether_workflow_instances{state=\"failed\"}",
                           "aether_workflow_instances{state=\"restarting\"}",
                           "aether_workflow_instances{state=\"running\"}",
                           "aether_workflow_instances{state=\"starting\"}",
                           "aether_workflow_events_total",
                           "aether_workflow_failures_total",
                           "aether_workflow_restarts_total",
                           "aether_dataplane_dropped_total",
                           "aether_dataplane_remote_events_total",
                           "aether_dataplane_send_dropped_total{reason=\"queue_full\"}",
                           "aether_dataplane_send_dropped_total{reason=\"unreachable\"}",
                           "aether_dataplane_send_dropped_total{reason=\"rejected\"}",
                           "aether_dataplane_send_dropped_total{reason=\"at_peer\"}",
                           "aether_dataplane_received_events_total",
                           "aether_dataplane_received_dropped_total",
                           "aether_dataplane_calls_total{direction=\"out\",result=\"ok\"}",
                           "aether_dataplane_calls_total{direction=\"out\",result=\"error\"}",
                           "aether_dataplane_calls_total{direction=\"in\",result=\"any\"}",
                           "aether_dataplane_queued_events",
                           "aether_dataplane_peers_down",
                       });
}

TEST(MetricsIntegration, ControlExportsEveryDocumentedFamilyAndNoOther) {
  ExpectDocumented(kControlFamilies, "api.md");
  ExpectDocumented(kHttpFamilies, "api.md");

  Control control;
  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  auto r = HttpFetch("GET", control.url() + "/metrics", {}, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->content_type.starts_with("text/plain; version=0.0.4")) << r->content_type;
  EXPECT_EQ(Exported(r->body), Merge({&kControlFamilies, &kHttpFamilies}));
  ExpectSeries(r->body, {
                            "aether_control_nodes{state=\"down\"}",
                            "aether_control_nodes{state=\"up\"}",
                            "aether_control_functions",
                            "aether_control_store_revision",
                        });
  EXPECT_NE(r->body.find("\naether_control_functions 1\n"), std::string::npos) << r->body;
  // One process on SQLite always leads.
  EXPECT_NE(r->body.find("\naether_control_leader 1\n"), std::string::npos) << r->body;
}

// Scrapes both servers after three gateway invocations and a workflow whose
// telemetry names hold characters a label value must escape.
TEST(MetricsIntegration, ClusterScrapesAreValidAndCountWhatHappened) {
  Control control;
  Engine e1(control, "edge-1");
  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  ASSERT_EQ(control.Deploy("telemetry", "wf_telemetry_names").status, 201);
  ASSERT_TRUE(WaitFor([&] {
    return control.Ready("hello", "edge-1", Sha256Hex(GuestBytes("hello")));
  })) << e1.Logs();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(control.Invoke("hello", "{}").status, 200);
  HttpResponse applied = control.Call("POST", "/api/workflows", R"({"name": "tel",
      "functions": [{"name": "t", "function": "telemetry"}]})");
  ASSERT_EQ(applied.status, 201) << applied.body;
  const std::string engine_metrics = e1.process().url() + "/metrics";
  auto scrape = [](const std::string& url) {
    auto r = HttpFetch("GET", url, {}, {});
    return r.ok() && r->status == 200 ? r->body : std::string();
  };
  // The engine reports the telemetry once the instance has started.
  std::string engine_text;
  ASSERT_TRUE(WaitFor([&] {
    engine_text = scrape(engine_metrics);
    return ParseExposition(engine_text)
               .With("aether_workflow_telemetry", "workflow", "tel")
               .size() == 3;
  })) << engine_text;
  std::string control_text;
  ASSERT_TRUE(WaitFor([&] {
    control_text = scrape(control.url() + "/metrics");
    return ParseExposition(control_text)
               .Value("aether_control_workflows", {{"state", "running"}}) == 1;
  })) << control_text;

  Exposition engine = ParseExposition(engine_text);
  Exposition ctl = ParseExposition(control_text);
  EXPECT_TRUE(engine.errors.empty()) << ::testing::PrintToString(engine.errors) << engine_text;
  EXPECT_TRUE(ctl.errors.empty()) << ::testing::PrintToString(ctl.errors) << control_text;

  // Label values are escaped (\" \\ \n) and read back as the guest wrote them.
  std::map<std::string, double> telemetry;
  for (const Sample& t : engine.With("aether_workflow_telemetry", "workflow", "tel")) {
    for (const auto& [k, v] : t.labels) {
      if (k == "name") telemetry[v] = t.value;
    }
  }
  EXPECT_EQ(telemetry, (std::map<std::string, double>{
                           {"say \"hi\"", 1.5}, {"C:\\temp", -2}, {"two\nlines", 0.25}}));
  EXPECT_NE(engine_text.find(R"(,name="say \"hi\""} 1.5)"
                             "\n"),
            std::string::npos)
      << engine_text;
  EXPECT_NE(engine_text.find(R"(,name="C:\\temp"} -2)"
                             "\n"),
            std::string::npos)
      << engine_text;
  EXPECT_NE(engine_text.find(R"(,name="two\nlines"} 0.25)"
                             "\n"),
            std::string::npos)
      << engine_text;
  EXPECT_EQ(engine.Value("aether_workflow_instances", {{"state", "running"}}), 1);

  // The engine counted the three forwarded executions.
  EXPECT_EQ(engine.Value("aether_requests_total", {{"function", "hello"}, {"status", "200"}}), 3)
      << engine_text;
  EXPECT_EQ(engine.Value("aether_execution_seconds_count", {{"function", "hello"}}), 3);

  // The control plane counted the deploys and invocations; its collected
  // gauges show the node, the functions and the workflow.
  EXPECT_EQ(ctl.Value("aether_control_deploys_total", {{"result", "ok"}}), 2) << control_text;
  EXPECT_EQ(ctl.Value("aether_control_invokes_total", {{"status", "200"}}), 3);
  EXPECT_EQ(ctl.Value("aether_control_invoke_duration_seconds_count"), 3);
  EXPECT_EQ(ctl.Value("aether_control_invoke_duration_seconds_bucket", {{"le", "+Inf"}}), 3);
  EXPECT_EQ(ctl.Value("aether_control_requests_total",
                      {{"route", "POST /api/invoke/{name}"}, {"status", "200"}}),
            3);
  EXPECT_EQ(ctl.Value("aether_control_nodes", {{"state", "up"}}), 1);
  EXPECT_EQ(ctl.Value("aether_control_nodes", {{"state", "down"}}), 0);
  EXPECT_EQ(ctl.Value("aether_control_functions"), 2);
  EXPECT_GT(ctl.Value("aether_control_store_revision").value_or(0), 0);
  EXPECT_EQ(ctl.Value("aether_control_workflow_instances", {{"state", "placed"}}), 1);
}

}  // namespace
}  // namespace aether::testing
