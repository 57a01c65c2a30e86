#include "control/domains/domain_registry.h"

#include <gtest/gtest.h>

#include "common/testing/fake_clock.h"

namespace aether::control {
namespace {

using std::chrono::seconds;

class DomainRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewMemoryStore();
    events_ = EventLog::Open(*store_).value();
    registry_ = Open();
  }
  std::unique_ptr<DomainRegistry> Open(FencedStore* leader = nullptr) {
    DomainRegistryOptions o;
    o.timeout = seconds(9);
    o.clock = &clock_;
    o.leader = leader;
    return DomainRegistry::Open(*store_, *events_, o).value();
  }
  std::vector<std::string> EventTypes() {
    std::vector<std::string> out;
    auto page = events_->List(0, "", 1000);
    for (auto& e : page->events) out.push_back(e.type);
    return out;
  }
  static protocol::DomainCapabilities Caps(int64_t nodes_up) {
    protocol::DomainCapabilities c;
    c.nodes_up = c.nodes_total = nodes_up;
    c.runtimes = {"wasm"};
    return c;
  }

  aether::testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<DomainRegistry> registry_;
};

TEST_F(DomainRegistryTest, AdmitIssuesACredentialOnce) {
  Result<std::string> secret = registry_->Admit({"site-a", "http://a:9090", {{"region", "eu"}}});
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(secret->size(), 64u);
  EXPECT_TRUE(registry_->Authenticate("site-a", *secret).ok());
  EXPECT_EQ(registry_->Authenticate("site-a", "wrong").code(), Code::kPermissionDenied);
  EXPECT_EQ(registry_->Authenticate("site-b", *secret).code(), Code::kNotFound);
  // The join token does not take over a registered id.
  EXPECT_EQ(registry_->Admit({"site-a", "http://evil:1", {}}).status().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(registry_->Get("site-a")->reg.url, "http://a:9090");
  // Its own credential registers it again, with a new url.
  ASSERT_TRUE(registry_->Register({"site-a", "http://a2:9090", {}}).ok());
  EXPECT_EQ(registry_->Get("site-a")->reg.url, "http://a2:9090");
  EXPECT_EQ(registry_->Register({"nope", "http://x", {}}).code(), Code::kNotFound);
  EXPECT_EQ(EventTypes(), std::vector<std::string>{"domain_joined"});
  // Only the digest is stored.
  auto row = store_->Get("domains/site-a");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->value.find(*secret), std::string::npos);
}

TEST_F(DomainRegistryTest, DownAfterTimeoutUpOnBeat) {
  ASSERT_TRUE(registry_->Admit({"a", "http://a", {}}).ok());
  ASSERT_TRUE(registry_->Beat({"a", Caps(2)}).ok());
  EXPECT_EQ(registry_->Get("a")->capabilities.nodes_up, 2);
  clock_.Advance(seconds(8));
  registry_->Sweep();
  EXPECT_TRUE(registry_->Get("a")->up);
  clock_.Advance(seconds(1));
  registry_->Sweep();
  EXPECT_FALSE(registry_->Get("a")->up);
  EXPECT_EQ(registry_->Count().down, 1);
  ASSERT_TRUE(registry_->Beat({"a", Caps(1)}).ok());
  EXPECT_TRUE(registry_->Get("a")->up);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{"domain_joined", "domain_down", "domain_up"}));
  // A restarted controller reads the domain back, with its capabilities,
  // and gives it a timeout of grace.
  auto reopened = Open();
  ASSERT_TRUE(reopened->Get("a").has_value());
  EXPECT_TRUE(reopened->Get("a")->up);
  EXPECT_EQ(reopened->Get("a")->capabilities.nodes_up, 1);
  EXPECT_EQ(reopened->Beat({"zzz", Caps(1)}).code(), Code::kNotFound);
}

TEST_F(DomainRegistryTest, RemovedDomainIsRefusedNotUnknown) {
  Result<std::string> secret = registry_->Admit({"a", "http://a", {}});
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(registry_->Remove("a", "api").ok());
  Status st = registry_->Authenticate("a", *secret);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("removed by an operator"), std::string::npos) << st.message();
  EXPECT_EQ(registry_->Beat({"a", Caps(1)}).code(), Code::kPermissionDenied);
  EXPECT_EQ(registry_->Remove("a", "api").code(), Code::kNotFound);
  // Another replica (a restart) agrees.
  EXPECT_EQ(Open()->Authenticate("a", *secret).code(), Code::kPermissionDenied);
  // The join token admits the id again, as a new domain.
  EXPECT_TRUE(registry_->Admit({"a", "http://a", {}}).ok());
}

TEST_F(DomainRegistryTest, Scheduling) {
  ASSERT_TRUE(registry_->Admit({"a", "http://a", {}}).ok());
  ASSERT_TRUE(registry_->SetScheduling("a", "draining", "api").ok());
  EXPECT_EQ(registry_->Get("a")->scheduling, "draining");
  EXPECT_EQ(Open()->Get("a")->scheduling, "draining");  // stored
  EXPECT_EQ(registry_->SetScheduling("a", "sideways", "api").code(), Code::kInvalidArgument);
  EXPECT_EQ(registry_->SetScheduling("b", "active", "api").code(), Code::kNotFound);
  ASSERT_TRUE(registry_->SetScheduling("a", "active", "api").ok());
  EXPECT_EQ(EventTypes(),
            (std::vector<std::string>{"domain_joined", "domain_draining", "domain_uncordoned"}));
}

TEST_F(DomainRegistryTest, BeatsHeardByAnotherReplicaKeepTheDomainUp) {
  Result<std::string> secret = registry_->Admit({"a", "http://a", {}});
  ASSERT_TRUE(secret.ok());
  auto follower = Open();
  // The follower learns of the domain from the store when it is named.
  EXPECT_TRUE(follower->Authenticate("a", *secret).ok());
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(seconds(3));
    ASSERT_TRUE(follower->Beat({"a", Caps(1)}).ok());
    registry_->Sweep();
    EXPECT_TRUE(registry_->Get("a")->up) << "after " << (i + 1) * 3 << " s";
  }
  EXPECT_EQ(registry_->Get("a")->capabilities.nodes_up, 1);  // the follower's row
  clock_.Advance(seconds(10));
  registry_->Sweep();
  EXPECT_FALSE(registry_->Get("a")->up);
}

}  // namespace
}  // namespace aether::control
