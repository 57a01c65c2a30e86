#include "wasm/internal/c_check.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <span>

#include "wasm/internal/glue.h"
#include "wasm/internal/translate.h"
#include "wasm/test_support.h"

namespace aether::wasm {
namespace {

std::string Unit(const std::vector<uint8_t>& wasm) {
  auto t = TranslateInProcess(wasm, ModuleLimits{});
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return "";
  auto unit = BuildCompilationUnit(*t);
  EXPECT_TRUE(unit.ok()) << unit.status().ToString();
  return unit.ok() ? *unit : "";
}

std::string Refused(std::string_view text) {
  Status st = CheckGeneratedC(text);
  return st.ok() ? "accepted" : st.message();
}

TEST(CheckGeneratedC, AcceptsWhatWasm2cAndTheGlueEmit) {
  for (const char* guest : {"hello", "fib", "trap_indirect", "wf_echo", "clock_random"}) {
    std::string unit = Unit(testing::ReadGuest(guest));
    ASSERT_FALSE(unit.empty()) << guest;
    EXPECT_TRUE(CheckGeneratedC(unit).ok()) << guest << ": " << CheckGeneratedC(unit).message();
  }
}

// The export name of tests/hostile/ctor_export_name.wat: translated under a
// synthetic name, nothing of it reaches the C.
TEST(CheckGeneratedC, HostileExportNameNeverReachesTheC) {
  std::string unit = Unit(testing::ReadHostile("ctor_export_name"));
  ASSERT_FALSE(unit.empty());
  // wasm2c's part never sees it; the glue has it only as an escaped string
  // literal ("x\040\052\057\012void...") to look exports up by name.
  std::string wasm2c_part = unit.substr(0, unit.find("/* ---- Aether glue ---- */"));
  EXPECT_EQ(wasm2c_part.find("pwn"), std::string::npos);
  EXPECT_EQ(wasm2c_part.find("constructor"), std::string::npos);
  EXPECT_EQ(unit.find("*/ __attribute__"), std::string::npos);
  EXPECT_TRUE(CheckGeneratedC(unit).ok()) << CheckGeneratedC(unit).message();
}

TEST(CheckGeneratedC, RefusesInjectedCode) {
  EXPECT_NE(Refused("__attribute__((constructor)) static void f(void) {}").find("constructor"),
            std::string::npos);
  EXPECT_NE(Refused("__attribute__((__destructor__)) static void f(void) {}"), "accepted");
  EXPECT_NE(Refused("int x __attribute__((section(\".init_array\")));"), "accepted");
  EXPECT_NE(Refused("void* r(void) __attribute__((ifunc(\"g\")));"), "accepted");
  EXPECT_NE(Refused("void _init(void) {}"), "accepted");
  EXPECT_NE(Refused("_Pragma(\"GCC poison x\")"), "accepted");
  EXPECT_NE(Refused("__asm__(\".section .init_array\");"), "accepted");
  EXPECT_NE(Refused("#define wasm_asm __asm__\nwasm_asm(\".quad f\");"), "accepted");
  EXPECT_NE(Refused("#pragma GCC visibility push(default)\n"), "accepted");
  EXPECT_NE(Refused("%:pragma once\n"), "accepted");
  EXPECT_NE(Refused("#line 1 \"x.c\"\n"), "accepted");
  EXPECT_NE(Refused("#include \"/etc/passwd\"\n"), "accepted");
  EXPECT_NE(Refused("#include_next <stdio.h>\n"), "accepted");
  EXPECT_NE(Refused("#define X 1\n#define wasm_asm(X) __asm__(X)\n"), "accepted");
  // Joined by the preprocessor, so joined by the check.
  EXPECT_NE(Refused("__attribute__((constr\\\nuctor)) void f(void) {}"), "accepted");
  EXPECT_NE(Refused("int x; /* never closed"), "accepted");
  EXPECT_NE(Refused("const char* s = \"\xc3\xa9\";"), "accepted");
  EXPECT_NE(Refused("?\?/\n"), "accepted");
  EXPECT_NE(Refused("/* export: 'x */ int y; /* ' */\n"), "accepted");
  EXPECT_NE(Refused("/* import: 'env' 'f' */\n"), "accepted");
}

// The byte scan reads eight bytes at a time: a refused byte is found at
// every offset, in a word and in the tail, and the whitespace the check
// allows is not taken for one.
TEST(CheckGeneratedC, RefusesAControlOrNonAsciiByteAnywhere) {
  const std::string plain = "int a; int b; int c; int d;\n";
  for (char bad : {'\x01', '\x1b', '\x00', '\x80', '\xff', '\x0b'}) {
    for (size_t at = 0; at < plain.size(); ++at) {
      std::string text = plain;
      text.insert(at, 1, bad);
      EXPECT_NE(Refused(text), "accepted") << "byte " << int(bad) << " at " << at;
    }
  }
  EXPECT_EQ(Refused("int\ta;\r\n\fint b; int c; int d;\x7f\n"), "accepted");
}

TEST(CheckGeneratedC, AcceptsOrdinaryC) {
  EXPECT_EQ(Refused("#include <stdint.h>\n#include \"wasm-rt.h\"\n"
                    "#define TRAP(x) (wasm_rt_trap(WASM_RT_TRAP_##x), 0)\n"
                    "/* export: 'e12' */\n/* import: 'm' 'i3' */\n"
                    "static const char* s = \"a \\\" */ b\";\n"
                    "#define wasm_asm __asm__\n"
                    "static inline int f(int v) { wasm_asm(\"\" ::\"r\"(v)); return v; }\n"),
            "accepted");
}

}  // namespace
}  // namespace aether::wasm
