#include "cli/bench_stats.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace aether::cli::bench {
namespace {

TEST(BenchStatsTest, NearestRankPercentiles) {
  LatencySamples s;
  for (int i = 100; i >= 1; --i) s.Add(i);  // 1..100, added out of order
  EXPECT_DOUBLE_EQ(s.Percentile(50), 50);
  EXPECT_DOUBLE_EQ(s.Percentile(90), 90);
  EXPECT_DOUBLE_EQ(s.Percentile(99), 99);
  EXPECT_DOUBLE_EQ(s.Percentile(99.5), 100);
  EXPECT_DOUBLE_EQ(s.Max(), 100);
  EXPECT_DOUBLE_EQ(s.Percentile(0), 1);
  EXPECT_DOUBLE_EQ(s.Mean(), 50.5);
}

TEST(BenchStatsTest, SmallAndEmptySets) {
  LatencySamples empty;
  EXPECT_EQ(empty.Percentile(50), 0);
  EXPECT_EQ(empty.Max(), 0);
  LatencySamples one;
  one.Add(7.5);
  EXPECT_EQ(one.Percentile(1), 7.5);
  EXPECT_EQ(one.Percentile(99), 7.5);
  LatencySamples two;
  two.Add(3);
  two.Add(1);
  EXPECT_EQ(two.Percentile(50), 1);
  EXPECT_EQ(two.Percentile(51), 3);
}

TEST(BenchStatsTest, MergeKeepsEverySample) {
  LatencySamples a, b;
  a.Add(1);
  EXPECT_EQ(a.Max(), 1);  // sorted once
  b.Add(5);
  b.Add(3);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.Max(), 5);
  EXPECT_EQ(a.Percentile(50), 3);
}

TEST(BenchStatsTest, BlockingProbabilityCountsRefusedAndNotReady) {
  RunTotals t;
  EXPECT_EQ(t.BlockingProbability(), 0);
  t.requested = 8;
  t.refused = 1;
  t.not_ready = 1;
  EXPECT_DOUBLE_EQ(t.BlockingProbability(), 0.25);
}

TEST(BenchStatsTest, SummaryNamesEveryFigure) {
  RunTotals t;
  t.requested = 4;
  t.accepted = 3;
  t.refused = 1;
  t.requests = 10;
  t.ok = 10;
  t.seconds = 2;
  for (int i = 1; i <= 10; ++i) t.latency_ms.Add(i);
  t.first_refusal = "HTTP 400: bad";
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  PrintSummary(t, "title", out);
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  for (const char* needle :
       {"title\n", "blocking probability   0.2500", "throughput req/s       5.0",
        "p50 5.00  p90 9.00  p99 10.00  max 10.00", "HTTP 400: bad"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
}

}  // namespace
}  // namespace aether::cli::bench
