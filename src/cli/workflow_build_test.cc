#include "cli/workflow_build.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cli/scratch_test_util.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;

using testing::Scratch;

SdkSearch Nowhere() {
  SdkSearch s;
  s.system.clear();
  return s;
}

TEST(FindSdkDir, FlagAndEnvironmentComeFirstAndMustHoldTheHeader) {
  Scratch s;
  s.Touch("flag/aether.h");
  s.Touch("env/aether.h");
  s.Touch("tree/functions/sdk/aether.h");
  SdkSearch search = Nowhere();
  search.spec_dir = s / "tree/examples";
  search.env = s / "env";
  search.flag = s / "flag";
  EXPECT_EQ(FindSdkDir(search).value(), s / "flag");
  search.flag.clear();
  EXPECT_EQ(FindSdkDir(search).value(), s / "env");

  search.env = s / "tree";
  auto bad = FindSdkDir(search);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "AETHER_SDK=" + s / "tree" + ": no aether.h in that directory");
  search.flag = s / "nope";
  EXPECT_EQ(FindSdkDir(search).status().message(),
            "--sdk " + s / "nope" + ": no aether.h in that directory");
}

TEST(FindSdkDir, SourceTreeFromTheSpecTheCwdOrTheExecutable) {
  Scratch s;
  s.Touch("tree/functions/sdk/aether.h");
  fs::create_directories(s / "tree/examples/pipeline");
  fs::create_directories(s / "elsewhere");
  SdkSearch search = Nowhere();
  search.spec_dir = s / "tree/examples/pipeline";
  EXPECT_EQ(FindSdkDir(search).value(), s / "tree/functions/sdk");

  search.spec_dir = s / "elsewhere";
  EXPECT_EQ(FindSdkDir(search).value(), "");
  search.cwd = s / "tree";
  EXPECT_EQ(FindSdkDir(search).value(), s / "tree/functions/sdk");

  search.cwd = s / "elsewhere";
  search.exe = s / "tree/build/bin/aether";
  EXPECT_EQ(FindSdkDir(search).value(), s / "tree/functions/sdk");

  s.Touch("prefix/share/aether/sdk/aether.h");
  search.exe = s / "prefix/bin/aether";
  EXPECT_EQ(FindSdkDir(search).value(), s / "prefix/share/aether/sdk");

  search.exe = s / "elsewhere/aether";
  s.Touch("system/aether.h");
  search.system = {s / "missing", s / "system"};
  EXPECT_EQ(FindSdkDir(search).value(), s / "system");
}

TEST(FindProgram, SearchesThePathInOrder) {
  Scratch s;
  std::string a = s.Touch("a/tool", "#!/bin/sh\n");
  std::string b = s.Touch("b/tool", "#!/bin/sh\n");
  ::chmod(b.c_str(), 0755);
  EXPECT_EQ(FindProgram("tool", s / "a" + ":" + s / "b"), b) << "not executable: skipped";
  ::chmod(a.c_str(), 0755);
  EXPECT_EQ(FindProgram("tool", s / "a" + ":" + s / "b"), a);
  EXPECT_EQ(FindProgram("nope", s / "a"), "");
  EXPECT_EQ(FindProgram("tool", ""), "");
}

CodeRef Ref(std::string path, CodeKind kind) {
  CodeRef r;
  r.index = 1;
  r.component = "parse";
  r.field = "functions[1].code";
  r.written = fs::path(path).filename().string();
  r.path = std::move(path);
  r.kind = kind;
  r.function = "parse";
  return r;
}

