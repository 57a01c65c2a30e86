// `aether run`: exit codes, messages, env, preopens — the real binary.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "process.h"

namespace aether::testing {
namespace {

const std::string kAether = std::string(AETHER_BIN_DIR) + "/aether";
std::string Guest(const std::string& name) {
  return std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm";
}

class RunTest : public ::testing::Test {
 protected:
  ExitResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "--cache-dir", cache_ / "cache"});
    return RunToExit(kAether, args, std::chrono::seconds(30));
  }
  TempDir cache_;
};

TEST_F(RunTest, GuestOutputAndExitCode) {
  ExitResult r = Run({Guest("hello")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("Hello, World!"), std::string::npos);
  ExitResult fail = Run({Guest("fail_stderr")});
  EXPECT_EQ(fail.exit_code, 3);
  EXPECT_NE(fail.output.find("something went wrong"), std::string::npos);
}

TEST_F(RunTest, RustExampleFunctionRuns) {
  // functions/word_count.rs, built with Debian's rustc for wasm32-wasi.
  ExitResult r = Run({std::string(AETHER_FUNCTIONS_DIR) + "/word_count.wasm"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"words\":0"), std::string::npos) << r.output;
}

TEST_F(RunTest, EnvAndArgsAreOnlyWhatIsGiven) {
  ExitResult r = Run({"--env", "GREETING=hi", Guest("env"), "--", "a"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("GREETING=hi"), std::string::npos);
  EXPECT_NE(r.output.find("argv0=" + Guest("env")), std::string::npos);
  ExitResult none = Run({Guest("env")});
  EXPECT_NE(none.output.find("GREETING unset"), std::string::npos);
}

TEST_F(RunTest, TrapsExit134WithOneLine) {
  for (const char* g :
       {"trap_unreachable", "trap_div_zero", "trap_oob", "trap_indirect", "stack_overflow"}) {
    ExitResult r = Run({Guest(g)});
    EXPECT_EQ(r.exit_code, 134) << g;
    EXPECT_NE(r.output.find("trap: "), std::string::npos) << g << ": " << r.output;
  }
}

TEST_F(RunTest, TimeoutExits124) {
  ExitResult r = Run({"--timeout", "300ms", Guest("spin")});
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_NE(r.output.find("timed out after 300ms"), std::string::npos);
}

TEST_F(RunTest, ModuleErrorsExit1) {
  ExitResult big = Run({"--memory-limit", "16MB", Guest("big_init")});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.output.find("exceeds the memory limit"), std::string::npos);
  EXPECT_EQ(Run({"--memory-limit", "128MB", Guest("big_init")}).exit_code, 0);
  WriteFile(cache_ / "junk.wasm", "definitely not wasm");
  ExitResult junk = Run({cache_ / "junk.wasm"});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.output.find("not a WebAssembly binary"), std::string::npos);
}

// Exit 2, as for every other command (docs/cli.md), when the problem is
// found before the module runs: a bad flag value or an unreadable file.
// (They once exited 1, like a module that fails to load.)
TEST_F(RunTest, BadFlagsAndUnreadableFilesAreUsageErrors) {
  EXPECT_EQ(Run({"--timeout", "soon", Guest("hello")}).exit_code, 2);
  EXPECT_EQ(Run({"--env", "NOEQUALS", Guest("hello")}).exit_code, 2);
  EXPECT_EQ(Run({"--dir", "::x", Guest("hello")}).exit_code, 2);
  EXPECT_EQ(RunToExit(kAether, {"run"}).exit_code, 2);
  ExitResult missing = Run({cache_ / "nope.wasm"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("cannot read"), std::string::npos);
  // --help lists the exit codes docs/cli.md points to.
  ExitResult help = RunToExit(kAether, {"run", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("124 when it timed out; 134 when it trapped"), std::string::npos)
      << help.output;
}

// --optimize waits for cc; when cc fails, run says so and exits 1 instead
// of waiting forever. The failing cc comes first on PATH.
TEST_F(RunTest, OptimizeStopsWhenTheCompilerFails) {
  TempDir bin;
  WriteFile(bin / "cc", "#!/bin/sh\necho 'cc: internal compiler error: fake' >&2\nexit 1\n");
  ASSERT_EQ(chmod((bin / "cc").c_str(), 0755), 0);
  const char* path = std::getenv("PATH");
  ExitResult r = RunToExit("/usr/bin/env",
                           {"PATH=" + bin.path() + ":" + (path ? path : "/usr/bin:/bin"), kAether,
                            "run", "--cache-dir", cache_ / "cache", "--optimize", Guest("hello")},
                           std::chrono::seconds(30));
  ASSERT_NE(r.exit_code, -1) << "aether run --optimize hung on a failing cc:\n" << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("Hello, World!"), std::string::npos) << "the guest must not run";
  // The last line says what failed and what to do.
  std::string last = r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1);
  EXPECT_NE(last.find("aether: "), std::string::npos) << r.output;
  EXPECT_NE(last.find("--optimize"), std::string::npos) << r.output;
  EXPECT_NE(last.find("cc failed"), std::string::npos) << r.output;

  // With a working cc the optimized tier runs the guest.
  ExitResult ok = Run({"--optimize", Guest("hello")});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("Hello, World!"), std::string::npos) << ok.output;
}

TEST_F(RunTest, PreopenedDirectoryIsTheOnlyOneReachable) {
  TempDir data;
  WriteFile(data / "in.txt", "hello wasi");
  ExitResult r = Run({"--dir", data.path() + "::/data", Guest("files")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(data / "out.txt"), "HELLO WASI");
  ExitResult escape = Run({"--dir", data.path() + "::/data", Guest("escape")});
  EXPECT_EQ(escape.exit_code, 0) << escape.output;
  ExitResult no_dir = Run({"--dir", cache_ / "missing::/data", Guest("files")});
  EXPECT_EQ(no_dir.exit_code, 1);
}

// The engine makes a page of linear memory writable at its first write
// (wasm/internal/memory_pool.h); a system call that writes a page the guest
// never touched (random_get, fd_read of a file) must still succeed.
TEST_F(RunTest, SystemCallsWriteIntoPagesTheGuestNeverTouched) {
  TempDir data;
  WriteFile(data / "in.txt", "bytes from the host file");
  ASSERT_EQ(symlink("in.txt", (data / "link").c_str()), 0);
  ExitResult r = Run({"--dir", data.path() + "::/data", Guest("fresh_write")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("random: 256 bytes, nonzero"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("read: bytes from the host file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("link: in.txt"), std::string::npos) << r.output;
}

TEST_F(RunTest, SocketStdioIsNoSocketToTheGuest) {
  // Node's child_process and systemd socket activation start a process with
  // sockets as stdio. The guest gets a stream, not the host's socket: its
  // sock_* calls say ENOTSOCK (57) and cannot shut the connection down.
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  ASSERT_EQ(write(s[1], "hello", 5), 5);
  CliOptions o;
  o.stdio_fd = s[0];
  CliRun r = RunCli({"run", "--cache-dir", cache_ / "cache", Guest("sock_stdio")}, o);
  close(s[0]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(s[1], buf, sizeof buf, MSG_DONTWAIT)) > 0;) out.append(buf, n);
  close(s[1]);
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(out.find("filetype 0\n"), std::string::npos) << out;  // unknown: a stream
  for (const char* line : {"shutdown 57\n", "shutdown0 57\n", "recv 57\n", "send 57\n",
                           "accept 57\n", "read hello\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " in:\n" << out;
  }
}

}  // namespace
}  // namespace aether::testing
