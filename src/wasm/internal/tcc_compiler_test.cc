#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include "wasm/internal/compiler.h"
#include "wasm/internal/elf_stack.h"
#include "wasm/internal/glue.h"
#include "wasm/internal/translate.h"
#include "wasm/internal/unit_stream.h"

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every module of the tree that translates: the guests, the hostile
// modules, the example functions (word_count is 150 KB of Rust).
std::vector<fs::path> Modules() {
  std::vector<fs::path> out;
  fs::path functions = fs::path(AETHER_BIN_DIR).parent_path() / "functions";
  for (const fs::path& dir :
       {fs::path(AETHER_GUEST_DIR), fs::path(AETHER_HOSTILE_DIR), functions}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".wasm") out.push_back(e.path());
    }
  }
  return out;
}

// What tcc writes asks for an executable stack (no PT_GNU_STACK); what
// CompileWithTcc leaves does not, and marking is idempotent.
TEST(CompileWithTcc, ObjectsDoNotAskForAnExecutableStack) {
  fs::path dir = fs::temp_directory_path() / ("aether-tcc-stack-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string so = (dir / "m.so").string();
  std::vector<uint8_t> wasm = ReadFile(Modules().front());
  Result<Translation> t = TranslateInProcess(wasm, ModuleLimits{});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Result<std::string> unit = BuildCompilationUnit(*t);
  ASSERT_TRUE(unit.ok());
  ASSERT_TRUE(CompileWithTcc(*unit, so, TccHeaders::kStubs).ok());
  Result<bool> wants = WantsExecutableStack(so);
  ASSERT_TRUE(wants.ok()) << wants.status().ToString();
  EXPECT_FALSE(*wants);
  std::vector<uint8_t> once = ReadFile(so);
  ASSERT_TRUE(MarkStackNotExecutable(so).ok());
  EXPECT_TRUE(ReadFile(so) == once) << "marking twice changed the object";

  // tcc's own output, unmarked, does ask for one (what the engine loaded).
  std::ofstream(dir / "a.c") << "int f(int x) { return x + 1; }\n";
  std::string plain = (dir / "plain.so").string();
  ASSERT_EQ(std::system(("tcc -shared -o " + plain + " " + (dir / "a.c").string()).c_str()), 0);
  EXPECT_TRUE(*WantsExecutableStack(plain));
  ASSERT_TRUE(MarkStackNotExecutable(plain).ok());
  EXPECT_FALSE(*WantsExecutableStack(plain));

  std::ofstream(dir / "junk.so") << "not an ELF object at all, but long enough to read a header";
  EXPECT_EQ(MarkStackNotExecutable((dir / "junk.so").string()).code(), Code::kInternal);
  EXPECT_EQ(MarkStackNotExecutable((dir / "missing.so").string()).code(), Code::kInternal);
  fs::remove_all(dir);
}

// The cut-down headers are an optimization only: tcc must make the very
// same shared object from them as from the system's.
TEST(CompileWithTcc, StubHeadersGiveTheSameObjectAsTheSystemHeaders) {
  fs::path dir = fs::temp_directory_path() / ("aether-tcc-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  size_t compared = 0;
  for (const fs::path& module : Modules()) {
    std::vector<uint8_t> wasm = ReadFile(module);
    Result<Translation> t = TranslateInProcess(wasm, ModuleLimits{});
    if (!t.ok()) continue;  // a hostile module refused before any C exists
    Result<std::string> unit = BuildCompilationUnit(*t);
    ASSERT_TRUE(unit.ok()) << module << ": " << unit.status().ToString();
    std::string stubs = (dir / "stubs.so").string();
    std::string system = (dir / "system.so").string();
    Status a = CompileWithTcc(*unit, stubs, TccHeaders::kStubs);
    ASSERT_TRUE(a.ok()) << module << ": " << a.ToString();
    Status b = CompileWithTcc(*unit, system, TccHeaders::kSystem);
    ASSERT_TRUE(b.ok()) << module << ": " << b.ToString();
    EXPECT_TRUE(ReadFile(stubs) == ReadFile(system))
        << module << ": the stub headers change what tcc makes of it";
    ++compared;
  }
  EXPECT_GE(compared, 20u);
  fs::remove_all(dir);
}

// The fast tier compiles the unit while wasm2c writes it (compile_job.cc):
// UnitStream must emit, piece by piece, exactly BuildCompilationUnit's unit,
// and tcc reading it through the pipe must make a working object of it.
TEST(CompileWithTccWhile, CompilesTheStreamedUnitOfEveryModule) {
  fs::path dir = fs::temp_directory_path() / ("aether-tcc-while-" + std::to_string(getpid()));
  fs::create_directories(dir);
  size_t compared = 0;
  for (const fs::path& module : Modules()) {
    std::vector<uint8_t> wasm = ReadFile(module);
    Result<Translation> whole = TranslateInProcess(wasm, ModuleLimits{});
    if (!whole.ok()) continue;  // a hostile module refused before any C exists
    Result<std::string> unit = BuildCompilationUnit(*whole);
    ASSERT_TRUE(unit.ok()) << module << ": " << unit.status().ToString();
    std::string so = (dir / "streamed.so").string();
    std::string streamed;
    size_t pieces = 0;
    size_t lasts = 0;
    Status st = CompileWithTccWhile(
        [&](const UnitWriter& write) -> Status {
          // Small pieces: many cuts, in data arrays' and comments' way.
          UnitStream stream(
              [&](std::string_view piece, bool last) {
                streamed.append(piece);
                ++pieces;
                lasts += last ? 1 : 0;
                return write(piece, last);
              },
              4096);
          ASSIGN_OR_RETURN(Translation t, TranslateInto(wasm, ModuleLimits{}, nullptr, stream));
          EXPECT_TRUE(t.c_source.empty());
          EXPECT_EQ(t.c_header, whole->c_header);
          return OkStatus();
        },
        so);
    ASSERT_TRUE(st.ok()) << module << ": " << st.ToString();
    EXPECT_TRUE(streamed == *unit) << module << ": the streamed unit differs from the whole one";
    EXPECT_GT(pieces, 1u) << module;
    EXPECT_EQ(lasts, 1u) << module;
    Result<bool> wants = WantsExecutableStack(so);
    ASSERT_TRUE(wants.ok()) << wants.status().ToString();
    EXPECT_FALSE(*wants);
    ++compared;
  }
  EXPECT_GE(compared, 20u);
  fs::remove_all(dir);
}

// tcc sees only what the producer wrote, and nothing is written unless the
// producer finished: a unit refused halfway leaves no object, even when
// what tcc got so far compiles.
TEST(CompileWithTccWhile, AProducerErrorLeavesNoObject) {
  fs::path dir = fs::temp_directory_path() / ("aether-tcc-stop-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string so = (dir / "m.so").string();
  Status st = CompileWithTccWhile(
      [](const UnitWriter& write) -> Status {
        RETURN_IF_ERROR(write("int f(int x) { return x + 1; }\n", false));
        return Internal("generated C refused: the identifier constructor at line 2");
      },
      so);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("constructor"), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(so));

  // Nothing after the unit's end reaches tcc.
  st = CompileWithTccWhile(
      [](const UnitWriter& write) -> Status {
        RETURN_IF_ERROR(write("int f(int x) { return x + 1; }\n", true));
        return write("int g;\n", false);
      },
      so);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("after the unit's end"), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(so));

  // A throw (bad_alloc past compile_memory_limit) ends the same way.
  EXPECT_THROW((void)CompileWithTccWhile(
                   [](const UnitWriter& write) -> Status {
                     RETURN_IF_ERROR(write("int g;\n", false));
                     throw std::bad_alloc();
                   },
                   so),
               std::bad_alloc);
  EXPECT_FALSE(fs::exists(so));
  fs::remove_all(dir);
}

// When tcc fails early the producer is told (its writes fail), never
// blocks on the full pipe, and tcc's error is the one returned.
TEST(CompileWithTccWhile, ATccErrorStopsTheProducer) {
  fs::path dir = fs::temp_directory_path() / ("aether-tcc-fail-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string so = (dir / "m.so").string();
  size_t written = 0;
  bool told = false;
  Status st = CompileWithTccWhile(
      [&](const UnitWriter& write) -> Status {
        RETURN_IF_ERROR(write("int f(int x) { return x + ; }\n", false));
        std::string more = "int g" + std::string(60, 'x') + ";\n";
        // Far more than the pipe holds: a blocked write would hang here.
        while (written < (8u << 20)) {
          Status w = write(more, false);
          if (!w.ok()) {
            told = true;
            return w;
          }
          written += more.size();
        }
        return OkStatus();
      },
      so);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("tcc: compilation failed"), std::string::npos) << st.ToString();
  EXPECT_TRUE(told || written >= (8u << 20));
  EXPECT_FALSE(fs::exists(so));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aether::wasm
