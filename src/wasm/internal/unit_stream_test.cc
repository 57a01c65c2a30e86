// The unit built while wasm2c writes it: where it may be cut, and that
// checking it in pieces refuses what checking it whole refuses. (That it
// equals BuildCompilationUnit's unit for every module of the tree is in
// tcc_compiler_test.cc, which compiles it.)
#include "wasm/internal/unit_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wasm/internal/c_check.h"
#include "wasm/internal/data_literals.h"
#include "wasm/internal/glue.h"

namespace aether::wasm {
namespace {

TEST(SafeCut, AtTheLastLineEnd) {
  EXPECT_EQ(SafeCut(""), 0u);
  EXPECT_EQ(SafeCut("int a;"), 0u);
  EXPECT_EQ(SafeCut("int a;\nint b;\nint c"), 14u);
  EXPECT_EQ(SafeCut("int a;\nint b;\n"), 14u);
}

TEST(SafeCut, NeverAfterABackslashNewline) {
  // "# \<newline>pragma" is one directive: cut after the backslash, each
  // side alone would pass the check.
  std::string text = "int a;\n# \\\npragma x\n#define M 1 \\\n";
  EXPECT_EQ(SafeCut(text), text.find("pragma x\n") + 9);
  EXPECT_EQ(SafeCut("int a;\n# \\\n"), 7u);
  EXPECT_EQ(SafeCut("# \\\n"), 0u);
}

TEST(SafeCut, NeverInsideABlockComment) {
  EXPECT_EQ(SafeCut("int a;\n/* one\ntwo\n"), 7u);
  EXPECT_EQ(SafeCut("int a; /* one\ntwo\n"), 0u);
  EXPECT_EQ(SafeCut("/* one */\nint a; /* two */\n"), 27u);
  // "/*/" does not close what it opens.
  EXPECT_EQ(SafeCut("int a;\n/*/ b\n"), 7u);
  // Conservative: a "/*" in a literal holds the cut back too.
  EXPECT_EQ(SafeCut("int a;\nconst char* s = \"/*\";\n"), 7u);
}

TEST(SafeCut, NeverInsideADataArray) {
  std::string open = "int a;\nstatic const u8 data_segment_data_w2c_d0[] = {\n  0x01, 0x02,\n";
  EXPECT_EQ(SafeCut(open), 7u);
  std::string closed = open + "};\nint b;\n";
  EXPECT_EQ(SafeCut(closed), closed.size());
  EXPECT_EQ(SafeCut(closed + open), closed.size() + 7);
}

// A translation as UnitStream needs it: a header with what GlueTail reads.
Translation Fake() {
  Translation t;
  t.c_header = "void Z_aethg_instantiate(Z_aethg_instance_t*);\n";
  return t;
}

// Feeds `source` to a UnitStream in pieces of `piece` bytes (written one
// byte at a time), collecting what it emits.
Status Stream(const std::string& source, size_t piece, std::string* emitted,
              std::vector<std::string>* pieces = nullptr) {
  UnitStream unit(
      [&](std::string_view p, bool /*last*/) {
        emitted->append(p);
        if (pieces != nullptr) pieces->emplace_back(p);
        return OkStatus();
      },
      piece);
  Translation t = Fake();
  RETURN_IF_ERROR(unit.Begin(t));
  for (char c : source) RETURN_IF_ERROR(unit.Write(std::string_view(&c, 1)));
  return unit.End(t);
}

std::string Source(const std::string& body) {
  std::string source = "/* wasm2c */\n";
  source.append(GuestHeaderInclude()).append("\n").append(body);
  return source;
}

TEST(UnitStream, EmitsTheWholeUnitInPiecesThatEndCleanly) {
  std::string body;
  for (int i = 0; i < 200; ++i) {
    std::string n = std::to_string(i);
    body.append("static u32 w2c_f").append(n).append("(u32 x) {\n  return x + ");
    body.append(n).append("u; /* a\n comment */\n}\n");
    if (i % 50 == 0) {
      body.append("static const u8 data_segment_data_w2c_d").append(n);
      body.append("[] = {\n  0x61, 0x62, 0x00,\n  0x5c, 0x22,\n};\n#define M").append(n);
      body.append(" 1 \\\n  + 2\n");
    }
  }
  Translation whole = Fake();
  whole.c_source = DataArraysAsStrings(Source(body));  // as TranslateInProcess
  Result<std::string> expected = BuildCompilationUnit(whole);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_TRUE(CheckGeneratedC(*expected).ok());
  for (size_t piece : {1u, 7u, 64u, 1000u, 1u << 20}) {
    std::string emitted;
    std::vector<std::string> pieces;
    ASSERT_TRUE(Stream(Source(body), piece, &emitted, &pieces).ok()) << piece;
    EXPECT_EQ(emitted, *expected) << piece;
    for (size_t i = 0; i + 1 < pieces.size(); ++i) {
      ASSERT_EQ(pieces[i].back(), '\n') << piece;
      ASSERT_NE(pieces[i][pieces[i].size() - 2], '\\') << piece;
    }
    if (piece < 1000) {
      EXPECT_GT(pieces.size(), 10u) << piece;
    }
  }
}

// What the check refuses whole, it refuses in pieces, wherever the pieces
// fall, and nothing from the offending piece on is emitted.
TEST(UnitStream, RefusesWhatTheWholeCheckRefuses) {
  std::string benign;
  for (int i = 0; i < 100; ++i)
    benign.append("static u32 w2c_g").append(std::to_string(i)) += ";\n";
  const std::vector<std::string> attacks = {
      "__attribute__((constructor)) static void run(void) {}\n",
      // A directive split over a backslash-newline, at every cut.
      "# \\\npragma GCC poison x\n",
      "#inc\\\nlude \"/etc/passwd\"\n",
      "static const char* s = \"\xff\";\n",
      "/* import: 'env' 'evil' */\n",
      "static void f(void) { asm(\"int3\"); }\n",
  };
  for (const std::string& attack : attacks) {
    std::string source = Source(benign);
    source.append(attack).append(benign);
    Translation whole = Fake();
    whole.c_source = source;
    Result<std::string> unit = BuildCompilationUnit(whole);
    ASSERT_TRUE(unit.ok());
    ASSERT_FALSE(CheckGeneratedC(*unit).ok()) << attack;
    for (size_t piece : {1u, 16u, 300u, 1u << 20}) {
      std::string emitted;
      Status st = Stream(source, piece, &emitted);
      EXPECT_EQ(st.code(), Code::kInternal) << attack << " in pieces of " << piece;
      EXPECT_EQ(emitted.find(attack.substr(0, 12)), std::string::npos) << attack;
      EXPECT_LT(emitted.size(), unit->size()) << attack;
    }
  }
}

// A big data segment is one data array of megabytes, which cannot be cut:
// the stream waits for its end, searching the growing buffer for a cut
// ever less often (each search reads it all: once per piece was quadratic,
// 1.7 s instead of 0.4 s for a 4 MiB segment).
TEST(UnitStream, ALongDataArrayIsNotSearchedOncePerPiece) {
  UnitStream unit([](std::string_view, bool) { return OkStatus(); }, 4096);
  Translation t = Fake();
  ASSERT_TRUE(unit.Begin(t).ok());
  ASSERT_TRUE(unit.Write(Source("static const u8 data_segment_data_w2c_d0[] = {\n")).ok());
  const std::string line = "  0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,\n";  // 50 bytes
  for (int i = 0; i < 80000; ++i) ASSERT_TRUE(unit.Write(line).ok());              // 4 MB
  ASSERT_TRUE(unit.Write("};\n").ok());
  ASSERT_TRUE(unit.End(t).ok());
  // 4 MB in pieces of 4 KB: about a thousand searches at a fixed step.
  EXPECT_LT(unit.searches(), 30u);
}

TEST(UnitStream, RefusesASourceThatDoesNotIncludeItsHeader) {
  std::string emitted;
  Status st = Stream("static u32 x;\n", 4, &emitted);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("does not include its header"), std::string::npos);
}

TEST(UnitStream, NamesTheLineOfTheUnitInItsErrors) {
  std::string body;
  for (int i = 0; i < 100; ++i) body.append("int a").append(std::to_string(i)) += ";\n";
  body += "int __attribute__((section(\"x\"))) b;\n";
  Translation whole = Fake();
  whole.c_source = Source(body);
  Status expected = CheckGeneratedC(*BuildCompilationUnit(whole));
  std::string emitted;
  Status st = Stream(Source(body), 64, &emitted);
  EXPECT_EQ(st.message(), expected.message());
}

}  // namespace
}  // namespace aether::wasm
