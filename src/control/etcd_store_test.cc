// The etcd store beyond the Store contract (store_test.cc runs that on
// etcd too): replicas seeing each other's writes, failover between
// members, compaction, authentication, bad options. Real etcd members on
// 127.0.0.1 (tests/support/etcd_cluster.h).
#include "control/etcd_store.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "common/http_client.h"
#include "common/testing/temp_cert.h"
#include "etcd_cluster.h"

namespace aether::control {
namespace {

using ::aether::testing::EtcdCluster;
using std::chrono::milliseconds;

std::unique_ptr<EtcdCluster> StartEtcd(size_t members) {
  auto c = EtcdCluster::Start(members);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::unique_ptr<Store> Open(const std::vector<std::string>& endpoints, std::string prefix = "/t/") {
  auto s = OpenEtcdStore({.endpoints = endpoints, .prefix = std::move(prefix)});
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(s).value() : nullptr;
}

// A write that may land in an election (a member just killed may have
// been the leader): Unavailable until a new leader is there, never hangs.
bool PutEventually(Store& s, const std::string& key, const std::string& value) {
  for (int i = 0; i < 100; ++i) {
    Result<int64_t> r = s.Put(key, value);
    if (r.ok()) return true;
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().message();
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

// POST to etcd's gateway directly (what an operator's etcdctl would do).
std::string Etcd(const std::string& endpoint, const std::string& path, const std::string& body,
                 const std::string& token = "") {
  HttpHeaders h;
  if (!token.empty()) h.emplace_back("Authorization", token);
  auto r = NewHttpClient()->Fetch("POST", endpoint + path, body, h);
  return r.ok() ? std::to_string(r->status) + " " + r->body : r.status().message();
}

TEST(EtcdStoreTest, AWriteThroughOneReplicaWakesAWaiterOnAnother) {
  auto etcd = StartEtcd(1);
  ASSERT_NE(etcd, nullptr);
  auto a = Open(etcd->endpoints());
  auto b = Open(etcd->endpoints());
  ASSERT_TRUE(a && b);
  int64_t base = *b->Revision();
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(100));  // lets the waiter park first
    (void)a->Put("k", "v");
  });
  // Without the watch, b would only learn of it at the timeout.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(*b->WaitForRevision(base, milliseconds(20000)), base + 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  writer.join();
  EXPECT_EQ((*b->Get("k"))->value, "v");
}

// What lets a replica answer manifest reads without a round trip: its own
// writes are known at once, another replica's through the watch, and
// nothing is vouched for once it has not been confirmed for a while.
TEST(EtcdStoreTest, KnownRevisionFollowsWritesAndGoesStale) {
  auto etcd = StartEtcd(1);
  ASSERT_NE(etcd, nullptr);
  auto a = Open(etcd->endpoints());
  auto b = Open(etcd->endpoints());
  ASSERT_TRUE(a && b);
  Result<int64_t> mine = a->Put("k", "1");
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(a->KnownRevision(), std::optional<int64_t>(*mine));
  Result<int64_t> theirs = b->Put("k", "2");
  ASSERT_TRUE(theirs.ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (a->KnownRevision() != std::optional<int64_t>(*theirs) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(a->KnownRevision(), std::optional<int64_t>(*theirs));
  std::this_thread::sleep_for(kKnownRevisionFor + milliseconds(200));
  EXPECT_EQ(a->KnownRevision(), std::nullopt);
  EXPECT_EQ(NewMemoryStore()->KnownRevision(), std::nullopt);
}

TEST(EtcdStoreTest, PrefixesKeepControlPlanesApart) {
  auto etcd = StartEtcd(1);
  ASSERT_NE(etcd, nullptr);
  auto one = Open(etcd->endpoints(), "/one/");
  auto two = Open(etcd->endpoints(), "/two/");
  ASSERT_TRUE(one && two);
  ASSERT_TRUE(one->Put("k", "1").ok());
  ASSERT_TRUE(two->Put("k", "2").ok());
  EXPECT_EQ((*one->Get("k"))->value, "1");
  EXPECT_EQ(one->List("")->size(), 1u);
  ASSERT_TRUE(one->Txn({{}, {Op::DeletePrefix("")}}).ok());
  EXPECT_EQ((*two->Get("k"))->value, "2");
}

TEST(EtcdStoreTest, BinaryKeysAndValuesRoundTrip) {
  auto etcd = StartEtcd(1);
  ASSERT_NE(etcd, nullptr);
  auto s = Open(etcd->endpoints());
  ASSERT_NE(s, nullptr);
  std::string key("a\0b\xff", 4), value("\0\r\n{\"x\"}\xfe", 9);
  ASSERT_TRUE(s->Put(key, value).ok());
  auto kv = s->Get(key);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->key, key);
  EXPECT_EQ((*kv)->value, value);
}

TEST(EtcdStoreTest, WritesGoOnWhenAMemberDies) {
  auto etcd = StartEtcd(3);
  ASSERT_NE(etcd, nullptr);
  auto s = Open(etcd->endpoints());
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Put("before", "1").ok());
  etcd->Kill(0);  // the endpoint the store talked to
  ASSERT_TRUE(PutEventually(*s, "after", "2")) << etcd->Logs();
  EXPECT_EQ((*s->Get("before"))->value, "1");
  // The watch moved to another member too.
  int64_t now = *s->Revision();
  auto other = Open({etcd->endpoint(1)});
  ASSERT_NE(other, nullptr);
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (void)other->Put("x", "3");
  });
  EXPECT_EQ(*s->WaitForRevision(now, milliseconds(20000)), now + 1);
  writer.join();
}

