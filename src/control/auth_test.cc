#include "control/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace aether::control {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("aether-auth-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AuthTest, GeneratesOnceWithMode0600AndReuses) {
  auto first = LoadOrCreateTokens({}, dir_ + "/data");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->admin.size(), 64u);
  EXPECT_EQ(first->join.size(), 64u);
  EXPECT_NE(first->admin, first->join);
  struct stat st {};
  ASSERT_EQ(::stat(first->admin_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(first->join_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = LoadOrCreateTokens({}, dir_ + "/data");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->admin, first->admin);
  EXPECT_EQ(second->join, first->join);
}

TEST_F(AuthTest, ConfiguredTokensWinAndWriteNoFiles) {
  AuthConfig auth;
  auth.token = "admin-secret";
  auth.join_token = "join-secret";
  auto t = LoadOrCreateTokens(auth, dir_ + "/data");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->admin, "admin-secret");
  EXPECT_EQ(t->join, "join-secret");
  EXPECT_TRUE(t->admin_file.empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/admin.token"));
}

// [auth] token_file (or a systemd credential): LoadConfig read the token,
// the banner names the file, nothing is generated into the data dir.
TEST_F(AuthTest, TokensFromFilesAreReportedWithTheirFile) {
  AuthConfig auth;
  auth.token = "admin-secret-from-file";
  auth.token_file = "/etc/aether/admin.token";
  auto t = LoadOrCreateTokens(auth, dir_ + "/data");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->admin, "admin-secret-from-file");
  EXPECT_EQ(t->admin_file, "/etc/aether/admin.token");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/admin.token"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/data/join.token")) << "join: generated";
}

TEST_F(AuthTest, ReadsAnEditedFileTrimmed) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/admin.token") << "  my-own-admin-token \n";
  auto t = LoadOrCreateTokens({}, dir_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->admin, "my-own-admin-token");
}

// A short token written into the file by hand is refused like a short
// configured one, naming the file.
TEST_F(AuthTest, RefusesAShortTokenFile) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/join.token") << "my-token\n";
  auto t = LoadOrCreateTokens({}, dir_);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(t.status().message(), "the join token file " + dir_ +
                                      "/join.token holds 8 characters; a token must be at least 16 "
                                      "(delete the file to have one generated)");
}

TEST(TokenTest, EqualsIsExact) {
  EXPECT_TRUE(TokenEquals("abc", "abc"));
  EXPECT_FALSE(TokenEquals("abd", "abc"));
  EXPECT_FALSE(TokenEquals("ab", "abc"));
  EXPECT_FALSE(TokenEquals("abcd", "abc"));
  EXPECT_FALSE(TokenEquals("", ""));  // an empty token never authenticates
  EXPECT_FALSE(TokenEquals("", "abc"));
  // Past the expected token's end its last byte stands in: the lengths
  // still tell these apart.
  EXPECT_FALSE(TokenEquals("abcc", "abc"));
  EXPECT_FALSE(TokenEquals("abccccccccccccccccccc", "abc"));
  EXPECT_FALSE(TokenEquals("c", "abc"));
  EXPECT_FALSE(TokenEquals(std::string_view("abc\0", 4), "abc"));
  EXPECT_FALSE(TokenEquals(std::string(3 + 256, 'x'), std::string(3, 'x')));  // lengths mod 256
}

// Word by word with zero fill: around every word boundary, a token equals
// only itself (not its prefixes, extensions with zeros or its own last
// byte, nor itself with any one byte changed).
TEST(TokenTest, EqualsIsExactAtEveryLength) {
  for (size_t n = 1; n <= 40; ++n) {
    std::string expected;
    for (size_t i = 0; i < n; ++i) expected += static_cast<char>('a' + (i * 7) % 26);
    SCOPED_TRACE(expected);
    EXPECT_TRUE(TokenEquals(expected, expected));
    EXPECT_TRUE(TokenEquals(std::string(expected), expected));
    for (size_t m = 0; m < n; ++m) EXPECT_FALSE(TokenEquals(expected.substr(0, m), expected));
    for (size_t extra = 1; extra <= 9; ++extra) {
      EXPECT_FALSE(TokenEquals(expected + std::string(extra, '\0'), expected));
      EXPECT_FALSE(TokenEquals(expected + std::string(extra, expected.back()), expected));
    }
    for (size_t i = 0; i < n; ++i) {
      std::string changed = expected;
      changed[i] = static_cast<char>(changed[i] ^ 0x20);
      EXPECT_FALSE(TokenEquals(changed, expected));
      EXPECT_FALSE(TokenEquals(expected, changed));
    }
  }
}

// Many expected tokens, checked in turn and changed, compare exactly.
TEST(TokenTest, EqualsStaysExactAcrossManyExpectedTokens) {
  std::vector<std::string> tokens;
  tokens.reserve(9);
  for (int i = 0; i < 9; ++i) tokens.push_back("token-" + std::to_string(i) + "-0123456789abcdef");
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      EXPECT_TRUE(TokenEquals(tokens[i], tokens[i]));
      EXPECT_FALSE(TokenEquals(tokens[(i + 1) % tokens.size()], tokens[i]));
    }
  }
  std::string changed = tokens[0];
  changed.back() = 'X';
  EXPECT_FALSE(TokenEquals(tokens[0], changed));
  EXPECT_TRUE(TokenEquals(changed, changed));
}

TEST(TokenTest, CheckBearer) {
  std::string admin = "adm", join = "jn";
  HttpRequest req;
  EXPECT_EQ(CheckBearer(req, {&admin}).code(), Code::kUnauthenticated);
  req.headers = {{"Authorization", "Basic abc"}};
  EXPECT_EQ(CheckBearer(req, {&admin}).code(), Code::kUnauthenticated);
  req.headers = {{"authorization", "Bearer nope"}};
  EXPECT_EQ(CheckBearer(req, {&admin}).code(), Code::kPermissionDenied);
  req.headers = {{"Authorization", "bearer adm"}};
  EXPECT_TRUE(CheckBearer(req, {&admin}).ok());
  req.headers = {{"Authorization", "Bearer jn"}};
  EXPECT_EQ(CheckBearer(req, {&admin}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(CheckBearer(req, {&join, &admin}).ok());
  // The scheme in any case, and nothing that only looks like it.
  for (std::string scheme : {"BEARER", "bEaReR"}) {
    req.headers = {{"Authorization", scheme + " adm"}};
    EXPECT_TRUE(CheckBearer(req, {&admin}).ok()) << scheme;
  }
  for (const std::string& h : std::vector<std::string>{
           "Bearer\tadm", "Bearex adm", "Bearer", "Bearer ", "Bear adm", "bearer_adm",
           std::string("\x02") + "earer adm", std::string("Bearer\0adm", 10)}) {
    req.headers = {{"Authorization", h}};
    EXPECT_EQ(CheckBearer(req, {&admin}).code(), Code::kUnauthenticated) << h;
  }
}

}  // namespace
}  // namespace aether::control
