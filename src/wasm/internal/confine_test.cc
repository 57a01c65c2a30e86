// The compiler process's confinement, applied in a forked child: what an
// exploited compiler would try must fail.
#include "wasm/internal/confine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "common/sanitizers.h"

namespace aether::wasm {
namespace {

class ConfineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("aether-confine-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "job");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Runs `probe` in a confined child; returns its exit code (the probe
  // returns 0 when everything it tried behaved as required).
  int InChild(bool allow_exec, const std::function<int()>& probe) {
    pid_t pid = fork();
    if (pid == 0) {
      ConfineOptions o;
      o.job_dir = (root_ / "job").string();
      o.memory_bytes = 512ull << 20;
      o.cpu_seconds = 10;
      o.allow_exec = allow_exec;
      auto r = Confine(o);
      if (!r.ok()) _exit(100);
      _exit(probe());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
  }

  std::filesystem::path root_;
};

TEST_F(ConfineTest, NoNetwork) {
  EXPECT_EQ(InChild(false,
                    [] {
                      int fd = socket(AF_INET, SOCK_STREAM, 0);
                      if (fd >= 0 || errno != EPERM) return 1;
                      fd = socket(AF_UNIX, SOCK_STREAM, 0);
                      if (fd >= 0) return 2;
                      return 0;
                    }),
            0);
}

TEST_F(ConfineTest, NoProcessesUnlessTheJobRunsTheCCompiler) {
  EXPECT_EQ(InChild(false,
                    [] {
                      pid_t p = fork();
                      if (p == 0) _exit(0);
                      return p < 0 && errno == EPERM ? 0 : 1;
                    }),
            0);
  EXPECT_EQ(InChild(true,
                    [] {
                      pid_t p = fork();
                      if (p == 0) _exit(0);
                      if (p < 0) return 1;
                      int st = 0;
                      waitpid(p, &st, 0);
                      return 0;
                    }),
            0);
}

// The fast tier runs tcc on a second thread (compiler.h): threads start,
// but no clone that would make a process or a namespace does.
TEST_F(ConfineTest, ThreadsButNoOtherClones) {
  EXPECT_EQ(InChild(false,
                    [] {
                      int seen = 0;
                      std::thread t([&] { seen = 1; });
                      t.join();
                      if (seen != 1) return 1;
                      // vfork-like: shares memory, but a new process.
                      long rc = syscall(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
                      if (rc == 0) _exit(0);
                      if (rc > 0 || errno != EPERM) return 2;
                      // A thread in a new network namespace: refused by the
                      // filter before the kernel would look at the stack.
                      rc = syscall(SYS_clone,
                                   CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                       CLONE_THREAD | CLONE_SYSVSEM | CLONE_NEWNET,
                                   0, 0, 0, 0);
                      if (rc >= 0 || errno != EPERM) return 3;
                      // clone3's flags are out of the filter's reach.
                      rc = syscall(SYS_clone3, nullptr, 0);
                      if (rc >= 0 || errno != ENOSYS) return 4;
                      return 0;
                    }),
            0);
}

TEST_F(ConfineTest, WritesOnlyInTheJobDirectory) {
  std::string inside = (root_ / "job" / "out.so").string();
  std::string outside = (root_ / "planted.so").string();
  int rc = InChild(false, [&] {
    int in = open(inside.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0) return 1;
    close(in);
    int out = open(outside.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0) return 2;
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0) return 3;
    return 0;
  });
  if (rc == 2) GTEST_SKIP() << "the kernel has no Landlock; writes are not confined";
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(std::filesystem::exists(inside));
  EXPECT_FALSE(std::filesystem::exists(outside));
}

TEST_F(ConfineTest, NoPtraceAndNoInheritedDescriptors) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);  // not close-on-exec: Confine must close it anyway
  int leaked = fds[1];
  EXPECT_EQ(InChild(false,
                    [&] {
                      if (fcntl(leaked, F_GETFD) != -1) return 1;
                      errno = 0;
                      if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == -1 && errno == EPERM)
                        return 0;
                      return 2;
                    }),
            0);
  close(fds[0]);
  close(fds[1]);
}

TEST_F(ConfineTest, MemoryIsLimited) {
  EXPECT_EQ(InChild(false,
                    [] {
                      // Over the 512 MB address-space limit.
                      void* m = mmap(nullptr, 1ull << 30, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                      if (m != MAP_FAILED) return 1;
                      // ASan reports a failed malloc and aborts instead of
                      // returning null (allocator_may_return_null=0).
                      if (AETHER_ASAN) return 0;
                      void* p = malloc(1ull << 30);
                      return p == nullptr ? 0 : 2;
                    }),
            0);
}

}  // namespace
}  // namespace aether::wasm
