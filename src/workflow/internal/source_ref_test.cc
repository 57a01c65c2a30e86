#include "workflow/internal/source_ref.h"

#include <gtest/gtest.h>

namespace aether::workflow::internal {
namespace {

TEST(SourceRefTest, TheFirstInstanceIsItsComponentsName) {
  EXPECT_EQ(SourceRef("parse", 0), "parse");
  EXPECT_EQ(SourceRef("parse", 7), "parse/7");
  SourceParts p = ParseSourceRef("parse/7");
  EXPECT_EQ(p.component, "parse");
  EXPECT_EQ(p.index, 7u);
  p = ParseSourceRef("parse");
  EXPECT_EQ(p.component, "parse");
  EXPECT_EQ(p.index, 0u);
}

TEST(SourceRefTest, AnythingElseIsAllComponent) {
  for (const char* ref : {"", "/", "a/", "/3", "a/0", "a/03", "a/-1", "a/x", "a/3x", "a/4294967296",
                          "a/99999999999999999999"}) {
    SourceParts p = ParseSourceRef(ref);
    EXPECT_EQ(p.component, ref) << ref;
    EXPECT_EQ(p.index, 0u) << ref;
  }
}

}  // namespace
}  // namespace aether::workflow::internal
