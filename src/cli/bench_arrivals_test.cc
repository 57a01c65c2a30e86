#include "cli/bench_arrivals.h"

#include <gtest/gtest.h>

namespace aether::cli::bench {
namespace {

ArrivalOptions Opts(ArrivalKind kind) {
  ArrivalOptions o;
  o.kind = kind;
  o.duration_s = 100;
  o.interarrival_s = 1;
  o.lifetime_s = 10;
  return o;
}

TEST(BenchArrivalsTest, ParsesEveryModelByName) {
  for (std::string_view name : {"poisson", "incremental", "incr-and-keep", "single", "trace"}) {
    auto k = ParseArrivalKind(name);
    ASSERT_TRUE(k.ok()) << name;
    EXPECT_EQ(ArrivalKindName(*k), name);
  }
  auto bad = ParseArrivalKind("bursty");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("incr-and-keep"), std::string::npos);
}

TEST(BenchArrivalsTest, SameSeedSameScheduleOtherSeedAnother) {
  ArrivalOptions o = Opts(ArrivalKind::kPoisson);
  auto a = Schedule(o);
  auto b = Schedule(o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->empty());
  EXPECT_EQ(*a, *b);
  o.seed = 43;
  auto c = Schedule(o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(*a, *c);
}

TEST(BenchArrivalsTest, PoissonMeansWithinTolerance) {
  ArrivalOptions o = Opts(ArrivalKind::kPoisson);
  o.duration_s = 200000;  // ~200k workflows: the sample means are within ~1%
  o.interarrival_s = 1;
  o.lifetime_s = 10;
  auto s = Schedule(o);
  ASSERT_TRUE(s.ok());
  ASSERT_GT(s->size(), 100000u);
  double gaps = s->front().start_s, lives = 0;
  for (size_t i = 0; i < s->size(); ++i) {
    const Arrival& a = (*s)[i];
    EXPECT_GT(a.end_s, a.start_s);
    if (i > 0) gaps += a.start_s - (*s)[i - 1].start_s;
    lives += a.end_s - a.start_s;
  }
  double n = static_cast<double>(s->size());
  EXPECT_NEAR(gaps / n, 1.0, 0.02);
  EXPECT_NEAR(lives / n, 10.0, 0.2);
  EXPECT_LT(s->back().start_s, o.duration_s);
}

TEST(BenchArrivalsTest, IncrementalIsPeriodicWithConstantLifetime) {
  ArrivalOptions o = Opts(ArrivalKind::kIncremental);
  o.duration_s = 10;
  auto s = Schedule(o);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 10u);
  for (size_t i = 0; i < s->size(); ++i) {
    EXPECT_DOUBLE_EQ((*s)[i].start_s, static_cast<double>(i));
    EXPECT_DOUBLE_EQ((*s)[i].end_s, static_cast<double>(i) + 10);
  }
}

TEST(BenchArrivalsTest, IncrAndKeepAddsUntilWarmupAndKeepsToTheEnd) {
  ArrivalOptions o = Opts(ArrivalKind::kIncrAndKeep);
  o.warmup_s = 50;
  auto s = Schedule(o);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 50u);
  EXPECT_DOUBLE_EQ(s->back().start_s, 49);
  for (const Arrival& a : *s) EXPECT_DOUBLE_EQ(a.end_s, 100);
  o.warmup_s = 0;
  EXPECT_FALSE(Schedule(o).ok());
}

TEST(BenchArrivalsTest, SingleLastsTheWholeRun) {
  auto s = Schedule(Opts(ArrivalKind::kSingle));
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0], (Arrival{0, 100}));
}

TEST(BenchArrivalsTest, RefusesDurationsThatAreNotPositive) {
  for (double bad : {0.0, -1.0}) {
    ArrivalOptions o = Opts(ArrivalKind::kPoisson);
    o.duration_s = bad;
    auto s = Schedule(o);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("--duration"), std::string::npos);
    o = Opts(ArrivalKind::kPoisson);
    o.interarrival_s = bad;
    EXPECT_NE(Schedule(o).status().message().find("--interarrival"), std::string::npos);
    o = Opts(ArrivalKind::kIncremental);
    o.lifetime_s = bad;
    EXPECT_NE(Schedule(o).status().message().find("--lifetime"), std::string::npos);
  }
  ArrivalOptions o = Opts(ArrivalKind::kSingle);
  o.warmup_s = 101;
  EXPECT_NE(Schedule(o).status().message().find("--warmup"), std::string::npos);
  o.warmup_s = -1;
  EXPECT_FALSE(Schedule(o).ok());
}

TEST(BenchArrivalsTest, TraceParsesAndCutsAtTheEnd) {
  auto t = ParseTrace("# start,end\n0,10\n\n1.5, 3\n2,200\n150,160\n", "t.csv");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->size(), 4u);
  EXPECT_EQ((*t)[1], (Arrival{1.5, 3}));
  ArrivalOptions o = Opts(ArrivalKind::kTrace);
  o.trace = *t;
  auto s = Schedule(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 3u);  // 150 starts after the 100 s run
}

TEST(BenchArrivalsTest, TraceNamesTheBadLine) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"0,1\nabc\n", "t.csv:2: expected"},
      {"0,1\n2\n", "t.csv:2: expected"},
      {"0,1,2\n", "t.csv:1: expected"},
      {"-1,2\n", "t.csv:1: times cannot be negative"},
      {"0,1\n\n5,4\n", "t.csv:3: the end time"},
      {"5,6\n4,7\n", "t.csv:2: arrivals must not go back"},
      {"# only a comment\n", "no workflows"},
  };
  for (const Case& c : cases) {
    auto t = ParseTrace(c.text, "t.csv");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos) << t.status().message();
    EXPECT_EQ(t.status().message().find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace aether::cli::bench
