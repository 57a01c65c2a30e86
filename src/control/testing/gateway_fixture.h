// The parts a Gateway stands on (an in-memory store, artifacts in a temp
// directory, the function and node registries, metrics), set up afresh for
// each test of the gateway (gateway_test.cc, gateway_async_test.cc).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "common/json_util.h"
#include "control/artifact_store.h"
#include "control/control_metrics.h"
#include "control/event_log.h"
#include "control/function_registry.h"
#include "control/gateway.h"
#include "control/node_registry.h"
#include "control/store.h"

namespace aether::control::testing {

class GatewayFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aether-gateway-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = NewMemoryStore();
    artifacts_ = ArtifactStore::Open((dir_ / "artifacts").string()).value();
    events_ = EventLog::Open(*store_).value();
    functions_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_);
    NodeRegistryOptions no;
    no.node_timeout = std::chrono::minutes(10);
    nodes_ = NodeRegistry::Open(*store_, *events_, no).value();
  }
  void TearDown() override {
    if (gateway_) gateway_->Stop();
    std::filesystem::remove_all(dir_);
  }

  // The `code` of a JSON error body; "" when there is none.
  static std::string Code(const HttpResponse& r) {
    auto v = ParseJsonObject(r.body);
    if (!v.ok() || !v->contains("code") || !v->at("code").is_string()) return "";
    return std::string(v->at("code").as_string());
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<NodeRegistry> nodes_;
  MetricsRegistry registry_;
  ControlMetrics metrics_{registry_};
  std::unique_ptr<Gateway> gateway_;
};

}  // namespace aether::control::testing
