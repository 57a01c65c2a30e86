// The on-disk module cache kept under its size: least recently used first.
#include "wasm/internal/cache_trimmer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "wasm/internal/module_cache.h"

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;

class CacheTrimmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aether-trim-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "jobs" / "job-1");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An entry of `bytes` (object) + 100 (sidecar) last used `age` ago.
  void Entry(const std::string& name, size_t bytes, std::chrono::seconds age) {
    std::ofstream(dir_ / (name + ".so"), std::ios::binary) << std::string(bytes, 'o');
    std::ofstream(dir_ / (name + ".so.info"), std::ios::binary) << std::string(100, 'i');
    Age(dir_ / (name + ".so"), age);
    Age(dir_ / (name + ".so.info"), age);
  }
  static void Age(const fs::path& p, std::chrono::seconds age) {
    fs::last_write_time(p, fs::file_time_type::clock::now() - age);
  }
  bool Has(const std::string& name) const {
    return fs::exists(dir_ / (name + ".so")) && fs::exists(dir_ / (name + ".so.info"));
  }
  bool Gone(const std::string& name) const {
    return !fs::exists(dir_ / (name + ".so")) && !fs::exists(dir_ / (name + ".so.info"));
  }

  fs::path dir_;
};

TEST_F(CacheTrimmerTest, RemovesTheLeastRecentlyUsedUntilTheCacheFits) {
  Entry("a.k.fast", 900, std::chrono::hours(3));
  Entry("b.k.fast", 900, std::chrono::hours(1));
  Entry("c.k.optimized", 900, std::chrono::hours(2));
  Entry("d.k.fast", 900, std::chrono::seconds(0));
  TrimReport r = TrimCacheDir(dir_.string(), 2000);
  EXPECT_EQ(r.removed, 2u);
  EXPECT_EQ(r.removed_bytes, 2000u);
  EXPECT_EQ(r.kept_bytes, 2000u);
  EXPECT_TRUE(Gone("a.k.fast"));
  EXPECT_TRUE(Gone("c.k.optimized"));
  EXPECT_TRUE(Has("b.k.fast"));
  EXPECT_TRUE(Has("d.k.fast"));
  EXPECT_TRUE(fs::exists(dir_ / "jobs" / "job-1"));  // not an entry
  // Under the limit: nothing more.
  EXPECT_EQ(TrimCacheDir(dir_.string(), 2000).removed, 0u);
}

// However small the limit, the module just compiled (or just used) stays.
TEST_F(CacheTrimmerTest, TheMostRecentlyUsedEntryStaysWhateverItsSize) {
  Entry("old.k.fast", 10, std::chrono::hours(1));
  Entry("big.k.fast", 5000, std::chrono::seconds(0));
  TrimReport r = TrimCacheDir(dir_.string(), 1000);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_TRUE(Has("big.k.fast"));
  EXPECT_TRUE(Gone("old.k.fast"));
}

// An object published a moment ago is loaded right after (and two compiles
// may publish at once): what was used within the last minute stays, even
// past the limit.
TEST_F(CacheTrimmerTest, EntriesUsedWithinTheLastMinuteStayEvenPastTheLimit) {
  Entry("old.k.fast", 900, std::chrono::hours(1));
  Entry("a.k.fast", 900, std::chrono::seconds(20));
  Entry("b.k.fast", 900, std::chrono::seconds(0));
  TrimReport r = TrimCacheDir(dir_.string(), 1);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_TRUE(Gone("old.k.fast"));
  EXPECT_TRUE(Has("a.k.fast"));
  EXPECT_TRUE(Has("b.k.fast"));
  EXPECT_EQ(r.kept_bytes, 2000u);
}

