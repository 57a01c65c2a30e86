// Appends from many threads at once on the JetStream event log (they share
// the connection's round trips: internal/jetstream_publisher.h), with a
// real nats-server: each is confirmed only once stored, repeats of an id
// are stored once, the in-flight bound makes callers wait, not fail, and an
// append made while the server is away is stored once it is back, within
// its deadline.
#include <atomic>
#include <set>
#include <thread>

#include "workflow/jetstream_test_util.h"

namespace aether::workflow::testing {
namespace {

TEST_F(JetStreamTest, ConcurrentAppendsAreEachStoredOnce) {
  JetStreamOptions o = Options();
  o.max_pending_appends = 2;  // most appends wait for room
  auto log = Connect(o);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  constexpr int kThreads = 8, kEach = 40;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!Append(*log, "wf", "sink", "e" + std::to_string(t) + "-" + std::to_string(i), "p", 30s)
                 .ok()) {
          ++failed;
        }
        // Every thread also repeats one shared id: stored once.
        if (!Append(*log, "wf", "sink", "shared", "p", 30s).ok()) ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(Look("aether_wf_wf").messages, uint64_t{kThreads * kEach + 1});
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Deliveries got = FetchN(*sub, kThreads * kEach + 1);
  std::set<std::string> ids;
  for (const auto& d : got) ids.insert(d->event().id);
  EXPECT_EQ(ids.size(), got.size()) << "an id came twice";
  EXPECT_EQ(ids.size(), size_t{kThreads * kEach + 1});
}

TEST_F(JetStreamTest, AnAppendWhileTheServerIsAwayIsStoredOnceItIsBack) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "before").ok());
  server_->Kill();
  Status during = Internal("not run");
  std::thread appender([&] { during = Append(*log, "wf", "sink", "during", "p", 60s); });
  // It waits (the deadline is far); the server comes back on the same
  // port and store, and the append is confirmed.
  ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
  appender.join();
  EXPECT_TRUE(during.ok()) << during.ToString();
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(Ids(FetchN(*sub, 2)), (std::vector<std::string>{"before", "during"}));
  // Published again after the reconnect, stored once.
  EXPECT_TRUE(sub->Fetch(5, 300ms)->empty());
}

}  // namespace
}  // namespace aether::workflow::testing
