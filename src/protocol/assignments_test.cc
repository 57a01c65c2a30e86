#include "protocol/assignments.h"

#include <gtest/gtest.h>

namespace aether::protocol {
namespace {

const std::string kSha(64, 'a');

std::string Doc(const std::string& instance_json) {
  return R"({"revision": 7, "instances": [)" + instance_json + "]}";
}

std::string FunctionEntry(const std::string& extra = "") {
  return R"({"id": "wf-1a2b3c4d/parse/0", "workflow": "wf-1a2b3c4d", "component": "parse",
            "kind": "function", "function": "parse", "sha256": ")" +
         kSha + R"(")" + extra + "}";
}

// `json` is refused, the message naming `field`.
void ExpectRejected(const std::string& json, const std::string& field) {
  auto a = ParseAssignments(json);
  ASSERT_FALSE(a.ok()) << json;
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find(field), std::string::npos)
      << "want " << field << " in: " << a.status().message();
}

TEST(AssignmentsTest, ParsesTheProtocolExample) {
  auto a = ParseAssignments(R"({"revision": 42,
   "instances": [
     {"id": "wf-1a2b3c4d/parse/0", "workflow": "wf-1a2b3c4d", "component": "parse",
      "kind": "function", "function": "parse", "sha256": ")" +
                            kSha + R"(",
      "init_payload": "{\"k\":1}", "memory_limit": 0, "timeout_ms": 250,
      "outputs": {"out": [{"instance": "wf-1a2b3c4d/filter/0", "node_id": "n2",
                           "url": "http://127.0.0.1:9092/"}]}},
     {"id": "wf-1a2b3c4d/ingress/0", "workflow": "wf-1a2b3c4d", "component": "ingress",
      "kind": "resource", "class_type": "http-ingress",
      "configurations": {"path": "orders", "mode": "call"},
      "outputs": {"new_request": [{"instance": "wf-1a2b3c4d/parse/0", "node_id": "n1.example",
                                   "url": "https://n1.example:9091"}]}}]})");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->revision, 42);
  ASSERT_EQ(a->instances.size(), 2u);
  const InstanceAssignment& f = a->instances[0];
  EXPECT_EQ(f.id, "wf-1a2b3c4d/parse/0");
  EXPECT_EQ(f.kind, InstanceAssignment::Kind::kFunction);
  EXPECT_EQ(f.function, "parse");
  EXPECT_EQ(f.sha256, kSha);
  EXPECT_EQ(f.init_payload, "{\"k\":1}");
  EXPECT_EQ(f.timeout_ms, 250);
  ASSERT_EQ(f.outputs.at("out").size(), 1u);
  EXPECT_EQ(f.outputs.at("out")[0],
            (OutputTarget{"wf-1a2b3c4d/filter/0", "n2", "http://127.0.0.1:9092"}));
  const InstanceAssignment& r = a->instances[1];
  EXPECT_EQ(r.kind, InstanceAssignment::Kind::kResource);
  EXPECT_EQ(r.class_type, "http-ingress");
  EXPECT_EQ(r.configurations, (ResourceConfigMap{{"path", "orders"}, {"mode", "call"}}));
  EXPECT_EQ(r.outputs.at("new_request")[0].url, "https://n1.example:9091");
}

TEST(AssignmentsTest, EmptyAndOptionalFields) {
  auto a = ParseAssignments(R"({"revision": 0, "instances": []})");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->instances.empty());
  auto b = ParseAssignments(Doc(FunctionEntry(R"(, "outputs": null, "configurations": {})")));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_TRUE(b->instances[0].outputs.empty());
  EXPECT_EQ(b->instances[0].memory_limit, 0u);
  EXPECT_EQ(b->instances[0].delivery, Delivery::kAtMostOnce);  // absent: an older control plane
}

TEST(AssignmentsTest, DeliveryModes) {
  auto a = ParseAssignments(Doc(FunctionEntry(R"(, "delivery": "at-least-once")")));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->instances[0].delivery, Delivery::kAtLeastOnce);
  auto b = ParseAssignments(Doc(FunctionEntry(R"(, "delivery": "at-most-once")")));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->instances[0].delivery, Delivery::kAtMostOnce);
  // An engine must not run an at-least-once workflow as at-most-once.
  for (const char* bad :
       {R"(, "delivery": "exactly-once")", R"(, "delivery": 1)",
        R"(, "output_components": {"out": "../x"})", R"(, "output_components": [])"}) {
    auto c = ParseAssignments(Doc(FunctionEntry(bad)));
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("instances[0]."), std::string::npos)
        << c.status().message();
  }
}

