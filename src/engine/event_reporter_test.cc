#include "engine/event_reporter.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"

namespace aether::engine {
namespace {

using aether::testing::Eventually;

struct Sink {
  std::mutex mu;
  std::vector<std::string> bodies;
  Status Send(const std::string& b) {
    std::lock_guard lock(mu);
    bodies.push_back(b);
    return OkStatus();
  }
  std::vector<std::string> Get() {
    std::lock_guard lock(mu);
    return bodies;
  }
};

TEST(EventReporterTest, SendsInTheBackgroundAndRateLimitsTraps) {
  Sink sink;
  Counter dropped;
  aether::testing::FakeClock clock;
  EventReporterOptions o;
  o.min_interval = std::chrono::milliseconds(200);
  o.clock = &clock;
  o.send = [&](const std::string& b) { return sink.Send(b); };
  EventReporter r(std::move(o), dropped);
  r.Start();
  r.Report("function_ready", boost::json::object{{"function", "hello"}});
  for (int i = 0; i < 5; ++i) r.ExecutionFailed("f", wasm::TrapKind::kDivideByZero);
  r.ExecutionFailed("f", wasm::TrapKind::kTimeout);
  r.ExecutionFailed("g", wasm::TrapKind::kUnreachable);
  ASSERT_TRUE(Eventually([&] { return sink.Get().size() == 4; }));
  clock.Advance(std::chrono::milliseconds(200));
  r.ExecutionFailed("f", wasm::TrapKind::kDivideByZero);
  ASSERT_TRUE(Eventually([&] { return sink.Get().size() == 5; }));
  std::vector<std::string> b = sink.Get();
  EXPECT_EQ(b[0], R"({"event":"function_ready","data":{"function":"hello"}})");
  EXPECT_EQ(
      b[1],
      R"({"event":"trap","data":{"function":"f","suppressed":0,"kind":"integer_divide_by_zero"}})");
  EXPECT_EQ(b[2], R"({"event":"timeout","data":{"function":"f","suppressed":0}})");
  EXPECT_NE(b[3].find(R"("function":"g")"), std::string::npos);
  EXPECT_NE(b[4].find(R"("suppressed":4)"), std::string::npos) << b[4];
  EXPECT_EQ(dropped.Value(), 0);
  // The interval is measured on the clock: 1 ms early is still suppressed.
  clock.Advance(std::chrono::milliseconds(199));
  r.ExecutionFailed("f", wasm::TrapKind::kDivideByZero);
  clock.Advance(std::chrono::milliseconds(1));
  r.ExecutionFailed("f", wasm::TrapKind::kDivideByZero);
  ASSERT_TRUE(Eventually([&] { return sink.Get().size() == 6; }));
  EXPECT_NE(sink.Get()[5].find(R"("suppressed":1)"), std::string::npos) << sink.Get()[5];
}

TEST(EventReporterTest, BoundedQueueDropsAndCounts) {
  Counter dropped;
  EventReporterOptions o;
  o.queue_capacity = 3;
  EventReporter r(std::move(o), dropped);  // not started: nothing drains the queue
  for (int i = 0; i < 5; ++i) r.Report("x", {});
  EXPECT_EQ(dropped.Value(), 2);
  r.Stop();  // the queued three are dropped too
  EXPECT_EQ(dropped.Value(), 5);
}

}  // namespace
}  // namespace aether::engine
