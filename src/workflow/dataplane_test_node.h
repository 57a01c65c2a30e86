// Test-only: an "engine" of the dataplane tests — a Dataplane with its
// receiving routes on an HttpServer (127.0.0.1:0) over a FakeHost, with a
// node identity of its own — and the instance names every test peer may
// reach. Several in one process talk over real HTTP.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "common/metrics.h"
#include "common/node_credential.h"
#include "workflow/dataplane.h"
#include "workflow/dataplane_testing.h"

namespace aether::workflow::testing {

// Every instance name the tests use: a trusted peer may send to all of them.
inline const std::set<std::string, std::less<>> kInstances{"wf/sink/0", "wf/f/0", "wf/nobody/0",
                                                           "wf/nope/0", "wf/x/0"};

struct TestNode {
  explicit TestNode(DataplaneOptions o = {}, uint64_t max_body = 4ull << 20)
      : identity(TestIdentity("node-" + std::to_string(++count))),
        dataplane([&] {
          o.identity = identity.get();
          o.metrics = &metrics;
          return o;
        }()),
        server([&] {
          HttpServerOptions so;
          so.max_body = max_body;
          so.io_threads = 1;
          return so;
        }()) {
    dataplane.Register(server, host);
    Status st = server.Start();
    EXPECT_TRUE(st.ok()) << st.message();
  }
  ~TestNode() {
    dataplane.Stop();
    server.Stop();
  }
  OutputTarget Target(const std::string& instance) const {
    return OutputTarget{instance, identity->node_id(), server.url()};
  }
  // Accepts requests from `senders` (replacing the previous set), for
  // every test instance.
  void Trust(const std::vector<const TestNode*>& senders) {
    std::vector<PeerGrant> grants;
    grants.reserve(senders.size());
    for (const TestNode* n : senders)
      grants.push_back(GrantFor(*n->identity, identity->node_id(), kInstances));
    dataplane.SetPeers(std::move(grants));
  }
  // The headers `sender` sends here.
  HttpHeaders From(const TestNode& sender) const {
    return {{"X-Aether-Node", sender.identity->node_id()},
            {"Authorization",
             "Bearer " + PairToken(sender.identity->dataplane_key(), identity->node_id())}};
  }

  static inline int count = 0;
  std::unique_ptr<NodeIdentity> identity;
  FakeHost host;
  MetricsRegistry metrics;  // outlives dataplane
  Dataplane dataplane;
  HttpServer server;
};

}  // namespace aether::workflow::testing
