#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace aether {
namespace {

TEST(MetricsTest, CounterAndGaugeRendering) {
  MetricsRegistry reg;
  auto& requests = reg.AddCounter("aether_requests_total", "Requests served.");
  requests.WithLabels({{"status", "200"}, {"function", "hello"}}).Inc();
  requests.WithLabels({{"function", "hello"}, {"status", "200"}}).Inc(2);
  requests.WithLabels({{"function", "a\"b\\c\nd"}, {"status", "500"}}).Inc();
  auto& inflight = reg.AddGauge("aether_inflight", "In-flight executions.\nSecond line \\.");
  inflight.Get().Set(3);
  inflight.Get().Dec();

  EXPECT_EQ(reg.Render(),
            "# HELP aether_requests_total Requests served.\n"
            "# TYPE aether_requests_total counter\n"
            "aether_requests_total{function=\"a\\\"b\\\\c\\nd\",status=\"500\"} 1\n"
            "aether_requests_total{function=\"hello\",status=\"200\"} 3\n"
            "# HELP aether_inflight In-flight executions.\\nSecond line \\\\.\n"
            "# TYPE aether_inflight gauge\n"
            "aether_inflight 2\n");
}

TEST(MetricsTest, HistogramRendering) {
  MetricsRegistry reg;
  auto& lat = reg.AddHistogram("aether_exec_seconds", "Execution time.", {0.125, 0.5, 1});
  Histogram& h = lat.WithLabels({{"function", "hello"}});
  h.Observe(0.0625);
  h.Observe(0.125);  // upper bound is inclusive
  h.Observe(0.75);
  h.Observe(3);
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_EQ(reg.Render(),
            "# HELP aether_exec_seconds Execution time.\n"
            "# TYPE aether_exec_seconds histogram\n"
            "aether_exec_seconds_bucket{function=\"hello\",le=\"0.125\"} 2\n"
            "aether_exec_seconds_bucket{function=\"hello\",le=\"0.5\"} 2\n"
            "aether_exec_seconds_bucket{function=\"hello\",le=\"1\"} 3\n"
            "aether_exec_seconds_bucket{function=\"hello\",le=\"+Inf\"} 4\n"
            "aether_exec_seconds_sum{function=\"hello\"} 3.9375\n"
            "aether_exec_seconds_count{function=\"hello\"} 4\n");
}

TEST(MetricsTest, ReferencesAreStableAndFamiliesShared) {
  MetricsRegistry reg;
  auto& a = reg.AddCounter("x_total", "x");
  auto& b = reg.AddCounter("x_total", "x");
  EXPECT_EQ(&a, &b);
  Counter& c1 = a.WithLabels({{"k", "1"}});
  for (int i = 0; i < 100; ++i) a.WithLabels({{"k", std::to_string(i + 2)}});
  EXPECT_EQ(&c1, &a.WithLabels({{"k", "1"}}));
  EXPECT_EQ(&a.Get(), &a.WithLabels({}));
}

TEST(MetricsTest, ConcurrentIncrementsAreLossless) {
  MetricsRegistry reg;
  Counter& c = reg.AddCounter("hits_total", "hits").Get();
  Histogram& h = reg.AddHistogram("lat_seconds", "lat", {1}).Get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 40000);
  EXPECT_EQ(h.Count(), 40000u);
  EXPECT_DOUBLE_EQ(h.Sum(), 20000);
}

TEST(MetricsTest, SpecialValues) {
  MetricsRegistry reg;
  auto& g = reg.AddGauge("g", "g");
  g.WithLabels({{"v", "inf"}}).Set(INFINITY);
  g.WithLabels({{"v", "nan"}}).Set(NAN);
  g.WithLabels({{"v", "small"}}).Set(0.25);
  std::string text = reg.Render();
  EXPECT_NE(text.find("g{v=\"inf\"} +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g{v=\"nan\"} NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g{v=\"small\"} 0.25\n"), std::string::npos) << text;
}

TEST(MetricsDeathTest, MisuseAborts) {
  EXPECT_DEATH(
      {
        MetricsRegistry reg;
        reg.AddCounter("bad-name", "x");
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        MetricsRegistry reg;
        reg.AddCounter("m", "x");
        reg.AddGauge("m", "x");
      },
      "registered as both counter and gauge");
  EXPECT_DEATH(
      {
        MetricsRegistry reg;
        reg.AddHistogram("h", "x", {1, 1});
      },
      "strictly increasing");
}

}  // namespace
}  // namespace aether
