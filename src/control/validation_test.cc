#include "control/validation.h"

#include <gtest/gtest.h>

#include <vector>

namespace aether::control {
namespace {

// Names, node ids, urls and digests: protocol/names_test.cc, protocol/ids_test.cc.

const EnvLimits kDefaults;  // [runtime] max_env_vars / max_env_size

TEST(EnvTest, NamesValuesAndBounds) {
  EXPECT_TRUE(ValidateEnv({{"A", "1"}, {"_x9", ""}}, kDefaults).ok());
  EXPECT_FALSE(ValidateEnv({{"9A", "1"}}, kDefaults).ok());
  EXPECT_FALSE(ValidateEnv({{"A-B", "1"}}, kDefaults).ok());
  EXPECT_FALSE(ValidateEnv({{"", "1"}}, kDefaults).ok());
  EXPECT_FALSE(ValidateEnv({{"A", std::string("a\0b", 3)}}, kDefaults).ok());
  EXPECT_FALSE(ValidateEnv({{"A", std::string(kDefaults.max_bytes, 'x')}}, kDefaults).ok());
  EnvMap many;
  for (size_t i = 0; i <= kDefaults.max_vars; ++i) many["V" + std::to_string(i)] = "";
  EXPECT_FALSE(ValidateEnv(many, kDefaults).ok());
}

TEST(EnvTest, TheConfiguredBoundsAreTheOnesEnforced) {
  RuntimeConfig rt;
  rt.max_env_vars = 2;
  rt.max_env_size = 10;
  const EnvLimits limits = EnvLimitsOf(rt);
  EXPECT_TRUE(ValidateEnv({{"A", "1"}, {"B", "2"}}, limits).ok());
  Status vars = ValidateEnv({{"A", "1"}, {"B", "2"}, {"C", "3"}}, limits);
  EXPECT_EQ(vars.message(), "env: at most 2 variables ([runtime] max_env_vars)");
  EXPECT_TRUE(ValidateEnv({{"A", std::string(9, 'x')}}, limits).ok()) << "exactly 10 bytes";
  Status bytes = ValidateEnv({{"A", std::string(10, 'x')}}, limits);
  EXPECT_EQ(bytes.message(), "env: larger than 10 bytes in all ([runtime] max_env_size)");
  EXPECT_FALSE(EnvFromJson(R"({"A":"1","B":"2","C":"3"})", "env", limits).ok());
  // Raised above the default: what the default refuses is accepted.
  rt.max_env_size = 1 << 20;
  EnvMap big{{"A", std::string(kDefaults.max_bytes, 'x')}};
  EXPECT_FALSE(ValidateEnv(big, kDefaults).ok());
  EXPECT_TRUE(ValidateEnv(big, EnvLimitsOf(rt)).ok());
}

TEST(EnvTest, FromJsonAndAssignments) {
  auto env = EnvFromJson(R"({"A":"1","B":"2"})", "env", kDefaults);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->at("B"), "2");
  EXPECT_FALSE(EnvFromJson(R"({"A":1})", "env", kDefaults).ok());
  EXPECT_FALSE(EnvFromJson(R"(["A"])", "env", kDefaults).ok());
  EnvMap m;
  EXPECT_TRUE(AddEnvAssignment("K=a=b", m).ok());
  EXPECT_EQ(m["K"], "a=b");
  EXPECT_FALSE(AddEnvAssignment("novalue", m).ok());
  EXPECT_FALSE(AddEnvAssignment("=x", m).ok());
}

TEST(LimitsTest, ParseAndNameTheField) {
  EXPECT_EQ(*ParseMemoryLimit("16MB", "memory_limit"), 16ull << 20);
  auto bad = ParseMemoryLimit("lots", "memory_limit");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("memory_limit"), std::string::npos);
  EXPECT_FALSE(ParseMemoryLimit("0", "memory_limit").ok());
  EXPECT_FALSE(ParseMemoryLimit("5GB", "memory_limit").ok());
  EXPECT_EQ(ParseTimeout("250ms", "timeout")->count(), 250);
  EXPECT_FALSE(ParseTimeout("2h", "timeout").ok());
  EXPECT_FALSE(ParseTimeout("0s", "timeout").ok());
  EXPECT_NE(ParseTimeout("soon", "timeout").status().message().find("timeout"), std::string::npos);
}

TEST(Base64Test, DecodesStandardBase64) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8=", 100), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h\r\n", 100),
            "hell"
            "o!");
  EXPECT_EQ(*DecodeBase64("AGFzbQ==", 100), std::string("\0asm", 4));
}

TEST(Base64Test, RejectsInvalid) {
  for (const char* bad :
       {"!!!!", "aGVsbG8", "aGVsbG8==", "a===", "aGVs=bG8", "aGVsbG8=x", "", "a"}) {
    auto r = DecodeBase64(bad, 100);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(Base64Test, StopsAtTheCap) {
  EXPECT_EQ(DecodeBase64("aGVsbG8=", 4).status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(DecodeBase64("aGVsbG8=", 5).ok());
}

}  // namespace
}  // namespace aether::control
