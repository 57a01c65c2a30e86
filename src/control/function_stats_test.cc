#include "control/function_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace aether::control {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

TEST(FunctionStatsTest, AnIntervalBecomesOneSampleWithItsTotals) {
  Steady::time_point t0{};
  FunctionStats stats({.interval = milliseconds(5000), .samples = 3}, t0);
  stats.Record("hello", 200, 0.002);
  stats.Record("hello", 500, 0.010);
  stats.Record("hello", 404, 0.001);
  stats.Record("echo", 200, 0.004);
  stats.Tick(t0 + milliseconds(4999), 1000);  // not yet
  EXPECT_TRUE(stats.Since(0).empty());
  stats.Tick(t0 + milliseconds(5000), 5000);
  std::vector<StatsSample> s = stats.Since(0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].end_ms, 5000);
  EXPECT_DOUBLE_EQ(s[0].seconds, 5.0);
  const FunctionCounts& hello = s[0].functions.at("hello");
  EXPECT_EQ(hello.requests, 3);
  EXPECT_EQ(hello.errors, 1);  // the 500; a 404 is the caller's
  EXPECT_NEAR(hello.latency_ms_sum, 13.0, 1e-9);
  EXPECT_NEAR(hello.latency_ms_max, 10.0, 1e-9);
  EXPECT_EQ(s[0].functions.at("echo").requests, 1);
}

TEST(FunctionStatsTest, TheRingKeepsTheNewestSamplesAndSinceFilters) {
  Steady::time_point t0{};
  FunctionStats stats({.interval = milliseconds(1000), .samples = 3}, t0);
  for (int64_t i = 1; i <= 5; ++i) {
    stats.Record("f", 200, 0.001 * i);
    stats.Tick(t0 + milliseconds(1000 * i), 1000 * i);
  }
  std::vector<StatsSample> all = stats.Since(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().end_ms, 3000);
  EXPECT_EQ(all.back().end_ms, 5000);
  ASSERT_EQ(stats.Since(4000).size(), 1u);
  EXPECT_TRUE(stats.Since(5000).empty());
}

TEST(FunctionStatsTest, AnIdleIntervalIsAnEmptySampleAndALateTickALongerOne) {
  Steady::time_point t0{};
  FunctionStats stats({.interval = milliseconds(1000), .samples = 10}, t0);
  stats.Tick(t0 + milliseconds(1000), 1000);
  stats.Record("f", 200, 0.001);
  stats.Tick(t0 + milliseconds(3500), 3500);  // the sweeper stalled
  std::vector<StatsSample> s = stats.Since(0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s[0].functions.empty());
  EXPECT_DOUBLE_EQ(s[1].seconds, 2.5);
}

TEST(FunctionStatsTest, FunctionsBeyondTheCapAreSummedAsOther) {
  Steady::time_point t0{};
  FunctionStats stats({.interval = milliseconds(1000), .samples = 2, .max_functions = 3}, t0);
  for (std::string name : {"a", "b", "c", "d", "a"}) stats.Record(name, 200, 0.001);
  stats.Tick(t0 + milliseconds(1000), 1000);
  std::vector<StatsSample> s = stats.Since(0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].functions.size(), 3u);
  EXPECT_EQ(s[0].functions.at("a").requests, 2);
  EXPECT_EQ(s[0].functions.at("b").requests, 1);
  EXPECT_EQ(s[0].functions.at(std::string(kOtherFunctions)).requests, 2);  // c and d
}

// Threads record into shards of their own; an interval sums them all and
// keeps the cap across them.
TEST(FunctionStatsTest, RecordsFromManyThreadsAddUpWithinTheCap) {
  Steady::time_point t0{};
  FunctionStats stats({.interval = milliseconds(1000), .samples = 2, .max_functions = 4}, t0);
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&stats, t] {
      for (int i = 0; i < 100; ++i) stats.Record("a", i % 10 == 0 ? 503 : 200, 0.002);
      stats.Record("only-" + std::to_string(t), 200, 0.010);
    });
  }
  for (std::thread& t : threads) t.join();
  stats.Tick(t0 + milliseconds(1000), 1000);
  std::vector<StatsSample> s = stats.Since(0);
  ASSERT_EQ(s.size(), 1u);
  const auto& f = s[0].functions;
  EXPECT_LE(f.size(), 4u);
  EXPECT_EQ(f.at("a").requests, 600);
  EXPECT_EQ(f.at("a").errors, 60);
  EXPECT_NEAR(f.at("a").latency_ms_sum, 1200, 1e-6);
  int64_t total = 0;
  for (const auto& [name, c] : f) total += c.requests;
  EXPECT_EQ(total, 606);  // the six single ones, counted apart or as _other
  EXPECT_TRUE(f.contains(std::string(kOtherFunctions)));
  EXPECT_DOUBLE_EQ(f.at(std::string(kOtherFunctions)).latency_ms_max, 10);
}

}  // namespace
}  // namespace aether::control
