#include "common/internal/connection_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace aether::http_internal {
namespace {

using boost::asio::ip::make_address;

TEST(ConnectionLimiterTest, CapsPerClientAndInAll) {
  auto limiter = std::make_shared<ConnectionLimiter>(5, 2);
  std::string_view refused;
  std::vector<ConnectionLimiter::Slot> slots;
  for (int i = 0; i < 2; ++i) {
    auto s = limiter->TryAcquire(make_address("10.0.0.1"), &refused);
    ASSERT_TRUE(s) << i;
    slots.push_back(std::move(*s));
  }
  EXPECT_FALSE(limiter->TryAcquire(make_address("10.0.0.1"), &refused));
  EXPECT_EQ(refused, "client_limit");
  for (const char* other : {"10.0.0.2", "10.0.0.2", "10.0.0.3"}) {
    auto s = limiter->TryAcquire(make_address(other), &refused);
    ASSERT_TRUE(s) << other;
    slots.push_back(std::move(*s));
  }
  EXPECT_EQ(limiter->total(), 5u);
  EXPECT_FALSE(limiter->TryAcquire(make_address("10.0.0.4"), &refused));
  EXPECT_EQ(refused, "server_limit");

  slots.erase(slots.begin());  // one of 10.0.0.1's
  EXPECT_EQ(limiter->total(), 4u);
  EXPECT_EQ(limiter->ForClient(make_address("10.0.0.1")), 1u);
  EXPECT_TRUE(limiter->TryAcquire(make_address("10.0.0.1"), &refused));
  slots.clear();
  EXPECT_EQ(limiter->total(), 0u);
  EXPECT_EQ(limiter->ForClient(make_address("10.0.0.2")), 0u);
}

TEST(ConnectionLimiterTest, ZeroPerClientMeansNoPerClientCap) {
  auto limiter = std::make_shared<ConnectionLimiter>(3, 0);
  std::string_view refused;
  std::vector<ConnectionLimiter::Slot> slots;
  for (int i = 0; i < 3; ++i) slots.push_back(*limiter->TryAcquire(make_address("::1"), &refused));
  EXPECT_FALSE(limiter->TryAcquire(make_address("::1"), &refused));
  EXPECT_EQ(refused, "server_limit");
}

TEST(ConnectionLimiterTest, ClientsAreIpv4AddressesAndIpv6Slash64s) {
  using K = ConnectionLimiter;
  EXPECT_EQ(K::KeyOf(make_address("2001:db8:1:2::1")),
            K::KeyOf(make_address("2001:db8:1:2:ffff::9")));
  EXPECT_NE(K::KeyOf(make_address("2001:db8:1:2::1")), K::KeyOf(make_address("2001:db8:1:3::1")));
  EXPECT_EQ(K::KeyOf(make_address("::ffff:192.0.2.7")), K::KeyOf(make_address("192.0.2.7")));
  EXPECT_NE(K::KeyOf(make_address("192.0.2.7")), K::KeyOf(make_address("192.0.2.8")));
}

TEST(ConnectionLimiterTest, SlotsMoveAndOutliveNothing) {
  std::string_view refused;
  std::optional<ConnectionLimiter::Slot> kept;
  {
    auto limiter = std::make_shared<ConnectionLimiter>(1, 1);
    auto s = limiter->TryAcquire(make_address("10.0.0.1"), &refused);
    ASSERT_TRUE(s);
    ConnectionLimiter::Slot moved = std::move(*s);
    s.reset();  // the moved-from slot releases nothing
    EXPECT_EQ(limiter->total(), 1u);
    kept.emplace(std::move(moved));
  }
  kept.reset();  // the slot kept the limiter alive until now
}

}  // namespace
}  // namespace aether::http_internal
