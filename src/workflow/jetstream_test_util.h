// Tests of the JetStream event log: a real nats-server with JetStream in a
// temp store dir (tests/support/nats_server.h), the log's options for it,
// and a side connection that reads what the server holds.
#pragma once

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/testing/eventually.h"
#include "nats_server.h"
#include "workflow/jetstream_log.h"

namespace aether::workflow::testing {

using namespace std::chrono_literals;
using aether::testing::Eventually;
using aether::testing::NatsServer;
using aether::testing::NatsServerBinary;
using aether::testing::TempDir;
using Deliveries = std::vector<std::unique_ptr<LogDelivery>>;

class JetStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NatsServerBinary().empty()) {
      GTEST_SKIP() << "nats-server is not installed (apt-get install nats-server)";
    }
    StartServer({});
  }

  void StartServer(aether::testing::NatsServerOptions o) {
    o.store_dir = store_.path();
    auto s = NatsServer::Start(std::move(o));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  // Short ack wait, so redelivery tests are quick.
  JetStreamOptions Options() const {
    JetStreamOptions o;
    o.urls = {server_->url()};
    o.ack_wait = 1s;
    return o;
  }

  std::unique_ptr<EventLog> Connect(const JetStreamOptions& o) {
    auto log = ConnectJetStream(o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<EventLog> Connect() { return Connect(Options()); }

  static Status Append(EventLog& log, WorkflowRef workflow, std::string_view component,
                       const std::string& id, const std::string& payload = "p",
                       std::chrono::milliseconds within = 5s) {
    return log.Append(workflow, component, LogEvent{id, "src", payload},
                      std::chrono::steady_clock::now() + within);
  }

  static std::unique_ptr<LogSubscription> Subscribe(EventLog& log, WorkflowRef workflow,
                                                    std::string_view component) {
    auto sub = log.Subscribe(workflow, component);
    EXPECT_TRUE(sub.ok()) << sub.status().ToString();
    return sub.ok() ? std::move(*sub) : nullptr;
  }

  // Fetches until `n` events came or `timeout` passed.
  static Deliveries FetchN(LogSubscription& sub, size_t n,
                           std::chrono::milliseconds timeout = 10s) {
    Deliveries out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto got = sub.Fetch(n - out.size(), 500ms);
      if (!got.ok()) {
        ADD_FAILURE() << got.status().ToString();
        break;
      }
      for (auto& d : *got) out.push_back(std::move(d));
    }
    return out;
  }

  static std::vector<std::string> Ids(const Deliveries& ds) {
    std::vector<std::string> ids;
    for (const auto& d : ds) ids.push_back(d->event().id);
    return ids;
  }

  // What the server holds, through a connection of the test's own.
  struct Probe {
    uint64_t messages = 0;      // in the stream
    int64_t waiting_pulls = 0;  // of the consumer
    bool stream_exists = false;
  };
  Probe Look(const std::string& stream, const std::string& consumer = "") const {
    Probe p;
    WithJetStream([&](jsCtx* js) {
      jsStreamInfo* si = nullptr;
      if (js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr) == NATS_OK) {
        p.stream_exists = true;
        p.messages = si->State.Msgs;
      }
      jsStreamInfo_Destroy(si);
      jsConsumerInfo* ci = nullptr;
      if (!consumer.empty() && js_GetConsumerInfo(&ci, js, stream.c_str(), consumer.c_str(),
                                                  nullptr, nullptr) == NATS_OK) {
        p.waiting_pulls = ci->NumWaiting;
      }
      jsConsumerInfo_Destroy(ci);
    });
    return p;
  }

  // Runs `f` on a JetStream context of the test's own connection.
  template <typename F>
  void WithJetStream(F f) const {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    if (natsConnection_ConnectTo(&nc, server_->url().c_str()) == NATS_OK &&
        natsConnection_JetStream(&js, nc, nullptr) == NATS_OK) {
      f(js);
    } else {
      ADD_FAILURE() << "cannot connect to " << server_->url();
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }

  TempDir store_;
  std::unique_ptr<NatsServer> server_;
};

}  // namespace aether::workflow::testing
