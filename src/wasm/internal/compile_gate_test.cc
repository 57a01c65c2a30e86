// CompileGate: a background compile's process group is stopped while a
// compile a request waits for runs, continued after, and its deadline does
// not count the time it was stopped. With a stand-in worker (a shell
// script) run through RunWorker, as the engine runs the optimized tier.
#include "wasm/internal/compile_gate.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "wasm/test_support.h"

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The state letters of the members of process group `group`, from
// /proc/<pid>/stat (empty when the group is gone).
std::string StatesOfGroup(pid_t group) {
  std::string states;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string stat = testing::ReadProcFile((entry.path() / "stat").string());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int pgrp = 0;
    char state = '?';
    if (std::sscanf(stat.c_str() + close + 1, " %c %*d %d", &state, &pgrp) == 2 && pgrp == group) {
      states += state;
    }
  }
  return states;
}

// Whether the group is stopped: a member that SIGSTOP reached shows 'T';
// the shell that vforked it waits for it in 'D' (uninterruptible, so it
// never shows 'T' itself) and can run only when its child does; a child
// that exited stays a zombie ('Z') until its stopped parent reaps it.
bool GroupStopped(pid_t group) {
  std::string states = StatesOfGroup(group);
  return states.find('T') != std::string::npos &&
         states.find_first_not_of("TDZ") == std::string::npos;
}

// Records the group RunWorker started, and hands everything to the gate.
class Recording final : public JobControl {
 public:
  explicit Recording(CompileGate& gate) : job_(gate) {}
  void Started(pid_t group) override {
    job_.Started(group);
    group_.store(group);
  }
  void Ended() override { job_.Ended(); }
  Clock::duration Paused() const override { return job_.Paused(); }
  pid_t group() const { return group_.load(); }

 private:
  CompileGate::Background job_;
  std::atomic<pid_t> group_{0};
};

class CompileGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("aether-compile-gate-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "job");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A worker that reads its request, sleeps `seconds` and exits without an
  // answer (RunWorker's Internal error: not a timeout).
  std::string SleepingWorker(const std::string& seconds) {
    std::string path = (root_ / "worker.sh").string();
    std::ofstream(path) << "#!/bin/sh\ncat >/dev/null\nsleep " << seconds << "\n";
    chmod(path.c_str(), 0700);
    return path;
  }

  Result<ModuleInfo> RunBackground(const std::string& worker, Recording& control,
                                   std::chrono::milliseconds timeout) {
    WorkerRequest q;
    q.mode = WorkerMode::kOptimized;
    q.wasm = std::string("\0asm\1\0\0\0", 8);
    CompileLimits limits;
    limits.timeout = timeout;
    return RunWorker(worker, q, (root_ / "job").string(), limits, 0, nullptr, &control);
  }

  static pid_t WaitForGroup(const Recording& r) {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (r.group() == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return r.group();
  }

  static bool StateWithin(pid_t group, bool stopped, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (GroupStopped(group) == stopped) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  fs::path root_;
};

TEST_F(CompileGateTest, ABackgroundJobStopsWhileAnUrgentOneRuns) {
  CompileGate gate;
  Recording control(gate);
  std::string worker = SleepingWorker("0.3");
  std::thread job([&] { (void)RunBackground(worker, control, std::chrono::seconds(30)); });
  pid_t pid = WaitForGroup(control);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(gate.background_jobs(), 1u);
  EXPECT_TRUE(StateWithin(pid, /*stopped=*/false, std::chrono::seconds(5)));
  {
    CompileGate::Urgent urgent(gate);
    EXPECT_TRUE(gate.stopping_background());
    EXPECT_TRUE(StateWithin(pid, /*stopped=*/true, std::chrono::seconds(5)))
        << "the background job runs beside an urgent one";
    {
      CompileGate::Urgent another(gate);  // nested: still stopped after it ends
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(GroupStopped(pid)) << StatesOfGroup(pid);
  }
  EXPECT_FALSE(gate.stopping_background());
  EXPECT_TRUE(StateWithin(pid, /*stopped=*/false, std::chrono::seconds(5)));
  job.join();
  EXPECT_EQ(gate.background_jobs(), 0u);
  EXPECT_GT(control.Paused(), Clock::duration::zero());
}

// Started while an urgent compile runs: stopped at once.
TEST_F(CompileGateTest, AJobStartedDuringAnUrgentOneWaits) {
  CompileGate gate;
  Recording control(gate);
  std::string worker = SleepingWorker("0.2");
  std::optional<CompileGate::Urgent> urgent(std::in_place, gate);
  std::thread job([&] { (void)RunBackground(worker, control, std::chrono::seconds(30)); });
  pid_t pid = WaitForGroup(control);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(StateWithin(pid, /*stopped=*/true, std::chrono::seconds(5)));
  urgent.reset();
  job.join();
  EXPECT_EQ(gate.background_jobs(), 0u);
}

// The time a job was stopped is not held against its compile_timeout: a
// job of 0.3 s with a 1 s timeout, stopped for 1.5 s, ends in time (the
// stand-in's Internal error, not the timeout's InvalidArgument).
TEST_F(CompileGateTest, TheTimeStoppedDoesNotCountTowardTheDeadline) {
  CompileGate gate;
  Recording control(gate);
  std::string worker = SleepingWorker("0.3");
  Result<ModuleInfo> r = Internal("not run");
  std::thread job([&] { r = RunBackground(worker, control, std::chrono::seconds(1)); });
  ASSERT_GT(WaitForGroup(control), 0);
  {
    CompileGate::Urgent urgent(gate);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  job.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
  EXPECT_GE(control.Paused(), std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace aether::wasm
