#include "wasm/internal/data_literals.h"

#include <gtest/gtest.h>

namespace aether::wasm {
namespace {

TEST(DataArraysAsStrings, RewritesEachArrayAndNothingElse) {
  std::string c =
      "static const u8 data_segment_data_w2c_d0[] = {\n"
      "  0x41, 0x22, 0x5c, 0x3f, 0x00, 0x0a, 0xff, 0x7e, \n"
      "  \n};\n\n"
      "static const u8 other[] = {\n  0x41, \n};\n"
      "static const u8 data_segment_data_w2c_d1[] = {\n  0x30, 0x31, \n};\n"
      "LOAD_DATA(m, 0u, data_segment_data_w2c_d0, 8);\n";
  EXPECT_EQ(DataArraysAsStrings(c),
            "static const u8 data_segment_data_w2c_d0[] = \n"
            "  \"A\\042\\134\\077\\000\\012\\377~\"\n"
            ";\n\n"
            "static const u8 other[] = {\n  0x41, \n};\n"
            "static const u8 data_segment_data_w2c_d1[] = \n  \"01\"\n;\n"
            "LOAD_DATA(m, 0u, data_segment_data_w2c_d0, 8);\n");
}

// Octal escapes are three digits: a digit after one stays a byte of its own.
TEST(DataArraysAsStrings, AnEscapeFollowedByADigitEndsAfterThreeDigits) {
  EXPECT_EQ(DataArraysAsStrings("static const u8 data_segment_data_a[] = {\n  0x01, 0x37, \n};"),
            "static const u8 data_segment_data_a[] = \n  \"\\0017\"\n;");
}

TEST(DataArraysAsStrings, LongSegmentsAreSplitIntoLines) {
  std::string c = "static const u8 data_segment_data_a[] = {\n";
  for (int i = 0; i < 200; ++i) c += "  0x61,";
  c += "\n};";
  std::string out = DataArraysAsStrings(c);
  EXPECT_EQ(out, "static const u8 data_segment_data_a[] = \n  \"" + std::string(96, 'a') +
                     "\"\n  \"" + std::string(96, 'a') + "\"\n  \"" + std::string(8, 'a') +
                     "\"\n;");
}

TEST(DataArraysAsStrings, LeavesShapesItDoesNotKnowAsWritten) {
  for (std::string c : {
           "static const u8 data_segment_data_a[] = {\n};",                 // empty
           "static const u8 data_segment_data_a[] = {\n  0x4, \n};",        // one digit
           "static const u8 data_segment_data_a[] = {\n  0x41 0x42, \n};",  // no comma
           "static const u8 data_segment_data_a[] = {\n  0x41, x, \n};",    // not a byte
           "static const u8 data_segment_data_a[] = {\n  0x41, \n}",        // no ;
           "static const u8 data_segment_data_a[] = {\n  0x41,",            // cut off
           "static const u8 data_segment_data_a[4] = {\n  0x41, \n};",      // sized
           "static const u8 data_segment_data_",                            // at the end
       }) {
    EXPECT_EQ(DataArraysAsStrings(c), c);
  }
}

}  // namespace
}  // namespace aether::wasm
