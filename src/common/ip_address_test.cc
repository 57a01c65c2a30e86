#include "common/ip_address.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace aether {
namespace {

IpAddress Ip(const char* text) {
  std::optional<IpAddress> a = ParseIpAddress(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

AddressKind Kind(const char* text) { return ClassifyAddress(Ip(text)); }

TEST(IpAddressTest, StrictParsing) {
  EXPECT_EQ(Ip("127.0.0.1").ToString(), "127.0.0.1");
  EXPECT_FALSE(Ip("127.0.0.1").v6);
  EXPECT_EQ(Ip("::1").ToString(), "::1");
  EXPECT_EQ(Ip("2001:DB8:0:0:0:0:0:1").ToString(), "2001:db8::1");
  EXPECT_TRUE(Ip("::ffff:127.0.0.1").v6);
  for (const char* bad :
       {"", "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.0.0.1.", "127.0.0.256",
        " 127.0.0.1", "[::1]", "fe80::1%eth0", "1::2::3", "localhost", "::ffff:0177.0.0.1"}) {
    EXPECT_FALSE(ParseIpAddress(bad).has_value()) << bad;
  }
  // Found by ip_address_fuzz: inet_pton stops at a NUL.
  EXPECT_FALSE(ParseIpAddress(std::string_view("1.0.0.0\0junk", 12)).has_value());
  EXPECT_FALSE(ParseIpAddress(std::string_view("::1\0", 4)).has_value());
}

TEST(IpAddressTest, UnmappedAndSockaddr) {
  EXPECT_EQ(Ip("::ffff:10.1.2.3").Unmapped(), Ip("10.1.2.3"));
  EXPECT_EQ(Ip("::FFFF:7f00:1").Unmapped(), Ip("127.0.0.1"));
  EXPECT_EQ(Ip("::1").Unmapped(), Ip("::1"));
  EXPECT_EQ(Ip("10.1.2.3").Unmapped(), Ip("10.1.2.3"));

  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0x7f000001);
  EXPECT_EQ(FromSockaddr(reinterpret_cast<sockaddr*>(&v4)), Ip("127.0.0.1"));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr = in6addr_loopback;
  EXPECT_EQ(FromSockaddr(reinterpret_cast<sockaddr*>(&v6)), Ip("::1"));
  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_FALSE(FromSockaddr(&other).has_value());
}

// Every spelling inet_aton, getaddrinfo and browsers turn into 127.0.0.1.
TEST(IpAddressTest, LegacyIpv4Spellings) {
  for (const char* s : {"127.0.0.1", "2130706433", "0x7f000001", "0X7F000001", "017700000001",
                        "0x7f.1", "127.1", "127.0.1", "0177.0.0.1", "0x7f.0.0.0x1",
                        "127.000.000.001", "127.0.0.1.", "0x7F.0x0.0x0.0x1"}) {
    std::optional<IpAddress> a = ParseIpv4AnySpelling(s);
    ASSERT_TRUE(a.has_value()) << s;
    EXPECT_EQ(a->ToString(), "127.0.0.1") << s;
    EXPECT_TRUE(LooksLikeIpv4(s)) << s;
  }
  EXPECT_EQ(ParseIpv4AnySpelling("0")->ToString(), "0.0.0.0");
  EXPECT_EQ(ParseIpv4AnySpelling("0x")->ToString(), "0.0.0.0");
  EXPECT_EQ(ParseIpv4AnySpelling("4294967295")->ToString(), "255.255.255.255");
  EXPECT_EQ(ParseIpv4AnySpelling("169.254.43518")->ToString(), "169.254.169.254");
  EXPECT_EQ(ParseIpv4AnySpelling("10.0x10000")->ToString(), "10.1.0.0");
  for (const char* bad :
       {"", ".", "1..1", "4294967296", "256.0.0.1", "1.256.0.1", "1.2.65536", "1.2.3.256",
        "1.2.3.4.5", "08", "0x7g", "1e3", "-1", "+1", "127.0.0.1 ", "localhost", "0x1fffffffff"}) {
    EXPECT_FALSE(ParseIpv4AnySpelling(bad).has_value()) << bad;
  }
}

TEST(IpAddressTest, LooksLikeIpv4) {
  for (const char* s : {"1.2.3.4", "123", "a.b.0x1F", "foo.12", "1.2.3.4."}) {
    EXPECT_TRUE(LooksLikeIpv4(s)) << s;
  }
  for (const char* s : {"example.com", "1.2.3.com", "0x1g", "12a", "", ".", "::1", "a.b.c"}) {
    EXPECT_FALSE(LooksLikeIpv4(s)) << s;
  }
}

TEST(IpAddressTest, Networks) {
  std::optional<IpNetwork> n = ParseIpNetwork("10.0.0.0/8");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->ToString(), "10.0.0.0/8");
  EXPECT_TRUE(n->Contains(Ip("10.255.1.2")));
  EXPECT_TRUE(n->Contains(Ip("::ffff:10.1.2.3")));  // mapped addresses match IPv4 ranges
  EXPECT_FALSE(n->Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(n->Contains(Ip("a00::")));
  EXPECT_TRUE(ParseIpNetwork("100.64.0.0/10")->Contains(Ip("100.127.255.255")));
  EXPECT_FALSE(ParseIpNetwork("100.64.0.0/10")->Contains(Ip("100.128.0.0")));
  EXPECT_TRUE(ParseIpNetwork("0.0.0.0/0")->Contains(Ip("8.8.8.8")));
  EXPECT_TRUE(ParseIpNetwork("fd00::/8")->Contains(Ip("fd12:3456::1")));
  EXPECT_FALSE(ParseIpNetwork("fd00::/8")->Contains(Ip("fc00::1")));
  EXPECT_TRUE(ParseIpNetwork("1.2.3.4/32")->Contains(Ip("1.2.3.4")));
  for (const char* bad : {"10.0.0.0", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08",
                          "10.0.0.0/-1", "fd00::1/8", "::/129", "10/8", "x/8"}) {
    EXPECT_FALSE(ParseIpNetwork(bad).has_value()) << bad;
  }
}

TEST(IpAddressTest, ClassifiesEveryIpv4Range) {
  struct Case {
    const char* address;
    AddressKind kind;
  };
  const Case cases[] = {
      {"8.8.8.8", AddressKind::kGlobal},
      {"1.1.1.1", AddressKind::kGlobal},
      {"172.32.0.1", AddressKind::kGlobal},
      {"100.128.0.1", AddressKind::kGlobal},
      {"0.0.0.0", AddressKind::kUnspecified},
      {"0.255.255.255", AddressKind::kUnspecified},
      {"127.0.0.1", AddressKind::kLoopback},
      {"127.255.255.254", AddressKind::kLoopback},
      {"10.0.0.1", AddressKind::kPrivate},
      {"172.16.0.1", AddressKind::kPrivate},
      {"172.31.255.255", AddressKind::kPrivate},
      {"192.168.1.1", AddressKind::kPrivate},
      {"100.64.0.1", AddressKind::kSharedCgnat},
      {"100.127.255.255", AddressKind::kSharedCgnat},
      {"169.254.0.1", AddressKind::kLinkLocal},
      {"224.0.0.1", AddressKind::kMulticast},
      {"239.255.255.255", AddressKind::kMulticast},
      {"255.255.255.255", AddressKind::kBroadcast},
      {"240.0.0.1", AddressKind::kReserved},
      {"192.0.0.8", AddressKind::kReserved},
      {"192.0.2.1", AddressKind::kReserved},
      {"198.18.0.1", AddressKind::kReserved},
      {"198.19.255.255", AddressKind::kReserved},
      {"198.51.100.1", AddressKind::kReserved},
      {"203.0.113.1", AddressKind::kReserved},
      {"169.254.169.254", AddressKind::kMetadata},
      {"169.254.170.2", AddressKind::kMetadata},
      {"169.254.170.23", AddressKind::kMetadata},
      {"100.100.100.200", AddressKind::kMetadata},
      {"168.63.129.16", AddressKind::kMetadata},
      {"192.0.0.192", AddressKind::kMetadata},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Kind(c.address), c.kind) << c.address;
    // The IPv4-mapped IPv6 form is the same address.
    std::string mapped = "::ffff:" + std::string(c.address);
    EXPECT_EQ(Kind(mapped.c_str()), c.kind) << mapped;
  }
}

TEST(IpAddressTest, ClassifiesEveryIpv6Range) {
  struct Case {
    const char* address;
    AddressKind kind;
  };
  const Case cases[] = {
      {"2001:4860:4860::8888", AddressKind::kGlobal},
      {"2606:4700::1111", AddressKind::kGlobal},
      {"::", AddressKind::kUnspecified},
      {"::1", AddressKind::kLoopback},
      {"::127.0.0.1", AddressKind::kReserved},  // IPv4-compatible (deprecated)
      {"::ffff:0:127.0.0.1", AddressKind::kReserved},
      {"fc00::1", AddressKind::kPrivate},
      {"fdff:ffff::1", AddressKind::kPrivate},
      {"fec0::1", AddressKind::kPrivate},
      {"64:ff9b:1::1", AddressKind::kPrivate},
      {"fe80::1", AddressKind::kLinkLocal},
      {"febf::1", AddressKind::kLinkLocal},
      {"ff02::1", AddressKind::kMulticast},
      {"ff05::2", AddressKind::kMulticast},
      {"100::1", AddressKind::kReserved},
      {"2001::1", AddressKind::kReserved},  // Teredo
      {"2001:2::1", AddressKind::kReserved},
      {"2001:db8::1", AddressKind::kReserved},
      {"3fff::1", AddressKind::kReserved},
      {"4000::1", AddressKind::kReserved},  // outside 2000::/3
      {"fd00:ec2::254", AddressKind::kMetadata},
      {"fd00:ec2::23", AddressKind::kMetadata},
      // NAT64 and 6to4 carry an IPv4 address and are what it is.
      {"64:ff9b::7f00:1", AddressKind::kLoopback},
      {"64:ff9b::a9fe:a9fe", AddressKind::kMetadata},
      {"64:ff9b::808:808", AddressKind::kGlobal},
      {"2002:7f00:1::", AddressKind::kLoopback},
      {"2002:a00:1::1", AddressKind::kPrivate},
      {"2002:808:808::1", AddressKind::kGlobal},
  };
  for (const Case& c : cases) EXPECT_EQ(Kind(c.address), c.kind) << c.address;
}

TEST(IpAddressTest, KindNames) {
  EXPECT_EQ(AddressKindName(AddressKind::kLoopback), "loopback");
  EXPECT_EQ(AddressKindName(AddressKind::kMetadata), "cloud metadata");
  EXPECT_EQ(AddressKindName(AddressKind::kGlobal), "public");
}

}  // namespace
}  // namespace aether
