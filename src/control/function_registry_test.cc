#include "control/function_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/sha256.h"

namespace aether::control {
namespace {

class FunctionRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("aether-fr-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    store_ = NewMemoryStore();
    artifacts_ = ArtifactStore::Open(dir_ + "/artifacts").value();
    events_ = EventLog::Open(*store_).value();
    registry_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<VersionInfo> Deploy(const std::string& name, const std::string& bytes, EnvMap env = {}) {
    return registry_->Deploy({name, bytes, std::move(env), {}}, "test");
  }
  size_t ArtifactCount() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ + "/artifacts"))
      n += e.is_regular_file();
    return n;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<FunctionRegistry> registry_;
};

TEST_F(FunctionRegistryTest, VersionsCountUpAndRollbackSwitchesCurrent) {
  auto v1 = Deploy("f", "one", {{"A", "1"}});
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->sha256, Sha256Hex(std::string_view("one")));
  EXPECT_TRUE(artifacts_->Contains(v1->sha256));
  auto v2 = Deploy("f", "two");
  EXPECT_EQ(v2->version, 2);

  auto f = registry_->Get("f");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->current.version, 2);
  ASSERT_EQ(f->versions.size(), 2u);
  EXPECT_EQ(f->versions[0].env.at("A"), "1");

  auto rb = registry_->Rollback("f", 1, "test");
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(registry_->Get("f")->current.sha256, v1->sha256);
  // The next deploy continues after the latest, not after the current.
  EXPECT_EQ(Deploy("f", "three")->version, 3);
  EXPECT_EQ(registry_->Rollback("f", 9, "test").status().code(), Code::kNotFound);
  EXPECT_EQ(registry_->Rollback("nope", 1, "test").status().code(), Code::kNotFound);
}

TEST_F(FunctionRegistryTest, ManifestRevisionMovesOnlyWithFunctionChanges) {
  EXPECT_EQ(*registry_->Revision(), 0);
  ASSERT_TRUE(Deploy("b", "x").ok());
  ASSERT_TRUE(Deploy("a", "y").ok());
  auto m = registry_->GetManifest();
  ASSERT_TRUE(m.ok());
  ASSERT_EQ((*m)->functions.size(), 2u);
  EXPECT_EQ((*m)->functions[0].name, "a");
  int64_t rev = (*m)->revision;
  EXPECT_GT(rev, 0);
  // An unrelated write (an event) does not change the manifest revision,
  // and the cached manifest is reused.
  ASSERT_TRUE(events_->Append("x", "test").ok());
  EXPECT_EQ(*registry_->Revision(), rev);
  EXPECT_EQ(registry_->GetManifest()->get(), m->get());
  ASSERT_TRUE(registry_->Delete("a", "test").ok());
  EXPECT_GT(*registry_->Revision(), rev);
  EXPECT_EQ((*registry_->GetManifest())->functions.size(), 1u);
}

TEST_F(FunctionRegistryTest, DeleteRemovesVersionsAndUnreferencedArtifacts) {
  ASSERT_TRUE(Deploy("a", "shared").ok());
  ASSERT_TRUE(Deploy("a", "only-a").ok());
  ASSERT_TRUE(Deploy("b", "shared").ok());
  EXPECT_EQ(ArtifactCount(), 2u);
  auto n = registry_->Delete("a", "test");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(registry_->Get("a").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->List("versions/a/")->empty());
  EXPECT_EQ(ArtifactCount(), 1u);  // "shared" is still used by b
  EXPECT_TRUE(artifacts_->Contains(Sha256Hex(std::string_view("shared"))));
  EXPECT_EQ(registry_->Delete("a", "test").status().code(), Code::kNotFound);
  // A new deploy under the name starts over.
  EXPECT_EQ(Deploy("a", "again")->version, 1);
}

