// RunWorker's process handling, with a stand-in worker (a shell script)
// that reports what the real one would only feel.
#include "wasm/internal/sandbox.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace aether::wasm {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("aether-sandbox-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "job");
    // Reads the whole request (the engine closes its side after it), then
    // writes its own niceness (field 19 of /proc/self/stat) into the job
    // dir and exits without an answer.
    worker_ = (root_ / "worker.sh").string();
    std::ofstream(worker_) << "#!/bin/sh\ncat >/dev/null\n"
                              "awk '{print $19}' /proc/$$/stat > \"$2/nice\"\n";
    chmod(worker_.c_str(), 0700);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // The niceness the stand-in worker ran at when started with `nice`.
  std::string NiceOfWorker(int nice) {
    WorkerRequest q;
    q.mode = WorkerMode::kOptimized;
    q.wasm = std::string("\0asm\1\0\0\0", 8);
    CompileLimits limits;
    limits.timeout = std::chrono::seconds(30);
    Result<ModuleInfo> r = RunWorker(worker_, q, (root_ / "job").string(), limits, nice);
    // No answer: Internal, naming the exit status (that is not the point here).
    EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
    std::ifstream in(root_ / "job" / "nice");
    std::string value;
    in >> value;
    return value;
  }

  std::filesystem::path root_;
  std::string worker_;
};

TEST_F(SandboxTest, ABackgroundCompileRunsItsProcessAtLowerPriority) {
  int base = getpriority(PRIO_PROCESS, 0);
  EXPECT_EQ(NiceOfWorker(0), std::to_string(base));
  if (base > kBackgroundCompileNice) GTEST_SKIP() << "this test runs at nice " << base;
  EXPECT_EQ(NiceOfWorker(kBackgroundCompileNice), std::to_string(kBackgroundCompileNice));
}

}  // namespace
}  // namespace aether::wasm
