#include "workflow/resources/egress_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aether::workflow::resources {
namespace {

EgressTarget Target(const std::string& url) {
  Result<EgressTarget> t = ParseEgressUrl(url);
  EXPECT_TRUE(t.ok()) << url << ": " << t.status().ToString();
  return t.ok() ? *t : EgressTarget{};
}

IpAddress Ip(const char* text) { return ParseIpAddress(text).value(); }

// What CheckAddress says about `url` when its host resolves to `address`.
Code AddressCode(const EgressPolicy& p, const std::string& url, const char* address) {
  return p.CheckAddress(Target(url), Ip(address)).code();
}

TEST(EgressPolicyTest, ParsesUrls) {
  EgressTarget t = Target("https://API.Example.com/x?y");
  EXPECT_EQ(t.host, "api.example.com");
  EXPECT_FALSE(t.address.has_value());
  EXPECT_EQ(t.port, 443);
  EXPECT_EQ(t.default_port, 443);
  t = Target("http://[::FFFF:127.0.0.1]:8080/");
  EXPECT_EQ(t.host, "127.0.0.1");
  ASSERT_TRUE(t.address.has_value());
  EXPECT_FALSE(t.address->v6);
  EXPECT_EQ(t.ToString(), "127.0.0.1:8080");
  EXPECT_EQ(Target("http://[fe80::1]/").ToString(), "[fe80::1]:80");
  // A percent-encoded host is what a resolver would see once decoded.
  EXPECT_EQ(Target("http://%31%32%37.0.0.1/").host, "127.0.0.1");
  EXPECT_EQ(Target("http://%6c%6fcalhost/").host, "localhost");
  for (const char* bad :
       {"ftp://a/", "http://u:p@a/", "http:///x", "http://a:0/", "http://a:65536/",
        "http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://127.1/",
        "http://%32130706433/", "http://1.2.3.256/", "http://[v1.x]/", "not a url",
        "http://1.2.3.4.evil.com/x", "http://127.0.0.1.nip.io/", "http://127.0.0.1.:8080/",
        "http://127.0.0.1%00.evil.com/", "http://a%20b/", "http://a%0a.b/"}) {
    Result<EgressTarget> r = ParseEgressUrl(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseEgressUrl("http://0x7f.1/").status().message().find("write 127.0.0.1"),
            std::string::npos);
}

TEST(EgressPolicyTest, TargetsMatchTheirEntry) {
  EgressPolicy p({"api.example.com", "localhost:8080", "127.0.0.1:9000", "10.0.0.0/8:81", "[::1]",
                  "[fd00::/8]:9000"});
  auto ok = [&](const std::string& url) { return p.CheckTarget(Target(url)).ok(); };
  EXPECT_TRUE(ok("http://api.example.com/"));
  EXPECT_TRUE(ok("https://api.example.com/"));
  EXPECT_FALSE(ok("http://api.example.com:8080/"));
  EXPECT_FALSE(ok("http://x.api.example.com/"));
  EXPECT_TRUE(ok("http://localhost:8080/"));
  EXPECT_FALSE(ok("http://127.0.0.1:8080/")) << "a name entry does not allow the address";
  EXPECT_TRUE(ok("http://127.0.0.1:9000/"));
  EXPECT_TRUE(ok("http://[::ffff:127.0.0.1]:9000/"));
  EXPECT_FALSE(ok("http://localhost:9000/")) << "an address entry does not allow a name";
  EXPECT_TRUE(ok("http://10.9.8.7:81/"));
  EXPECT_FALSE(ok("http://10.9.8.7/"));
  EXPECT_TRUE(ok("http://[::1]/"));
  EXPECT_TRUE(ok("https://[::1]/"));
  EXPECT_TRUE(ok("http://[fd00::5]:9000/"));
  EXPECT_FALSE(ok("http://[fe00::5]:9000/"));
  Status st = p.CheckTarget(Target("http://evil.io:1/"));
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "http-egress: evil.io:1 is not in the allow list of this resource");
  // Entries that do not parse never widen the list.
  EgressPolicy bad({"2130706433", "*.example.com", "http://x", ""});
  EXPECT_FALSE(bad.CheckTarget(Target("http://a.example.com/")).ok());
  EXPECT_FALSE(bad.CheckTarget(Target("http://x/")).ok());
}

TEST(EgressPolicyTest, NamesReachPublicAddressesOnly) {
  EgressPolicy p({"api.example.com", "localhost:8080"});
  const std::string url = "http://api.example.com/";
  EXPECT_EQ(AddressCode(p, url, "93.184.216.34"), Code::kOk);
  EXPECT_EQ(AddressCode(p, url, "2606:2800:220:1::1"), Code::kOk);
  for (const char* a : {"127.0.0.1",
                        "127.8.8.8",
                        "::1",
                        "::ffff:127.0.0.1",
                        "0.0.0.0",
                        "::",
                        "10.0.0.1",
                        "172.16.0.1",
                        "192.168.0.1",
                        "fd12::1",
                        "100.64.0.1",
                        "169.254.1.1",
                        "fe80::1",
                        "224.0.0.1",
                        "ff02::1",
                        "255.255.255.255",
                        "240.0.0.1",
                        "169.254.169.254",
                        "fd00:ec2::254",
                        "100.100.100.200",
                        "::ffff:169.254.169.254",
                        "64:ff9b::a9fe:a9fe",
                        "2002:a9fe:a9fe::"}) {
    EXPECT_EQ(AddressCode(p, url, a), Code::kPermissionDenied) << a;
  }
  Status st = p.CheckAddress(Target("http://localhost:8080/"), Ip("127.0.0.1"));
  EXPECT_EQ(st.message(),
            "http-egress: localhost resolves to 127.0.0.1 (loopback); only an allow entry naming "
            "it (127.0.0.1:8080) or a CIDR range holding it reaches it");
}

TEST(EgressPolicyTest, AddressAndRangeEntriesOpenNonPublicAddresses) {
  EgressPolicy p({"localhost:8080", "127.0.0.1:8080", "internal.corp", "10.0.0.0/8", "[fd00::/8]",
                  "[::1]:8080"});
  EXPECT_EQ(AddressCode(p, "http://localhost:8080/", "127.0.0.1"), Code::kOk);
  EXPECT_EQ(AddressCode(p, "http://localhost:8080/", "::ffff:127.0.0.1"), Code::kOk);
  EXPECT_EQ(AddressCode(p, "http://localhost:8080/", "::1"), Code::kOk);
  EXPECT_EQ(AddressCode(p, "http://localhost:8080/", "127.0.0.2"), Code::kPermissionDenied);
  EXPECT_EQ(AddressCode(p, "http://internal.corp/", "10.1.2.3"), Code::kOk);
  EXPECT_EQ(AddressCode(p, "http://internal.corp/", "fd99::1"), Code::kOk);
  EXPECT_EQ(AddressCode(p, "http://internal.corp/", "192.168.1.1"), Code::kPermissionDenied);
  // An entry's port counts: 10.0.0.0/8 is for the default port only.
  EXPECT_EQ(AddressCode(p, "http://internal.corp:8080/", "10.1.2.3"), Code::kPermissionDenied);
  // The address of an IP URL is checked the same way.
  EXPECT_EQ(AddressCode(p, "http://10.1.2.3/", "10.1.2.3"), Code::kOk);
}

TEST(EgressPolicyTest, MetadataNeedsAnExactAddressEntry) {
  EgressPolicy ranges({"internal.corp", "169.254.0.0/16", "100.64.0.0/10", "[fd00::/8]"});
  EXPECT_EQ(AddressCode(ranges, "http://internal.corp/", "169.254.1.1"), Code::kOk);
  for (const char* a :
       {"169.254.169.254", "100.100.100.200", "fd00:ec2::254", "::ffff:169.254.169.254"}) {
    EXPECT_EQ(AddressCode(ranges, "http://internal.corp/", a), Code::kPermissionDenied) << a;
  }
  Status st = ranges.CheckAddress(Target("http://internal.corp/"), Ip("169.254.169.254"));
  EXPECT_NE(st.message().find("(cloud metadata)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("exactly 169.254.169.254"), std::string::npos) << st.message();

  EgressPolicy exact({"169.254.169.254", "[fd00:ec2::254]"});
  EXPECT_EQ(AddressCode(exact, "http://169.254.169.254/", "169.254.169.254"), Code::kOk);
  EXPECT_EQ(AddressCode(exact, "http://[fd00:ec2::254]/", "fd00:ec2::254"), Code::kOk);
}

}  // namespace
}  // namespace aether::workflow::resources