// A function deployed from CI on every commit: only the newest versions
// (and their module bytes) are kept, rollback to a removed one says why,
// and a history longer than the limit (kept before, or a lowered limit)
// shrinks 64 versions per deploy.
TEST_F(FunctionRegistryTest, OnlyTheNewestKeepVersionsAreKept) {
  registry_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_, EnvLimits{},
                                                 /*keep_versions=*/3);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Deploy("f", "m" + std::to_string(i)).ok());
  auto f = registry_->Get("f");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->versions.size(), 3u);
  EXPECT_EQ(f->versions[0].version, 3);
  EXPECT_EQ(f->current.version, 5);
  EXPECT_EQ(*registry_->CollectGarbage(), 2u);  // m1, m2: no version refers to them
  EXPECT_EQ(ArtifactCount(), 3u);

  Status gone = registry_->Rollback("f", 2, "test").status();
  EXPECT_EQ(gone.code(), Code::kNotFound);
  EXPECT_EQ(gone.message(),
            "function f has no version 2 any more: versions before 3 were removed "
            "([database] keep_versions)");
  EXPECT_EQ(registry_->Rollback("f", 9, "test").status().message(), "function f has no version 9");
  // Rolled back to the oldest kept, the next deploy still removes it: the
  // new version is current.
  ASSERT_TRUE(registry_->Rollback("f", 3, "test").ok());
  ASSERT_TRUE(Deploy("f", "m6").ok());
  f = registry_->Get("f");
  ASSERT_EQ(f->versions.size(), 3u);
  EXPECT_EQ(f->versions[0].version, 4);

  // 100 versions kept by a registry without a limit, then a limit of 3.
  registry_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_);
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(Deploy("g", "g" + std::to_string(i)).ok());
  EXPECT_EQ(registry_->Get("g")->versions.size(), 100u);
  registry_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_, EnvLimits{}, 3);
  ASSERT_TRUE(Deploy("g", "g101").ok());
  EXPECT_EQ(registry_->Get("g")->versions.size(), 101u - 64);
  ASSERT_TRUE(Deploy("g", "g102").ok());
  f = registry_->Get("g");
  ASSERT_EQ(f->versions.size(), 3u);
  EXPECT_EQ(f->versions[0].version, 100);
  // Deleted and deployed again: numbering and keeping start over.
  ASSERT_TRUE(registry_->Delete("g", "test").ok());
  ASSERT_TRUE(Deploy("g", "again").ok());
  EXPECT_EQ(registry_->Get("g")->versions.size(), 1u);
}

TEST_F(FunctionRegistryTest, InvalidInputStoresNothing) {
  int64_t rev = *store_->Revision();
  EXPECT_EQ(Deploy("../x", "m").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Deploy("ok", "m", {{"1BAD", "v"}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(*store_->Revision(), rev);
  EXPECT_EQ(ArtifactCount(), 0u);
}

TEST_F(FunctionRegistryTest, GarbageCollectionRemovesOrphansButNotPinned) {
  std::string orphan = Sha256Hex(std::string_view("orphan"));
  ASSERT_TRUE(artifacts_->Write(orphan, "orphan").ok());  // pinned: a deploy in flight
  EXPECT_EQ(*registry_->CollectGarbage(), 0u);
  artifacts_->Unpin(orphan);  // the deploy died before its rows
  EXPECT_EQ(*registry_->CollectGarbage(), 1u);
  EXPECT_FALSE(artifacts_->Contains(orphan));
}

TEST_F(FunctionRegistryTest, ConcurrentDeploysGetDistinctVersions) {
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_TRUE(Deploy("c", "m" + std::to_string(t * 100 + i)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto f = registry_->Get("c");
  ASSERT_EQ(f->versions.size(), static_cast<size_t>(kThreads * kEach));
  for (int i = 0; i < kThreads * kEach; ++i) EXPECT_EQ(f->versions[i].version, i + 1);
}

TEST_F(FunctionRegistryTest, EventsRecorded) {
  ASSERT_TRUE(Deploy("e", "1").ok());
  ASSERT_TRUE(Deploy("e", "2").ok());
  ASSERT_TRUE(registry_->Rollback("e", 1, "api").ok());
  ASSERT_TRUE(registry_->Delete("e", "api").ok());
  auto page = events_->List(0, "", 100);
  ASSERT_EQ(page->events.size(), 4u);
  EXPECT_EQ(page->events[0].type, "function_deployed");
  EXPECT_EQ(page->events[2].type, "function_rolled_back");
  EXPECT_EQ(page->events[3].type, "function_deleted");
  auto deployed = events_->List(0, "function_deployed", 100);
  EXPECT_EQ(deployed->events.size(), 2u);
  EXPECT_EQ(deployed->next, 4);  // the cursor passes skipped events
}

}  // namespace
}  // namespace aether::control
