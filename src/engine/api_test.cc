#include "engine/api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>

#include "common/testing/eventually.h"
#include "common/testing/http_error.h"
#include "engine/testing/fake_engine.h"

namespace aether::engine {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "aether-api-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    for (const char* m : {"echo", "argv", "trap", "timeout", "big", "block"}) Write(m, m);
    Write("fail", "exit 3");
    Write("corrupt", "bad module");
  }
  void TearDown() override {
    engine_.Release();  // never leave a worker blocked, even after a failed assertion
    api_.reset();
    executor_.reset();
    functions_.reset();
    fs::remove_all(dir_);
  }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name + ".wasm", std::ios::binary) << content;
  }

  void Start(size_t workers = 2, size_t queue = 8, uint64_t max_input = 1 << 20) {
    auto reg = NewFunctionRegistry(engine_, {.dir = dir_});
    ASSERT_TRUE(reg.ok());
    functions_ = std::move(reg).value();
    executor_ = std::make_unique<Executor>(ExecutorOptions{workers, queue});
    ApiOptions o;
    o.max_input = max_input;
    o.version = "test";
    api_ = std::make_unique<Api>(o, engine_, *functions_, *executor_, registry_, metrics_);
  }

  // Sends a request and returns a future for its response.
  std::future<HttpResponse> ExecuteAsync(std::string body) {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    auto future = promise->get_future();
    HttpRequest req;
    req.method = "POST";
    req.path = req.target = "/execute";
    req.body = std::move(body);
    api_->Execute(std::move(req), [promise](HttpResponse r) { promise->set_value(std::move(r)); });
    return future;
  }

  HttpResponse Execute(std::string body) { return ExecuteAsync(std::move(body)).get(); }

  HttpResponse Get(void (Api::*handler)(HttpRequest&&, Responder)) {
    std::promise<HttpResponse> promise;
    (api_.get()->*handler)(HttpRequest{}, [&](HttpResponse r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  static json::object Body(const HttpResponse& r) { return json::parse(r.body).as_object(); }

  std::string dir_;
  testing::FakeEngine engine_;
  MetricsRegistry registry_;
  EngineMetrics metrics_{registry_};
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, ExecutesOnAWorker) {
  Start();
  HttpResponse r = Execute(R"({"function":"echo","input":"hi"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json::object o = Body(r);
  EXPECT_EQ(o["output"].as_string(), "hi");
  EXPECT_DOUBLE_EQ(o["execution_time_ms"].to_number<double>(), 0.25);
  EXPECT_EQ(o["memory_used_kb"].as_int64(), 128);
  EXPECT_GE(engine_.last_stack_size.load(), 8u << 20);  // a guest thread ran it

  EXPECT_EQ(Body(Execute(R"({"function":"echo","input":{"a":[1,"x"]}})"))["output"].as_string(),
            R"({"a":[1,"x"]})");
  EXPECT_EQ(Body(Execute(R"({"function":"argv"})"))["output"].as_string(), "argv");
}

TEST_F(ApiTest, BadRequests) {
  Start(2, 8, /*max_input=*/10);
  HttpResponse r = Execute("{nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["code"].as_string(), "invalid_argument");
  r = Execute(R"({"input":"x"})");
  EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
  EXPECT_NE(std::string(Body(r)["error"].as_string()).find("\"function\""), std::string::npos);
  EXPECT_TRUE(IsError(Execute(R"({"function":["echo"]})"), 400, "invalid_argument"));
  r = Execute(R"({"function":"echo","input":"01234567890"})");
  EXPECT_TRUE(IsError(r, 413, "payload_too_large"));
  EXPECT_EQ(Execute(R"({"function":"echo","input":"0123456789"})").status, 200);
  r = Execute(R"({"function":"nope"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["code"].as_string(), "not_found");
}

TEST_F(ApiTest, Failures) {
  Start();
  json::object o = Body(Execute(R"({"function":"trap"})"));
  EXPECT_EQ(o["code"].as_string(), "trap");
  EXPECT_EQ(o["trap"].as_string(), wasm::TrapName(wasm::TrapKind::kDivideByZero));
  EXPECT_EQ(o["stderr"].as_string(), "oops\n");
  o = Body(Execute(R"({"function":"timeout"})"));
  EXPECT_EQ(o["code"].as_string(), "timeout");
  EXPECT_EQ(o["error"].as_string(), "function timeout timed out after 3s");
  HttpResponse r = Execute(R"({"function":"fail"})");
  EXPECT_EQ(r.status, 500);
  o = Body(r);
  EXPECT_EQ(o["code"].as_string(), "exit");
  EXPECT_EQ(o["exit_code"].as_int64(), 3);
  EXPECT_EQ(o["error"].as_string(), "function fail exited with code 3: failed");
  EXPECT_EQ(Body(Execute(R"({"function":"big"})"))["code"].as_string(), "instantiate");
  r = Execute(R"({"function":"corrupt"})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["code"].as_string(), "invalid_module");
  // The others still serve.
  EXPECT_EQ(Execute(R"({"function":"echo"})").status, 200);
}

TEST_F(ApiTest, FullQueueAnswers503AndHealthStillAnswers) {
  Start(/*workers=*/1, /*queue=*/1);
  auto running = ExecuteAsync(R"({"function":"block"})");
  engine_.WaitBlocked(1);
  auto queued = ExecuteAsync(R"({"function":"echo"})");
  // Only once it holds the queue's one place: echo may still be loading,
  // and two requests waiting for one load are let go in either order; the
  // other one would then hold the place, and this test would wait for a
  // request queued behind the blocked worker for ever.
  ASSERT_TRUE(aether::testing::Eventually(
      [&] { return Body(Get(&Api::Health))["queue"].as_int64() == 1; }));
  auto rejected = ExecuteAsync(R"({"function":"echo"})");
  ASSERT_EQ(rejected.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  HttpResponse r = rejected.get();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Body(r)["code"].as_string(), "overloaded");

  json::object h = Body(Get(&Api::Health));
  EXPECT_EQ(h["status"].as_string(), "ok");
  EXPECT_EQ(h["version"].as_string(), "test");
  EXPECT_EQ(h["workers"].as_int64(), 1);
  EXPECT_EQ(h["busy"].as_int64(), 1);
  EXPECT_EQ(h["queue"].as_int64(), 1);
  EXPECT_EQ(h["functions"].as_int64(), 8);

  engine_.Release();
  EXPECT_EQ(running.get().status, 200);
  EXPECT_EQ(queued.get().status, 200);
  std::string metrics = Get(&Api::Metrics).body;
  EXPECT_NE(metrics.find("aether_rejected_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(aether_requests_total{function="echo",status="200"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(aether_requests_total{function="echo",status="503"} 1)"),
            std::string::npos);
}

TEST_F(ApiTest, MetricsAndFunctionList) {
  Start();
  Execute(R"({"function":"trap"})");
  Execute(R"({"function":"echo"})");
  Execute(R"({"function":"nope"})");
  HttpResponse m = Get(&Api::Metrics);
  EXPECT_TRUE(m.content_type.starts_with("text/plain"));
  for (const char* want :
       {"aether_traps_total{kind=\"", "aether_execution_seconds_bucket{function=\"echo\"",
        "aether_requests_total{function=\"\",status=\"404\"} 1", "aether_live_instances 0",
        "aether_queue_depth 0", "aether_module_cache_hits_total",
        "aether_module_cache_misses_total"}) {
    EXPECT_NE(m.body.find(want), std::string::npos) << want << "\n" << m.body;
  }
  auto find = [&](std::string_view name) {
    json::object f = Body(Get(&Api::Functions));
    for (const json::value& v : f["functions"].as_array()) {
      if (v.as_object().at("name").as_string() == name) return v.as_object();
    }
    return json::object{};
  };
  EXPECT_EQ(Body(Get(&Api::Functions))["functions"].as_array().size(), 8u);
  Execute(R"({"function":"corrupt"})");  // waits for its load
  json::object corrupt = find("corrupt");
  EXPECT_EQ(corrupt["state"].as_string(), "failed");
  EXPECT_EQ(corrupt["error"].as_string(), "bad magic number");
  json::object echo = find("echo");
  EXPECT_EQ(echo["state"].as_string(), "ready");
  EXPECT_EQ(echo["tier"].as_string(), "fast");
  EXPECT_EQ(echo["size"].as_int64(), 4);
}

}  // namespace
}  // namespace aether::engine
