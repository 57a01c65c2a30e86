#include "common/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace aether {
namespace {

const std::string kFileToken(64, 'a');

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("aether-secret-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), 0600);
    return path;
  }
  std::string dir_;
};

TEST_F(SecretFileTest, ReadsTheTokenWithoutItsNewline) {
  for (const std::string& text : {kFileToken, kFileToken + "\n", kFileToken + "\r\n"}) {
    Result<std::string> t = ReadSecretFile(Write("t", text), "k", 16);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(*t, kFileToken);
  }
}

TEST_F(SecretFileTest, BadFilesGetOneLineNamingTheKeyAndNeverTheToken) {
  struct Case {
    std::string path;
    std::string message;
  };
  std::filesystem::create_directories(dir_ + "/subdir");
  const Case cases[] = {
      {dir_ + "/missing", "cannot open it: No such file or directory"},
      {dir_ + "/subdir", "is not a regular file"},
      {Write("empty", ""), "is empty; it must hold the token"},
      {Write("newline", "\n"), "is empty; it must hold the token"},
      {Write("short", "short-secret\n"),
       "holds 12 characters; a token must be at least 16 (generate one with: openssl rand -hex "
       "32)"},
      {Write("two-lines", "secret-line-one-xx\nsecret-line-two-xx\n"),
       "holds a space, a control character or more than one line; it must hold the token alone"},
      {Write("space", " secret-with-space-x"),
       "holds a space, a control character or more than one line; it must hold the token alone"},
      {Write("huge", std::string(5000, 's')), "is larger than 4 KiB; it must hold one token"},
  };
  for (const Case& c : cases) {
    Result<std::string> t = ReadSecretFile(c.path, "[auth] join_token_file " + c.path, 16);
    ASSERT_FALSE(t.ok()) << c.path;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(t.status().message(), "[auth] join_token_file " + c.path + ": " + c.message);
    for (const char* content : {"short-secret", "line-one", "with-space"}) {
      EXPECT_EQ(t.status().message().find(content), std::string::npos) << "never the bytes";
    }
    EXPECT_EQ(t.status().message().find('\n'), std::string::npos);
  }
}

// A password ([[workflow.sql]] password_file): its first line, spaces and
// all; the same checks on the file itself.
TEST_F(SecretFileTest, APasswordIsTheFirstLine) {
  for (const std::string& text : {std::string("pass word\r\nsecond line\n"),
                                  std::string("pass word\n"), std::string("pass word")}) {
    Result<std::string> p = ReadSecretFile(Write("p", text), "k", 1, SecretText::kFirstLine);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(*p, "pass word");
  }
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "k: has an empty first line (the password)"},
      {"\nsecret\n", "k: has an empty first line (the password)"},
      {"sec\tret\n", "k: holds a control character in its first line"},
      {std::string(5000, 's'), "k: is larger than 4 KiB; it must hold one token"},
  };
  for (const Case& c : cases) {
    Result<std::string> p = ReadSecretFile(Write("p", c.text), "k", 1, SecretText::kFirstLine);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().message(), c.message);
  }
  EXPECT_FALSE(ReadSecretFile(dir_, "k", 1, SecretText::kFirstLine).ok()) << "a directory";
}

TEST_F(SecretFileTest, UnreadableFileIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  std::string path = Write("locked", kFileToken);
  ::chmod(path.c_str(), 0);
  Result<std::string> t = ReadSecretFile(path, "k", 16);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "k: cannot open it: Permission denied");
}

TEST_F(SecretFileTest, FileKeysFillTheTokensAndRecordWhere) {
  AuthConfig auth;
  auth.token_file = Write("admin", "admin-token-from-a-file\n");
  auth.join_token_file = Write("join", "join-token-from-a-file-x\n");
  ASSERT_TRUE(LoadAuthSecrets(auth, "c.toml", "").ok());
  EXPECT_EQ(auth.token, "admin-token-from-a-file");
  EXPECT_EQ(auth.join_token, "join-token-from-a-file-x");
  EXPECT_EQ(auth.token_file, dir_ + "/admin");
  EXPECT_TRUE(auth.domain_join_token.empty());
  EXPECT_TRUE(auth.domain_join_token_file.empty());

  AuthConfig missing;
  missing.join_token_file = dir_ + "/nope";
  Status st = LoadAuthSecrets(missing, "engine.toml", "");
  EXPECT_EQ(st.message(), "engine.toml: [auth] join_token_file " + dir_ +
                              "/nope: cannot open it: No such file or directory");
}

