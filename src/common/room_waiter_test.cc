#include "common/room_waiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "common/testing/eventually.h"

namespace aether {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// A bounded counter guarded by one mutex, as the users of RoomWaiter are.
struct Slots {
  explicit Slots(int capacity) : free(capacity) {}

  Status Take(SteadyClock::time_point wait_until) {
    std::unique_lock lock(mu);
    return room.Wait(
        lock, wait_until,
        [&]() -> std::optional<Status> {
          ++attempts;
          if (closed) return Unavailable("closed");
          if (free == 0) return std::nullopt;
          --free;
          return OkStatus();
        },
        [] { return ResourceExhausted("no free slot"); });
  }
  void Give() {
    std::lock_guard lock(mu);
    ++free;
    room.NotifyOne();
  }
  void Close() {
    {
      std::lock_guard lock(mu);
      closed = true;
    }
    room.WakeAll();
  }
  int waiters() {
    std::lock_guard lock(mu);
    return room.waiters();
  }

  std::mutex mu;
  RoomWaiter room;
  int free;
  int attempts = 0;
  bool closed = false;
};

TEST(RoomWaiterTest, WithRoomOrAPastDeadlineItNeverWaits) {
  Slots s(1);
  EXPECT_TRUE(s.Take(SteadyClock::time_point{}).ok());
  EXPECT_EQ(s.Take(SteadyClock::time_point{}).code(), Code::kResourceExhausted);
  EXPECT_EQ(s.attempts, 2);
  EXPECT_EQ(s.waiters(), 0);
}

TEST(RoomWaiterTest, AWaiterGetsTheSlotThatFrees) {
  Slots s(0);
  auto taken = std::async(std::launch::async, [&] { return s.Take(SteadyClock::now() + 30s); });
  ASSERT_TRUE(testing::Eventually([&] { return s.waiters() == 1; }));
  s.Give();
  EXPECT_TRUE(taken.get().ok());
  EXPECT_EQ(s.waiters(), 0);
  EXPECT_EQ(s.free, 0);
}

TEST(RoomWaiterTest, TheDeadlineEndsTheWait) {
  Slots s(0);
  auto start = SteadyClock::now();
  EXPECT_EQ(s.Take(start + 50ms).code(), Code::kResourceExhausted);
  EXPECT_GE(SteadyClock::now() - start, 50ms);
  EXPECT_EQ(s.waiters(), 0);
}

TEST(RoomWaiterTest, WakeAllEndsEveryWaitWithTheAttemptsAnswer) {
  Slots s(0);
  auto a = std::async(std::launch::async, [&] { return s.Take(SteadyClock::now() + 30s); });
  auto b = std::async(std::launch::async, [&] { return s.Take(SteadyClock::now() + 30s); });
  ASSERT_TRUE(testing::Eventually([&] { return s.waiters() == 2; }));
  s.Close();
  EXPECT_EQ(a.get().code(), Code::kUnavailable);
  EXPECT_EQ(b.get().code(), Code::kUnavailable);
}

TEST(RoomWaiterTest, NotifyWithoutWaitersIsHarmless) {
  RoomWaiter room;
  room.NotifyOne();
  room.NotifyAll();
  room.WakeAll();
  EXPECT_EQ(room.waiters(), 0);
}

}  // namespace
}  // namespace aether
