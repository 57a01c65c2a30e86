#include "protocol/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace aether::protocol {
namespace {

namespace json = boost::json;

TEST(EventPostTest, RoundTrip) {
  std::string text = EncodeEventPost("function_ready", json::object{{"function", "hello"}});
  auto post = EventPostFromJson(json::parse(text).as_object(), 1024);
  ASSERT_TRUE(post.ok()) << post.status().message();
  EXPECT_EQ(post->type, "function_ready");
  EXPECT_EQ(post->data, R"({"function":"hello"})");
}

TEST(EventPostTest, DataIsOptionalAndBounded) {
  auto bare = EventPostFromJson(json::parse(R"({"event": "x"})").as_object(), 1024);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->data, "null");
  auto big =
      EventPostFromJson(json::object{{"event", "x"}, {"data", std::string(2048, 'a')}}, 1024);
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(big.status().message(), "event data is larger than 1 KiB");
}

TEST(EventPostTest, TypeIsRequiredAndChecked) {
  EXPECT_EQ(EventPostFromJson(json::object{{"data", 1}}, 1024).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(EventPostFromJson(json::object{{"event", "Bad Type"}}, 1024).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(EventPostFromJson(json::object{{"event", 5}}, 1024).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace aether::protocol