TEST_F(SecretFileTest, SystemdCredentialsFillWhatTheConfigLeavesUnset) {
  std::string creds = dir_ + "/credentials";
  std::filesystem::create_directories(creds);
  Write("credentials/join_token", kFileToken + "\n");
  Write("credentials/token", "credential-admin-token\n");

  AuthConfig auth;
  auth.token = "inline-admin-token-x";  // the config wins over a credential
  ASSERT_TRUE(LoadAuthSecrets(auth, "c.toml", creds).ok());
  EXPECT_EQ(auth.token, "inline-admin-token-x");
  EXPECT_TRUE(auth.token_file.empty());
  EXPECT_EQ(auth.join_token, kFileToken);
  EXPECT_EQ(auth.join_token_file, creds + "/join_token");
  EXPECT_TRUE(auth.domain_join_token.empty()) << "no such credential: not an error";

  Write("credentials/domain_join_token", "short\n");
  AuthConfig bad;
  Status st = LoadAuthSecrets(bad, "c.toml", creds);
  EXPECT_EQ(st.message(), "systemd credential domain_join_token (" + creds +
                              "/domain_join_token): holds 5 characters; a token must be at least "
                              "16 (generate one with: openssl rand -hex 32)");

  AuthConfig none;  // no $CREDENTIALS_DIRECTORY: nothing is read
  ASSERT_TRUE(LoadAuthSecrets(none, "", "").ok());
  EXPECT_TRUE(none.token.empty());
}

TEST_F(SecretFileTest, LoadConfigReadsTheFilesOfTheConfig) {
  std::string token = Write("join.token", kFileToken + "\n");
  std::string config = Write("engine.toml", "[auth]\njoin_token_file = \"" + token + "\"\n");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  Result<Config> c = LoadConfig(config);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.join_token, kFileToken);

  std::string both = Write("both.toml", "[auth]\njoin_token = \"" + kFileToken +
                                            "\"\njoin_token_file = \"" + token + "\"\n");
  Result<Config> b = LoadConfig(both);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), both + ": [auth] set join_token or join_token_file, not both");
}

TEST_F(SecretFileTest, ADomainsJoinTokenComesFromItsFileOrTheCredential) {
  std::string token = Write("domain_join.token", kFileToken + "\r\n");
  std::string config =
      Write("domain.toml", "[domain]\nrole = \"domain\"\njoin_token_file = \"" + token + "\"\n");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  Result<Config> c = LoadConfig(config);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->domain.join_token, kFileToken);

  std::string both = Write("both.toml", "[domain]\njoin_token = \"" + kFileToken +
                                            "\"\njoin_token_file = \"" + token + "\"\n");
  Result<Config> b = LoadConfig(both);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), both + ": [domain] set join_token or join_token_file, not both");

  std::string missing =
      Write("missing.toml", "[domain]\njoin_token_file = \"" + dir_ + "/nope\"\n");
  Result<Config> m = LoadConfig(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(
      m.status().message().rfind(missing + ": [domain] join_token_file " + dir_ + "/nope: ", 0), 0u)
      << m.status().message();

  // The credential is the controller's domain join token, by the same name.
  std::string creds = dir_ + "/credentials";
  std::filesystem::create_directories(creds);
  Write("credentials/domain_join_token", kFileToken + "\n");
  DomainConfig d;
  ASSERT_TRUE(LoadDomainSecret(d, "", creds).ok());
  EXPECT_EQ(d.join_token, kFileToken);
  EXPECT_EQ(d.join_token_file, creds + "/domain_join_token");
}

}  // namespace
}  // namespace aether
