#include "common/limits.h"

#include <gtest/gtest.h>

namespace aether {
namespace {

using namespace std::chrono_literals;

TEST(EffectiveExecTimeoutTest, TheFunctionsOwnCappedByTheNodes) {
  // None of its own: the node's.
  EXPECT_EQ(EffectiveExecTimeout(0ms, 3s), 3s);
  // Below the node's: its own.
  EXPECT_EQ(EffectiveExecTimeout(500ms, 3s), 500ms);
  // Above the node's: the node's, which bounds every execution on it.
  EXPECT_EQ(EffectiveExecTimeout(60s, 3s), 3s);
  EXPECT_EQ(EffectiveExecTimeout(3s, 3s), 3s);
  // A negative one (never parsed, but a duration can hold it) is none.
  EXPECT_EQ(EffectiveExecTimeout(-1ms, 3s), 3s);
  static_assert(EffectiveExecTimeout(0ms, kDefaultExecTimeout) == kDefaultExecTimeout);
}

}  // namespace
}  // namespace aether
