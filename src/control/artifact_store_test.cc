#include "control/artifact_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/sha256.h"

namespace aether::control {
namespace {

namespace fs = std::filesystem;

constexpr fs::perms kPrivateDir = fs::perms::owner_all;
constexpr fs::perms kPrivateFile = fs::perms::owner_read | fs::perms::owner_write;

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "aether-artifacts-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(ArtifactStoreTest, WritesReadsAndCollects) {
  auto store = ArtifactStore::Open(root_ + "/artifacts");
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::string sha = Sha256Hex("module bytes");
  ASSERT_TRUE((*store)->Write(sha, "module bytes").ok());
  EXPECT_EQ(*(*store)->Read(sha), "module bytes");
  (*store)->Unpin(sha);
  auto removed = (*store)->CollectGarbage(
      []() -> Result<std::set<std::string>> { return std::set<std::string>(); });
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE((*store)->Contains(sha));
}

// A deploy whose module is refused after its bytes were written (they are
// written while the module is validated) takes them back, unless they were
// there before or another deploy wrote them since: rows may refer to those.
TEST_F(ArtifactStoreTest, DiscardRemovesOnlyWhatNothingElseNeeds) {
  auto store = ArtifactStore::Open(root_ + "/artifacts");
  ASSERT_TRUE(store.ok()) << store.status().message();
  ArtifactStore& a = **store;
  std::string refused = Sha256Hex("refused"), kept = Sha256Hex("kept"),
              shared = Sha256Hex("shared");

  ASSERT_TRUE(a.Write(refused, "refused").ok());
  a.Discard(refused);
  EXPECT_FALSE(a.Contains(refused));
  EXPECT_EQ(a.Count(), 0u);

  // There before (a committed deploy's): a refused deploy of the same
  // bytes leaves them.
  ASSERT_TRUE(a.Write(kept, "kept").ok());
  a.Unpin(kept);
  ASSERT_TRUE(a.Write(kept, "kept").ok());
  a.Discard(kept);
  EXPECT_TRUE(a.Contains(kept));

  // Written by one deploy, then by another that commits: the first one's
  // discard, before or after that commit, leaves them.
  ASSERT_TRUE(a.Write(shared, "shared").ok());
  ASSERT_TRUE(a.Write(shared, "shared").ok());
  a.Unpin(shared);
  a.Discard(shared);
  EXPECT_TRUE(a.Contains(shared));
  EXPECT_EQ(a.Count(), 2u);
  EXPECT_EQ(*a.Read(shared), "shared");
}

// A module may embed secrets: only the control plane's user may read the
// artifacts, whatever the umask; files an older version left readable are
// tightened at Open.
// Replicas keep what another replica copied to them for a deploy it has not
// committed yet: a collection with a grace leaves young artifacts, and
// sending one again makes it young again.
TEST_F(ArtifactStoreTest, ACollectionWithAGraceKeepsYoungArtifacts) {
  auto store = ArtifactStore::Open(root_ + "/artifacts");
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto none = []() -> Result<std::set<std::string>> { return std::set<std::string>(); };
  std::string old_sha = Sha256Hex("old"), young_sha = Sha256Hex("young");
  for (const auto& [sha, bytes] : {std::pair{old_sha, "old"}, {young_sha, "young"}}) {
    ASSERT_TRUE((*store)->Write(sha, bytes).ok());
    (*store)->Unpin(sha);
  }
  EXPECT_EQ((*store)->Count(), 2u);
  EXPECT_EQ((*ArtifactStore::Open((*store)->dir()))->Count(), 2u);  // counted at Open
  auto an_hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time((*store)->dir() + "/" + old_sha + ".wasm", an_hour_ago);
  fs::last_write_time((*store)->dir() + "/" + young_sha + ".wasm", an_hour_ago);
  // Sent again (a deploy of the same bytes): young again.
  ASSERT_TRUE((*store)->Write(young_sha, "young").ok());
  (*store)->Unpin(young_sha);

  auto removed = (*store)->CollectGarbage(none, std::chrono::minutes(10));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE((*store)->Contains(old_sha));
  EXPECT_TRUE((*store)->Contains(young_sha));
  EXPECT_EQ((*store)->Count(), 1u);
  // Without a grace (one process, SQLite): at once.
  EXPECT_EQ(*(*store)->CollectGarbage(none), 1u);
  EXPECT_EQ((*store)->Count(), 0u);
}

TEST_F(ArtifactStoreTest, ArtifactsArePrivate) {
  mode_t old_umask = ::umask(0);
  std::string dir = root_ + "/artifacts";
  auto store = ArtifactStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::string sha = Sha256Hex("secret");
  ASSERT_TRUE((*store)->Write(sha, "secret").ok());
  EXPECT_EQ(fs::status(dir).permissions(), kPrivateDir);
  EXPECT_EQ(fs::status(dir + "/" + sha + ".wasm").permissions(), kPrivateFile);

  ::chmod(dir.c_str(), 0755);
  ::chmod((dir + "/" + sha + ".wasm").c_str(), 0644);
  ASSERT_TRUE(ArtifactStore::Open(dir).ok());
  ::umask(old_umask);
  EXPECT_EQ(fs::status(dir).permissions(), kPrivateDir);
  EXPECT_EQ(fs::status(dir + "/" + sha + ".wasm").permissions(), kPrivateFile);
}

}  // namespace
}  // namespace aether::control
