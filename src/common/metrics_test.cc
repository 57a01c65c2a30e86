#include "common/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <optional>
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

// Each thread writes a shard of its own: more threads than shards, and
// more buckets than one shard's cache line holds, still add up.
TEST(MetricsTest, ShardsAddUpAcrossThreadsAndBuckets) {
  MetricsRegistry reg;
  std::vector<double> bounds;
  for (int b = 1; b <= 20; ++b) bounds.push_back(b);
  Histogram& h = reg.AddHistogram("wide_seconds", "wide", bounds).Get();
  Counter& c = reg.AddCounter("wide_total", "wide").Get();
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int v = 1; v <= 21; ++v) {
        h.Observe(v);
        c.Inc(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<uint64_t> cumulative = h.CumulativeCounts();
  ASSERT_EQ(cumulative.size(), 21u);
  for (size_t i = 0; i < cumulative.size(); ++i) {
    EXPECT_EQ(cumulative[i], kThreads * (i + 1)) << "bucket " << i;
  }
  EXPECT_DOUBLE_EQ(h.Sum(), kThreads * 231.0);
  EXPECT_DOUBLE_EQ(c.Value(), kThreads * 21 * 0.5);
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

TEST(MetricsTest, CollectedFamiliesAreWrittenByHooksInRegistrationOrder) {
  MetricsRegistry reg;
  auto& first = reg.AddCounter("a_total", "Stored.");
  first.Get().Inc();
  auto& states = reg.AddCollectedGauge("b_instances", "By state.");
  auto& events = reg.AddCollectedCounter("c_events_total", "Events.");
  auto& telemetry = reg.AddCollectedGauge("d_telemetry", "Per instance.");
  EXPECT_EQ(&states, &reg.AddCollectedGauge("b_instances", "By state."));
  int64_t n = 0;
  ScrapeHook hook = reg.OnScrape([&](Scrape& s) {
    ++n;
    s.Add(events, static_cast<double>(6000 * n));
    s.Add(states, {{"state", "running"}}, 2);
    s.Add(states, {{"state", "failed"}}, 0);
    // Labels stay in the order given; values are escaped like stored ones.
    s.Add(telemetry, {{"workflow", "wf"}, {"instance", "wf/a\"b\\\n/0"}, {"name", "x"}}, 0.5);
  });
  const std::string want =
      "# HELP a_total Stored.\n"
      "# TYPE a_total counter\n"
      "a_total 1\n"
      "# HELP b_instances By state.\n"
      "# TYPE b_instances gauge\n"
      "b_instances{state=\"running\"} 2\n"
      "b_instances{state=\"failed\"} 0\n"
      "# HELP c_events_total Events.\n"
      "# TYPE c_events_total counter\n"
      "c_events_total {}\n"
      "# HELP d_telemetry Per instance.\n"
      "# TYPE d_telemetry gauge\n"
      "d_telemetry{workflow=\"wf\",instance=\"wf/a\\\"b\\\\\\n/0\",name=\"x\"} 0.5\n";
  auto with = [&](const char* events_value) {
    std::string w = want;
    w.replace(w.find("{}\n"), 2, events_value);
    return w;
  };
  EXPECT_EQ(reg.Render(), with("6000"));
  // Computed again at every scrape.
  EXPECT_EQ(reg.Render(), with("12000"));
}

TEST(MetricsTest, ADestroyedHookIsNoLongerCalled) {
  MetricsRegistry reg;
  auto& g = reg.AddCollectedGauge("g", "g");
  std::optional<ScrapeHook> hook = reg.OnScrape([&](Scrape& s) { s.Add(g, 1); });
  ScrapeHook other = reg.OnScrape([&](Scrape& s) { s.Add(g, {{"k", "v"}}, 2); });
  EXPECT_EQ(reg.Render(), "# HELP g g\n# TYPE g gauge\ng 1\ng{k=\"v\"} 2\n");
  hook.reset();
  // The family stays registered, with what the remaining hooks write.
  EXPECT_EQ(reg.Render(), "# HELP g g\n# TYPE g gauge\ng{k=\"v\"} 2\n");
  ScrapeHook moved = std::move(other);
  EXPECT_EQ(reg.Render(), "# HELP g g\n# TYPE g gauge\ng{k=\"v\"} 2\n");
  moved.Reset();
  EXPECT_EQ(reg.Render(), "# HELP g g\n# TYPE g gauge\n");
}

TEST(MetricsTest, ResetWaitsForARunningHook) {
  MetricsRegistry reg;
  auto& g = reg.AddCollectedGauge("g", "g");
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> owner_alive{true};
  std::atomic<bool> used_after_reset{false};
  ScrapeHook hook = reg.OnScrape([&](Scrape& s) {
    entered.set_value();
    released.wait();
    if (!owner_alive.load()) used_after_reset = true;
    s.Add(g, 1);
  });
  auto scrape = std::async(std::launch::async, [&] { return reg.Render(); });
  entered.get_future().wait();
  auto reset = std::async(std::launch::async, [&] {
    hook.Reset();
    owner_alive = false;  // what the owner's destructor would free next
  });
  // Reset cannot finish while the hook runs; let the hook finish.
  EXPECT_EQ(reset.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  release.set_value();
  reset.get();
  EXPECT_NE(scrape.get().find("g 1\n"), std::string::npos);
  EXPECT_FALSE(used_after_reset);
}

TEST(MetricsTest, ScrapesRunConcurrentlyWithRegistration) {
  MetricsRegistry reg;
  auto& g = reg.AddCollectedGauge("g", "g");
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        std::string text = reg.Render();
        EXPECT_NE(text.find("# TYPE g gauge\n"), std::string::npos);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    reg.AddCounter("c" + std::to_string(i) + "_total", "c").Get().Inc();
    ScrapeHook h = reg.OnScrape([&](Scrape& s) { s.Add(g, {{"i", std::to_string(i)}}, i); });
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_NE(reg.Render().find("c199_total 1\n"), std::string::npos);
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
  EXPECT_DEATH(
      {
        MetricsRegistry reg;
        reg.AddGauge("m", "x");
        reg.AddCollectedGauge("m", "x");
      },
      "registered as both stored and collected");
  EXPECT_DEATH(
      {
        MetricsRegistry reg;
        auto& g = reg.AddCollectedGauge("m", "x");
        ScrapeHook h = reg.OnScrape([&](Scrape& s) { s.Add(g, {{"__k", "v"}}, 1); });
        reg.Render();
      },
      "invalid label name \"__k\" on m");
}

}  // namespace
}  // namespace aether
