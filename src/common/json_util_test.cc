#include "common/json_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aether {
namespace {

namespace json = boost::json;

TEST(JsonUtilTest, ParseValid) {
  auto v = ParseJson(R"({"a": [1, 2, {"b": null}]} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->at("a").as_array().size(), 3u);
}

TEST(JsonUtilTest, ParseErrorHasOffset) {
  auto v = ParseJson(R"({"a": 1, x})");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(v.status().message().rfind("invalid JSON at offset 9: ", 0), 0u)
      << v.status().message();
}

TEST(JsonUtilTest, ParseIncompleteAndTrailing) {
  auto incomplete = ParseJson(R"({"a": )");
  ASSERT_FALSE(incomplete.ok());
  EXPECT_NE(incomplete.status().message().find("offset 6"), std::string::npos)
      << incomplete.status().message();
  EXPECT_FALSE(ParseJson("{} {}").ok());
  EXPECT_FALSE(ParseJson("").ok());
}

TEST(JsonUtilTest, ParseObject) {
  EXPECT_TRUE(ParseJsonObject(R"({"x":1})").ok());
  auto arr = ParseJsonObject("[1]");
  ASSERT_FALSE(arr.ok());
  EXPECT_EQ(arr.status().message(), "request body must be a JSON object");
}

// The gateway validates without parsing into a value: it must refuse
// exactly what the parse refuses, with the same message.
TEST(JsonUtilTest, ValidateObjectAgreesWithParseObject) {
  std::string deep_ok = std::string(63, '[') + std::string(63, ']');
  std::string too_deep = std::string(65, '[') + std::string(65, ']');
  const std::vector<std::string> texts = {
      R"({"x":1})",
      R"({})",
      R"(  { "input" : [1, 2.5, "s", null, true, {"a": {}}] }  )",
      "{\"x\":" + deep_ok + "}",
      "{\"x\":" + too_deep + "}",
      R"({"x":1e400})",
      R"({"x":[-1e999]})",
      // A syntax error after an overflow: the syntax error is reported.
      std::string("[1e400,-1e400,0e40\xff") + "00]",
      R"([1e400])",
      R"({"x":1e308})",
      R"({"x":18446744073709551616})",
      R"({"x":1} {"y":2})",
      R"({"x":1} x)",
      R"({"x":1)",
      R"({"x":})",
      R"({"x":"\ud800"})",
      "{\"x\":\"\x01\"}",
      "{\"x\":\"\xff\"}",
      R"({"x":1,})",
      R"({/* c */"x":1})",
      "[1]",
      "\"s\"",
      "3",
      "null",
      "",
      "   ",
      "{",
      "}",
  };
  for (const std::string& t : texts) {
    SCOPED_TRACE(t);
    Result<boost::json::object> parsed = ParseJsonObject(t);
    Status validated = ValidateJsonObject(t);
    EXPECT_EQ(validated.ok(), parsed.ok());
    if (!parsed.ok()) {
      EXPECT_EQ(validated.message(), parsed.status().message());
    }
  }
  EXPECT_EQ(ValidateJsonObject("[1]", "input").message(), "input must be a JSON object");
}

TEST(JsonUtilTest, Getters) {
  auto obj =
      ParseJsonObject(R"({"function":"hello","n":3,"f":2.5,"whole":4.0,"big":18446744073709551615,)"
                      R"("ok":true,"labels":{"zone":"eu"},"list":[1],"nothing":null})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(GetString(*obj, "function").value(), "hello");
  EXPECT_EQ(GetInt(*obj, "n").value(), 3);
  EXPECT_EQ(GetInt(*obj, "whole").value(), 4);
  EXPECT_DOUBLE_EQ(GetDouble(*obj, "f").value(), 2.5);
  EXPECT_DOUBLE_EQ(GetDouble(*obj, "n").value(), 3.0);
  EXPECT_TRUE(GetBool(*obj, "ok").value());
  EXPECT_EQ(GetString(*obj, "labels.zone").value(), "eu");
  EXPECT_EQ(GetObject(*obj, "labels").value()->size(), 1u);
  EXPECT_EQ(GetArray(*obj, "list").value()->size(), 1u);
  EXPECT_EQ(FindField(*obj, "absent").value(), nullptr);
  EXPECT_EQ(FindField(*obj, "labels.absent").value(), nullptr);

  EXPECT_EQ(GetString(*obj, "n").status().message(), "field \"n\" must be a string");
  EXPECT_EQ(GetString(*obj, "missing").status().message(), "field \"missing\" is required");
  EXPECT_EQ(GetString(*obj, "nothing").status().message(), "field \"nothing\" is required");
  EXPECT_EQ(GetInt(*obj, "f").status().message(), "field \"f\" must be an integer");
  EXPECT_EQ(GetInt(*obj, "big").status().message(), "field \"big\" must be an integer");
  EXPECT_EQ(GetBool(*obj, "n").status().message(), "field \"n\" must be a boolean");
  EXPECT_EQ(GetDouble(*obj, "function").status().message(), "field \"function\" must be a number");
  EXPECT_EQ(GetString(*obj, "function.x").status().message(),
            "field \"function\" must be an object");
  EXPECT_EQ(GetArray(*obj, "labels").status().message(), "field \"labels\" must be an array");

  EXPECT_EQ(GetString(*obj, "missing", "dflt").value(), "dflt");
  EXPECT_EQ(GetString(*obj, "nothing", "dflt").value(), "dflt");
  EXPECT_EQ(GetInt(*obj, "missing", 7).value(), 7);
  EXPECT_FALSE(GetInt(*obj, "function", 7).ok());
  EXPECT_TRUE(GetBool(*obj, "labels.missing", true).value());
}

TEST(JsonUtilTest, EscapeBasics) {
  EXPECT_EQ(JsonEscape(""), "\"\"");
  EXPECT_EQ(JsonEscape("hello"), "\"hello\"");
  EXPECT_EQ(JsonEscape("a\"b\\c\n\r\t\b\f"), R"("a\"b\\c\n\r\t\b\f")");
  EXPECT_EQ(JsonEscape(std::string_view("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\x7f\"");
  EXPECT_EQ(JsonEscape(std::string_view("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(JsonEscape("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(JsonUtilTest, EscapeReplacesInvalidUtf8) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonEscape("\xff"), "\"" + kFffd + "\"");
  EXPECT_EQ(JsonEscape("a\x80z"), "\"a" + kFffd + "z\"");
  // Overlong encoding of '/', surrogate, above U+10FFFF: each byte is its own
  // maximal subpart because the second byte is already out of range.
  EXPECT_EQ(JsonEscape("\xC0\xAF"), "\"" + kFffd + kFffd + "\"");
  EXPECT_EQ(JsonEscape("\xED\xA0\x80"), "\"" + kFffd + kFffd + kFffd + "\"");
  EXPECT_EQ(JsonEscape("\xF4\x90\x80\x80"), "\"" + kFffd + kFffd + kFffd + kFffd + "\"");
  // A truncated sequence is one maximal subpart.
  EXPECT_EQ(JsonEscape("\xE2\x82z"), "\"" + kFffd + "z\"");
  EXPECT_EQ(JsonEscape("\xF0\x9F\x98"), "\"" + kFffd + "\"");

  // Whatever the bytes, the output parses back.
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += "\xE2\x82";
  auto parsed = ParseJson(JsonEscape(all));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->is_string());
}

TEST(JsonUtilTest, SanitizeUtf8) {
  EXPECT_EQ(SanitizeUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(SanitizeUtf8("a\xffz"), "a\xEF\xBF\xBDz");
  json::value v = json::string(SanitizeUtf8("\xfe\xff"));
  EXPECT_TRUE(ParseJson(ToJson(v)).ok());
}

}  // namespace
}  // namespace aether

namespace aether {
namespace {
TEST(JsonUtilNumbers, OutOfRangeNumbersAreRejected) {
  EXPECT_FALSE(ParseJson("1e400").ok());
  EXPECT_FALSE(ParseJson("{\"a\":[1,-1e400]}").ok());
  EXPECT_TRUE(ParseJson("{\"a\":[1,2.5e10]}").ok());
}
}  // namespace
}  // namespace aether
