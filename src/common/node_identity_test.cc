#include "common/node_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/node_credential.h"

namespace aether {
namespace {

namespace fs = std::filesystem;

const std::string kSecret(64, 'a');

class NodeIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("aether-identity-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(NodeIdentityTest, SavedOwnerOnlyAndReadBackForTheSameNode) {
  auto id = NodeIdentity::Open(dir_, "n1").value();
  EXPECT_EQ(id->node_id(), "n1");
  EXPECT_TRUE(id->secret().empty());
  EXPECT_TRUE(id->dataplane_key().empty());
  ASSERT_TRUE(id->Set(kSecret).ok());
  EXPECT_EQ(id->secret(), kSecret);
  EXPECT_EQ(id->dataplane_key(), DataplaneKey(kSecret));
  struct stat st {};
  ASSERT_EQ(::stat(NodeCredentialPath(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_EQ(NodeIdentity::Open(dir_, "n1").value()->secret(), kSecret);
  // Bound to its node id: another id starts without it.
  EXPECT_TRUE(NodeIdentity::Open(dir_, "n2").value()->secret().empty());
  // Forget() is in memory only; the file is replaced by the next Set().
  id->Forget();
  EXPECT_TRUE(id->secret().empty());
  EXPECT_EQ(NodeIdentity::Open(dir_, "n1").value()->secret(), kSecret);
}

TEST_F(NodeIdentityTest, AMalformedFileIsIgnored) {
  for (std::string text :
       {"", "{", "[]", R"({"node_id":"n1","secret":"short"})", R"({"node_id":"n1"})"}) {
    std::ofstream(NodeCredentialPath(dir_)) << text;
    auto id = NodeIdentity::Open(dir_, "n1");
    ASSERT_TRUE(id.ok()) << text;
    EXPECT_TRUE((*id)->secret().empty()) << text;
  }
}

TEST_F(NodeIdentityTest, WaitForSecretWakesOnSet) {
  NodeIdentity id("n1");
  EXPECT_EQ(id.WaitForSecret(std::chrono::milliseconds(1)), "");
  std::thread t([&] { ASSERT_TRUE(id.Set(kSecret).ok()); });
  EXPECT_EQ(id.WaitForSecret(std::chrono::seconds(30)), kSecret);
  t.join();
}

}  // namespace
}  // namespace aether
