#include "workflow/edgeless_http.h"

#include <gtest/gtest.h>

namespace aether::workflow {
namespace {

TEST(EdgelessHttpTest, RequestsAreWrittenAsSerdeWritesThem) {
  EXPECT_EQ(EncodeEdgelessRequest("PUT", "h", "/p?q=1", std::string("\x00\xff", 2), {{"x-a", "1"}}),
            R"({"method":"Put","protocol":"Unknown","host":"h","path":"/p?q=1",)"
            R"("body":[0,255],"headers":{"x-a":"1"}})");
  EXPECT_EQ(EdgelessMethod("DELETE"), "Delete");
  EXPECT_FALSE(EdgelessMethod("OPTIONS").has_value());
  EXPECT_FALSE(EdgelessMethod("post").has_value());
}

TEST(EdgelessHttpTest, ResponsesAreRead) {
  Result<EdgelessResponse> r =
      DecodeEdgelessResponse(R"({"body":[104,105],"status":404,"headers":{"Content-Type":"a/b"}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "hi");
  EXPECT_EQ(r->headers.at("content-type"), "a/b");
  r = DecodeEdgelessResponse(R"({"body":null,"status":204,"headers":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "");
}

TEST(EdgelessHttpTest, BadResponsesSayWhatIsWrong) {
  for (const char* bad :
       {"", "[]", "nope", R"({"body":null})", R"({"status":"200"})", R"({"status":99})",
        R"({"status":600})", R"({"status":200,"body":"x"})", R"({"status":200,"body":[256]})",
        R"({"status":200,"body":[-1]})", R"({"status":200,"body":[1.5]})",
        R"({"status":200,"headers":[]})", R"({"status":200,"headers":{"a":1}})"}) {
    Result<EdgelessResponse> r = DecodeEdgelessResponse(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace aether::workflow
