#include "workflow/resources/timer.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/testing/fake_clock.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using aether::testing::FakeClock;
using testing::FakeContext;

TimerConfig Config(std::chrono::milliseconds period, std::string payload = "tick") {
  TimerConfig c;
  c.period = period;
  c.payload = std::move(payload);
  return c;
}

// The timer runs on a FakeClock: a test moves time tick by tick and checks
// what the timer did at each, instead of sleeping and counting loosely.
class TimerResourceTest : public ::testing::Test {
 protected:
  TimerResourceTest() { fake_.clock = &clock_; }

  // Once the timer waits for its next tick, moves time on by `d` and waits
  // until the timer has ticked (read its outputs) once more.
  void AdvanceAndTick(Clock::Duration d) {
    ASSERT_TRUE(clock_.AwaitWaiters(1)) << "the timer does not wait";
    clock_.Advance(d);
    ASSERT_TRUE(fake_.WaitOutputReads(++ticks_)) << "no tick " << ticks_;
  }

  FakeClock clock_;
  FakeContext fake_;
  size_t ticks_ = 0;
};

TEST_F(TimerResourceTest, CastsToEveryOutputAtItsRate) {
  fake_.SetOutputs({"a", "b"});
  auto start = clock_.Now();
  auto timer = NewTimer(fake_.Make(), Config(20ms, "ping"));
  for (int i = 0; i < 15; ++i) AdvanceAndTick(20ms);
  ASSERT_TRUE(clock_.AwaitWaiters(1));  // the 15th tick is done
  timer->Stop();
  auto casts = fake_.casts();
  size_t a = 0;
  size_t b = 0;
  for (const auto& c : casts) {
    EXPECT_EQ(c.payload, "ping");
    (c.output == "a" ? a : b)++;
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, 15u) << "one tick per period";
  // The first tick comes one period after the start, not at once.
  ASSERT_FALSE(casts.empty());
  EXPECT_EQ(casts[0].at - start, 20ms);
}

TEST_F(TimerResourceTest, NoDriftAccumulates) {
  fake_.SetOutputs({"out"});
  auto start = clock_.Now();
  auto timer = NewTimer(fake_.Make(), Config(10ms));
  for (int i = 0; i < 20; ++i) AdvanceAndTick(10ms);
  ASSERT_TRUE(fake_.WaitCasts(20));
  timer->Stop();
  auto casts = fake_.casts();
  // Tick k is due at start + k*10ms, whatever the time a tick takes.
  for (size_t k = 0; k < 20; ++k) {
    EXPECT_EQ(casts[k].at - start, static_cast<int>(k + 1) * 10ms) << k;
  }
}

TEST_F(TimerResourceTest, AStallSkipsTicksInsteadOfBursting) {
  fake_.SetOutputs({"out"});
  auto start = clock_.Now();
  auto timer = NewTimer(fake_.Make(), Config(10ms));
  AdvanceAndTick(35ms);  // ticks due at 10, 20 and 30 ms: one tick
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(fake_.casts().size(), 1u);
  AdvanceAndTick(5ms);  // back on the grid: the next tick at 40 ms
  ASSERT_TRUE(fake_.WaitCasts(2));
  timer->Stop();
  auto casts = fake_.casts();
  ASSERT_EQ(casts.size(), 2u);
  EXPECT_EQ(casts[0].at - start, 35ms);
  EXPECT_EQ(casts[1].at - start, 40ms);
}

TEST_F(TimerResourceTest, StopIsPrompt) {
  fake_.SetOutputs({"out"});
  auto timer = NewTimer(fake_.Make(), Config(std::chrono::hours(1)));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  // No time passes on the fake clock: Stop returns because it wakes the
  // waiting timer, not because a period ends.
  auto before = clock_.Now();
  timer->Stop();
  EXPECT_EQ(clock_.Now(), before);
  timer->Stop();  // idempotent
  EXPECT_TRUE(fake_.casts().empty());
  // The destructor stops too.
  auto other = NewTimer(fake_.Make(), Config(std::chrono::hours(1)));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  other.reset();
  EXPECT_EQ(clock_.waiters(), 0u);
}

TEST_F(TimerResourceTest, FailedCastsAreCountedAndTheTimerGoesOn) {
  fake_.SetOutputs({"out"});
  fake_.SetCastStatus(ResourceExhausted("mailbox full"));
  auto timer = NewTimer(fake_.Make(), Config(10ms));
  for (int i = 0; i < 3; ++i) AdvanceAndTick(10ms);
  ASSERT_TRUE(fake_.WaitFailures(3));
  EXPECT_NE(fake_.failures()[0].find("mailbox full"), std::string::npos);
  fake_.SetCastStatus(OkStatus());
  for (int i = 0; i < 2; ++i) AdvanceAndTick(10ms);
  ASSERT_TRUE(fake_.WaitCasts(2));
  timer->Stop();
  auto n = fake_.casts().size();
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(fake_.casts().size(), n) << "no cast after Stop";
  EXPECT_EQ(fake_.output_reads(), ticks_) << "no tick after Stop";
}

TEST_F(TimerResourceTest, OutputsAreReadAtEveryTickAndEventsRefused) {
  auto timer = NewTimer(fake_.Make(), Config(10ms));
  for (int i = 0; i < 5; ++i) AdvanceAndTick(10ms);
  EXPECT_TRUE(fake_.casts().empty()) << "nothing mapped, nothing sent";
  fake_.SetOutputs({"late"});
  AdvanceAndTick(10ms);
  ASSERT_TRUE(fake_.WaitCasts(1));
  EXPECT_EQ(fake_.casts()[0].output, "late");
  EXPECT_EQ(timer->Cast("fn", "x").code(), Code::kFailedPrecondition);
  auto r = timer->Call("fn", "x", 1s);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "a timer receives no events");
}

}  // namespace
}  // namespace aether::workflow::resources
