// The engine's spare compiler process (wasm/internal/sandbox.h,
// SpareWorker): started ahead of the next fast-tier compile, replaced after
// each, after dying while it waits, and gone with the engine.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "wasm/engine.h"
#include "wasm/test_support.h"

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The aether-compiler processes this process started and that still run
// (not zombies).
std::set<pid_t> CompilerChildren() {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // It may exit meanwhile (a spare killed after its answer).
    std::string stat = testing::ReadProcFile((e.path() / "stat").string());
    size_t close = stat.rfind(')');
    if (close == std::string::npos || stat.find("(aether-compiler)") == std::string::npos) continue;
    char state = '?';
    long ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) continue;
    if (ppid == getpid() && state != 'Z') out.insert(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Waits (up to 30 s) until some compiler child other than `not_this` runs.
pid_t WaitForSpare(pid_t not_this = -1) {
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    for (pid_t p : CompilerChildren()) {
      if (p != not_this) return p;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

class SpareCompilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aether-spare-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    EngineOptions o;
    o.cache_dir = dir_.string();
    o.optimize = false;
    engine_ = NewAotEngine(o);
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }
  bool Runs(const char* guest) {
    Result<std::shared_ptr<const Module>> m = engine_->Load(testing::ReadGuest(guest));
    EXPECT_TRUE(m.ok()) << guest << ": " << m.status().ToString();
    return m.ok();
  }

  fs::path dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(SpareCompilerTest, ASpareIsReadyAndReplacedAfterEachCompile) {
  pid_t first = WaitForSpare();
  ASSERT_GT(first, 0) << "no spare compiler process started";
  ASSERT_TRUE(Runs("hello"));
  // A child shows in /proc a moment before the engine holds it as its
  // spare: a compile in that moment starts a process of its own and leaves
  // `first` waiting. The next compile takes it then.
  if (CompilerChildren().count(first) != 0) {
    ASSERT_TRUE(Runs("sha"));
  }
  // The first spare compiled a module and is gone (killed after its
  // answer, reaped off the compile's path: a moment later); another waits.
  pid_t second = WaitForSpare(first);
  ASSERT_GT(second, 0);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (CompilerChildren().count(first) != 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(CompilerChildren().count(first), 0u);
}

TEST_F(SpareCompilerTest, ASpareKilledWhileItWaitsIsReplacedAndTheCompileStillWorks) {
  pid_t spare = WaitForSpare();
  ASSERT_GT(spare, 0);
  ASSERT_EQ(kill(spare, SIGKILL), 0);
  ASSERT_TRUE(Runs("hello"));
  ASSERT_TRUE(Runs("sha"));
  EXPECT_GT(WaitForSpare(spare), 0);
}

TEST_F(SpareCompilerTest, TheSpareGoesWithTheEngineAndItsJobDirWithIt) {
  ASSERT_GT(WaitForSpare(), 0);
  engine_.reset();
  EXPECT_TRUE(CompilerChildren().empty());
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(dir_ / "jobs", ec)) << ec.message();
}

}  // namespace
}  // namespace aether::wasm
