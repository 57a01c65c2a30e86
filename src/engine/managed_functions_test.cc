#include "engine/managed_functions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "common/sha256.h"
#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"
#include "engine/testing/fake_engine.h"

namespace aether::engine {
namespace {

using testing::FakeEngine;
using testing::FakeModule;

using aether::testing::Eventually;

std::string TextOf(Function& f) {
  auto m = f.WaitModule();
  if (!m.ok()) return "error: " + m.status().message();
  return static_cast<const FakeModule&>(**m).text();
}

// The "control plane": module texts by sha256, with a gate to hold fetches
// and a switch to make them fail as if it were away.
class Modules {
 public:
  std::string Add(const std::string& text) {
    std::lock_guard lock(mu_);
    std::string sha = Sha256Hex(text);
    texts_[sha] = text;
    return sha;
  }
  Result<std::vector<uint8_t>> Read(const std::string& sha) {
    std::unique_lock lock(mu_);
    reads++;
    cv_.wait(lock, [&] { return open_; });
    if (away) return Unavailable("cannot connect");
    auto it = texts_.find(sha);
    if (it == texts_.end()) return Internal("sha256 mismatch");
    return std::vector<uint8_t>(it->second.begin(), it->second.end());
  }
  void Hold() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  std::atomic<int> reads{0};
  std::atomic<bool> away{false};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  std::map<std::string, std::string> texts_;
};

class ManagedFunctionsTest : public ::testing::Test {
 protected:
  ManagedFunctionsTest() {
    ManagedFunctionsHooks h;
    h.read_module = [this](const std::string& sha) { return modules_.Read(sha); };
    h.ready = [this](const protocol::ManifestEntry& f, wasm::Tier, double) {
      std::lock_guard lock(mu_);
      ready_.push_back(f.name + "@" + std::to_string(f.version));
    };
    h.failed = [this](const protocol::ManifestEntry& f, std::string_view stage, const Status&) {
      std::lock_guard lock(mu_);
      failed_.push_back(f.name + ":" + std::string(stage));
    };
    fns_ = std::make_unique<ManagedFunctions>(engine_, std::move(h), std::chrono::milliseconds(50),
                                              clock_);
  }

  protocol::ManifestEntry Entry(const std::string& name, int64_t version, const std::string& text) {
    protocol::ManifestEntry f;
    f.name = name;
    f.version = version;
    f.sha256 = modules_.Add(text);
    return f;
  }
  std::vector<std::string> Ready() {
    std::lock_guard lock(mu_);
    return ready_;
  }
  std::vector<std::string> Failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }

  aether::testing::FakeClock clock_;  // for retry_after
  FakeEngine engine_;
  Modules modules_;
  std::mutex mu_;
  std::vector<std::string> ready_, failed_;
  std::unique_ptr<ManagedFunctions> fns_;
};

// What engine/manifest_test.cc checked of the parsed settings.
TEST(SettingsOfTest, EnvInOrderAndLimits) {
  protocol::ManifestEntry e;
  e.env = {{"GREETING", "hi"}, {"B", "x=y"}};
  e.memory_limit_bytes = 16777216;
  e.timeout_ms = 3000;
  FunctionSettings s = SettingsOf(e);
  EXPECT_EQ(s.memory_limit, 16777216u);
  EXPECT_EQ(s.timeout, std::chrono::seconds(3));
  EXPECT_EQ(s.env, (std::vector<std::string>{"GREETING=hi", "B=x=y"}));
  EXPECT_EQ(SettingsOf(protocol::ManifestEntry{}), FunctionSettings{});
}

TEST_F(ManagedFunctionsTest, FollowsDeployRedeployRollbackRemove) {
  protocol::ManifestEntry v1 = Entry("hello", 1, "one");
  v1.env = {{"A", "1"}};
  fns_->Apply({1, {v1}});
  ASSERT_TRUE(Eventually([&] { return fns_->Ready().count("hello") == 1; }));
  EXPECT_EQ(fns_->Ready().at("hello"), v1.sha256);
  EXPECT_EQ(Ready(), std::vector<std::string>{"hello@1"});
  std::shared_ptr<Function> f1 = fns_->Find("hello");
  ASSERT_NE(f1, nullptr);
  EXPECT_EQ(TextOf(*f1), "one");
  EXPECT_EQ(f1->settings().env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(fns_->Find("other"), nullptr);

  // A new version loads while the old one keeps serving.
  modules_.Hold();
  protocol::ManifestEntry v2 = Entry("hello", 2, "two");
  int reads_before = modules_.reads;
  fns_->Apply({2, {v2}});
  ASSERT_TRUE(Eventually([&] { return modules_.reads == reads_before + 1; })) << "v2 is loading";
  EXPECT_EQ(fns_->Find("hello"), f1);
  EXPECT_EQ(fns_->Ready().at("hello"), v1.sha256);
  modules_.Open();
  ASSERT_TRUE(Eventually([&] { return fns_->Ready().at("hello") == v2.sha256; }));
  EXPECT_EQ(TextOf(*fns_->Find("hello")), "two");
  EXPECT_EQ(TextOf(*f1), "one");  // a request holding the old version keeps it

  // Applying the same manifest again changes nothing.
  int reads = modules_.reads;
  fns_->Apply({2, {v2}});
  EXPECT_EQ(modules_.reads, reads);
  // Nor does a new timestamp (a rollback to the version served re-stamps it).
  v2.updated_at = "2024-05-02T12:00:00Z";
  fns_->Apply({2, {v2}});
  EXPECT_EQ(modules_.reads, reads);

  // Rollback is a manifest change like any other.
  fns_->Apply({3, {v1}});
  ASSERT_TRUE(Eventually([&] { return fns_->Ready().at("hello") == v1.sha256; }));
  EXPECT_EQ(TextOf(*fns_->Find("hello")), "one");
  EXPECT_EQ(Ready().size(), 3u);

  // Removed from the manifest: no longer served.
  fns_->Apply({4, {}});
  EXPECT_EQ(fns_->Find("hello"), nullptr);
  EXPECT_TRUE(fns_->Ready().empty());
  EXPECT_EQ(fns_->size(), 0u);
}

TEST_F(ManagedFunctionsTest, RequestsBeforeTheLoadShareOneFetch) {
  modules_.Hold();
  fns_->Apply({1, {Entry("f", 1, "text")}});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::atomic<int> asked{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      std::shared_ptr<Function> f = fns_->Find("f");
      ++asked;
      if (f && TextOf(*f) == "text") ok++;
    });
  }
  // Every request has its version while the one fetch is held.
  ASSERT_TRUE(Eventually([&] { return asked == 8 && modules_.reads == 1; }));
  modules_.Open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(modules_.reads, 1);
  EXPECT_EQ(engine_.loads, 1);
}

