// RunWorker's process handling, with a stand-in worker (a shell script)
// that reports what the real one would only feel.
#include "wasm/internal/sandbox.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sanitizers.h"

#if AETHER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace aether::wasm {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The child of a threadsafe death test (this binary run again for one
    // test) dies before its TearDown: its directory is named after the
    // parent, whose TearDown removes it too.
    bool death_test_child = !GTEST_FLAG_GET(internal_run_death_test).empty();
    root_ = std::filesystem::temp_directory_path() /
            ("aether-sandbox-test-" + std::to_string(death_test_child ? getppid() : getpid()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
             (death_test_child ? "-child" : ""));
    std::filesystem::create_directories(root_ / "job");
    // Reads the whole request (the engine closes its side after it), then
    // writes its own niceness (field 19 of /proc/self/stat) into the job
    // dir and exits without an answer.
    worker_ = (root_ / "worker.sh").string();
    std::ofstream(worker_) << "#!/bin/sh\ncat >/dev/null\n"
                              "awk '{print $19}' /proc/$$/stat > \"$2/nice\"\n";
    chmod(worker_.c_str(), 0700);
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    std::filesystem::remove_all(root_.string() + "-child");
  }

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

  // Runs a stand-in worker that reads the request, prints `stderr_text`
  // and dies by SIGABRT, as an ASan-built compiler process does when ASan
  // reports (its options: abort_on_error=1).
  Result<ModuleInfo> RunAbortingWorker(const std::string& stderr_text) {
    std::string script = (root_ / "abort.sh").string();
    std::ofstream(script) << "#!/bin/sh\nulimit -c 0\ncat >/dev/null\necho '" << stderr_text
                          << "' >&2\nkill -ABRT $$\n";
    chmod(script.c_str(), 0700);
    WorkerRequest q;
    q.wasm = std::string("\0asm\1\0\0\0", 8);
    CompileLimits limits;
    limits.timeout = std::chrono::seconds(30);
    return RunWorker(script, q, (root_ / "job").string(), limits, 0);
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

// ASan reports running out of compile_memory_limit instead of throwing
// bad_alloc: the module is refused, as without ASan.
TEST_F(SandboxTest, ACompilerThatRanOutOfMemoryRefusesTheModule) {
  Result<ModuleInfo> r = RunAbortingWorker(
      "==7==ERROR: AddressSanitizer: allocator is out of memory trying to allocate 0x9ac542 bytes");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("compile_memory_limit"), std::string::npos)
      << r.status().message();
}

// A bug that a sanitizer found in the compiler process fails a sanitizer
// build loudly; elsewhere such a crash refuses the module.
TEST_F(SandboxTest, ASanitizerReportFromTheCompilerStopsASanitizerBuild) {
  const std::string report = "==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x6";
  if (AETHER_ASAN) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
#if AETHER_ASAN
          __sanitizer_set_report_path("stderr");  // not log_path: the test reads it
#endif
          (void)RunAbortingWorker(report);
        },
        "in the compiler process:\n.*heap-use-after-free");
  } else {
    Result<ModuleInfo> r = RunAbortingWorker(report);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("crashed"), std::string::npos) << r.status().message();
  }
}

// Runs a fast-tier job on a spare whose process is the shell script `body`
// (after reading the request), bounded by `timeout`.
Result<ModuleInfo> RunOnSpare(const std::filesystem::path& root, const std::string& body,
                              std::chrono::milliseconds timeout) {
  std::string script = (root / "spare.sh").string();
  std::ofstream(script) << "#!/bin/sh\ncat >/dev/null\n" << body << "\n";
  chmod(script.c_str(), 0700);
  Result<JobDir> job = JobDir::Create(root.string());
  if (!job.ok()) return job.status();
  CompileLimits limits;
  limits.timeout = timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<SpareWorker> spare,
                   SpareWorker::Start(script, std::move(*job), limits));
  WorkerRequest q;
  q.mode = WorkerMode::kFast;
  q.wasm = std::string("\0asm\1\0\0\0", 8);
  Result<ModuleInfo> r = spare->Run(q);
  EXPECT_FALSE(spare->Alive());
  return r;
}

