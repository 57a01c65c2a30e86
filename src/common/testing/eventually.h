// Waiting, in tests, for what another thread does: poll a condition until
// it holds or a deadline passes, so a broken test fails instead of hanging
// and a fast machine does not wait longer than it must. For time itself
// (timeouts, intervals, backoff) use FakeClock instead.
#pragma once

#include <chrono>
#include <thread>

namespace aether::testing {

// True as soon as `cond()` holds; false when it still does not after
// `timeout` (generous: it only matters when the test is failing).
template <typename F>
bool Eventually(F&& cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace aether::testing