TEST_F(ManagedFunctionsTest, TransientFailuresAreRetriedFinalOnesReported) {
  modules_.away = true;
  protocol::ManifestEntry f = Entry("f", 1, "text");
  fns_->Apply({1, {f}});
  ASSERT_TRUE(Eventually([&] { return modules_.reads >= 1; }));
  std::shared_ptr<Function> first = fns_->Find("f");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->WaitModule().status().code(), Code::kUnavailable);
  EXPECT_TRUE(Failed().empty());  // the control plane being away is not an event
  // Requests right after get the error without another fetch each.
  int reads = modules_.reads;
  EXPECT_EQ(fns_->Find("f"), first);
  EXPECT_EQ(modules_.reads, reads);

  modules_.away = false;
  std::shared_ptr<Function> again = fns_->Find("f");
  ASSERT_TRUE(Eventually([&] {
    // retry_after passes (the failure is recorded just after WaitModule
    // returned, so its retry_at may still be ahead of one Advance).
    clock_.Advance(std::chrono::milliseconds(50));
    again = fns_->Find("f");
    return again && again->loaded() && again->WaitModule().ok();
  }));
  EXPECT_EQ(TextOf(*again), "text");

  // A module the engine rejects: reported once, served as an error.
  protocol::ManifestEntry bad = Entry("bad", 1, "bad module");
  fns_->Apply({2, {f, bad}});
  ASSERT_TRUE(Eventually([&] { return Failed().size() == 1; }));
  EXPECT_EQ(Failed()[0], "bad:compile");
  std::shared_ptr<Function> b = fns_->Find("bad");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->WaitModule().status().code(), Code::kInvalidArgument);
  EXPECT_EQ(fns_->Ready().count("bad"), 0u);
  fns_->Apply({2, {f, bad}});
  EXPECT_EQ(fns_->Find("bad"), b) << "no new load started";
  EXPECT_EQ(Failed().size(), 1u);  // not retried until the manifest changes
}

TEST_F(ManagedFunctionsTest, LayeredRegistryPrefersTheControlPlane) {
  class OneFunction final : public FunctionRegistry {
   public:
    explicit OneFunction(std::shared_ptr<Function> f) : f_(std::move(f)) {}
    std::shared_ptr<Function> Find(std::string_view name) override {
      return name == f_->name() ? f_ : nullptr;
    }
    size_t size() const override { return 1; }
    std::vector<FunctionInfo> List() const override {
      return {FunctionInfo{f_->name(), "", 0, "ready", "fast", ""}};
    }
    const std::string& dir() const override { return dir_; }

   private:
    std::shared_ptr<Function> f_;
    std::string dir_ = "/fns";
  };
  fns_->Apply({1, {Entry("both", 1, "managed")}});
  ASSERT_TRUE(Eventually([&] { return fns_->Ready().size() == 1; }));
  std::shared_ptr<Function> managed_both = fns_->Find("both");

  ManagedFunctions other_engine_fns(
      engine_, {[this](const std::string& sha) { return modules_.Read(sha); }, nullptr, nullptr});
  other_engine_fns.Apply({1, {Entry("both", 1, "dir"), Entry("dironly", 1, "d")}});
  std::shared_ptr<Function> dir_only = other_engine_fns.Find("dironly");
  OneFunction dir_both(other_engine_fns.Find("both"));
  OneFunction dir_single(dir_only);

  auto layered = NewLayeredRegistry(*fns_, dir_both);
  EXPECT_EQ(layered->Find("both"), managed_both);
  EXPECT_EQ(layered->size(), 1u);
  EXPECT_EQ(layered->dir(), "/fns");
  auto layered2 = NewLayeredRegistry(*fns_, dir_single);
  EXPECT_EQ(layered2->Find("dironly"), dir_only);
  EXPECT_EQ(layered2->size(), 2u);
  EXPECT_EQ(layered2->List()[1].name, "dironly");
}

}  // namespace
}  // namespace aether::engine