// A spare compiler process that dies without an answer may have been killed
// while it waited: the engine compiles again in a fresh process.
TEST_F(SandboxTest, ASpareThatDiesWithoutAnAnswerLeavesTheVerdictToAFreshProcess) {
  Result<ModuleInfo> r = RunOnSpare(root_, "kill -KILL $$", std::chrono::seconds(30));
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

// Running out of time is the module's doing, spare or not: refused once.
TEST_F(SandboxTest, ASpareThatRunsOutOfTimeRefusesTheModule) {
  Result<ModuleInfo> r = RunOnSpare(root_, "exec sleep 30", std::chrono::milliseconds(200));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("compile_timeout"), std::string::npos);
}

// A spare left waiting warms up (compiler_main.cc: a fast-tier compile of
// a built-in module, which writes tcc's headers into its job directory),
// leaves no object of its own behind, and then runs its job.
TEST_F(SandboxTest, ASpareLeftWaitingWarmsUpThenRunsItsJob) {
  Result<JobDir> job = JobDir::Create(root_.string());
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::filesystem::path dir = job->path();
  CompileLimits limits;
  limits.timeout = std::chrono::seconds(60);
  Result<std::unique_ptr<SpareWorker>> spare =
      SpareWorker::Start(std::string(AETHER_BIN_DIR) + "/aether-compiler", std::move(*job), limits);
  ASSERT_TRUE(spare.ok()) << spare.status().ToString();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(dir / "aether-include") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(dir / "aether-include")) << "the spare did not warm up";

  std::ifstream in(std::string(AETHER_GUEST_DIR) + "/hello.wasm", std::ios::binary);
  WorkerRequest q;
  q.mode = WorkerMode::kFast;
  q.wasm.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  q.out_name = "module.so";
  Result<ModuleInfo> info = (*spare)->Run(q);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir / "module.so"));
  EXPECT_FALSE(std::filesystem::exists(dir / "aether-warm-up.so"));
}

// Sets the modification time of `dir` `age` back.
void Age(const std::filesystem::path& dir, std::chrono::seconds age) {
  std::filesystem::last_write_time(dir, std::filesystem::file_time_type::clock::now() - age);
}

// A process killed with -9 never removes its job directories (a deploy's
// validation, a compile): the next start of the control plane or engine
// removes them, and nothing else — not a live process's, old or young,
// not a fresh one that may be about to be locked, not what is not a job
// directory, not what a symlink named like one points to.
TEST_F(SandboxTest, SweepRemovesOnlyTheJobDirectoriesOfDeadProcesses) {
  const std::filesystem::path jobs = root_ / "jobs";
  std::filesystem::create_directories(jobs);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // holds a job directory, with a file in it, until killed
    Result<JobDir> job = JobDir::Create(jobs.string());
    if (!job.ok()) _exit(1);
    std::ofstream(job->path() + "/module.c") << "int x;\n";
    (void)!write(ready[1], "r", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);

  Result<JobDir> live = JobDir::Create(jobs.string());
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  std::filesystem::create_directories(jobs / "job-young");
  std::filesystem::create_directories(jobs / "not-a-job");
  std::filesystem::create_directories(root_ / "elsewhere");
  std::filesystem::create_directory_symlink(root_ / "elsewhere", jobs / "job-link");
  for (const auto& e : std::filesystem::directory_iterator(jobs)) {
    if (e.path().filename() != "job-young" && !e.is_symlink()) Age(e.path(), std::chrono::hours(1));
  }
  Age(root_ / "elsewhere", std::chrono::hours(1));

  EXPECT_EQ(JobDir::SweepAbandoned(jobs.string()), 1);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(jobs)) {
    left.push_back(e.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  std::string live_name = std::filesystem::path(live->path()).filename().string();
  std::vector<std::string> want = {"job-link", "job-young", live_name, "not-a-job"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
  EXPECT_TRUE(std::filesystem::exists(root_ / "elsewhere"));
  // Once its holder lets go, the directory is gone anyway (the destructor).
  std::string live_path = live->path();
  { JobDir dropped = std::move(*live); }
  EXPECT_FALSE(std::filesystem::exists(live_path));
}

}  // namespace
}  // namespace aether::wasm
