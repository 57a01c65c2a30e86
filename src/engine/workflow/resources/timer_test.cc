#include "engine/workflow/resources/timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/workflow/resources/test_context.h"

namespace aether::engine::workflow::resources {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::FakeContext;

TimerConfig Config(std::chrono::milliseconds period, std::string payload = "tick") {
  TimerConfig c;
  c.period = period;
  c.payload = std::move(payload);
  return c;
}

TEST(TimerTest, CastsToEveryOutputAtItsRate) {
  FakeContext fake;
  fake.SetOutputs({"a", "b"});
  auto start = Clock::now();
  auto timer = NewTimer(fake.Make(), Config(20ms, "ping"));
  std::this_thread::sleep_for(300ms);
  timer->Stop();
  auto elapsed = Clock::now() - start;
  auto casts = fake.casts();
  size_t a = 0;
  size_t b = 0;
  for (const auto& c : casts) {
    EXPECT_EQ(c.payload, "ping");
    (c.output == "a" ? a : b)++;
  }
  EXPECT_EQ(a, b);
  // 15 ticks expected; loose bounds for a loaded machine.
  EXPECT_GE(a, 5u);
  EXPECT_LE(a, static_cast<size_t>(elapsed / 20ms) + 1);
  // The first tick comes one period after the start, not at once.
  ASSERT_FALSE(casts.empty());
  EXPECT_GE(casts[0].at - start, 19ms);
}

TEST(TimerTest, NoDriftAccumulates) {
  FakeContext fake;
  fake.SetOutputs({"out"});
  auto start = Clock::now();
  auto timer = NewTimer(fake.Make(), Config(10ms));
  ASSERT_TRUE(fake.WaitCasts(20));
  timer->Stop();
  auto casts = fake.casts();
  // Tick k is due at start + k*10ms: the 20th no earlier than 200 ms, and
  // (fixed rate) not much later unless the machine stalled.
  EXPECT_GE(casts[19].at - start, 199ms);
}

TEST(TimerTest, StopIsPrompt) {
  FakeContext fake;
  fake.SetOutputs({"out"});
  auto timer = NewTimer(fake.Make(), Config(std::chrono::hours(1)));
  std::this_thread::sleep_for(20ms);
  auto start = Clock::now();
  timer->Stop();
  EXPECT_LT(Clock::now() - start, 100ms);
  timer->Stop();  // idempotent
  EXPECT_TRUE(fake.casts().empty());
  // The destructor stops too.
  auto other = NewTimer(fake.Make(), Config(std::chrono::hours(1)));
  start = Clock::now();
  other.reset();
  EXPECT_LT(Clock::now() - start, 100ms);
}

TEST(TimerTest, FailedCastsAreCountedAndTheTimerGoesOn) {
  FakeContext fake;
  fake.SetOutputs({"out"});
  fake.SetCastStatus(ResourceExhausted("mailbox full"));
  auto timer = NewTimer(fake.Make(), Config(10ms));
  ASSERT_TRUE(fake.WaitFailures(3));
  EXPECT_NE(fake.failures()[0].find("mailbox full"), std::string::npos);
  fake.SetCastStatus(OkStatus());
  ASSERT_TRUE(fake.WaitCasts(2));
  timer->Stop();
  auto n = fake.casts().size();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fake.casts().size(), n) << "no cast after Stop";
}

TEST(TimerTest, OutputsAreReadAtEveryTickAndEventsRefused) {
  FakeContext fake;
  auto timer = NewTimer(fake.Make(), Config(10ms));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(fake.casts().empty()) << "nothing mapped, nothing sent";
  fake.SetOutputs({"late"});
  ASSERT_TRUE(fake.WaitCasts(1));
  EXPECT_EQ(fake.casts()[0].output, "late");
  EXPECT_EQ(timer->Cast("fn", "x").code(), Code::kFailedPrecondition);
  auto r = timer->Call("fn", "x", 1s);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "a timer receives no events");
}

}  // namespace
}  // namespace aether::engine::workflow::resources