TEST(AssignmentsTest, RejectsWithTheFieldPath) {
  struct Case {
    std::string json;
    std::string field;  // expected in the message
  };
  std::vector<Case> cases = {
      {"[]", "object"},
      {R"({"instances": []})", "revision"},
      {R"({"revision": -1, "instances": []})", "revision"},
      {R"({"revision": 1})", "instances"},
      {R"({"revision": 1, "instances": {}})", "instances"},
      {R"({"revision": 1, "instances": [3]})", "instances[0]"},
      {Doc(R"({"workflow": "w", "component": "c", "kind": "function"})"), "instances[0].id"},
      {Doc(FunctionEntry() + "," + FunctionEntry()), "instances[1].id"},  // duplicate
      {Doc(R"({"id": "../etc/passwd", "workflow": "w", "component": "c", "kind": "resource",
               "class_type": "kv"})"),
       "instances[0].id"},
      {Doc(R"({"id": "w/c/0/x", "workflow": "w", "component": "c", "kind": "resource",
               "class_type": "kv"})"),
       "instances[0].id"},
      {Doc(R"({"id": "w/c/01", "workflow": "w", "component": "c", "kind": "resource",
               "class_type": "kv"})"),
       "instances[0].id"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "d", "kind": "resource",
               "class_type": "kv"})"),
       "instances[0].id"},
      {Doc(R"({"id": "../c/0", "workflow": "..", "component": "c", "kind": "resource",
               "class_type": "kv"})"),
       "instances[0].workflow"},
      {Doc(R"({"id": "w/C/0", "workflow": "w", "component": "C", "kind": "resource",
               "class_type": "kv"})"),
       "instances[0].component"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "thing"})"),
       "instances[0].kind"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "resource"})"),
       "instances[0].class_type"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "resource",
               "class_type": "../x"})"),
       "instances[0].class_type"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "function",
               "sha256": ")" +
           kSha + "\"}"),
       "instances[0].function"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "function",
               "function": "a/b", "sha256": ")" +
           kSha + "\"}"),
       "instances[0].function"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "function",
               "function": "f", "sha256": "ABC"})"),
       "instances[0].sha256"},
      {Doc(R"({"id": "w/c/0", "workflow": "w", "component": "c", "kind": "function",
               "function": "f", "sha256": ")" +
           std::string(64, 'A') + "\"}"),
       "instances[0].sha256"},
      {Doc(FunctionEntry(R"(, "configurations": {"port": 80})")),
       "instances[0].configurations.port"},
      {Doc(FunctionEntry(R"(, "configurations": [])")), "instances[0].configurations"},
      {Doc(FunctionEntry(R"(, "init_payload": 5)")), "instances[0].init_payload"},
      {Doc(FunctionEntry(R"(, "memory_limit": -5)")), "instances[0].memory_limit"},
      {Doc(FunctionEntry(R"(, "timeout_ms": "3s")")), "instances[0].timeout_ms"},
      {Doc(FunctionEntry(R"(, "outputs": [])")), "instances[0].outputs"},
      {Doc(FunctionEntry(R"(, "outputs": {"a/b": []})")), "instances[0].outputs.a/b"},
      {Doc(FunctionEntry(R"(, "outputs": {"out": {}})")), "instances[0].outputs.out"},
      {Doc(FunctionEntry(
           R"(, "outputs": {"out": [{"instance": "w/../0", "node_id": "n", "url": "http://h:1"}]})")),
       "instances[0].outputs.out[0].instance"},
      {Doc(FunctionEntry(
           R"(, "outputs": {"out": [{"instance": "w/c/0", "node_id": "-n", "url": "http://h:1"}]})")),
       "instances[0].outputs.out[0].node_id"},
      {Doc(FunctionEntry(
           R"(, "outputs": {"out": [{"instance": "w/c/0", "node_id": "n", "url": "ftp://h"}]})")),
       "instances[0].outputs.out[0].url"},
      {Doc(FunctionEntry(
           R"(, "outputs": {"out": [{"instance": "w/c/0", "node_id": "n", "url": "http://"}]})")),
       "instances[0].outputs.out[0].url"},
      {Doc(FunctionEntry(R"(, "outputs": {"out": [{"instance": "w/c/0", "node_id": "n"}]})")),
       "instances[0].outputs.out[0].url"},
  };
  for (const Case& c : cases) ExpectRejected(c.json, c.field);
}

TEST(AssignmentsTest, EncodesWhatItParses) {
  Assignments a;
  a.revision = 9;
  InstanceAssignment f;
  f.id = "wf/parse/1";
  f.workflow = "wf";
  f.component = "parse";
  f.function = "parse";
  f.sha256 = kSha;
  f.init_payload = "{\"k\":1}";
  f.memory_limit = 1 << 20;
  f.outputs["out"] = {OutputTarget{"wf/log/0", "n2", "http://127.0.0.1:9092"}};
  f.outputs["none"] = {};
  f.output_components = {{"out", "log"}, {"none", "gone"}};
  InstanceAssignment r;
  r.id = "wf/log/0";
  r.workflow = "wf";
  r.component = "log";
  r.kind = InstanceAssignment::Kind::kResource;
  r.class_type = "file-log";
  r.configurations = {{"filename", "x.log"}};
  r.delivery = Delivery::kAtLeastOnce;
  a.instances = {f, r};
  a.peers = {PeerGrant{"n2", kSha, {"wf/parse/1"}}};
  auto back = ParseAssignments(EncodeAssignments(a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, a);
  EXPECT_FALSE(back->workflows.has_value());

  // With incarnations and the list of every workflow.
  a.instances[0].incarnation = 17;
  a.instances[1].incarnation = 17;
  a.workflows = WorkflowIncarnations{{"wf", 17}, {"elsewhere", 4}, {"legacy", 0}};
  back = ParseAssignments(EncodeAssignments(a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, a);
}

TEST(AssignmentsTest, WorkflowIncarnations) {
  auto a = ParseAssignments(Doc(FunctionEntry(R"(, "incarnation": 12)")));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->instances[0].incarnation, 12);
  EXPECT_FALSE(a->workflows.has_value());  // an older control plane sends none
  a = ParseAssignments(R"({"revision": 3, "instances": [], "workflows": {}})");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->workflows, WorkflowIncarnations{});

  struct Case {
    std::string doc, field;
  };
  const Case cases[] = {
      {Doc(FunctionEntry(R"(, "incarnation": -1)")), "instances[0].incarnation"},
      {Doc(FunctionEntry(R"(, "incarnation": "1")")), "instances[0].incarnation"},
      {R"({"revision": 1, "instances": [], "workflows": []})", "\"workflows\" must be an object"},
      {R"({"revision": 1, "instances": [], "workflows": {"Bad Name": 1}})", "\"workflows\""},
      {R"({"revision": 1, "instances": [], "workflows": {"wf": -2}})", "workflows.wf"},
      {R"({"revision": 1, "instances": [], "workflows": {"wf": "x"}})", "workflows.wf"},
      // Every instance's workflow is in the list, with its incarnation.
      {R"({"revision": 7, "workflows": {"other": 1}, "instances": [)" + FunctionEntry() + "]}",
       "instances[0].incarnation"},
      {R"({"revision": 7, "workflows": {"wf-1a2b3c4d": 5}, "instances": [)" +
           FunctionEntry(R"(, "incarnation": 6)") + "]}",
       "instances[0].incarnation"},
  };
  for (const Case& c : cases) ExpectRejected(c.doc, c.field);
}

TEST(AssignmentsTest, EncodedTextIsValidUtf8) {
  Assignments a;
  InstanceAssignment f;
  f.id = "w/f/0";
  f.workflow = "w";
  f.component = "f";
  f.function = "f";
  f.sha256 = kSha;
  f.init_payload = "\xff";
  a.instances = {f};
  auto back = ParseAssignments(EncodeAssignments(a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->instances[0].init_payload, "\xef\xbf\xbd");  // U+FFFD
}

}  // namespace
}  // namespace aether::protocol
