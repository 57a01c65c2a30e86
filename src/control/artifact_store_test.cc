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

// A module may embed secrets: only the control plane's user may read the
// artifacts, whatever the umask; files an older version left readable are
// tightened at Open.
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
