#include "protocol/names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aether::protocol {
namespace {

// From the engine's functions directory (engine/function_registry_test.cc).
TEST(NameTest, Pattern) {
  EXPECT_TRUE(IsName("hello"));
  EXPECT_TRUE(IsName("a"));
  EXPECT_TRUE(IsName("0fn_x-y"));
  EXPECT_TRUE(IsName(std::string(63, 'a')));
  EXPECT_FALSE(IsName(std::string(64, 'a')));
  EXPECT_FALSE(IsName(""));
  EXPECT_FALSE(IsName("_x"));
  EXPECT_FALSE(IsName("-x"));
  EXPECT_FALSE(IsName("Hello"));
  EXPECT_FALSE(IsName("a.b"));
  EXPECT_FALSE(IsName("../x"));
  // Names are not reserved; only function names are (the API path).
  EXPECT_TRUE(IsName("manifest"));
}

// From control/validation_test.cc.
TEST(NameTest, FitNameCutsLongNamesKeepingThemApart) {
  EXPECT_EQ(FitName("short"), "short");
  EXPECT_EQ(FitName(std::string(63, 'a')), std::string(63, 'a'));
  std::string a = std::string(60, 'a') + "-one", b = std::string(60, 'a') + "-two";
  EXPECT_EQ(FitName(a).size(), 63u);
  EXPECT_EQ(FitName(a).substr(0, 55), std::string(54, 'a') + "-");
  EXPECT_NE(FitName(a), FitName(b));
  EXPECT_EQ(FitName(a), FitName(a));
  EXPECT_TRUE(IsName(FitName(a)));
  EXPECT_EQ(FitName(a, 59).size(), 59u);
}

TEST(FunctionNameTest, AcceptsTheDocumentedPattern) {
  for (std::string ok :
       std::vector<std::string>{"a", "0", "hello", "img-resize_2", std::string(63, 'a')}) {
    EXPECT_TRUE(ValidateFunctionName(ok).ok()) << ok;
  }
}

TEST(FunctionNameTest, RejectsEverythingElse) {
  for (std::string bad :
       std::vector<std::string>{"", "../x", "A", "Hello", "-a", "_a", "a/b", "a.b", "a b",
                                "manifest", std::string(64, 'a'), std::string("a\0b", 3), "é"}) {
    Status st = ValidateFunctionName(bad);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
  }
}

TEST(FunctionNameTest, MessagesSayWhatIsWrong) {
  EXPECT_EQ(ValidateFunctionName("").message(), "invalid function name: it is empty");
  EXPECT_EQ(ValidateFunctionName("Fn").message(),
            "invalid function name \"Fn\": must start with a lower-case letter or a digit");
  EXPECT_EQ(ValidateFunctionName("a/b").message(),
            "invalid function name \"a/b\": only lower-case letters, digits, '_' and '-' are "
            "allowed");
  EXPECT_EQ(ValidateFunctionName("manifest").message(),
            "invalid function name \"manifest\": the name is reserved");
  EXPECT_EQ(ValidateFunctionName(std::string(64, 'a')).message(),
            "invalid function name \"" + std::string(32, 'a') + "...\": at most 63 characters");
}

TEST(EventTypeTest, Pattern) {
  EXPECT_TRUE(ValidateEventType("function_ready").ok());
  EXPECT_TRUE(ValidateEventType("my.app-event_2").ok());
  EXPECT_FALSE(ValidateEventType("").ok());
  EXPECT_FALSE(ValidateEventType("Upper").ok());
  EXPECT_FALSE(ValidateEventType(".dot").ok());
  EXPECT_FALSE(ValidateEventType(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateEventType(std::string(64, 'a')).ok());
}

TEST(ExcerptTest, ShortAndPrintable) {
  EXPECT_EQ(Excerpt("abc"), "abc");
  EXPECT_EQ(Excerpt(std::string("a\nb\x7f", 4)), "a?b?");
  EXPECT_EQ(Excerpt(std::string(40, 'x')), std::string(32, 'x') + "...");
}

}  // namespace
}  // namespace aether::protocol
