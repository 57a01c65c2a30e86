// SpareKeeper: a lease hands out the spare; when it ends, the used spare is
// disposed of (process, job directory) on the keeper's thread and another
// spare is started.
#include "wasm/internal/spare_keeper.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class SpareKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("aether-spare-keeper-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_);
    limits_.timeout = std::chrono::seconds(60);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Waits (up to 30 s) for the keeper to hold a live spare.
  static SpareKeeper::Lease TakeWithin(SpareKeeper& keeper) {
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (SpareKeeper::Lease lease = keeper.Take()) return lease;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {};
  }

  static bool GoneWithin(const fs::path& p, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (fs::exists(p) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return !fs::exists(p);
  }

  fs::path root_;
  CompileLimits limits_;
};

TEST_F(SpareKeeperTest, AUsedSpareIsDisposedOfAndReplaced) {
  SpareKeeper keeper(std::string(AETHER_BIN_DIR) + "/aether-compiler", root_.string(), limits_);
  fs::path used_dir;
  pid_t used_pid = 0;
  {
    SpareKeeper::Lease lease = TakeWithin(keeper);
    ASSERT_TRUE(lease) << "no spare within 30 s";
    used_dir = lease->job_dir();
    used_pid = lease->pid();
    std::ifstream in(std::string(AETHER_GUEST_DIR) + "/hello.wasm", std::ios::binary);
    WorkerRequest q;
    q.mode = WorkerMode::kFast;
    q.wasm.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    q.out_name = "module.so";
    Result<ModuleInfo> info = lease->Run(q);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    // The lease still holds the job's object: the caller copies it out.
    EXPECT_TRUE(fs::exists(used_dir / "module.so"));
  }
  EXPECT_TRUE(GoneWithin(used_dir, std::chrono::seconds(10)))
      << "the used spare's job directory " << used_dir << " is still there";
  SpareKeeper::Lease next = TakeWithin(keeper);
  ASSERT_TRUE(next) << "no new spare within 30 s";
  EXPECT_NE(next->pid(), used_pid);
  EXPECT_NE(next->job_dir(), used_dir.string());
}

// A lease that ends without a job: its process is killed and its directory
// removed (by the keeper), and a new spare follows.
TEST_F(SpareKeeperTest, AnUnusedLeaseIsDisposedOfToo) {
  SpareKeeper keeper(std::string(AETHER_BIN_DIR) + "/aether-compiler", root_.string(), limits_);
  fs::path dir;
  pid_t pid = 0;
  {
    SpareKeeper::Lease lease = TakeWithin(keeper);
    ASSERT_TRUE(lease) << "no spare within 30 s";
    dir = lease->job_dir();
    pid = lease->pid();
  }
  EXPECT_TRUE(GoneWithin(dir, std::chrono::seconds(10)));
  // Killed and reaped: no process, not even a zombie, under that pid.
  EXPECT_TRUE(GoneWithin("/proc/" + std::to_string(pid), std::chrono::seconds(10)));
  SpareKeeper::Lease next = TakeWithin(keeper);
  EXPECT_TRUE(next);
}

}  // namespace
}  // namespace aether::wasm
