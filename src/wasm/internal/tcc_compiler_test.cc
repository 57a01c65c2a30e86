#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "wasm/internal/compiler.h"
#include "wasm/internal/glue.h"
#include "wasm/internal/translate.h"

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

}  // namespace
}  // namespace aether::wasm