// A write that a killed process never renamed, and half entries, go too;
// other files and symlinks are not the cache's and are left alone.
TEST_F(CacheTrimmerTest, UnfinishedWritesAndHalfEntriesAreCleanedOthersLeftAlone) {
  Entry("new.k.fast", 100, std::chrono::seconds(0));
  std::ofstream(dir_ / "x.k.fast.so.tmp.123.0") << "partial";
  Age(dir_ / "x.k.fast.so.tmp.123.0", std::chrono::hours(1));
  std::ofstream(dir_ / "y.k.fast.so.tmp.456.0") << "being written";  // fresh: in progress
  std::ofstream(dir_ / "orphan.k.fast.so.info") << "sidecar";
  Age(dir_ / "orphan.k.fast.so.info", std::chrono::hours(1));
  std::ofstream(dir_ / "README") << "not ours";
  fs::create_directories(dir_ / "outside");
  std::ofstream(dir_ / "outside" / "victim.so") << std::string(10000, 'v');
  fs::create_symlink(dir_ / "outside" / "victim.so", dir_ / "link.k.fast.so");

  TrimReport r = TrimCacheDir(dir_.string(), 150);
  EXPECT_EQ(r.stale_temporaries, 1u);
  EXPECT_FALSE(fs::exists(dir_ / "x.k.fast.so.tmp.123.0"));
  EXPECT_TRUE(fs::exists(dir_ / "y.k.fast.so.tmp.456.0"));
  EXPECT_FALSE(fs::exists(dir_ / "orphan.k.fast.so.info"));
  EXPECT_TRUE(Has("new.k.fast"));
  EXPECT_TRUE(fs::exists(dir_ / "README"));
  EXPECT_TRUE(fs::exists(dir_ / "outside" / "victim.so"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.k.fast.so"));
}

// Find marks an entry used: an old entry that is loaded again outlives a
// newer one that is not.
TEST_F(CacheTrimmerTest, AnEntryFoundInTheCacheCountsAsUsed) {
  ModuleCache cache(dir_.string());
  ASSERT_TRUE(cache.Ready().ok()) << cache.Ready().ToString();
  ModuleInfo info;
  for (const char* name : {"used.k.fast.so", "unused.k.fast.so"}) {
    fs::path job = dir_ / "jobs" / "job-1" / "out.so";
    std::ofstream(job, std::ios::binary) << std::string(1000, 'o');
    ASSERT_TRUE(cache.Publish(job.string(), (dir_ / name).string(), info).ok());
  }
  Age(dir_ / "used.k.fast.so.info", std::chrono::hours(2));
  Age(dir_ / "unused.k.fast.so.info", std::chrono::hours(1));
  ASSERT_TRUE(cache.Find((dir_ / "used.k.fast.so").string()).has_value());
  Entry("newest.k.fast", 10, std::chrono::seconds(0));  // the most recent stays anyway
  Age(dir_ / "newest.k.fast.so.info", std::chrono::seconds(-60));

  EXPECT_EQ(TrimCacheDir(dir_.string(), 1500).removed, 1u);
  EXPECT_TRUE(fs::exists(dir_ / "used.k.fast.so"));
  EXPECT_FALSE(fs::exists(dir_ / "unused.k.fast.so"));
}

// The thread: a pass at start, then one per Request; 0 = never.
TEST_F(CacheTrimmerTest, TheTrimmerPassesAtStartAndOnRequest) {
  Entry("a.k.fast", 900, std::chrono::hours(2));
  Entry("b.k.fast", 900, std::chrono::hours(1));
  {
    CacheTrimmer off(dir_.string(), 0);
    off.Request();
  }
  EXPECT_TRUE(Has("a.k.fast"));
  CacheTrimmer trimmer(dir_.string(), 1000);
  auto wait_gone = [&](const std::string& name) {
    for (int i = 0; i < 500 && !Gone(name); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Gone(name);
  };
  EXPECT_TRUE(wait_gone("a.k.fast"));
  EXPECT_TRUE(Has("b.k.fast"));
  Entry("c.k.fast", 900, std::chrono::seconds(0));
  trimmer.Request();
  EXPECT_TRUE(wait_gone("b.k.fast"));
  EXPECT_TRUE(Has("c.k.fast"));
}

}  // namespace
}  // namespace aether::wasm