TEST(EtcdStoreTest, QuorumLostFailsFastAndComesBack) {
  auto etcd = StartEtcd(3);
  ASSERT_NE(etcd, nullptr);
  auto s = OpenEtcdStore(
      {.endpoints = etcd->endpoints(), .prefix = "/t/", .request_timeout = milliseconds(2000)});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Put("k", "1").ok());
  etcd->Kill(1);
  etcd->Kill(2);
  auto start = std::chrono::steady_clock::now();
  Result<int64_t> r = (*s)->Put("k", "2");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_TRUE(etcd->Restart(1).ok()) << etcd->Logs();
  bool written = false;
  for (int i = 0; i < 100 && !written; ++i) {
    written = (*s)->Put("k", "3").ok();
    if (!written) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(written) << etcd->Logs();
}

TEST(EtcdStoreTest, TheWatchStartsAgainAfterACompaction) {
  auto etcd = StartEtcd(3);
  ASSERT_NE(etcd, nullptr);
  // `s` talks to member 0 only; while that member is down, the others take
  // writes and compact the history past what s's watch saw, so its next
  // stream asks for a compacted revision and has to start again.
  auto s = Open({etcd->endpoint(0)});
  auto writer = Open({etcd->endpoint(1), etcd->endpoint(2)});
  ASSERT_TRUE(s && writer);
  ASSERT_TRUE(writer->Put("k", "0").ok());
  etcd->Kill(0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(PutEventually(*writer, "k", std::to_string(i))) << etcd->Logs();
  }
  int64_t now = *writer->Revision();
  std::string answer = Etcd(etcd->endpoint(1), "/v3/kv/compaction",
                            R"({"revision": ")" + std::to_string(now) + R"("})");
  ASSERT_TRUE(answer.starts_with("200")) << answer;
  ASSERT_TRUE(etcd->Restart(0).ok()) << etcd->Logs();
  // s learns of the writes it missed, and of a later one.
  EXPECT_GE(*s->WaitForRevision(now - 1, milliseconds(20000)), now);
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(300));
    (void)PutEventually(*writer, "k", "last");
  });
  EXPECT_EQ(*s->WaitForRevision(now, milliseconds(20000)), now + 1);
  later.join();
}

TEST(EtcdStoreTest, Authentication) {
  auto etcd = StartEtcd(1);
  ASSERT_NE(etcd, nullptr);
  std::string e = etcd->endpoint(0);
  ASSERT_TRUE(
      Etcd(e, "/v3/auth/user/add", R"({"name":"root","password":"rootpw"})").starts_with("200"));
  ASSERT_TRUE(
      Etcd(e, "/v3/auth/user/grant", R"({"user":"root","role":"root"})").starts_with("200"));
  ASSERT_TRUE(Etcd(e, "/v3/auth/enable", "{}").starts_with("200"));

  auto wrong = OpenEtcdStore({.endpoints = {e}, .username = "root", .password = "nope"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kUnauthenticated) << wrong.status().message();
  auto none = OpenEtcdStore({.endpoints = {e}});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnauthenticated) << none.status().message();

  auto s = OpenEtcdStore({.endpoints = {e}, .username = "root", .password = "rootpw"});
  ASSERT_TRUE(s.ok()) << s.status().message();
  int64_t base = *(*s)->Revision();
  ASSERT_TRUE((*s)->Put("k", "v").ok());
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (void)(*s)->Put("k2", "v");
  });
  // The watch authenticates too.
  EXPECT_EQ(*(*s)->WaitForRevision(base + 1, milliseconds(20000)), base + 2);
  writer.join();
}

