// The control plane's 500 and 503 answers (docs/api.md, "Common errors and
// limits", "Health and metrics") through a real ControlService on
// 127.0.0.1 (port 0), over a store that fails on demand as a broken disk
// would, or holds readers to keep the API workers busy.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>

#include "common/testing/eventually.h"
#include "common/testing/http_error.h"
#include "control/control_service.h"
#include "control/testing/service_call.h"

namespace aether::control {
namespace {

namespace json = boost::json;
using aether::testing::Eventually;
using std::chrono::milliseconds;

// A memory store that, on demand, fails every read and write with what the
// SQLite store returns for an I/O error, or holds the transactions that
// list the event log (GET /api/events) until released.
class FaultyStore final : public Store {
 public:
  FaultyStore() : inner_(NewMemoryStore()) {}

  void Fail(bool on) { failing_ = on; }
  void HoldEventLists() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      holding_ = false;
    }
    cv_.notify_all();
  }
  size_t held() const {
    std::lock_guard lock(mu_);
    return held_;
  }

  Result<TxnResult> Txn(const TxnRequest& txn) override {
    RETURN_IF_ERROR(Check());
    if (ListsEvents(txn)) {
      std::unique_lock lock(mu_);
      ++held_;
      cv_.wait(lock, [this] { return !holding_; });
      --held_;
    }
    return inner_->Txn(txn);
  }
  Result<int64_t> Revision() override {
    RETURN_IF_ERROR(Check());
    return inner_->Revision();
  }
  // Waits as the real store does, so the watch threads do not spin on an
  // error.
  Result<int64_t> WaitForRevision(int64_t after, milliseconds timeout) override {
    Result<int64_t> r = inner_->WaitForRevision(after, timeout);
    RETURN_IF_ERROR(Check());
    return r;
  }

 private:
  Status Check() const { return failing_ ? Internal("store: disk I/O error") : OkStatus(); }
  static bool ListsEvents(const TxnRequest& txn) {
    for (const Op& op : txn.ops) {
      if (op.kind == Op::Kind::kList && op.key == "events/") return true;
    }
    return false;
  }

  std::unique_ptr<Store> inner_;
  std::atomic<bool> failing_ = false;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool holding_ = false;
  size_t held_ = 0;
};

class ApiErrorsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (store_) store_->Release();
    service_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Start(size_t api_workers = kApiWorkers, size_t api_queue = kApiQueue) {
    dir_ = (std::filesystem::temp_directory_path() /
            ("aether-api-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    Config config;
    config.database.path = dir_ + "/aether.db";
    auto store = std::make_unique<FaultyStore>();
    store_ = store.get();
    service_ =
        ControlService::Create(config, 0, {std::move(store), api_workers, api_queue}).value();
    ASSERT_TRUE(service_->Start().ok());
  }
  // `token`: "admin", "join", "node:<id>" (the credential RegisterNode got).
  HttpResponse Call(const std::string& method, const std::string& path, std::string_view body = {},
                    const std::string& token = "admin") {
    return control::testing::CallService(*service_, method, path, body, token, credentials_);
  }
  void RegisterNode(const std::string& id) {
    HttpResponse r = Call("POST", "/register",
                          R"({"node_id": ")" + id + R"(", "url": "http://127.0.0.1:1"})", "join");
    ASSERT_EQ(r.status, 200) << r.body;
    credentials_[id] = std::string(json::parse(r.body).as_object()["credential"].as_string());
  }

  std::string dir_;
  FaultyStore* store_ = nullptr;  // owned by service_
  std::unique_ptr<ControlService> service_;
  std::map<std::string, std::string> credentials_;  // node id -> its credential
};

constexpr std::string_view kDeploy = R"({"name": "echo", "wasm_b64": "AGFzbQEAAAA="})";

TEST_F(ApiErrorsTest, AStoreFailureIs500InternalAndHealth503) {
  Start();
  ASSERT_EQ(Call("POST", "/api/functions", kDeploy).status, 201);
  store_->Fail(true);

  struct Case {
    const char* method;
    const char* path;
    std::string body;
  };
  const Case cases[] = {
      {"GET", "/api/functions", ""},
      {"GET", "/api/functions/echo", ""},
      {"GET", "/api/functions/manifest", ""},
      {"POST", "/api/functions", R"({"name": "other", "wasm_b64": "AGFzbQEAAAA="})"},
      {"POST", "/api/functions/echo/rollback", R"({"version": 1})"},
      {"DELETE", "/api/functions/echo", ""},
      {"GET", "/api/events", ""},
      {"POST", "/callback", R"({"event": "custom", "data": {}})"},
      {"GET", "/api/workflows", ""},
      {"POST", "/api/workflows",
       R"({"name": "w", "functions": [{"name": "a", "function": "echo"}]})"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call(c.method, c.path, c.body);
    EXPECT_TRUE(IsError(r, 500, "internal")) << c.method << " " << c.path;
  }
  HttpResponse health = Call("GET", "/health");
  EXPECT_TRUE(IsError(health, 503, "unavailable"));
  // Metrics still answer; the series read from the store are left out.
  HttpResponse metrics = Call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("\naether_control_functions "), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find(R"(aether_control_deploys_total{result="error"} 1)"),
            std::string::npos)
      << metrics.body;

  // Nothing was half-done: once the store works, echo is still there, alone,
  // at version 1.
  store_->Fail(false);
  HttpResponse list = Call("GET", "/api/functions");
  ASSERT_EQ(list.status, 200) << list.body;
  json::array functions = json::parse(list.body).as_object()["functions"].as_array();
  ASSERT_EQ(functions.size(), 1u) << list.body;
  EXPECT_EQ(functions[0].as_object()["name"], "echo");
  EXPECT_EQ(functions[0].as_object()["version"], 1);
  EXPECT_EQ(Call("GET", "/health").status, 200);
}

TEST_F(ApiErrorsTest, AnArtifactThatCannotBeReadIs500Internal) {
  Start();
  HttpResponse deployed = Call("POST", "/api/functions", kDeploy);
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  std::string sha(json::parse(deployed.body).as_object()["sha256"].as_string());
  ASSERT_EQ(Call("GET", "/node/artifacts/" + sha).status, 200);
  // A directory where the file was: opening it works, reading it fails.
  std::string path = service_->data_dir() + "/artifacts/" + sha + ".wasm";
  ASSERT_TRUE(std::filesystem::remove(path)) << path;
  ASSERT_TRUE(std::filesystem::create_directory(path));
  HttpResponse r = Call("GET", "/node/artifacts/" + sha);
  EXPECT_TRUE(IsError(r, 500, "internal"));
}

// One API worker and a queue of one: a worker held in a store read and one
// request waiting fill them; whatever comes next is 503 overloaded, and the
// held and the waiting request are answered once the store lets go.
TEST_F(ApiErrorsTest, AFullWorkerQueueIs503Overloaded) {
  Start(/*api_workers=*/1, /*api_queue=*/1);
  RegisterNode("n1");
  store_->HoldEventLists();
  auto held = std::async(std::launch::async, [&] { return Call("GET", "/api/events"); });
  ASSERT_TRUE(Eventually([&] { return store_->held() == 1; }));

  // Two more at once: one waits in the queue, the other is refused. Which is
  // which depends on the order they arrive in.
  auto first = std::async(std::launch::async, [&] { return Call("GET", "/api/functions"); });
  auto second = std::async(std::launch::async, [&] { return Call("GET", "/api/functions"); });
  auto ready = [](std::future<HttpResponse>& f) {
    return f.wait_for(milliseconds(0)) == std::future_status::ready;
  };
  ASSERT_TRUE(Eventually([&] { return ready(first) || ready(second); }));
  std::future<HttpResponse>& refused = ready(first) ? first : second;
  std::future<HttpResponse>& waiting = ready(first) ? second : first;
  HttpResponse r = refused.get();
  EXPECT_TRUE(IsError(r, 503, "overloaded"));

  // The queue is full now: the long-polls' first reads are refused too.
  r = Call("GET", "/node/manifest");
  EXPECT_TRUE(IsError(r, 503, "overloaded"));
  r = Call("GET", "/node/workflows", "", "node:n1");
  EXPECT_TRUE(IsError(r, 503, "overloaded"));

  store_->Release();
  EXPECT_EQ(held.get().status, 200);
  EXPECT_EQ(waiting.get().status, 200);
}

}  // namespace
}  // namespace aether::control
