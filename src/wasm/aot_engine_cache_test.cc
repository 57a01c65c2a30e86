// The engine's on-disk cache over time: kept under cache_disk_limit, and
// what an engine killed with -9 left in it removed at the next start.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "wasm/engine.h"
#include "wasm/test_support.h"

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;

class EngineCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aether-engine-cache-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }
  void Start(uint64_t disk_limit) {
    engine_.reset();
    EngineOptions o;
    o.cache_dir = dir_.string();
    o.optimize = false;
    o.cache_disk_limit = disk_limit;
    engine_ = NewAotEngine(o);
  }
  bool Loads(const char* guest) {
    Result<std::shared_ptr<const Module>> m = engine_->Load(testing::ReadGuest(guest));
    EXPECT_TRUE(m.ok()) << guest << ": " << m.status().ToString();
    return m.ok();
  }
  // The compiled objects in the cache.
  std::vector<std::string> Objects() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (e.path().extension() == ".so") out.push_back(e.path().filename().string());
    }
    return out;
  }
  // Makes every entry look last used an hour ago (entries used within the
  // last minute are never removed).
  void AgeAll() const {
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.is_regular_file()) {
        fs::last_write_time(e.path(), fs::file_time_type::clock::now() - std::chrono::hours(1));
      }
    }
  }
  // Waits (up to 10 s) for the background trim to leave `n` objects.
  size_t SettlesAt(size_t n) const {
    for (int i = 0; i < 1000 && Objects().size() != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Objects().size();
  }

  fs::path dir_;
  std::unique_ptr<Engine> engine_;
};

// Each new module adds objects; past the limit the least recently loaded
// go, and a module whose object went is compiled again when needed.
TEST_F(EngineCacheTest, TheCacheStaysUnderItsLimitAndWhatWentIsCompiledAgain) {
  Start(/*disk_limit=*/1);  // smaller than any object: only the last stays
  ASSERT_TRUE(Loads("hello"));
  ASSERT_EQ(Objects().size(), 1u);
  std::string hello = Objects()[0];
  AgeAll();
  ASSERT_TRUE(Loads("sha"));
  ASSERT_EQ(SettlesAt(1), 1u);
  EXPECT_NE(Objects()[0], hello);
  AgeAll();
  Start(1);  // a restart: hello is no longer on disk
  ASSERT_TRUE(Loads("hello"));
  ASSERT_EQ(SettlesAt(1), 1u);
  EXPECT_EQ(Objects()[0], hello);

  Start(0);  // unbounded
  AgeAll();
  ASSERT_TRUE(Loads("sha"));
  ASSERT_TRUE(Loads("hello"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Objects().size(), 2u);
}

// An engine killed with -9 leaves its compile job directories (a waiting
// spare's at least); the next start removes them, once old enough that no
// live engine sharing the cache can be about to lock them.
TEST_F(EngineCacheTest, JobDirectoriesOfAKilledEngineAreRemovedAtStart) {
  fs::create_directories(dir_ / "jobs" / "job-killed");
  fs::create_directories(dir_ / "jobs" / "job-fresh");
  fs::last_write_time(dir_ / "jobs" / "job-killed",
                      fs::file_time_type::clock::now() - std::chrono::hours(1));
  Start(0);
  EXPECT_FALSE(fs::exists(dir_ / "jobs" / "job-killed"));
  EXPECT_TRUE(fs::exists(dir_ / "jobs" / "job-fresh"));
}

}  // namespace
}  // namespace aether::wasm
