// The fault handler's other side: a fault that is not a guest's still ends
// the process, through the action that was there before the runtime's.
#include "wasm/internal/thread_state.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "common/sanitizers.h"

#if AETHER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace aether::wasm {
namespace {

void FaultOutsideGuestCode() {
  InstallSignalHandlers();
  PrepareCurrentThread();
#if AETHER_ASAN
  __sanitizer_set_report_path("stderr");  // not ASAN_OPTIONS' log_path: the test reads it
#endif
  // A stray pointer in host code.
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<volatile char*>(page) = 1;
  std::abort();  // not reached
}

TEST(ThreadStateDeathTest, AHostFaultReachesTheActionFromBeforeTheRuntime) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  if (AETHER_ASAN) {
    // ASan's handler, which the runtime's replaced, reports the fault.
    EXPECT_DEATH(FaultOutsideGuestCode(), "AddressSanitizer: SEGV");
  } else {
    EXPECT_EXIT(FaultOutsideGuestCode(), ::testing::KilledBySignal(SIGSEGV), "");
  }
}

// Busy for `d`, as a short guest is: a sleep would let the watchdog's
// wake-up hide behind this thread's own.
void BusyFor(std::chrono::nanoseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// Arms the watchdog for `timeout` and waits until it fires (it marks the
// generation fired, then signals; with no guest on this thread the signal
// handler does nothing). How long that took, or nullopt past `give_up`.
std::optional<std::chrono::nanoseconds> TimeToFire(std::chrono::nanoseconds timeout,
                                                   std::chrono::seconds give_up) {
  InstallSignalHandlers();
  PrepareCurrentThread();
  ThreadState* st = CurrentThreadState();
  auto t0 = std::chrono::steady_clock::now();
  ArmWatchdog(st, timeout);
  while (!(st->armed.load() & ThreadState::kFired)) {
    if (std::chrono::steady_clock::now() - t0 > give_up) {
      DisarmWatchdog(st);
      return std::nullopt;
    }
  }
  auto took = std::chrono::steady_clock::now() - t0;
  DisarmWatchdog(st);
  return took;
}

// Every execution arms the watchdog. Waking it for each one cost a futex
// wake and a context switch per request (a tenth of the engine's CPU for
// microsecond guests); steady executions must leave it on its own pace.
TEST(WatchdogTest, ShortExecutionsDoNotWakeTheWatchdogEach) {
  InstallSignalHandlers();
  PrepareCurrentThread();
  ThreadState* st = CurrentThreadState();
  constexpr int kExecutions = 2000;
  uint64_t before = WatchdogScans();
  for (int i = 0; i < kExecutions; ++i) {
    ArmWatchdog(st, std::chrono::milliseconds(1));  // the inline budget's
    BusyFor(std::chrono::microseconds(2));
    DisarmWatchdog(st);
    BusyFor(std::chrono::microseconds(20));  // the request's network side
  }
  uint64_t scans = WatchdogScans() - before;
  // 2000 executions over >= 44 ms: about one scan per millisecond of pace.
  EXPECT_LT(scans, kExecutions / 4u) << scans << " scans for " << kExecutions << " executions";
}

// ... and still interrupts a guest on time, however long the timeouts of
// the executions that set its pace.
TEST(WatchdogTest, ADeadlineShorterThanThePaceStillFires) {
  for (auto others : {std::chrono::milliseconds(1), std::chrono::milliseconds(3000)}) {
    std::atomic<bool> stop{false};
    std::thread busy([&] {
      InstallSignalHandlers();
      PrepareCurrentThread();
      ThreadState* st = CurrentThreadState();
      while (!stop.load()) {
        ArmWatchdog(st, others);
        BusyFor(std::chrono::microseconds(20));
        DisarmWatchdog(st);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto took = TimeToFire(std::chrono::milliseconds(20), std::chrono::seconds(10));
    stop = true;
    busy.join();
    ASSERT_TRUE(took.has_value()) << "a 20 ms deadline never fired beside " << others.count()
                                  << " ms timeouts";
    EXPECT_GE(*took, std::chrono::milliseconds(20));
    // Slack is 0.25 ms; the rest is room for a busy machine.
    EXPECT_LT(*took, std::chrono::seconds(2));
  }
}

TEST(WatchdogTest, FiresAfterAQuietSpell) {
  // The watchdog sleeps without a deadline once nothing was armed for a
  // while; the first arm after that must wake it.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto took = TimeToFire(std::chrono::milliseconds(5), std::chrono::seconds(10));
  ASSERT_TRUE(took.has_value());
  EXPECT_LT(*took, std::chrono::seconds(2));
}

}  // namespace
}  // namespace aether::wasm
