#include "common/private_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace aether {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(PrivateDirTest, CreatesTheDirectory0700AndTightensItsFiles) {
  std::string root = fs::temp_directory_path().string() + "/aether-private-XXXXXX";
  ASSERT_NE(::mkdtemp(root.data()), nullptr);
  // Whatever the umask: the modes are set, not left to it.
  mode_t old_umask = ::umask(0);
  std::string dir = root + "/a/b";
  ASSERT_TRUE(MakePrivateDir(dir).ok());
  EXPECT_EQ(ModeOf(dir), 0700u);

  // An existing open directory with readable files, as older versions left it.
  ::chmod(dir.c_str(), 0755);
  std::ofstream(dir + "/old.wasm") << "x";
  ::chmod((dir + "/old.wasm").c_str(), 0644);
  std::ofstream(dir + "/mine") << "x";
  ::chmod((dir + "/mine").c_str(), 0400);
  ASSERT_TRUE(MakePrivateDir(dir).ok());
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(dir + "/old.wasm"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/mine"), 0400u) << "private files are left as they are";
  ::umask(old_umask);

  std::ofstream(root + "/file") << "x";
  Status st = MakePrivateDir(root + "/file");
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find(root + "/file"), std::string::npos) << st.message();
  fs::remove_all(root);
}

}  // namespace
}  // namespace aether
