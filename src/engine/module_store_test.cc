#include "engine/module_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/sha256.h"

namespace aether::engine {
namespace {

namespace fs = std::filesystem;

class ModuleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "aether-store-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    auto s = ModuleStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

  std::string dir_;
  std::unique_ptr<ModuleStore> store_;
};

TEST_F(ModuleStoreTest, FetchesOnceVerifiesAndKeeps) {
  std::string sha = Sha256Hex("module");
  int fetches = 0;
  ModuleStore::Fetch fetch = [&](const std::string&) -> Result<std::vector<uint8_t>> {
    ++fetches;
    return Bytes("module");
  };
  EXPECT_EQ(store_->Read(sha).status().code(), Code::kNotFound);
  auto a = store_->GetOrFetch(sha, fetch);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, Bytes("module"));
  auto b = store_->GetOrFetch(sha, fetch);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(fetches, 1);
  EXPECT_TRUE(fs::exists(dir_ + "/modules/" + sha + ".wasm"));
  EXPECT_EQ(store_->module_count(), 1u);

  // Bytes that are not what was asked for are refused and not stored.
  std::string other = Sha256Hex("other");
  auto bad = store_->GetOrFetch(other, fetch);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sha256 mismatch"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/modules/" + other + ".wasm"));

  // Fetch errors pass through.
  auto away = store_->GetOrFetch(other, [](const std::string&) -> Result<std::vector<uint8_t>> {
    return Unavailable("cannot connect");
  });
  EXPECT_EQ(away.status().code(), Code::kUnavailable);
}

TEST_F(ModuleStoreTest, CorruptFileIsRemovedAndFetchedAgain) {
  std::string sha = Sha256Hex("module");
  std::ofstream(dir_ + "/modules/" + sha + ".wasm") << "garbage";
  EXPECT_EQ(store_->Read(sha).status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ + "/modules/" + sha + ".wasm"));
}

TEST_F(ModuleStoreTest, RetainAndManifest) {
  std::string a = Sha256Hex("a"), b = Sha256Hex("b");
  ASSERT_TRUE(store_->Write(a, Bytes("a")).ok());
  ASSERT_TRUE(store_->Write(b, Bytes("b")).ok());
  store_->Retain({b});
  EXPECT_FALSE(store_->Read(a).ok());
  EXPECT_TRUE(store_->Read(b).ok());

  EXPECT_EQ(store_->ReadManifest().status().code(), Code::kNotFound);
  ASSERT_TRUE(store_->WriteManifest(R"({"functions":[],"revision":1})").ok());
  ASSERT_TRUE(store_->WriteManifest(R"({"functions":[],"revision":2})").ok());
  auto m = store_->ReadManifest();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, R"({"functions":[],"revision":2})");
  // No temp files left behind.
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
}

// Modules may embed secrets: only the engine's user may read them, whatever
// the umask, and files an older version left readable are tightened.
TEST_F(ModuleStoreTest, FilesArePrivate) {
  auto mode = [](const std::string& path) { return fs::status(path).permissions(); };
  constexpr fs::perms kPrivateDir = fs::perms::owner_all;
  constexpr fs::perms kPrivateFile = fs::perms::owner_read | fs::perms::owner_write;
  mode_t old_umask = ::umask(0);
  std::string sha = Sha256Hex("secret module");
  ASSERT_TRUE(store_->Write(sha, Bytes("secret module")).ok());
  ASSERT_TRUE(store_->WriteManifest("{}").ok());
  EXPECT_EQ(mode(dir_ + "/modules"), kPrivateDir);
  EXPECT_EQ(mode(dir_ + "/modules/" + sha + ".wasm"), kPrivateFile);
  EXPECT_EQ(mode(dir_ + "/manifest.json"), kPrivateFile);

  ::chmod((dir_ + "/modules").c_str(), 0755);
  ::chmod((dir_ + "/modules/" + sha + ".wasm").c_str(), 0644);
  ASSERT_TRUE(ModuleStore::Open(dir_).ok());
  ::umask(old_umask);
  EXPECT_EQ(mode(dir_ + "/modules"), kPrivateDir);
  EXPECT_EQ(mode(dir_ + "/modules/" + sha + ".wasm"), kPrivateFile);
}

}  // namespace
}  // namespace aether::engine
