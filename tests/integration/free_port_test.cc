// FreePort: the ports tests hand to servers that cannot pick their own
// (etcd's members, PostgreSQL, chromedriver) are distinct within a test
// process. The kernel alone once gave two members of a 3-member etcd the
// same peer port, one closed bind after the other.
#include <gtest/gtest.h>

#include <set>

#include "process.h"

namespace aether::testing {
namespace {

TEST(FreePortTest, NeverTheSamePortTwiceInOneProcess) {
  std::set<uint16_t> seen;
  for (int i = 0; i < 500; ++i) {
    uint16_t port = FreePort();
    ASSERT_NE(port, 0) << "after " << i << " ports";
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
  }
}

}  // namespace
}  // namespace aether::testing