// etcd serving clients over TLS and asking for their certificates: a
// store with the right CA and client certificate works, watch included;
// one without the certificate, or trusting another CA, is refused with
// the handshake's reason.
TEST(EtcdStoreTest, TlsWithClientCertificates) {
  ::aether::testing::TempCert server, client;
  ASSERT_TRUE(server.ok() && client.ok()) << "openssl req failed";
  // etcd 3.4's JSON gateway calls its own gRPC port showing the server's
  // certificate, so the client CAs must vouch for that one too (as one
  // CA issuing both would; docs/operations.md).
  ::aether::testing::TempDir dir;
  std::string client_cas = dir / "client-cas.pem";
  ::aether::testing::WriteFile(client_cas, ::aether::testing::ReadFile(server.cert()) +
                                               ::aether::testing::ReadFile(client.cert()));
  auto c = EtcdCluster::Start(
      1, std::chrono::seconds(30),
      ::aether::testing::EtcdTls{
          .cert_file = server.cert(), .key_file = server.key(), .client_ca_file = client_cas});
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::unique_ptr<EtcdCluster> etcd = std::move(c).value();
  ASSERT_TRUE(etcd->endpoint(0).starts_with("https://"));
  EtcdStoreOptions o{.endpoints = etcd->endpoints(),
                     .prefix = "/tls/",
                     .ca_file = server.cert(),
                     .cert_file = client.cert(),
                     .key_file = client.key()};
  auto a = OpenEtcdStore(o);
  auto b = OpenEtcdStore(o);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().message() << " " << b.status().message();
  int64_t base = *(*b)->Revision();
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(100));  // lets the waiter park first
    (void)(*a)->Put("k", "v");
  });
  // b's watch stream runs over TLS too: it wakes b's waiter.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(*(*b)->WaitForRevision(base, milliseconds(20000)), base + 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  writer.join();
  EXPECT_EQ((*(*b)->Get("k"))->value, "v");

  EtcdStoreOptions no_cert = o;
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  Status refused = OpenEtcdStore(no_cert).status();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  // TLS 1.3: the server's refusal arrives after the handshake, as an alert.
  EXPECT_NE(refused.message().find("bad certificate"), std::string::npos) << refused.message();

  EtcdStoreOptions other_ca = o;
  other_ca.ca_file = client.cert();
  Status untrusted = OpenEtcdStore(other_ca).status();
  EXPECT_EQ(untrusted.code(), Code::kUnavailable);
  EXPECT_NE(untrusted.message().find("certificate verify failed"), std::string::npos)
      << untrusted.message();
}

TEST(EtcdStoreTest, BadOptionsAndNoEtcd) {
  auto error = [](const EtcdStoreOptions& o) { return OpenEtcdStore(o).status(); };
  EXPECT_EQ(error({}).message(), "[store] endpoints: at least one etcd URL");
  EXPECT_EQ(error({.endpoints = {"https://127.0.0.1:1", "http://127.0.0.1:2"}}).message(),
            "[store] endpoints: all https:// or all http://, not both");
  EXPECT_EQ(error({.endpoints = {"http://127.0.0.1:1"}, .ca_file = "/x.pem"}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(error({.endpoints = {"https://127.0.0.1:1"}, .cert_file = "/c.pem"}).message(),
            "[store] cert_file and key_file go together");
  // An unreadable file is the configuration's fault, said before any etcd is asked.
  Status no_ca = error({.endpoints = {"https://127.0.0.1:1"}, .ca_file = "/nonexistent/ca.pem"});
  EXPECT_EQ(no_ca.code(), Code::kInvalidArgument);
  EXPECT_NE(no_ca.message().find("/nonexistent/ca.pem"), std::string::npos) << no_ca.message();
  for (const char* bad : {"127.0.0.1:2379", "http://127.0.0.1", "http://h:1/v3", "etcd://h:1"}) {
    Status s = error({.endpoints = {bad}});
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(bad), std::string::npos) << s.message();
  }
  EXPECT_EQ(error({.endpoints = {"http://127.0.0.1:1"}, .prefix = ""}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(error({.endpoints = {"http://127.0.0.1:1"}, .username = "u"}).code(),
            Code::kInvalidArgument);
  // Nothing listens on port 1: fails at once, naming the endpoint.
  Status down = error({.endpoints = {"http://127.0.0.1:1"}});
  EXPECT_EQ(down.code(), Code::kUnavailable);
  EXPECT_NE(down.message().find("127.0.0.1:1"), std::string::npos) << down.message();
}

}  // namespace
}  // namespace aether::control