TEST(BuildCommand, CAndRustAsWasiReactors) {
  Toolchain tc{"/usr/bin/clang-14", "/usr/bin/rustc", "/usr/bin/wasm-ld-14", "/src/functions/sdk"};
  std::vector<std::string> c = BuildCommand(Ref("/w/parse.c", CodeKind::kC), tc, "/t/o.wasm");
  EXPECT_EQ(c,
            (std::vector<std::string>{"/usr/bin/clang-14", "--target=wasm32-wasi", "--sysroot=/usr",
                                      "-O2", "-mexec-model=reactor", "-I/src/functions/sdk",
                                      "-Wl,--strip-debug", "-o", "/t/o.wasm", "/w/parse.c"}));
  tc.sdk_dir.clear();
  c = BuildCommand(Ref("/w/parse.c", CodeKind::kC), tc, "/t/o.wasm");
  EXPECT_EQ(std::count(c.begin(), c.end(), "-I/src/functions/sdk"), 0);
  std::vector<std::string> rs = BuildCommand(Ref("/w/f.rs", CodeKind::kRust), tc, "/t/o.wasm");
  EXPECT_EQ(rs, (std::vector<std::string>{
                    "/usr/bin/rustc", "--edition", "2021", "--target", "wasm32-wasi",
                    "--crate-type", "cdylib", "-C", "opt-level=2", "-C", "strip=debuginfo", "-C",
                    "linker=/usr/bin/wasm-ld-14", "-o", "/t/o.wasm", "/w/f.rs"}));
}

TEST(ToolchainBuilder, WasmFilesAreReadAsTheyAre) {
  Scratch s;
  std::string wasm = s.Touch("m.wasm", std::string("\0asm\1\0\0\0", 8));
  auto builder = NewToolchainBuilder(Toolchain{}, "wf.json");
  auto m = builder->Build(Ref(wasm, CodeKind::kWasm));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(*m, std::string("\0asm\1\0\0\0", 8));
  std::string empty = s.Touch("e.wasm", "");
  auto e = builder->Build(Ref(empty, CodeKind::kWasm));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "wf.json: functions[1].code: " + empty + " is empty");
}

TEST(ToolchainBuilder, MissingCompilersAreNamed) {
  Scratch s;
  auto builder = NewToolchainBuilder(Toolchain{}, "wf.json");
  auto c = builder->Build(Ref(s.Touch("parse.c"), CodeKind::kC));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(c.status().message().rfind(
                "wf.json: functions[1].code: cannot compile parse.c: clang-14 is not installed", 0),
            0u)
      << c.status().message();
  auto rs = builder->Build(Ref(s.Touch("f.rs"), CodeKind::kRust));
  ASSERT_FALSE(rs.ok());
  EXPECT_NE(rs.status().message().find("cannot compile f.rs: rustc is not installed"),
            std::string::npos)
      << rs.status().message();
}

// The real compilers, when this machine has them (make deps installs them).
class RealToolchain : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string sdk = std::string(AETHER_SOURCE_DIR) + "/functions/sdk";
    tc_ = FindToolchain(sdk);
    if (tc_.clang.empty()) GTEST_SKIP() << "clang-14 is not installed";
  }
  Toolchain tc_;
  Scratch s_;
};

TEST_F(RealToolchain, CompilesACReactorWithTheSdk) {
  std::string src = s_.Touch("echo.c", R"(#define AETHER_HANDLE_CALL
#include "aether.h"
aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* p, size_t len) {
  (void)src, (void)src_len;
  aether_bytes r = {p, len};
  return r;
}
)");
  auto builder = NewToolchainBuilder(tc_, "wf.json");
  auto m = builder->Build(Ref(src, CodeKind::kC));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->substr(0, 4), std::string("\0asm", 4));
  EXPECT_NE(m->find("handle_call"), std::string::npos);
  EXPECT_NE(m->find("aether_alloc"), std::string::npos);
  EXPECT_EQ(m->find("_start"), std::string::npos) << "a reactor, not a command";
}

TEST_F(RealToolchain, CompileErrorsShowASummaryLineThenTheCompilerOutput) {
  std::string src = s_.Touch("broken.c", "int f(void) { return nope; }\n");
  auto builder = NewToolchainBuilder(tc_, "wf.json");
  auto m = builder->Build(Ref(src, CodeKind::kC));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kFailedPrecondition);
  const std::string& msg = m.status().message();
  std::string first = msg.substr(0, msg.find('\n'));
  EXPECT_EQ(first.rfind("wf.json: functions[1].code: compiling broken.c failed: clang", 0), 0u)
      << msg;
  EXPECT_NE(first.find("exited with status 1:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("use of undeclared identifier 'nope'"), std::string::npos) << msg;
}

}  // namespace
}  // namespace aether::cli
