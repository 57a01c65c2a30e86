#include "cli/bench_csv.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli/scratch_test_util.h"

namespace aether::cli::bench {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(BenchCsvTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
}

TEST(BenchCsvTest, HeaderFirstThenRowsWithAdditionalFields) {
  testing::Scratch dir;
  CsvOptions o{.path = dir / "out.csv",
               .additional_fields = "x,1",
               .additional_header = "exp,run",
               .seed = 7};
  auto w = CsvWriter::Open(o);
  ASSERT_TRUE(w.ok()) << w.status().message();
  (*w)->Add(1700000000.5, 0.25, "workflow:accepted", "wf-1", "3.5");
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(Read(o.path),
            "exp,run,seed,timestamp,elapsed_s,metric,target,value\n"
            "x,1,7,1700000000.500000,0.250000,workflow:accepted,wf-1,3.5\n");
}

TEST(BenchCsvTest, AppendKeepsRowsAndWritesNoSecondHeader) {
  testing::Scratch dir;
  CsvOptions o{.path = dir / "out.csv"};
  for (int i = 0; i < 2; ++i) {
    auto w = CsvWriter::Open(o);
    ASSERT_TRUE(w.ok());
    (*w)->Add(1, 2, "m", "t", "v");
    ASSERT_TRUE((*w)->Close().ok());
    o.append = true;
  }
  EXPECT_EQ(Read(o.path),
            "seed,timestamp,elapsed_s,metric,target,value\n"
            "0,1.000000,2.000000,m,t,v\n0,1.000000,2.000000,m,t,v\n");
}

TEST(BenchCsvTest, RefusesMismatchedAdditionalFieldsAndBadPaths) {
  testing::Scratch dir;
  auto w = CsvWriter::Open(
      {.path = dir / "o.csv", .additional_fields = "a,b", .additional_header = "h"});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("--additional-header"), std::string::npos);
  auto bad = CsvWriter::Open({.path = dir / "no/such/dir/o.csv"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot open --output"), std::string::npos);
}

}  // namespace
}  // namespace aether::cli::bench
